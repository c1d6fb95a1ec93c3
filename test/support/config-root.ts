import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { configRootVariable } from "../../config/load";

/**
 * The tests' own project config: stack files and config/{mappings,streams,lookups}/, copied from the
 * shipped examples once and owned by the tests since. Editing the examples changes no test but
 * test/shipped-examples.test.ts; line numbers in expected messages are those of these files.
 */
export const fixtureRoot = path.resolve(__dirname, "..", "fixtures", "project");

/** A fixture file's text, by its path under the fixture root (`config/mappings/customers.yaml`). */
export function fixtureText(file: string): string {
    return fs.readFileSync(path.join(fixtureRoot, file), "utf8");
}

/**
 * Runs `action` with INGESTION_CONFIG_ROOT set to `root` (the fixtures by default), restoring what it
 * was once `action` returns or, when it returns a promise, once that settles.
 */
export function withConfigRoot<T>(root: string, action: () => T): T {
    const previous = process.env[configRootVariable];
    const restore = () => {
        if (previous === undefined) {
            delete process.env[configRootVariable];
        } else {
            process.env[configRootVariable] = previous;
        }
    };
    process.env[configRootVariable] = root;
    let result: T;
    try {
        result = action();
    } catch (error) {
        restore();
        throw error;
    }
    if (result instanceof Promise) {
        return result.finally(restore) as T;
    }
    restore();
    return result;
}

/**
 * Points the config root at `root` (the fixtures by default) for the enclosing `describe`, or for the
 * whole file at its top level, restoring it after: the program, `ingest plan` and the loaders then
 * read the tests' config, never the shipped examples.
 */
export function useConfigRoot(root = fixtureRoot): void {
    let previous: string | undefined;
    before(() => {
        previous = process.env[configRootVariable];
        process.env[configRootVariable] = root;
    });
    after(() => {
        if (previous === undefined) {
            delete process.env[configRootVariable];
        } else {
            process.env[configRootVariable] = previous;
        }
    });
}

/**
 * A temporary copy of the fixture root with `files` (paths under the root) written into it, as the
 * config root while `action` runs; removed afterwards. A test that adds or edits config never
 * touches the repository's, and two tests never share a folder.
 */
export async function withConfigFiles<T>(files: Record<string, string>, action: (root: string) => Promise<T> | T): Promise<T> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ingest-config-"));
    try {
        fs.cpSync(fixtureRoot, root, { recursive: true });
        for (const [file, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
            fs.writeFileSync(path.join(root, file), text);
        }
        return await withConfigRoot(root, async () => action(root));
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}
