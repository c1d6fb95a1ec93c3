import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { loadLookups, loadStreams } from "../config/load";
import { lookupPlan, parseLookup } from "../config/lookup";
import { type ConfigError } from "../config/yaml-source";
import { configExample } from "./support/config-example";
import { repositoryRoot } from "./support/program";

const file = "config/lookups/products.yaml";
const { valid, problemsOf, variant } = configExample(file, parseLookup);

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
            bootstrap: { importTable: false },
        });
    });

    const cases: [string, string, string, string[]][] = [
        [
            "a key type DynamoDB keys cannot have",
            "partition: { attribute: product_id, type: string }",
            "partition: { attribute: product_id, type: boolean }",
            [`${file}:6:39: key.partition.type: Invalid option: expected one of "string"|"number"`],
        ],
        [
            "a sort key that is the partition key",
            "partition: { attribute: product_id, type: string }",
            "partition: { attribute: product_id, type: string }\n  sort: { attribute: product_id, type: number }",
            [`${file}:7:11: key.sort.attribute: "product_id" is already the partition key`],
        ],
        [
            "a key declared as an attribute",
            "name: price, type: number",
            "name: product_id, type: string",
            [`${file}:9:7: attributes[1].name: "product_id" is a key attribute; keys are always required`],
        ],
        [
            "an attribute declared twice",
            "name: price, type: number",
            "name: category, type: number",
            [`${file}:9:7: attributes[1].name: attribute "category" is already declared at attributes[0]`],
        ],
        [
            "an unknown export format",
            "format: jsonl",
            "format: parquet",
            [`${file}:10:29: source.format: Invalid option: expected one of "jsonl"|"dynamodb-json"|"csv"`],
        ],
        [
            "an export prefix without a trailing slash",
            "prefix: exports/,",
            "prefix: exports,",
            [`${file}:10:11: source.prefix: "exports" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`],
        ],
        [
            "a schedule that is not cron",
            `schedule: "cron(30 3 * * ? *)"`,
            `schedule: "daily"`,
            [`${file}:12:3: refresh.schedule: "daily" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`],
        ],
        [
            "a table that is never loaded",
            `  schedule: "cron(30 3 * * ? *)"\n  onNewExport: true`,
            "  onNewExport: false",
            [`${file}:11:1: refresh: the table would never be loaded: set a schedule, or onNewExport: true`],
        ],
        [
            "a TTL on a declared attribute",
            "ttl: { attribute: expires_at, days: 7 }",
            "ttl: { attribute: price, days: 7 }",
            [`${file}:15:8: ttl.attribute: "price" is already a key or declared attribute; the loader sets the TTL itself`],
        ],
        [
            "a TTL of no days",
            "ttl: { attribute: expires_at, days: 7 }",
            "ttl: { attribute: expires_at, days: 0 }",
            [`${file}:15:31: ttl.days: Too small: expected number to be >=1`],
        ],
        [
            "items larger than DynamoDB allows",
            "ttl: { attribute: expires_at, days: 7 }",
            "ttl: { attribute: expires_at, days: 7 }\nmaxItemKiB: 512",
            [`${file}:16:1: maxItemKiB: Too big: expected number to be <=400`],
        ],
        [
            "ImportTable from plain JSON lines",
            "ttl: { attribute: expires_at, days: 7 }",
            "ttl: { attribute: expires_at, days: 7 }\nbootstrap: { importTable: true }",
            [`${file}:16:14: bootstrap.importTable: DynamoDB ImportTable reads dynamodb-json or csv exports, not jsonl`],
        ],
        [
            "a filter destination both a prefix and a Firehose",
            "destination: { prefix: filtered/products/ }",
            "destination: { prefix: filtered/products/, firehose: matches }",
            [`${file}:20:3: filter.destination: Invalid input`],
        ],
        [
            "a filter prefix that is absolute",
            "destination: { prefix: filtered/products/ }",
            "destination: { prefix: /filtered/ }",
            [
                `${file}:20:18: filter.destination.prefix: "/filtered/" must be a relative S3 prefix ending in /, of letters, digits and _ - . /`,
            ],
        ],
    ];
    for (const [label, search, replacement, expected] of cases) {
        it(`rejects ${label}`, () => {
            expect(problemsOf(variant(search, replacement))).to.deep.equal(expected);
        });
    }

    it("rejects a definition in a file named after another lookup", () => {
        expect(problemsOf(valid, "config/lookups/items.yaml")).to.deep.equal([
            'config/lookups/items.yaml:3:1: lookup: lookup "products" must be defined in a file named products.yaml',
        ]);
    });
});

describe("loadLookups", () => {
    const streams = loadStreams(["clickstream"]);

    it("checks that a filter names a stream of the stack and a field of it", () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "lookups-"));
        fs.writeFileSync(path.join(directory, "products.yaml"), valid.replace("eventField: product_id", "eventField: sku"));
        fs.writeFileSync(
            path.join(directory, "users.yaml"),
            valid.replace("lookup: products", "lookup: users").replace("stream: clickstream", "stream: orders"),
        );
        try {
            loadLookups(["products", "users", "stores"], streams, directory);
            expect.fail("loadLookups accepted the definitions");
        } catch (error) {
            const relative = path.relative(repositoryRoot, directory);
            expect((error as ConfigError).problems).to.deep.equal([
                `${relative}/stores.yaml: lookup "stores" does not exist; the stack's ingestion:lookups names it`,
                'config/lookups/products.yaml: filter.eventField "sku" is not a field of stream "clickstream"',
                'config/lookups/users.yaml: filter.stream "orders" is not one of the stack\'s streams (ingestion:streams)',
            ]);
        }
    });

    it("loads the example against the example stream", () => {
        expect(loadLookups(["products"], streams).map((lookup) => lookup.lookup)).to.deep.equal(["products"]);
    });
});
