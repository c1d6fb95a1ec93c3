import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile, repositoryRoot } from "../../config/load";
import { RecordingMocks, settle, useMocks, type RecordedResource } from "./mocks";

/**
 * The `config:` block of Pulumi.<stack>.yaml in the config root (config/load.ts `configRoot`: the
 * repository, or the folder INGESTION_CONFIG_ROOT names), in the string form Pulumi hands to a program; throws a
 * located ConfigError for a stack file that is not valid YAML, repeats a key or has no `config:` block.
 */
export function stackConfig(stack: string): Record<string, string> {
    return Object.fromEntries(
        Object.entries(readStackFile(stack).config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

/**
 * Runs the real program (index.ts) for a stack under mocks, with the stack outputs it exports,
 * resolved. It runs in a stack as Pulumi runs it, so a program that fails after it has loaded (a
 * refusal the program can only make once an invoke has answered) fails here as it would fail the
 * deployment. Pass `mocks` to answer invokes with deployed state, or to read what was declared
 * when the program fails.
 */
export async function runProgramWithExports(
    stack: string,
    mocks: RecordingMocks = new RecordingMocks(),
): Promise<{ mocks: RecordingMocks; exports: Record<string, unknown> }> {
    const exports = await runInStack(stack, mocks);
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
    const mocks = new RecordingMocks();
    const declarations: { type: string; name: string; parent: pulumi.Resource | undefined; resource: pulumi.Resource }[] = [];
    await runInStack(stack, mocks, ({ resource, type, name, opts }) => {
        declarations.push({ type, name, parent: opts.parent, resource });
        return undefined;
    });

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
 * Loads the program for `stack` inside a stack resource, with `transformation` (if any) seeing every
 * resource it declares, and returns its stack outputs, resolved; throws what fails the program.
 */
async function runInStack(
    stack: string,
    mocks: RecordingMocks,
    transformation?: pulumi.ResourceTransformation,
): Promise<Record<string, unknown>> {
    await useMocks(stack, stackConfig(stack), mocks);
    // An error thrown while the program loads is handed to the caller after the stack settles: had it
    // rejected the stack's initialisation, promises inside the stack resource would reject unhandled.
    let loadFailure: { readonly error: unknown } | undefined;
    let outputs: Record<string, unknown> | undefined;
    try {
        outputs = await pulumi.runtime.runInPulumiStack(() => {
            if (transformation) {
                pulumi.runtime.registerStackTransformation(transformation);
            }
            try {
                return Promise.resolve(loadProgram());
            } catch (error) {
                loadFailure = { error };
                return Promise.resolve({});
            }
        });
    } finally {
        await settle();
    }
    if (loadFailure) {
        throw loadFailure.error;
    }
    return outputs ?? {};
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
