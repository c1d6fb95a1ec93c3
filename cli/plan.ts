import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../config/yaml-source";
import { pipelineDiagram } from "./preview/diagram";
import { configRoot } from "../config/load";
import { declareProgram, shortType, type DeclaredResource } from "./preview/program";
import { describeSettings } from "./preview/settings";
import { ExitCode, OperatorError, type Terminal } from "./terminal";

export interface PlanRequest {
    readonly stack: string;
    /** Where the Mermaid diagram is written. */
    readonly diagramFile: string;
}

/**
 * `ingest plan`: builds the program under mocks for a stack's config, prints every resource it
 * declares grouped by component with its key settings, and writes a Mermaid diagram of the pipelines.
 * It reads no deployed state, so it shows the shape of a stack, never what a deployment would change.
 */
export async function runPlan(request: PlanRequest, terminal: Terminal): Promise<number> {
    const stacks = configuredStacks();
    if (!stacks.includes(request.stack)) {
        throw new OperatorError(
            ExitCode.usage,
            `unknown stack "${request.stack}": there is no Pulumi.${request.stack}.yaml; stacks with a config file: ${stacks.join(", ")}`,
        );
    }
    const declared = await declaredBy(request.stack);
    const diagram = pipelineDiagram(request.stack, declared);
    terminal.stdout.write(listing(request.stack, declared));
    fs.mkdirSync(path.dirname(request.diagramFile), { recursive: true });
    fs.writeFileSync(request.diagramFile, diagram);
    terminal.stdout.write(`Mermaid diagram of the pipelines written to ${shownPath(request.diagramFile)}\n`);
    return ExitCode.ok;
}

/** A file under the working directory as a path relative to it, so what the command prints holds on any machine. */
function shownPath(file: string): string {
    const relative = path.relative(process.cwd(), file);
    return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

/** The stacks with a `Pulumi.<stack>.yaml` in the config root (the repository unless INGESTION_CONFIG_ROOT names another), sorted. */
function configuredStacks(): string[] {
    return fs
        .readdirSync(configRoot())
        .flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? [])
        .sort();
}

async function declaredBy(stack: string): Promise<DeclaredResource[]> {
    try {
        return await declareProgram(stack);
    } catch (error) {
        if (error instanceof ConfigError) {
            throw new OperatorError(ExitCode.usage, error.message);
        }
        throw error;
    }
}

function listing(stack: string, declared: readonly DeclaredResource[]): string {
    const components = declared.filter((resource) => !resource.recorded);
    const lines = [
        `Structural preview of stack ${stack}: the resources the program declares for this stack's config, built under mocks.`,
        `It does not contact AWS or compare with deployed state: run \`pulumi preview --stack ${stack}\` for that.`,
        ...declared.flatMap((resource) => ["", ...describe(resource, "")]),
        "",
        `${countResources(declared)} resources in ${countComponents(declared)} components, ${components.length} of them at the top level.`,
    ];
    return lines.map((line) => `${line}\n`).join("");
}

/** A resource's line (type, logical name, key settings), or a component's heading over its children's lines. */
function describe(resource: DeclaredResource, indent: string): string[] {
    if (resource.recorded) {
        const settings = describeSettings(resource.type, resource.recorded.inputs);
        return [`${indent}${resource.type} ${resource.name}${settings === "" ? "" : `  ${settings}`}`];
    }
    return [
        `${indent}${shortType(resource.type)} ${resource.name} (${resource.type}), ${countResources(resource.children)} resources`,
        ...resource.children.flatMap((child) => describe(child, `${indent}  `)),
    ];
}

function countResources(declared: readonly DeclaredResource[]): number {
    return declared.reduce((sum, resource) => sum + (resource.recorded ? 1 : countResources(resource.children)), 0);
}

function countComponents(declared: readonly DeclaredResource[]): number {
    return declared.reduce((sum, resource) => sum + (resource.recorded ? 0 : 1 + countComponents(resource.children)), 0);
}
