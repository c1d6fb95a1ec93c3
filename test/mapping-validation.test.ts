import { expect } from "chai";
import { z } from "zod";
import { parseMapping } from "../config/mapping";
import { ConfigError, YamlSource } from "../config/yaml-source";
import { fixtureText } from "./support/config-root";

const customersFile = "config/mappings/customers.yaml";
const customersYaml = fixtureText(customersFile);

/**
 * customers.yaml with the lines from `line` on replaced. The lines being replaced must read `from`
 * exactly, so when the example file changes a case fails loudly instead of quietly editing the
 * wrong line. Line numbers in the expected messages are those of the edited text.
 */
function editCustomers(line: number, from: string | string[], to: string | string[]): string {
    const lines = customersYaml.split("\n");
    const expected = typeof from === "string" ? [from] : from;
    expect(lines.slice(line - 1, line - 1 + expected.length), `customers.yaml lines from ${line}`).to.deep.equal(expected);
    lines.splice(line - 1, expected.length, ...(typeof to === "string" ? [to] : to));
    return lines.join("\n");
}

/** `text` with `from` replaced by `to`; `from` must occur exactly once. */
function replaceOnce(text: string, from: string, to: string): string {
    expect(text.split(from).length - 1, `occurrences of ${JSON.stringify(from)}`).to.equal(1);
    return text.replace(from, to);
}

/** The smallest valid mapping: one table, partition key only, defaults everywhere else. */
const tinyFile = "tiny.yaml";
const tinyYaml = `pipeline: tiny
extract:
  landingPrefix: incoming/tiny/
  archiveName: "tiny_{timestamp:yyyyMMdd}.zip"
tables:
  accounts:
    file: "accounts*.csv"
    primaryKey: [account_id]
    columns:
      - { name: account_id, type: string, nullable: false }
      - { name: updated_at, type: timestamp, nullable: false }
item:
  root: accounts
  partitionKey: { attribute: pk, column: account_id }
ttl:
  activity: [accounts.updated_at]
`;

/** The located problems `parseMapping` throws for `text`; fails the test if it throws nothing or something else. */
function problemsOf(fileName: string, text: string): readonly string[] {
    try {
        parseMapping(fileName, text);
    } catch (error) {
        if (error instanceof ConfigError) {
            return error.problems;
        }
        throw error;
    }
    throw new Error(`expected ${fileName} to be rejected, but parseMapping accepted it`);
}

interface BadMapping {
    readonly name: string;
    readonly fileName?: string;
    /** A thunk, so a stale `from` line fails its own case rather than the whole file at load time. */
    readonly text: () => string;
    readonly problem: string;
}

// Short, because it starts nearly every expected message below.
const file = customersFile;

const badMappings: readonly BadMapping[] = [
    {
        name: "YAML syntax error: a second colon inside a plain scalar",
        text: () => editCustomers(6, "description: CRM customers with orders, order lines and addresses", "description: CRM: customers"),
        problem: `${file}:6:14: YAML syntax: Nested mappings are not allowed in compact mappings`,
    },
    {
        name: "misspelled optional field (unknown field)",
        text: () => editCustomers(57, "    required: false", "    requried: false"),
        problem: `${file}:57:5: tables.addresses.requried: unknown field "requried"`,
    },
    {
        // Located at the closest existing parent: the key of the table that lacks the field.
        name: "missing required field of a table",
        text: () => editCustomers(37, '    file: "orders*.csv"', []),
        problem: `${file}:36:3: tables.orders.file: required field is missing`,
    },
    {
        name: "missing required field inside a flow map",
        text: () => editCustomers(82, "  partitionKey: { attribute: pk, column: customer_id }", "  partitionKey: { attribute: pk }"),
        problem: `${file}:82:3: item.partitionKey.column: required field is missing`,
    },
    {
        // Without a top-level section there is no closer node than the document's first key.
        name: "missing required top-level section",
        text: () =>
            editCustomers(
                100,
                [
                    "ttl:",
                    "  attribute: expires_at",
                    "  retentionDays: 270 # nine months after the latest activity",
                    "  activity: [customers.updated_at, orders.updated_at]",
                ],
                [],
            ),
        problem: `${file}:5:1: ttl: required field is missing`,
    },
    {
        name: "unknown column type",
        text: () => editCustomers(30, "      - { name: email, type: string }", "      - { name: email, type: text }"),
        problem: `${file}:30:24: tables.customers.columns[1].type: unknown type "text"; expected one of string, integer, long, double, boolean, date, timestamp or decimal(precision,scale)`,
    },
    {
        name: "decimal precision above 38",
        text: () =>
            editCustomers(
                33,
                '      - { name: credit_limit, type: "decimal(12,2)" }',
                '      - { name: credit_limit, type: "decimal(40,2)" }',
            ),
        problem: `${file}:33:31: tables.customers.columns[4].type: decimal precision 40 is out of range; expected 1 to 38`,
    },
    {
        name: "timestamp format with an unknown pattern letter",
        text: () =>
            editCustomers(
                34,
                '      - { name: created_at, type: timestamp, nullable: false, format: "yyyy-MM-dd HH:mm:ss" }',
                '      - { name: created_at, type: timestamp, nullable: false, format: "yyyy-MM-dd HH:mm:ss.fff" }',
            ),
        problem: `${file}:34:63: tables.customers.columns[5].format: pattern "yyyy-MM-dd HH:mm:ss.fff" has unknown letter 'f'; quote literal text, as in 'T'`,
    },
    {
        name: "format on a string column",
        text: () =>
            editCustomers(32, "      - { name: segment, type: string }", '      - { name: segment, type: string, format: "yyyy-MM-dd" }'),
        problem: `${file}:32:40: tables.customers.columns[3].format: format applies only to date and timestamp columns, not string`,
    },
    {
        // Only the duplicate is reported, not also a clash of its item attribute with the first copy.
        name: "duplicate column",
        text: () => editCustomers(32, "      - { name: segment, type: string }", "      - { name: email, type: string }"),
        problem: `${file}:32:11: tables.customers.columns[3].name: duplicate column "email" in table "customers"`,
    },
    {
        name: "duplicate table (duplicate map key)",
        text: () => editCustomers(46, "  order_lines:", "  orders:"),
        problem: `${file}:46:3: tables.orders: duplicate key "orders" (first defined on line 36)`,
    },
    {
        name: "table name that is not lower_snake_case",
        text: () => editCustomers(55, "  addresses:", "  Addresses:"),
        problem: `${file}:55:3: tables.Addresses: invalid name: must be lower_snake_case: a letter, then letters, digits or _ (at most 63)`,
    },
    {
        // Reported at the table later in the file, naming the earlier one.
        name: "two tables reading the same file pattern",
        text: () => editCustomers(56, '    file: "addresses*.csv"', '    file: "customers*.csv"'),
        problem: `${file}:56:5: tables.addresses.file: file pattern "customers*.csv" is already used by table "customers"`,
    },
    {
        name: "primary key naming an unknown column",
        text: () => editCustomers(58, "    primaryKey: [address_id]", "    primaryKey: [adress_id]"),
        problem: `${file}:58:18: tables.addresses.primaryKey[0]: unknown column "adress_id" in table "addresses"`,
    },
    {
        name: "nullable primary key column",
        text: () =>
            editCustomers(
                29,
                "      - { name: customer_id, type: string, nullable: false }",
                "      - { name: customer_id, type: string }",
            ),
        problem: `${file}:27:18: tables.customers.primaryKey[0]: primary key column "customer_id" must be declared nullable: false`,
    },
    {
        name: "column name with the reserved ingest_ prefix",
        text: () => editCustomers(32, "      - { name: segment, type: string }", "      - { name: ingest_segment, type: string }"),
        problem: `${file}:32:11: tables.customers.columns[3].name: names starting with ingest_ are reserved for the lake's own columns`,
    },
    {
        // The orders collection is then unjoined too, but saying so would repeat this typo.
        name: "relationship to an unknown parent table",
        text: () => editCustomers(70, "  - parent: customers", "  - parent: customer"),
        problem: `${file}:70:5: relationships[0].parent: unknown table "customer"`,
    },
    {
        name: "relationship on an unknown child column",
        text: () =>
            editCustomers(
                72,
                "    on: [{ child: customer_id, parent: customer_id }]",
                "    on: [{ child: customer_ud, parent: customer_id }]",
            ),
        problem: `${file}:72:12: relationships[0].on[0].child: unknown column "customer_ud" in table "orders"`,
    },
    {
        name: "relationship joining columns of different types",
        text: () =>
            editCustomers(
                61,
                "      - { name: customer_id, type: string, nullable: false }",
                "      - { name: customer_id, type: long, nullable: false }",
            ),
        problem: `${file}:78:10: relationships[2].on[0]: column types differ: addresses.customer_id is long, customers.customer_id is string`,
    },
    {
        name: "relationship not on the parent's whole primary key",
        text: () => editCustomers(38, "    primaryKey: [order_id]", "    primaryKey: [order_id, customer_id]"),
        problem: `${file}:75:5: relationships[1].on: must join on the whole primary key of "orders" (order_id, customer_id), not (order_id)`,
    },
    {
        name: "table with two parents",
        text: () =>
            editCustomers(79, "", [
                "  - parent: addresses",
                "    child: order_lines",
                "    on: [{ child: order_id, parent: address_id }]",
                "",
            ]),
        problem: `${file}:80:5: relationships[3].child: table "order_lines" already has parent "orders" (relationships[1]); a table has at most one parent`,
    },
    {
        // Both relationships of the cycle see it; it is reported once, at the first.
        name: "cycle customers -> orders -> customers",
        text: () =>
            editCustomers(79, "", ["  - parent: orders", "    child: customers", "    on: [{ child: customer_id, parent: order_id }]", ""]),
        problem: `${file}:70:5: relationships[0]: relationships form a cycle: orders -> customers -> orders`,
    },
    {
        // TTL activity tables are then "not in the item", which would only repeat this typo.
        name: "item root naming an unknown table",
        text: () => editCustomers(81, "  root: customers", "  root: customer"),
        problem: `${file}:81:3: item.root: unknown table "customer"`,
    },
    {
        name: "collection table not joined by any relationship",
        text: () =>
            editCustomers(
                76,
                ["  - parent: customers", "    child: addresses", "    on: [{ child: customer_id, parent: customer_id }]"],
                [],
            ),
        problem: `${file}:93:7: item.collections[1].table: no relationship makes "addresses" a child of "customers"; add one under relationships`,
    },
    {
        name: "item key columns that are not the root's primary key",
        text: () => editCustomers(83, "  sortKey: { attribute: sk, value: PROFILE }", "  sortKey: { attribute: sk, column: email }"),
        problem: `${file}:82:3: item.partitionKey: the item key columns (customer_id, email) must be exactly the primary key of "customers" (customer_id), so each root row is one item`,
    },
    {
        // Not also "key columns must be the primary key": that would repeat the same typo.
        name: "item key naming an unknown column",
        text: () =>
            editCustomers(
                82,
                "  partitionKey: { attribute: pk, column: customer_id }",
                "  partitionKey: { attribute: pk, column: customer_ud }",
            ),
        problem: `${file}:82:34: item.partitionKey.column: unknown column "customer_ud" in root table "customers"`,
    },
    {
        name: "sort key with neither column nor value",
        text: () => editCustomers(83, "  sortKey: { attribute: sk, value: PROFILE }", "  sortKey: { attribute: sk }"),
        problem: `${file}:83:3: item.sortKey: must be { attribute, column } or { attribute, value }`,
    },
    {
        name: "sort key attribute equal to the partition key attribute",
        text: () => editCustomers(83, "  sortKey: { attribute: sk, value: PROFILE }", "  sortKey: { attribute: pk, value: PROFILE }"),
        problem: `${file}:83:14: item.sortKey.attribute: sort key attribute "pk" is also the partition key attribute`,
    },
    {
        // The TTL would overwrite the key attribute, and DynamoDB rejects a number in a string key.
        name: "TTL attribute equal to the partition key attribute",
        text: () => editCustomers(101, "  attribute: expires_at", "  attribute: pk"),
        problem: `${file}:101:3: ttl.attribute: TTL attribute "pk" is also the partition key attribute`,
    },
    {
        name: "TTL activity naming an unknown column",
        text: () =>
            editCustomers(
                103,
                "  activity: [customers.updated_at, orders.updated_at]",
                "  activity: [customers.updated_at, orders.modified_at]",
            ),
        problem: `${file}:103:36: ttl.activity[1]: unknown column "modified_at" in table "orders"`,
    },
    {
        name: "TTL activity column that is not a date or timestamp",
        text: () =>
            editCustomers(
                103,
                "  activity: [customers.updated_at, orders.updated_at]",
                "  activity: [customers.updated_at, orders.status]",
            ),
        problem: `${file}:103:36: ttl.activity[1]: column "orders.status" is string; activity must be a date or timestamp column`,
    },
    {
        name: "retention of 0 days",
        text: () => editCustomers(102, "  retentionDays: 270 # nine months after the latest activity", "  retentionDays: 0"),
        problem: `${file}:102:3: ttl.retentionDays: Too small: expected number to be >=1`,
    },
    {
        name: "retention of 5000 days",
        text: () => editCustomers(102, "  retentionDays: 270 # nine months after the latest activity", "  retentionDays: 5000"),
        problem: `${file}:102:3: ttl.retentionDays: must be at most 3650 days (ten years)`,
    },
    {
        name: "archive name without {timestamp}",
        text: () =>
            editCustomers(
                10,
                `  archiveName: "crm_customers_{timestamp:yyyyMMdd'T'HHmmss'Z'}_{sequence}.zip"`,
                '  archiveName: "crm_customers_{sequence}.zip"',
            ),
        problem: `${file}:10:3: extract.archiveName: "crm_customers_{sequence}.zip" must contain {timestamp:FORMAT} so extracts can be ordered`,
    },
    {
        name: "unknown oversize policy",
        text: () => editCustomers(109, "  policy: quarantine", "  policy: drop"),
        problem: `${file}:109:3: oversize.policy: Invalid option: expected one of "fail"|"skip"|"quarantine"`,
    },
    {
        name: "maxItemBytes above DynamoDB's item limit",
        text: () => editCustomers(110, "  maxItemBytes: 400000", "  maxItemBytes: 409601"),
        problem: `${file}:110:3: oversize.maxItemBytes: must be at most 409600 bytes (DynamoDB's 400 KB item limit)`,
    },
    {
        name: "collection attribute that a renamed column already uses",
        text: () => editCustomers(84, "  attributes: { full_name: name }", "  attributes: { full_name: orders }"),
        problem: `${file}:86:7: item.collections[0].attribute: attribute "orders" clashes with column "full_name"`,
    },
    {
        name: "column renamed onto a key attribute",
        text: () => editCustomers(84, "  attributes: { full_name: name }", "  attributes: { full_name: pk }"),
        problem: `${file}:84:17: item.attributes.full_name: attribute "pk" of column "full_name" clashes with a reserved item attribute`,
    },
    {
        // customers.yaml has no boolean column in its root's key, so this one edits the tiny mapping.
        name: "key column of boolean type",
        fileName: tinyFile,
        text: () =>
            replaceOnce(
                tinyYaml,
                "{ name: account_id, type: string, nullable: false }",
                "{ name: account_id, type: boolean, nullable: false }",
            ),
        problem: `${tinyFile}:14:34: item.partitionKey.column: key column "account_id" is boolean; a DynamoDB key needs string, integer, long or decimal`,
    },
    ...csvDialectCases(),
];

/** The tiny mapping with a `csv` block: each case gives the block's line and the expected problem's column and text. */
function csvDialectCases(): BadMapping[] {
    const withCsv = (csv: string): string =>
        replaceOnce(
            tinyYaml,
            `  archiveName: "tiny_{timestamp:yyyyMMdd}.zip"\n`,
            `  archiveName: "tiny_{timestamp:yyyyMMdd}.zip"\n  csv: ${csv}\n`,
        );
    const cases: [string, string, string][] = [
        [
            "an encoding the job cannot cut into lines",
            "{ encoding: UTF-32 }",
            "5:10: extract.csv.encoding: must be one of UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15, windows-1252, UTF-16, UTF-16LE, UTF-16BE",
        ],
        [
            "a line feed as the delimiter",
            '{ delimiter: "\\n" }',
            "5:10: extract.csv.delimiter: must not be a line break: line breaks end records",
        ],
        [
            "a carriage return as the quote",
            '{ quote: "\\r" }',
            "5:10: extract.csv.quote: must not be a line break: line breaks end records",
        ],
        ["the delimiter as the quote", "{ delimiter: ';', quote: ';' }", "5:26: extract.csv.quote: must differ from the delimiter"],
        ["the delimiter as the escape", "{ delimiter: '|', escape: '|' }", "5:26: extract.csv.escape: must differ from the delimiter"],
        [
            "a null marker holding the delimiter",
            "{ nullValue: 'N,A' }",
            '5:10: extract.csv.nullValue: must not contain ",": only an unquoted field is null, and an unquoted field never holds it',
        ],
        [
            "trimKeys that is not a boolean",
            "{ trimKeys: sometimes }",
            "5:10: extract.csv.trimKeys: Invalid input: expected boolean, received string",
        ],
    ];
    return cases.map(([name, csv, problem]) => ({ name, fileName: tinyFile, text: () => withCsv(csv), problem: `${tinyFile}:${problem}` }));
}

describe("mapping validation", () => {
    it("accepts the example mappings unchanged, so each bad case fails only for its own edit", () => {
        expect(() => parseMapping(customersFile, customersYaml)).not.to.throw();
        expect(() => parseMapping(tinyFile, tinyYaml)).not.to.throw();
    });

    for (const { name, fileName = customersFile, text, problem } of badMappings) {
        it(`rejects ${name}`, () => {
            expect(problemsOf(fileName, text())).to.deep.equal([problem]);
        });
    }

    it("reports independent problems together, in file order rather than the order they are found", () => {
        // The nullable key column is found after the column types are checked, yet sits above them (line 27).
        let text = editCustomers(
            29,
            "      - { name: customer_id, type: string, nullable: false }",
            "      - { name: customer_id, type: string }",
        );
        text = replaceOnce(text, "      - { name: email, type: string }", "      - { name: email, type: text }");
        text = replaceOnce(
            text,
            "  activity: [customers.updated_at, orders.updated_at]",
            "  activity: [customers.updated_at, orders.modified_at]",
        );
        const problems = [
            `${file}:27:18: tables.customers.primaryKey[0]: primary key column "customer_id" must be declared nullable: false`,
            `${file}:30:24: tables.customers.columns[1].type: unknown type "text"; expected one of string, integer, long, double, boolean, date, timestamp or decimal(precision,scale)`,
            `${file}:103:36: ttl.activity[1]: unknown column "modified_at" in table "orders"`,
        ];
        expect(problemsOf(customersFile, text)).to.deep.equal(problems);
        expect(() => parseMapping(customersFile, text)).to.throw(ConfigError, `3 config problems:\n  ${problems.join("\n  ")}`);
    });
});

describe("YamlSource.reportIssues", () => {
    const schema = z.strictObject({ outer: z.strictObject({ name: z.string(), size: z.number() }) });
    const cases = [
        { name: "an absent field", yaml: "outer:\n  size: 1\n", problem: "f.yaml:1:1: outer.name: required field is missing" },
        // A key with no value is YAML null: present, so zod's own message stays.
        {
            name: "a field set to null",
            yaml: "outer:\n  name:\n  size: 1\n",
            problem: "f.yaml:2:3: outer.name: Invalid input: expected string, received null",
        },
        {
            name: "a field of the wrong type",
            yaml: "outer:\n  name: a\n  size: big\n",
            problem: "f.yaml:3:3: outer.size: Invalid input: expected number, received string",
        },
    ];
    // zod 4 keeps `input` on an issue only with reportInput; without it the message is the only clue.
    for (const reportInput of [true, false]) {
        for (const { name, yaml, problem } of cases) {
            it(`reports ${name} (reportInput: ${reportInput})`, () => {
                const source = new YamlSource("f.yaml", yaml);
                const result = schema.safeParse(source.value, { reportInput });
                source.reportIssues(result.error?.issues ?? []);
                expect(source.messages()).to.deep.equal([problem]);
            });
        }
    }
});
