import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { maintenanceSchedule } from "../components/lake-maintenance/defaults";
import { cronProblem } from "../config/cron";
import { commonFileName, globToRegex } from "../config/formats";
import { loadStackConfig, repositoryRoot } from "../config/load";
import { StackFile } from "../config/stack-file";
import { ConfigError } from "../config/yaml-source";

/**
 * Every config the platform refuses, with its exact message: one row per refusal, each built from
 * the small valid stack in test/fixtures/refused/ by one edit, and loaded as the program loads a
 * stack (the stack file read by StackFile, then config/load.ts's loadStackConfig), so each message
 * names the file, line, column and field a user sees. Other test files check parsers in depth; this
 * table is where a reader sees every refusal at once.
 */

const fixtures = path.join(__dirname, "fixtures", "refused");
const stack = "qa";

/**
 * An edit of one fixture file: its new text, a change of its text, a new file made from another
 * fixture file by a change, or null to delete it.
 */
type Edit = string | ((text: string) => string) | { readonly copy: string; readonly change: (text: string) => string } | null;

/**
 * `text` with each `from` replaced by its `to`, in order; each `from` must occur exactly once, so a
 * changed fixture fails loudly instead of quietly editing nothing.
 */
function replace(from: string, to: string, ...more: string[]): (text: string) => string {
    return (text) => {
        expect(text.split(from).length - 1, `occurrences of ${JSON.stringify(from)}`).to.equal(1);
        const replaced = text.replace(from, to);
        return more.length >= 2 ? replace(more[0]!, more[1]!, ...more.slice(2))(replaced) : replaced;
    };
}

/** `text` with every occurrence of `from` replaced by `to` (at least one). */
function replaceAll(from: string, to: string): (text: string) => string {
    return (text) => {
        expect(text.includes(from), `${JSON.stringify(from)} occurs`).to.equal(true);
        return text.split(from).join(to);
    };
}

/** The fixture stack with `edits` applied, loaded as the program loads it: the problems it is refused with, or none. */
function problemsOf(edits: Readonly<Record<string, Edit>>): string[] {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "refused-"));
    try {
        fs.cpSync(fixtures, root, { recursive: true });
        for (const [file, edit] of Object.entries(edits)) {
            const target = path.join(root, file);
            if (edit === null) {
                fs.rmSync(target);
            } else {
                fs.mkdirSync(path.dirname(target), { recursive: true });
                const text =
                    typeof edit === "string"
                        ? edit
                        : typeof edit === "function"
                          ? edit(fs.readFileSync(target, "utf8"))
                          : edit.change(fs.readFileSync(path.join(fixtures, edit.copy), "utf8"));
                fs.writeFileSync(target, text);
            }
        }
        try {
            const stackFile = StackFile.read(stack, root);
            const region = stackFile.config["aws:region"];
            loadStackConfig(stack, {
                stackFile,
                settings: stackFile.settings,
                region: typeof region === "string" ? region : undefined,
                root,
            });
        } catch (error) {
            if (!(error instanceof ConfigError)) {
                throw error;
            }
            // Files are named from the repository root; the copy's own folder is left out, as a stack's is.
            const copy = `${path.relative(repositoryRoot, root)}/`;
            return error.problems.map((problem) => problem.split(copy).join(""));
        }
        return [];
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

const stackFile = "Pulumi.qa.yaml";
const mapping = "config/mappings/orders.yaml";
const stream = "config/streams/events.yaml";
const lookup = "config/lookups/stores.yaml";

/** An alias bomb ("billion laughs"): nine lines that would expand to about 9^9 values. */
const aliasBomb = [
    'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
    ...["b", "c", "d", "e", "f", "g", "h"].map((name, index) => `${name}: &${name} [${Array(9).fill(`*${"abcdefg"[index]}`).join(", ")}]`),
    "i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]",
    "",
].join("\n");

/** The fixture stream's partitions line, as a projection starting `since` with `values` of event_type. */
function projection(since: string, values: string): string {
    return `partitions: { mode: projection, since: ${since}, keyValues: { event_type: ${values} } }`;
}

interface Refusal {
    readonly refused: string;
    readonly edits: Readonly<Record<string, Edit>>;
    readonly problems: readonly string[];
}

/** Every refusal: what is refused, the edit of the fixture stack that makes it, and the exact problems. */
const refusals: readonly Refusal[] = [
    // A config file that is not a config: located, never a stack trace.
    {
        refused: "an alias bomb in a mapping",
        edits: { [mapping]: aliasBomb },
        problems: [
            `${mapping}:5:8: e[0]: alias *d brings the values repeated by aliases in this file to more than 10000 ` +
                '(an alias bomb, "billion laughs"?); write the values out or use fewer aliases',
        ],
    },
    {
        refused: "an alias bomb in a stream",
        edits: { [stream]: aliasBomb },
        problems: [
            `${stream}:5:8: e[0]: alias *d brings the values repeated by aliases in this file to more than 10000 ` +
                '(an alias bomb, "billion laughs"?); write the values out or use fewer aliases',
        ],
    },
    {
        refused: "an alias bomb in a lookup",
        edits: { [lookup]: aliasBomb },
        problems: [
            `${lookup}:5:8: e[0]: alias *d brings the values repeated by aliases in this file to more than 10000 ` +
                '(an alias bomb, "billion laughs"?); write the values out or use fewer aliases',
        ],
    },
    {
        refused: "an alias bomb in the stack file",
        edits: { [stackFile]: (text) => `${aliasBomb}${text}` },
        problems: [
            `${stackFile}:5:8: e[0]: alias *d brings the values repeated by aliases in this file to more than 10000 ` +
                '(an alias bomb, "billion laughs"?); write the values out or use fewer aliases',
        ],
    },
    {
        refused: "an alias that names no anchor",
        edits: { [mapping]: replace("  root: orders", "  root: *orders") },
        problems: [`${mapping}:21:9: item.root: alias *orders names no anchor &orders defined before it`],
    },
    {
        refused: "an alias inside the value its anchor names",
        edits: { [mapping]: replace("relationships:\n  - {", "relationships: &relationships\n  - *relationships\n  - {") },
        problems: [
            `${mapping}:19:5: relationships[0]: alias *relationships is inside the value its anchor &relationships names; ` +
                "a value cannot contain itself",
        ],
    },
    {
        refused: "a stack file that is not YAML",
        edits: { [stackFile]: replace("  ingestion:streams:\n", "  ingestion:streams: [events\n") },
        problems: [`${stackFile}:7:3: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]`],
    },
    {
        refused: "a stack file with a setting twice",
        edits: { [stackFile]: (text) => `${text}  ingestion:logRetentionDays: 30\n` },
        problems: [
            `${stackFile}:10:3: config.ingestion:logRetentionDays: duplicate key "ingestion:logRetentionDays" (first defined on line 9)`,
        ],
    },
    {
        refused: "a stack file without a config: block",
        edits: { [stackFile]: "encryptionsalt: v1:abc\n" },
        problems: [
            `${stackFile}:1:1: config: no config: block; a stack's settings are written under config:, ` +
                "as ingestion:<setting> (ingestion:mappings at least)",
        ],
    },
    {
        refused: "a stack file whose config: is a list",
        edits: { [stackFile]: "config:\n  - ingestion:mappings\n" },
        problems: [`${stackFile}:1:1: config: must be a map of settings (ingestion:<setting>: value), not a list`],
    },
    // Stack settings, located in the stack file.
    {
        refused: "a stack that lists no mapping",
        edits: { [stackFile]: replace("  ingestion:mappings:\n    - orders\n", "") },
        problems: [`${stackFile}:1:1: ingestion:mappings: required setting is missing`],
    },
    {
        refused: "a setting out of range",
        edits: { [stackFile]: (text) => `${text}  ingestion:freshnessHours: 500\n` },
        problems: [`${stackFile}:10:3: ingestion:freshnessHours: must be at most 168 hours (CloudWatch evaluates at most 7 days)`],
    },
    {
        refused: "an unknown setting",
        edits: { [stackFile]: (text) => `${text}  ingestion:retention: 30\n` },
        problems: [`${stackFile}:10:3: ingestion:retention: unknown setting`],
    },
    {
        refused: "a log retention CloudWatch Logs does not offer",
        edits: { [stackFile]: replace("ingestion:logRetentionDays: 14", "ingestion:logRetentionDays: 10") },
        problems: [
            `${stackFile}:9:3: ingestion:logRetentionDays: must be one of CloudWatch Logs' retention periods ` +
                "(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days), not 10",
        ],
    },
    {
        refused: "a mapping listed twice",
        edits: { [stackFile]: replace("    - orders\n", "    - orders\n    - orders\n") },
        problems: [`${stackFile}:5:7: ingestion:mappings[1]: "orders" is already listed at ingestion:mappings[0]; list each once`],
    },
    {
        refused: "a stream listed twice",
        edits: { [stackFile]: replace("  ingestion:streams:\n    - events\n", "  ingestion:streams: [events, events]\n") },
        problems: [`${stackFile}:5:31: ingestion:streams[1]: "events" is already listed at ingestion:streams[0]; list each once`],
    },
    {
        refused: "a lookup listed twice",
        edits: { [stackFile]: replace("    - stores\n", "    - stores\n    - stores\n") },
        problems: [`${stackFile}:9:7: ingestion:lookups[1]: "stores" is already listed at ingestion:lookups[0]; list each once`],
    },
    // Files a stack names, and what its files say of each other.
    {
        refused: "a listed mapping that does not exist",
        edits: { [stackFile]: replace("    - orders\n", "    - orders\n    - suppliers\n") },
        problems: [
            `${stackFile}:5:7: ingestion:mappings[1]: mapping "suppliers" does not exist: there is no config/mappings/suppliers.yaml`,
        ],
    },
    {
        refused: "a listed stream that does not exist",
        edits: { [stackFile]: replace("    - events\n", "    - clicks\n") },
        problems: [`${stackFile}:6:7: ingestion:streams[0]: stream "clicks" does not exist: there is no config/streams/clicks.yaml`],
    },
    {
        refused: "a listed lookup that does not exist",
        edits: { [lookup]: null },
        problems: [`${stackFile}:8:7: ingestion:lookups[0]: lookup "stores" does not exist: there is no config/lookups/stores.yaml`],
    },
    {
        refused: "a mapping in a file not named after its pipeline",
        edits: { [mapping]: replace("pipeline: orders", "pipeline: sales") },
        problems: [`${mapping}:1:1: pipeline: pipeline "sales" must be defined in a file named sales.yaml`],
    },
    {
        refused: "a lookup filter naming a stream the stack does not deploy",
        edits: { [lookup]: replace("stream: events", "stream: clicks") },
        problems: [
            `${lookup}:8:3: filter.stream: "clicks" is not one of the stack's streams (ingestion:streams: events); ` +
                "a stream of another stack or account is named by its ARN",
        ],
    },
    {
        refused: "a lookup filter on a field the stream does not have",
        edits: { [lookup]: replace("eventField: store_id", "eventField: shop_id") },
        problems: [`${lookup}:9:3: filter.eventField: "shop_id" is not a field of stream "events"`],
    },
    {
        refused: "lake history kept for less time than the items built from it live",
        edits: { [stackFile]: (text) => `${text}  ingestion:retentionDays: 200\n` },
        problems: [
            `${mapping}:24:1: ttl.retentionDays: items live 270 days after their latest activity, but Pulumi.qa.yaml keeps landed ` +
                "archives and the lake's history for ingestion:retentionDays 200 days, so rows an item still needs could not be rebuilt; " +
                "raise ingestion:retentionDays to at least 270 or shorten ttl.retentionDays",
        ],
    },
    {
        refused: "a filter keeping events under a pipeline's lake tables, where they would expire",
        edits: { [lookup]: replace("prefix: filtered/stores/", "prefix: orders/filtered/") },
        problems: [
            `${mapping}:1:1: pipeline: the lake tables of "orders" (orders/ in the lake bucket) overlap orders/filtered/, where the ` +
                'events the filter of lookup "stores" keeps expire after ingestion:retentionDays; the expiry would delete files current rows live in',
        ],
    },
    // A mapping's tables.
    {
        refused: "a file pattern that also matches another table's files (*.csv)",
        edits: { [mapping]: replace('file: "order_lines_*.csv"', 'file: "*.csv"') },
        problems: [
            `${mapping}:13:5: tables.order_lines.file: file pattern "*.csv" also matches files of table "orders" ("orders_*.csv"), ` +
                'such as "orders_.csv"; an archive holding one is rejected as ambiguous, so make the patterns exclusive',
        ],
    },
    {
        refused: "a file pattern that also matches another table's files (orders*.csv beside orders_lines*.csv)",
        edits: {
            [mapping]: replace('file: "orders_*.csv"', 'file: "orders*.csv"', 'file: "order_lines_*.csv"', 'file: "orders_lines*.csv"'),
        },
        problems: [
            `${mapping}:13:5: tables.order_lines.file: file pattern "orders_lines*.csv" also matches files of table "orders" ("orders*.csv"), ` +
                'such as "orders_lines.csv"; an archive holding one is rejected as ambiguous, so make the patterns exclusive',
        ],
    },
    {
        refused: "a file pattern with a folder",
        edits: { [mapping]: replace('file: "orders_*.csv"', 'file: "export/orders_*.csv"') },
        problems: [
            `${mapping}:7:5: tables.orders.file: file pattern "export/orders_*.csv" has a folder ("/"), but the job matches the file name ` +
                'of each archive entry, its folders left out, so the pattern matches nothing; write "orders_*.csv"',
        ],
    },
    {
        refused: "a file pattern with a Windows folder",
        edits: { [mapping]: replace('file: "orders_*.csv"', 'file: "export\\\\orders_*.csv"') },
        problems: [
            `${mapping}:7:5: tables.orders.file: file pattern "export\\orders_*.csv" has a folder ("\\\\"), but the job matches the file name ` +
                'of each archive entry, its folders left out, so the pattern matches nothing; write "orders_*.csv"',
        ],
    },
    // A stream's fields and partitions.
    {
        refused: "a stream field named like the event-time partition column",
        edits: { [stream]: replace("name: store_id", "name: event_hour") },
        problems: [
            `${stream}:6:7: fields[3].name: "event_hour" is the partition column that partitioning by hour adds ` +
                "(event_hour=.../ in the lake); a field cannot share its name, so rename the field",
        ],
    },
    {
        refused: "a projection starting on a month that does not exist",
        edits: {
            [stream]: replace(
                'partitions: { mode: crawler, schedule: "cron(15,45 * * * ? *)" }',
                projection('"2026-13-45"', "[page_view, purchase]"),
            ),
        },
        problems: [`${stream}:9:33: partitions.since: "2026-13-45" is not a date: month 13 is outside 1-12`],
    },
    {
        refused: "a projection starting on a day its month does not have",
        edits: {
            [stream]: replace(
                'partitions: { mode: crawler, schedule: "cron(15,45 * * * ? *)" }',
                projection('"2026-02-30"', "[page_view, purchase]"),
            ),
        },
        problems: [`${stream}:9:33: partitions.since: "2026-02-30" is not a date: February 2026 has days 1-28, not 30`],
    },
    {
        refused: "an enum projection value holding the values' separator",
        edits: {
            [stream]: replace(
                'partitions: { mode: crawler, schedule: "cron(15,45 * * * ? *)" }',
                projection('"2026-01-01"', '[page_view, "cart,purchase"]'),
            ),
        },
        problems: [
            `${stream}:9:91: partitions.keyValues.event_type[1]: "cart,purchase" contains ",", which separates the values of an enum ` +
                "projection (projection.event_type.values), so Athena would read it as 2 values",
        ],
    },
    // Schedules: every cron the config takes, checked as the service that runs it reads it.
    ...(
        [
            ["cron(99 99 * * ? *)", "minutes 99 is outside 0-59; hours 99 is outside 0-23"],
            ["cron(0 25 * * ? *)", "hours 25 is outside 0-23"],
            ["cron(0 3 32 * ? *)", "day-of-month 32 is outside 1-31"],
            ["cron(0 3 1 13 ? *)", "month 13 is outside 1-12 or JAN-DEC"],
            ["cron(0 3 ? * 8 *)", "day-of-week 8 is outside 1-7 or SUN-SAT"],
            ["cron(0 3 1 * MON *)", 'day-of-month "1" and day-of-week "MON" are both set; Glue takes one of them, with ? in the other'],
            ["cron(0 3 ? * ? *)", "day-of-month and day-of-week are both ?; set one of them (* in day-of-month for every day)"],
            ["cron(0 3 ? * 2#1 *)", 'day-of-week "2#1": Glue schedules take no # (the nth weekday of a month)'],
            ["cron(0 3 * * ? 1969)", "year 1969 is outside 1970-2199"],
        ] as const
    ).map(([schedule, why]): Refusal => ({
        refused: `a lookup's refresh schedule ${schedule}`,
        edits: { [lookup]: replace('schedule: "cron(30 3 * * ? *)"', `schedule: "${schedule}"`) },
        problems: [`${lookup}:6:3: refresh.schedule: "${schedule}" is not a schedule Glue runs: ${why}`],
    })),
    {
        refused: "a lookup's refresh schedule that is no cron expression",
        edits: { [lookup]: replace('schedule: "cron(30 3 * * ? *)"', 'schedule: "every night"') },
        problems: [
            `${lookup}:6:3: refresh.schedule: "every night" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`,
        ],
    },
    {
        refused: "a crawler schedule (an EventBridge rule's) with an hour out of range",
        edits: { [stream]: replace('schedule: "cron(15,45 * * * ? *)"', 'schedule: "cron(15 24 * * ? *)"') },
        problems: [
            `${stream}:9:30: partitions.schedule: "cron(15 24 * * ? *)" is not a schedule EventBridge runs: hours 24 is outside 0-23`,
        ],
    },
    {
        refused: "a crawler schedule with the nth weekday past the fifth",
        edits: { [stream]: replace('schedule: "cron(15,45 * * * ? *)"', 'schedule: "cron(15 4 ? * MON#6 *)"') },
        problems: [
            `${stream}:9:30: partitions.schedule: "cron(15 4 ? * MON#6 *)" is not a schedule EventBridge runs: ` +
                'day-of-week "MON#6": the number after # is which one in the month, 1-5',
        ],
    },
    {
        refused: "a warehouse export schedule (a Glue trigger's) with an increment of none",
        edits: { [stream]: replace('schedule: "cron(0/15 * * * ? *)"', 'schedule: "cron(0/0 * * * ? *)"') },
        problems: [
            `${stream}:11:3: warehouse.schedule: "cron(0/0 * * * ? *)" is not a schedule Glue runs: ` +
                'minutes "0/0": the increment after / must be 1 to 60',
        ],
    },
    {
        refused: "two pipelines whose landing prefixes overlap",
        edits: {
            "config/mappings/returns.yaml": {
                copy: mapping,
                change: replace("pipeline: orders", "pipeline: returns", "incoming/orders/", "incoming/orders/returns/"),
            },
            [stackFile]: replace("    - orders\n", "    - orders\n    - returns\n"),
        },
        problems: [
            'config/mappings/returns.yaml:3:3: extract.landingPrefix: "incoming/orders/returns/" overlaps "incoming/orders/", ' +
                'the landing prefix of pipeline "orders" (config/mappings/orders.yaml)',
        ],
    },
    {
        refused: "two pipelines whose Glue tables have one name (orders + order_lines, orders-order + lines)",
        edits: {
            "config/mappings/orders-order.yaml": {
                copy: mapping,
                change: (text) =>
                    replaceAll(
                        "order_lines",
                        "lines",
                    )(replace("pipeline: orders", "pipeline: orders-order", "incoming/orders/", "incoming/orders-order/")(text)),
            },
            [stackFile]: replace("    - orders\n", "    - orders\n    - orders-order\n"),
        },
        problems: [
            'config/mappings/orders-order.yaml:12:3: tables.lines: its Glue table "orders_order_lines" is also the Glue table of table ' +
                '"order_lines" in pipeline "orders" (config/mappings/orders.yaml); Glue tables are named <pipeline>_<table> ' +
                "(the pipeline's dashes as _) and <stream>_events, so rename this table or the pipeline",
        ],
    },
    {
        refused: "a stream whose Glue table is a pipeline's (stream orders, pipeline orders with table events)",
        edits: {
            [mapping]: replaceAll("order_lines", "events"),
            "config/streams/orders.yaml": { copy: stream, change: replace("stream: events", "stream: orders") },
            [stackFile]: replace("    - events\n", "    - events\n    - orders\n"),
        },
        problems: [
            'config/streams/orders.yaml:1:1: stream: its Glue table "orders_events" is also the Glue table of table "events" in pipeline ' +
                '"orders"; Glue tables are named <pipeline>_<table> (the pipeline\'s dashes as _) and <stream>_events, so rename the stream or that table',
        ],
    },
];

/** Configs near a refusal that work, so each check is shown to be exact rather than broad. */
const accepted: readonly { readonly accepted: string; readonly edits: Readonly<Record<string, Edit>> }[] = [
    { accepted: "the fixture stack every case edits", edits: {} },
    {
        accepted: "file patterns that share leading text but no file name (orders*.csv beside order_lines*.csv)",
        edits: {
            [mapping]: replace('file: "orders_*.csv"', 'file: "orders*.csv"', 'file: "order_lines_*.csv"', 'file: "order_lines*.csv"'),
        },
    },
    {
        accepted: "a projection from a leap day, and schedules with every wildcard their service takes",
        edits: {
            [stream]: replace(
                'partitions: { mode: crawler, schedule: "cron(15,45 * * * ? *)" }',
                projection('"2028-02-29"', "[page_view, purchase]"),
                'schedule: "cron(0/15 * * * ? *)"',
                'schedule: "cron(*/20 8-18 ? JAN-JUN,SEP MON-FRI,2/2 2026-2199)"',
            ),
            [lookup]: replace('schedule: "cron(30 3 * * ? *)"', 'schedule: "cron(30 3 LW * ? *)"'),
        },
    },
    {
        accepted: "an EventBridge crawler schedule on the nth weekday",
        edits: { [stream]: replace('schedule: "cron(15,45 * * * ? *)"', 'schedule: "cron(15 4 ? * MON#2 *)"') },
    },
    {
        accepted: "pipelines whose names share leading text (orders, orders-eu)",
        edits: {
            "config/mappings/orders-eu.yaml": {
                copy: mapping,
                change: replace("pipeline: orders", "pipeline: orders-eu", "incoming/orders/", "incoming/orders-eu/"),
            },
            [stackFile]: replace("    - orders\n", "    - orders\n    - orders-eu\n"),
        },
    },
];

describe("refused configs", () => {
    for (const { accepted: what, edits } of accepted) {
        it(`accepts ${what}`, () => {
            expect(problemsOf(edits)).to.deep.equal([]);
        });
    }

    for (const { refused, edits, problems } of refusals) {
        it(`refuses ${refused}`, () => {
            expect(problemsOf(edits)).to.deep.equal(problems);
        });
    }
});

describe("the platform's own schedules", () => {
    it("are schedules Glue runs", () => {
        expect(cronProblem(maintenanceSchedule, "glue")).to.equal(undefined);
    });
});

describe("commonFileName", () => {
    const cases: readonly [string, string, string | undefined][] = [
        ["*.csv", "orders.csv", "orders.csv"],
        ["orders*.csv", "orders_lines*.csv", "orders_lines.csv"],
        ["orders*.csv", "order_lines*.csv", undefined],
        ["a?c", "abc", "abc"],
        ["a?c", "ac", undefined],
        ["*a*", "*b*", "ba"],
        ["orders.csv", "Orders.csv", undefined],
        ["x*y*z", "*q*", "xqyz"],
    ];
    for (const [first, second, shared] of cases) {
        it(`${shared === undefined ? "finds no" : `finds "${shared}" as a`} name both "${first}" and "${second}" match`, () => {
            expect(commonFileName(first, second)).to.equal(shared);
            if (shared !== undefined) {
                // The name is one the job's own regexes match for both tables.
                expect([first, second].map((glob) => new RegExp(globToRegex(glob)).test(shared))).to.deep.equal([true, true]);
            }
        });
    }
});
