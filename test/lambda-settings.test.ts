import { expect } from "chai";
import { functionRoles } from "../components/bundled-function/lambda-settings";
import { parseStackSettings, type StackSettings } from "../config/stack-settings";
import { ConfigError } from "../config/yaml-source";

/** `ingestion:lambda`: the functions' X-Ray tracing and reserved concurrency, per stack. */

function parse(lambda: unknown): StackSettings["lambda"] | readonly string[] {
    try {
        return parseStackSettings("qa", { mappings: ["customers"], ...(lambda === undefined ? {} : { lambda }) }).lambda;
    } catch (error) {
        if (error instanceof ConfigError) {
            return error.problems;
        }
        throw error;
    }
}

describe("the stack's Lambda settings", () => {
    const accepted: { what: string; lambda: unknown; expected: StackSettings["lambda"] }[] = [
        {
            what: "no setting: active tracing, every function sized from its trigger",
            lambda: undefined,
            expected: { tracing: "Active", reservedConcurrency: {} },
        },
        { what: "an empty setting, the same", lambda: {}, expected: { tracing: "Active", reservedConcurrency: {} } },
        {
            what: "PassThrough tracing alone",
            lambda: { tracing: "PassThrough" },
            expected: { tracing: "PassThrough", reservedConcurrency: {} },
        },
        {
            what: "a reservation for every role, queue consumers at Lambda's bounds",
            lambda: {
                reservedConcurrency: {
                    "extract-trigger": 2,
                    "run-notifier": 1,
                    "file-loader": 1000,
                    "event-filter": 40,
                    "stream-producer": 1,
                    "crawler-starter": 1,
                },
            },
            expected: {
                tracing: "Active",
                reservedConcurrency: {
                    "extract-trigger": 2,
                    "run-notifier": 1,
                    "file-loader": 1000,
                    "event-filter": 40,
                    "stream-producer": 1,
                    "crawler-starter": 1,
                },
            },
        },
    ];
    for (const { what, lambda, expected } of accepted) {
        it(`accepts ${what}`, () => {
            expect(parse(lambda)).to.deep.equal(expected);
        });
    }

    const queueBounds = (role: string) =>
        `it is also the maximum concurrency of the ${role} queue mapping, which Lambda takes from 2 to 1000`;
    const refused: { what: string; lambda: unknown; problems: string[] }[] = [
        {
            what: "a tracing mode Lambda does not have",
            lambda: { tracing: "Off" },
            problems: ["Pulumi.qa.yaml: ingestion:lambda.tracing: must be Active or PassThrough (Lambda's X-Ray tracing modes)"],
        },
        {
            what: "a function role the platform does not declare",
            lambda: { reservedConcurrency: { "extract-triggers": 2 } },
            problems: ["Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.extract-triggers: unknown setting"],
        },
        {
            what: "a setting beside tracing and reservedConcurrency",
            lambda: { memoryMb: 512 },
            problems: ["Pulumi.qa.yaml: ingestion:lambda.memoryMb: unknown setting"],
        },
        {
            what: "a queue consumer below Lambda's least maximum concurrency",
            lambda: { reservedConcurrency: { "extract-trigger": 1 } },
            problems: [
                `Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.extract-trigger: must be at least 2: ${queueBounds("extract-trigger")}`,
            ],
        },
        {
            what: "a queue consumer above Lambda's greatest maximum concurrency",
            lambda: { reservedConcurrency: { "file-loader": 1001 } },
            problems: [
                `Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.file-loader: must be at most 1000: ${queueBounds("file-loader")}`,
            ],
        },
        {
            what: "no execution at all for a function",
            lambda: { reservedConcurrency: { "event-filter": 0 } },
            problems: [
                "Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.event-filter: must be at least 1: a function with no reserved concurrency never runs",
            ],
        },
        {
            what: "a fraction of an execution",
            lambda: { reservedConcurrency: { "run-notifier": 1.5 } },
            problems: ["Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.run-notifier: Invalid input: expected int, received number"],
        },
        {
            what: "every problem at once, each at its field",
            lambda: { tracing: "active", reservedConcurrency: { "stream-producer": 0, "file-loader": 1, crawler: 1 } },
            problems: [
                "Pulumi.qa.yaml: ingestion:lambda.tracing: must be Active or PassThrough (Lambda's X-Ray tracing modes)",
                `Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.file-loader: must be at least 2: ${queueBounds("file-loader")}`,
                "Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.stream-producer: must be at least 1: a function with no reserved concurrency never runs",
                "Pulumi.qa.yaml: ingestion:lambda.reservedConcurrency.crawler: unknown setting",
            ],
        },
    ];
    for (const { what, lambda, problems } of refused) {
        it(`refuses ${what}, naming the stack file and the setting`, () => {
            expect(parse(lambda)).to.deep.equal(problems);
        });
    }

    it("names every role the components size a reservation for", () => {
        expect(functionRoles).to.deep.equal([
            "extract-trigger",
            "run-notifier",
            "file-loader",
            "event-filter",
            "stream-producer",
            "crawler-starter",
            "export-starter",
        ]);
    });
});
