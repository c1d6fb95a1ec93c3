import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { ConfigError } from "../../config/yaml-source";
import { fixtureRoot } from "./config-root";
import { repositoryRoot } from "./program";

/**
 * A fixture config file (a path under test/fixtures/project/, or one from the repository starting
 * test/fixtures/) and its variants, for tables of bad definitions: `problemsOf`
 * gives the exact problems the parser reports (none when it accepts the text).
 */
export function configExample(file: string, parse: (fileName: string, text: string) => unknown) {
    const valid = fs.readFileSync(path.join(file.startsWith("test/fixtures/") ? repositoryRoot : fixtureRoot, file), "utf8");
    return {
        valid,
        problemsOf: (text: string, fileName = file): string[] => {
            try {
                parse(fileName, text);
            } catch (error) {
                if (error instanceof ConfigError) {
                    return [...error.problems];
                }
                throw error;
            }
            return [];
        },
        /** The example with one piece of text replaced; the replaced text must occur exactly once. */
        variant: (search: string, replacement: string): string => {
            expect(valid.split(search).length, `"${search}" occurs once in the example`).to.equal(2);
            return valid.replace(search, replacement);
        },
    };
}
