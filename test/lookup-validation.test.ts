import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { loadLookups, loadStreams } from "../config/load";
import { generationAttribute, lookupPlan, parseLookup, upstreamStreamOf } from "../config/lookup";
import { exportFormats } from "../contracts/lookup-plan";
import { type ConfigError } from "../config/yaml-source";
import { configExample } from "./support/config-example";
import { fixtureRoot, useConfigRoot, withConfigRoot } from "./support/config-root";
import { repositoryRoot } from "./support/program";

const file = "config/lookups/products.yaml";
// Parsed as a stack in eu-west-1 parses it, so a filter's stream of another region is refused.
const { valid, problemsOf, variant } = configExample(file, (fileName, text) => parseLookup(fileName, text, { region: "eu-west-1" }));
/** What a Python script prints, run with the loader's package (glue-scripts/ingest) importable and `input` on stdin. */
function runLoaderPython(script: string, input = ""): string {
    const run = spawnSync(path.join(repositoryRoot, ".venv", "bin", "python"), ["-c", script], {
        input,
        encoding: "utf8",
        env: { ...process.env, PYTHONPATH: path.join(repositoryRoot, "glue-scripts") },
    });
    expect(run.stderr).to.equal("");
    expect(run.status).to.equal(0);
    return run.stdout;
}

/** The example with each [search, replacement] made; each search occurs once in the example. */
function edited(...edits: [string, string][]): string {
    return edits.reduce((text, [search, replacement]) => {
        expect(text.split(search).length, `"${search}" occurs once in the example`).to.equal(2);
        return text.replace(search, replacement);
    }, valid);
}
const upstreamArn = "arn:aws:kinesis:eu-west-1:210987654321:stream/orders";
const upstreamKey = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("lookup definitions", () => {
    it("accepts the example and plans its load", () => {
        expect(lookupPlan(parseLookup(file, valid))).to.deep.equal({
            lookup: "products",
            key: { partition: { attribute: "product_id", type: "string" }, sort: null },
            attributes: [
                { name: "category", type: "string", required: true },
                { name: "price", type: "number", required: false },
            ],
            format: "jsonl",
            ttl: { attribute: "expires_at", days: 7 },
            maxItemBytes: 409600,
            fullRefresh: true,
            markers: ["_SUCCESS", "manifest-summary.json", "manifest"],
            unload: null,
        });
    });

    it("fills in defaults: load on each new export, no full refresh, DynamoDB's item limit", () => {
        const lookup = parseLookup(
            "config/lookups/minimal.yaml",
            "lookup: minimal\nkey: { partition: { attribute: id, type: number } }\nsource: { format: csv }\n",
        );
        expect(lookup).to.deep.equal({
            lookup: "minimal",
            key: { partition: { attribute: "id", type: "number" } },
            attributes: [],
            source: { prefix: "exports/", format: "csv" },
            refresh: { onNewExport: true, fullRefresh: false },
            maxItemKiB: 400,
            bootstrap: { importTable: false, compression: "gzip" },
        });
    });

    // Each definition is accepted, and planned as the loader reads it.
    const plans: [string, string[], Partial<ReturnType<typeof lookupPlan>>][] = [
        [
            "a Redshift UNLOAD with its manifest as marker, its columns and escape, UNLOAD's delimiter and null by default",
            [
                "source:",
                "  prefix: unloads/",
                "  format: redshift-text",
                "  marker: products_manifest",
                "  unload: { columns: [product_id, category, price], escape: true }",
            ],
            {
                format: "redshift-text",
                markers: ["products_manifest"],
                unload: { columns: ["product_id", "category", "price"], delimiter: "|", escape: true, nullAs: "" },
            },
        ],
        [
            "a Redshift UNLOAD with its own delimiter and null, completed by any default marker",
            [
                "source:",
                "  format: redshift-text",
                `  unload: { columns: [category, product_id], delimiter: "\\t", escape: false, nullAs: "\\\\N" }`,
            ],
            {
                format: "redshift-text",
                markers: ["_SUCCESS", "manifest-summary.json", "manifest"],
                unload: { columns: ["category", "product_id"], delimiter: "\t", escape: false, nullAs: "\\N" },
            },
        ],
        [
            "a Data Pipeline export with a team's own marker",
            ["source: { format: data-pipeline-json, marker: DONE }"],
            { format: "data-pipeline-json", markers: ["DONE"], unload: null },
        ],
    ];
    const header = ["lookup: products", "key:", "  partition: { attribute: product_id, type: string }", "attributes:"];
    const attributes = ["  - { name: category, type: string, required: true }", "  - { name: price, type: number }"];
    for (const [label, lines, expected] of plans) {
        it(`plans ${label}`, () => {
            const plan = lookupPlan(parseLookup(file, [...header, ...attributes, ...lines].join("\n")));
            expect(plan).to.deep.equal({
                ...lookupPlan(parseLookup(file, [...header, ...attributes, "source: { format: jsonl }"].join("\n"))),
                ...expected,
            });
        });
    }

    it("plans only what the loader's plan check accepts (glue-scripts/ingest/lookup_plan.py)", () => {
        const accepted = [
            valid,
            ...plans.map(([, lines]) => [...header, ...attributes, ...lines].join("\n")),
            ["lookup: products", "key: { partition: { attribute: sku, type: number } }", "source: { format: keys }"].join("\n"),
            edited(["format: jsonl }", "format: dynamodb-json, marker: manifest-summary.json }"]),
        ].map((text) => lookupPlan(parseLookup(file, text)));
        const check = [
            "import json, sys",
            "from ingest.lookup_plan import LookupPlanError, parse_lookup_plan",
            "for plan in json.load(sys.stdin):",
            "    try:",
            "        parse_lookup_plan(plan)",
            "        print('accepted')",
            "    except LookupPlanError as error:",
            "        print(error)",
        ].join("\n");
        expect(runLoaderPython(check, JSON.stringify(accepted)).trim().split("\n")).to.deep.equal(accepted.map(() => "accepted"));
    });

    it("names the loader's formats, and the attribute it sets on a full refresh, as the loader does", () => {
        const names = runLoaderPython(
            "import json\nfrom ingest.lookup_plan import FORMATS, GENERATION_ATTRIBUTE\nprint(json.dumps([FORMATS, GENERATION_ATTRIBUTE]))",
        );
        expect(JSON.parse(names)).to.deep.equal([exportFormats, generationAttribute]);
    });

    it("plans a keys export: the partition key alone, attributes optional", () => {
        const text = ["lookup: products", "key: { partition: { attribute: sku, type: number } }", "source: { format: keys }"].join("\n");
        expect(lookupPlan(parseLookup(file, text))).to.deep.equal({
            lookup: "products",
            key: { partition: { attribute: "sku", type: "number" }, sort: null },
            attributes: [],
            format: "keys",
            ttl: null,
            maxItemBytes: 409600,
            fullRefresh: false,
            markers: ["_SUCCESS", "manifest-summary.json", "manifest"],
            unload: null,
        });
    });

    const cases: [string, string, string[]][] = [
        [
            "a key type DynamoDB keys cannot have",
            variant("partition: { attribute: product_id, type: string }", "partition: { attribute: product_id, type: boolean }"),
            [`${file}:6:39: key.partition.type: Invalid option: expected one of "string"|"number"`],
        ],
        [
            "a sort key that is the partition key",
            variant(
                "partition: { attribute: product_id, type: string }",
                "partition: { attribute: product_id, type: string }\n  sort: { attribute: product_id, type: number }",
            ),
            [`${file}:7:11: key.sort.attribute: "product_id" is already the partition key`],
        ],
        [
            "a key declared as an attribute",
            variant("name: price, type: number", "name: product_id, type: string"),
            [`${file}:9:7: attributes[1].name: "product_id" is a key attribute; keys are always required`],
        ],
        [
            "an attribute declared twice",
            variant("name: price, type: number", "name: category, type: number"),
            [`${file}:9:7: attributes[1].name: attribute "category" is already declared at attributes[0]`],
        ],
        [
            "an unknown export format",
            variant("format: jsonl", "format: parquet"),
            [
                `${file}:10:29: source.format: Invalid option: expected one of ` +
                    `"jsonl"|"dynamodb-json"|"data-pipeline-json"|"redshift-text"|"csv"|"keys"`,
            ],
        ],
        [
            "an export prefix without a trailing slash",
            variant("prefix: exports/,", "prefix: exports,"),
            [`${file}:10:11: source.prefix: "exports" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`],
        ],
        [
            "a schedule that is not cron",
            variant(`schedule: "cron(30 3 * * ? *)"`, `schedule: "daily"`),
            [`${file}:12:3: refresh.schedule: "daily" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`],
        ],
        [
            "a table that is never loaded",
            variant(`  schedule: "cron(30 3 * * ? *)"\n  onNewExport: true`, "  onNewExport: false"),
            [`${file}:11:1: refresh: the table would never be loaded: set a schedule, or onNewExport: true`],
        ],
        [
            "a TTL on a declared attribute",
            variant("ttl: { attribute: expires_at, days: 7 }", "ttl: { attribute: price, days: 7 }"),
            [`${file}:15:8: ttl.attribute: "price" is already a key or declared attribute; the loader sets the TTL itself`],
        ],
        [
            "a TTL of no days",
            variant("ttl: { attribute: expires_at, days: 7 }", "ttl: { attribute: expires_at, days: 0 }"),
            [`${file}:15:31: ttl.days: Too small: expected number to be >=1`],
        ],
        [
            "items larger than DynamoDB allows",
            variant("ttl: { attribute: expires_at, days: 7 }", "ttl: { attribute: expires_at, days: 7 }\nmaxItemKiB: 512"),
            [`${file}:16:1: maxItemKiB: Too big: expected number to be <=400`],
        ],
        [
            "ImportTable from plain JSON lines",
            variant("ttl: { attribute: expires_at, days: 7 }", "ttl: { attribute: expires_at, days: 7 }\nbootstrap: { importTable: true }"),
            [
                `${file}:16:14: bootstrap.importTable: DynamoDB ImportTable reads only dynamodb-json exports of {"Item": ...} lines ` +
                    "(a DynamoDB export's) and csv exports with a header, not jsonl",
            ],
        ],
        ...(["data-pipeline-json", "keys"] as const).map((format): [string, string, string[]] => [
            `ImportTable from a ${format} export`,
            variant("format: jsonl }\nrefresh:", `format: ${format} }\nbootstrap: { importTable: true }\nrefresh:`),
            [
                ...(format === "keys"
                    ? [
                          `${file}:8:37: attributes[0].required: a keys export (source.format keys) holds only the partition key; "category" cannot be required`,
                      ]
                    : []),
                `${file}:11:14: bootstrap.importTable: DynamoDB ImportTable reads only dynamodb-json exports of {"Item": ...} lines ` +
                    `(a DynamoDB export's) and csv exports with a header, not ${format}`,
            ],
        ]),
        [
            "an ImportTable prefix outside the bucket's keys",
            variant(
                "ttl: { attribute: expires_at, days: 7 }",
                "ttl: { attribute: expires_at, days: 7 }\nbootstrap: { importTable: false, keyPrefix: /exports/AWSDynamoDB/ }",
            ),
            [
                `${file}:16:34: bootstrap.keyPrefix: "/exports/AWSDynamoDB/" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`,
            ],
        ],
        [
            "an ImportTable compression it does not know",
            variant(
                "ttl: { attribute: expires_at, days: 7 }",
                "ttl: { attribute: expires_at, days: 7 }\nbootstrap: { compression: bzip2 }",
            ),
            [`${file}:16:14: bootstrap.compression: Invalid option: expected one of "gzip"|"zstd"|"none"`],
        ],
        [
            "a completion marker that is not an object name",
            variant("format: jsonl }", "format: jsonl, marker: done/_SUCCESS }"),
            [`${file}:10:44: source.marker: must be an object name: 1 to 255 letters, digits, _ . or -`],
        ],
        [
            "a Redshift UNLOAD export without its UNLOAD settings",
            variant("format: jsonl }", "format: redshift-text }"),
            [
                `${file}:10:1: source.unload: a redshift-text export needs its UNLOAD settings: the columns in order, and escape ` +
                    "(delimiter and nullAs if not UNLOAD's defaults)",
            ],
        ],
        [
            "UNLOAD settings for an export that is not Redshift's",
            variant("format: jsonl }", "format: csv, unload: { columns: [product_id, category], escape: false } }"),
            [`${file}:10:42: source.unload: only a redshift-text export has UNLOAD settings; this one is csv`],
        ],
        [
            "UNLOAD settings that do not say whether it escaped",
            variant("format: jsonl }", "format: redshift-text, unload: { columns: [product_id, category] } }"),
            [
                `${file}:10:52: source.unload.escape: required: true if the UNLOAD ran with ESCAPE, false if not (no default: ` +
                    "escaped text read as plain keeps its backslashes, plain text read as escaped loses them)",
            ],
        ],
        [
            "UNLOAD columns that repeat a column and leave out the key and a required attribute",
            variant("format: jsonl }", "format: redshift-text, unload: { columns: [price, sku, price], escape: true } }"),
            [
                `${file}:10:62: source.unload.columns: the key attribute "product_id" is not one of the columns`,
                `${file}:10:62: source.unload.columns: the required attribute "category" is not one of the columns`,
                `${file}:10:84: source.unload.columns[2]: column "price" is already columns[0]`,
            ],
        ],
        // Written as JSON strings, which YAML reads as it reads its own double-quoted strings.
        ...["||", "\\", "\n", ""].map((delimiter): [string, string, string[]] => [
            `an UNLOAD delimiter of ${JSON.stringify(delimiter)}`,
            variant(
                "format: jsonl }",
                `format: redshift-text, unload: { columns: [product_id, category], escape: true, delimiter: ${JSON.stringify(delimiter)} } }`,
            ),
            [
                `${file}:10:109: source.unload.delimiter: ${JSON.stringify(delimiter)} must be one character ` +
                    "other than a backslash or a line break",
            ],
        ]),
        [
            "a keys export with a sort key and a required attribute",
            edited(
                [
                    "partition: { attribute: product_id, type: string }",
                    "partition: { attribute: product_id, type: string }\n  sort: { attribute: store, type: number }",
                ],
                ["format: jsonl }", "format: keys }"],
            ),
            [
                `${file}:7:3: key.sort: a keys export (source.format keys) holds only the partition key; it cannot have a sort key`,
                `${file}:9:37: attributes[0].required: a keys export (source.format keys) holds only the partition key; "category" cannot be required`,
            ],
        ],
        [
            "the loader's own attribute as a declared attribute",
            variant("name: price, type: number", "name: load_generation, type: string"),
            [`${file}:9:7: attributes[1].name: "load_generation" is the attribute the loader sets on a full refresh`],
        ],
        [
            "the loader's own attribute as the TTL",
            variant("ttl: { attribute: expires_at, days: 7 }", "ttl: { attribute: load_generation, days: 7 }"),
            [`${file}:15:8: ttl.attribute: "load_generation" is the attribute the loader sets on a full refresh`],
        ],
        [
            "the loader's own attribute as the partition key",
            variant("partition: { attribute: product_id, type: string }", "partition: { attribute: load_generation, type: string }"),
            [`${file}:6:16: key.partition.attribute: "load_generation" is the attribute the loader sets on a full refresh`],
        ],
        [
            "a filter stream that is neither the stack's nor a stream ARN",
            variant("stream: clickstream", `stream: "arn:aws:kinesis:eu-west-1:210987654321:orders"\n  kmsKeyArn: ${upstreamKey}`),
            [
                `${file}:17:3: filter.stream: "arn:aws:kinesis:eu-west-1:210987654321:orders" is not a Kinesis stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/<name>)`,
            ],
        ],
        [
            "another account's stream without its key",
            variant("stream: clickstream", `stream: ${upstreamArn}`),
            [
                `${file}:16:1: filter.kmsKeyArn: required with a stream of another stack or account: the ARN of the KMS key its records are encrypted with`,
            ],
        ],
        [
            "a key for the stack's own stream",
            variant("stream: clickstream", `stream: clickstream\n  kmsKeyArn: ${upstreamKey}`),
            [
                `${file}:18:3: filter.kmsKeyArn: only a stream of another stack or account (an ARN in filter.stream) takes a key; stream "clickstream" is this stack's, encrypted with the stack's key`,
            ],
        ],
        [
            "a key alias for another account's stream",
            variant("stream: clickstream", `stream: ${upstreamArn}\n  kmsKeyArn: arn:aws:kms:eu-west-1:210987654321:alias/orders`),
            [
                `${file}:18:3: filter.kmsKeyArn: "arn:aws:kms:eu-west-1:210987654321:alias/orders" is not a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>; an alias cannot be granted)`,
            ],
        ],
        [
            "a stream key of another region than the stream's",
            variant("stream: clickstream", `stream: ${upstreamArn}\n  kmsKeyArn: ${upstreamKey.replace("eu-west-1", "us-east-1")}`),
            [
                `${file}:18:3: filter.kmsKeyArn: the key is in aws us-east-1, the stream in aws eu-west-1; a stream's key is in the stream's region`,
            ],
        ],
        [
            "a stream of another region than the stack's",
            variant(
                "stream: clickstream",
                `stream: ${upstreamArn.replace("eu-west-1", "us-east-1")}\n  kmsKeyArn: ${upstreamKey.replace("eu-west-1", "us-east-1")}`,
            ),
            [
                `${file}:17:3: filter.stream: the stream is in us-east-1, but the stack deploys to eu-west-1 (aws:region); a Lambda event source mapping reads only streams of its own region`,
            ],
        ],
        [
            "a filter destination both a prefix and a Firehose",
            variant("destination: { prefix: filtered/products/ }", "destination: { prefix: filtered/products/, firehose: matches }"),
            [`${file}:20:3: filter.destination: Invalid input`],
        ],
        [
            "a filter prefix that is absolute",
            variant("destination: { prefix: filtered/products/ }", "destination: { prefix: /filtered/ }"),
            [
                `${file}:20:18: filter.destination.prefix: "/filtered/" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`,
            ],
        ],
    ];
    for (const [label, text, expected] of cases) {
        it(`rejects ${label}`, () => {
            expect(problemsOf(text)).to.deep.equal(expected);
        });
    }

    it("reads a stream of another account by its ARN, with the key its records are encrypted with", () => {
        const lookup = parseLookup(file, variant("stream: clickstream", `stream: ${upstreamArn}\n  kmsKeyArn: ${upstreamKey}`), {
            region: "eu-west-1",
        });
        expect(upstreamStreamOf(lookup)).to.deep.equal({
            arn: upstreamArn,
            partition: "aws",
            region: "eu-west-1",
            accountId: "210987654321",
            name: "orders",
            kmsKeyArn: upstreamKey,
        });
        expect(upstreamStreamOf(parseLookup(file, valid))).to.equal(undefined);
    });

    it("rejects a definition in a file named after another lookup", () => {
        expect(problemsOf(valid, "config/lookups/items.yaml")).to.deep.equal([
            'config/lookups/items.yaml:3:1: lookup: lookup "products" must be defined in a file named products.yaml',
        ]);
    });
});

describe("loadLookups", () => {
    useConfigRoot();
    const streams = withConfigRoot(fixtureRoot, () => loadStreams(["clickstream"]));

    it("checks that a filter names a stream of the stack and a field of it, or a stream of the stack's region by ARN", () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "lookups-"));
        const write = (name: string, text: string) => fs.writeFileSync(path.join(directory, `${name}.yaml`), text);
        write("products", valid.replace("eventField: product_id", "eventField: sku"));
        write("users", valid.replace("lookup: products", "lookup: users").replace("stream: clickstream", "stream: orders"));
        // A stream of another account has fields the stack cannot know; its region must be the stack's.
        const upstream = (lookup: string, arn: string, key: string) =>
            valid
                .replace("lookup: products", `lookup: ${lookup}`)
                .replace("stream: clickstream", `stream: ${arn}\n  kmsKeyArn: ${key}`)
                .replace("eventField: product_id", "eventField: order_id");
        write("orders", upstream("orders", upstreamArn, upstreamKey));
        write("refunds", upstream("refunds", upstreamArn.replace("eu-west-1", "us-east-1"), upstreamKey.replace("eu-west-1", "us-east-1")));
        const relative = path.relative(repositoryRoot, directory);
        try {
            loadLookups(["products", "users", "stores", "orders", "refunds"], streams, { region: "eu-west-1" }, directory);
            expect.fail("loadLookups accepted the definitions");
        } catch (error) {
            expect((error as ConfigError).problems).to.deep.equal([
                `${relative}/stores.yaml: lookup "stores" does not exist; the stack's ingestion:lookups names it`,
                `${relative}/refunds.yaml:17:3: filter.stream: the stream is in us-east-1, but the stack deploys to eu-west-1 (aws:region); ` +
                    "a Lambda event source mapping reads only streams of its own region",
                `${relative}/products.yaml:18:3: filter.eventField: "sku" is not a field of stream "clickstream"`,
                `${relative}/users.yaml:17:3: filter.stream: "orders" is not one of the stack's streams (ingestion:streams: clickstream); ` +
                    "a stream of another stack or account is named by its ARN",
            ]);
        }
        // Where the stack's region is not known, the stream's is not checked.
        expect(loadLookups(["orders", "refunds"], streams, {}, directory).map((lookup) => lookup.lookup)).to.deep.equal([
            "orders",
            "refunds",
        ]);
    });

    it("loads the example against the example stream", () => {
        expect(loadLookups(["products"], streams).map((lookup) => lookup.lookup)).to.deep.equal(["products"]);
    });
});
