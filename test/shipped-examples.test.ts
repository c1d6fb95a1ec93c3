import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { parse as parseYaml } from "yaml";
import { shortType, type DeclaredResource } from "../cli/preview/program";
import { configDirectory, loadJobPlans, loadLookups, loadStreams, repositoryRoot, type ConfigKind } from "../config/load";
import { StackFile } from "../config/stack-file";
import { declareProgram } from "./support/program";

/**
 * The examples the repository ships (its Pulumi.<stack>.yaml files and config/) validate and build.
 * Every other test reads its own config (test/fixtures/project/); this one reads the examples, so it
 * pins nothing about them (no names, no counts): editing an example turns only this test red, and
 * only when the edit makes the example invalid.
 */

const stacks = fs
    .readdirSync(repositoryRoot)
    .flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? [])
    .sort();

/** The definitions of one kind under the repository's config/, by name. */
function definitions(kind: ConfigKind): string[] {
    const directory = configDirectory(kind, repositoryRoot);
    return fs.existsSync(directory)
        ? fs
              .readdirSync(directory)
              .flatMap((file) => /^(.+)\.yaml$/.exec(file)?.[1] ?? [])
              .sort()
        : [];
}

/** Every YAML file under `directory`, recursively, as paths from the repository root. */
function yamlFiles(directory: string): string[] {
    return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
        const file = path.join(directory, entry.name);
        if (entry.isDirectory()) {
            return yamlFiles(file);
        }
        return /\.ya?ml$/.test(entry.name) ? [path.relative(repositoryRoot, file)] : [];
    });
}

/** The custom resources declared in `resource`'s subtree (itself included when it is one). */
function customResources(resource: DeclaredResource): number {
    return (resource.recorded ? 1 : 0) + resource.children.reduce((sum, child) => sum + customResources(child), 0);
}

describe("the shipped examples", () => {
    it("include at least one stack file", () => {
        expect(stacks).to.not.be.empty;
    });

    for (const file of yamlFiles(path.join(repositoryRoot, "config"))) {
        it(`${file} is YAML`, () => {
            expect(() => parseYaml(fs.readFileSync(path.join(repositoryRoot, file), "utf8")) as unknown).to.not.throw();
        });
    }

    it("define mappings, streams and lookups that each validate on their own", () => {
        const directory = (kind: ConfigKind) => configDirectory(kind, repositoryRoot);
        loadJobPlans(definitions("mappings"), directory("mappings"));
        const streams = loadStreams(definitions("streams"), directory("streams"));
        loadLookups(definitions("lookups"), streams, {}, directory("lookups"));
    });

    /** A top-level component the program declares per listed definition, by its type. */
    const componentOf: Record<ConfigKind, string> = { mappings: "ExtractPipeline", streams: "StreamLake", lookups: "LookupTable" };

    for (const stack of stacks) {
        describe(`stack ${stack} (Pulumi.${stack}.yaml)`, () => {
            let declared: DeclaredResource[];
            before(async function () {
                this.timeout(300_000);
                declared = await declareProgram(stack, repositoryRoot);
            });

            it("builds under mocks", () => {
                expect(declared.reduce((sum, resource) => sum + customResources(resource), 0)).to.be.greaterThan(0);
            });

            for (const kind of ["mappings", "streams", "lookups"] as const) {
                it(`declares resources for every one of its ${kind}`, () => {
                    const listed = StackFile.read(stack, repositoryRoot).settings[kind];
                    const names = Array.isArray(listed) ? listed.map(String) : [];
                    const built = declared.filter((resource) => shortType(resource.type) === componentOf[kind]);
                    for (const name of names) {
                        const component = built.find((resource) => resource.name === `ingest-${stack}-${name}`);
                        expect(component, `a ${componentOf[kind]} for ${name}`).to.not.equal(undefined);
                        expect(customResources(component!), `resources of ${kind} ${name}`).to.be.greaterThan(0);
                    }
                });
            }
        });
    }
});
