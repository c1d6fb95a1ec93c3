import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { crawlerStarterVariables } from "../lambdas/crawler-starter/contract";
import * as crawlerStarter from "../lambdas/crawler-starter/handler";
import { eventFilterOptionalVariables, eventFilterVariables } from "../lambdas/event-filter/contract";
import * as eventFilter from "../lambdas/event-filter/handler";
import { exportStarterVariables } from "../lambdas/export-starter/contract";
import * as exportStarter from "../lambdas/export-starter/handler";
import { triggerVariables } from "../lambdas/extract-trigger/contract";
import * as extractTrigger from "../lambdas/extract-trigger/handler";
import { fileToStreamVariables } from "../lambdas/file-to-stream/contract";
import * as fileToStream from "../lambdas/file-to-stream/handler";
import { notifierVariables } from "../lambdas/run-notifier/contract";
import * as runNotifier from "../lambdas/run-notifier/handler";
import { streamProducerVariables } from "../lambdas/stream-producer/contract";
import * as streamProducer from "../lambdas/stream-producer/handler";
import { repositoryRoot } from "./support/program";

/**
 * Each function's variables are named once, in its contract.ts: the component that deploys it sets
 * exactly those (a missing or extra one fails typecheck) and its handler reads no other (its
 * EnvironmentReader is typed by them). What typecheck cannot see is checked here: with nothing set,
 * a handler asks for every variable its contract names, but those it has a default for or reads only
 * when set. The trigger's message says "the trigger's" and checks before reading, as it always has.
 */
const functions: {
    name: string;
    variables: readonly string[];
    /** Variables the handler does without: a default, or read only when set. */
    unrequired: readonly string[];
    owner: string;
    settings: (environment: NodeJS.ProcessEnv) => unknown;
}[] = [
    {
        name: "crawler-starter",
        variables: crawlerStarterVariables,
        unrequired: ["START_ATTEMPTS", "START_RETRY_SECONDS"],
        owner: "the crawler starter",
        settings: crawlerStarter.settingsFromEnvironment,
    },
    {
        name: "event-filter",
        variables: [...eventFilterVariables, ...eventFilterOptionalVariables],
        unrequired: eventFilterOptionalVariables,
        owner: "the event filter",
        settings: eventFilter.settingsFromEnvironment,
    },
    {
        name: "export-starter",
        variables: exportStarterVariables,
        unrequired: [],
        owner: "the export starter",
        settings: exportStarter.settingsFromEnvironment,
    },
    {
        name: "extract-trigger",
        variables: triggerVariables,
        unrequired: [],
        owner: "the trigger",
        settings: extractTrigger.settingsFromEnvironment,
    },
    {
        name: "file-to-stream",
        variables: fileToStreamVariables,
        unrequired: ["MAX_FILE_BYTES"],
        owner: "the file-to-stream function",
        settings: fileToStream.settingsFromEnvironment,
    },
    {
        name: "run-notifier",
        variables: notifierVariables,
        unrequired: [],
        owner: "the run notifier",
        settings: runNotifier.settingsFromEnvironment,
    },
    {
        name: "stream-producer",
        variables: streamProducerVariables,
        unrequired: [],
        owner: "the stream producer",
        settings: streamProducer.settingsFromEnvironment,
    },
];

describe("Lambda environments (lambdas/<function>/contract.ts)", () => {
    for (const { name, variables, unrequired, owner, settings } of functions) {
        const required = variables.filter((variable) => !unrequired.includes(variable));
        it(`${name}: with nothing set, asks for ${required.join(", ")}`, () => {
            expect(() => settings({})).to.throw(`${owner}'s environment lacks ${required.join(", ")}`);
        });
    }

    it("covers every function under lambdas/, each with its contract.ts", () => {
        const folder = path.join(repositoryRoot, "lambdas");
        const handlers = fs.readdirSync(folder).filter((entry) => fs.existsSync(path.join(folder, entry, "handler.ts")));
        expect(functions.map((entry) => entry.name)).to.deep.equal(handlers.sort());
        expect(handlers.filter((entry) => !fs.existsSync(path.join(folder, entry, "contract.ts")))).to.deep.equal([]);
    });
});
