import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { repositoryRoot } from "../../config/load";
import { settle, useMocks, type RecordedResource, type RecordingMocks } from "./mocks";

/** The `config:` block of Pulumi.<stack>.yaml, in the string form Pulumi hands to a program. */
export function stackConfig(stack: string): Record<string, string> {
    const file = path.join(repositoryRoot, `Pulumi.${stack}.yaml`);
    const document = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(
        Object.entries(document.config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

/** Runs the real program (index.ts) for a stack under mocks, with the stack outputs it exports, resolved. */
export async function runProgramWithExports(stack: string): Promise<{ mocks: RecordingMocks; exports: Record<string, unknown> }> {
    const mocks = await useMocks(stack, stackConfig(stack));
    const program = loadProgram();
    await settle();
    const exports: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program)) {
        exports[name] = await resolved(value);
    }
    return { mocks, exports };
}

/** A resource as the program declared it: a component with what it declares, or a resource with its inputs. */
export interface DeclaredResource {
    readonly type: string;
    readonly name: string;
    /** What the mocks recorded for a custom resource; undefined for a component. */
    readonly recorded: RecordedResource | undefined;
    /** The resources declared inside a component, in declaration order. */
    readonly children: readonly DeclaredResource[];
}

/** The last part of a type token: `Bucket` of `aws:s3/bucket:Bucket`, `Storage` of `ingestion:storage:Storage`. */
export function shortType(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

/**
 * Runs the real program for a stack under mocks and returns the components and resources it declared
 * at the top of the stack, each component with its children, in declaration order. The mocks are not
 * told which component declared a resource, so the program runs inside a stack resource whose
 * transformation sees every resource with its parent.
 */
export async function declareProgram(stack: string): Promise<DeclaredResource[]> {
    const mocks = await useMocks(stack, stackConfig(stack));
    const declarations: { type: string; name: string; parent: pulumi.Resource | undefined; resource: pulumi.Resource }[] = [];
    // An error thrown while the program loads is handed to the caller after the stack settles: had it
    // rejected the stack's initialisation, promises inside the stack resource would reject unhandled.
    let loadFailure: { readonly error: unknown } | undefined;
    await pulumi.runtime.runInPulumiStack(() => {
        pulumi.runtime.registerStackTransformation(({ resource, type, name, opts }) => {
            declarations.push({ type, name, parent: opts.parent, resource });
            return undefined;
        });
        try {
            return Promise.resolve(loadProgram());
        } catch (error) {
            loadFailure = { error };
            return Promise.resolve({});
        }
    });
    await settle();
    if (loadFailure) {
        throw loadFailure.error;
    }

    const recorded = new Map(mocks.resources.map((resource) => [`${resource.type} ${resource.name}`, resource]));
    const children = new Map<pulumi.Resource, DeclaredResource[]>();
    const topLevel: DeclaredResource[] = [];
    for (const { type, name, parent, resource } of declarations) {
        const ownChildren: DeclaredResource[] = [];
        children.set(resource, ownChildren);
        // Asked only now: a resource is marked custom after its transformations have run.
        const custom = pulumi.CustomResource.isInstance(resource);
        const record = custom ? recorded.get(`${type} ${name}`) : undefined;
        if (custom && !record) {
            throw new Error(`the mocks never received ${type} ${name}`);
        }
        // Parents are declared before their children; the stack resource itself is no one's child here.
        const siblings = (parent && children.get(parent)) ?? topLevel;
        siblings.push({ type, name, recorded: record, children: ownChildren });
    }
    return topLevel;
}

/**
 * Evaluates index.ts afresh, so it reads the current stack's config. Only the entry point is
 * reloaded: it alone reads config as it loads (the modules it imports read it only when called), and
 * keeping those modules loaded keeps their classes, so a caller can still tell a ConfigError by
 * `instanceof`.
 */
function loadProgram(): Record<string, unknown> {
    const entry = require.resolve(path.join(repositoryRoot, "index.ts"));
    delete require.cache[entry];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- evaluating the program again needs the CommonJS cache
    return require(entry) as Record<string, unknown>;
}

/** An exported value with every output inside it resolved. */
function resolved(value: unknown): Promise<unknown> {
    return new Promise((resolve) => (pulumi.output(value) as pulumi.Output<unknown>).apply(resolve));
}
