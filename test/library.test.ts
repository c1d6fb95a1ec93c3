import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import * as ts from "typescript";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { buildJobPlan } from "../config/job-plan";
import { repositoryRoot } from "../config/load";
import { parseLookup } from "../config/lookup";
import { parseMapping } from "../config/mapping";
import { parseStream } from "../config/stream";
import * as library from "../lib";
import { fixtureText } from "./support/config-root";
import { settle, useMocks, valueOf, type RecordingMocks } from "./support/pulumi-mocks";

const entryPath = path.join(repositoryRoot, "lib", "index.ts");
const programPath = path.join(repositoryRoot, "index.ts");
const examplePath = path.join(repositoryRoot, "examples", "stream-lake", "index.ts");

/** A YAML file of the tests' config (test/fixtures/project/) as the plain object a program would write instead. */
function plainObjectOf(file: string): Record<string, unknown> {
    return parseYaml(fixtureText(file)) as Record<string, unknown>;
}

/** The problems of a ConfigError `build` throws; fails when it throws none. */
function problemsOf(build: () => unknown): readonly string[] {
    try {
        build();
    } catch (error) {
        if (error instanceof library.ConfigError) {
            return error.problems;
        }
        throw error;
    }
    expect.fail("expected a ConfigError");
}

/** The TypeScript source of a file of the repository, parsed (syntax only: fast, and enough to read imports and `new`). */
function sourceOf(file: string): ts.SourceFile {
    return ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
}

/** Every name a module imports by name, with the module specifier it imports it from. */
function namedImports(source: ts.SourceFile): Map<string, string> {
    const imports = new Map<string, string>();
    for (const statement of source.statements) {
        const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
        if (ts.isImportDeclaration(statement) && bindings && ts.isNamedImports(bindings)) {
            for (const element of bindings.elements) {
                imports.set(element.name.text, (statement.moduleSpecifier as ts.StringLiteral).text);
            }
        }
    }
    return imports;
}

/** Every name `match` gives for a node of the source, in order, without repeats. */
function collect(source: ts.SourceFile, match: (node: ts.Node) => string | undefined): string[] {
    const found = new Set<string>();
    const visit = (node: ts.Node): void => {
        const name = match(node);
        if (name !== undefined) {
            found.add(name);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return [...found];
}

/** The names a module exports with `export { ... } from`, types included. */
function exportedNames(source: ts.SourceFile): Set<string> {
    const names = new Set<string>();
    for (const statement of source.statements) {
        if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
            statement.exportClause.elements.forEach((element) => names.add(element.name.text));
        }
    }
    return names;
}

describe("the library entry (ingestion-platform/components)", () => {
    it("is what the package's exports map names, beside the program Pulumi runs", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(repositoryRoot, "package.json"), "utf8")) as {
            name: string;
            main: string;
            exports: Record<string, string>;
        };
        // The package resolves itself by name through its exports map, as a program depending on it would.
        expect(require.resolve(`${manifest.name}/components`)).to.equal(entryPath);
        expect((require(`${manifest.name}/components`) as typeof library).Storage).to.equal(library.Storage);
        // `pulumi up` loads `main`; the "." export is the same program.
        expect(path.join(repositoryRoot, manifest.main)).to.equal(programPath);
        expect(require.resolve(manifest.name)).to.equal(programPath);
    });

    describe("exports what the program uses", () => {
        const program = sourceOf(programPath);
        const entry = sourceOf(entryPath);
        const imports = namedImports(program);
        const constructed = collect(program, (node) =>
            ts.isNewExpression(node) && ts.isIdentifier(node.expression) && imports.get(node.expression.text)?.startsWith("./components/")
                ? node.expression.text
                : undefined,
        );

        it("every component index.ts constructs, the same class, with its Args", () => {
            expect(constructed).to.include.members(["Storage", "Catalog", "StreamLake"]);
            const exported = exportedNames(entry);
            for (const component of constructed) {
                const modulePath = path.join(repositoryRoot, imports.get(component)!);
                const declared = (require(modulePath) as Record<string, unknown>)[component];
                expect((library as Record<string, unknown>)[component], `${component} is not exported by lib/index.ts`).to.equal(declared);
                expect([...exported], `lib/index.ts does not export ${component}Args`).to.include(`${component}Args`);
            }
        });

        it("every handler index.ts bundles, and every handler there is", () => {
            const bundled = collect(program, (node) =>
                ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "bundleHandler"
                    ? (node.arguments[0] as ts.StringLiteral).text
                    : undefined,
            );
            expect(bundled).to.include("lambdas/stream-producer/handler.ts");
            expect(library.handlers.map((handler) => `lambdas/${handler}/handler.ts`)).to.include.members(bundled);
            const handlerFolders = fs
                .readdirSync(path.join(repositoryRoot, "lambdas"))
                .filter((folder) => fs.existsSync(path.join(repositoryRoot, "lambdas", folder, "handler.ts")));
            expect([...library.handlers]).to.have.members(handlerFolders);
        });

        it("every Glue script and package index.ts deploys", () => {
            const assets = [...imports].flatMap(([name, from]) => (from === "./config/assets" && name !== "bundleHandler" ? [name] : []));
            expect(assets).to.include("jobPackage");
            const declared = require(path.join(repositoryRoot, "config", "assets")) as Record<string, unknown>;
            for (const asset of assets) {
                expect((library as Record<string, unknown>)[asset], `${asset} is not exported by lib/index.ts`).to.equal(declared[asset]);
            }
        });
    });

    describe("builders", () => {
        it("build from a plain object what the YAML reader builds from the same definition in a file", () => {
            const file = (kind: string, name: string) => `config/${kind}/${name}.yaml`;
            const text = (kind: string, name: string) => fixtureText(file(kind, name));
            expect(library.defineStream(plainObjectOf(file("streams", "clickstream")) as library.StreamInput)).to.deep.equal(
                parseStream(file("streams", "clickstream"), text("streams", "clickstream")),
            );
            expect(library.defineLookup(plainObjectOf(file("lookups", "products")) as library.LookupInput)).to.deep.equal(
                parseLookup(file("lookups", "products"), text("lookups", "products")),
            );
            expect(library.jobPlanFor(plainObjectOf(file("mappings", "customers")) as library.MappingInput)).to.deep.equal(
                buildJobPlan(parseMapping(file("mappings", "customers"), text("mappings", "customers"))),
            );
        });

        const products = plainObjectOf("config/lookups/products.yaml");
        const customers = plainObjectOf("config/mappings/customers.yaml") as { extract: { csv: object }; tables: { customers: object } };
        // Each with the file the YAML reader would read the same definition from.
        const refusals: {
            builder: string;
            definition: unknown;
            file: string;
            build: (definition: never) => unknown;
            problems: string[];
        }[] = [
            {
                builder: "defineStream",
                definition: {
                    stream: "orders",
                    fields: [
                        { name: "order_id", type: "string" },
                        { name: "ordered_at", type: "timestmp" },
                    ],
                    eventTime: { field: "ordered_at" },
                    buffering: { sizeMiB: 200 },
                    kinesis: { mode: "provisioned" },
                },
                file: "orders.yaml",
                build: library.defineStream,
                problems: [
                    'defineStream("orders"): fields[1].type: unknown type "timestmp"; expected one of string, integer, long, double, boolean, date, timestamp or decimal(precision,scale)',
                    'defineStream("orders"): kinesis: a provisioned stream needs shards: 1 or more',
                    'defineStream("orders"): buffering.sizeMiB: Firehose buffers 1 to 128 MiB, not 200',
                ],
            },
            {
                builder: "defineStream",
                definition: { stream: "Orders", fields: [], shards: 2 },
                file: "Orders.yaml",
                build: library.defineStream,
                problems: [
                    'defineStream("Orders"): stream: must be lower-kebab-case: a letter, then letters, digits or - (at most 31)',
                    'defineStream("Orders"): fields: must declare at least one field',
                    'defineStream("Orders"): shards: unknown field "shards"',
                ],
            },
            {
                builder: "defineStream",
                definition: 42,
                file: "definition.yaml",
                build: library.defineStream,
                problems: ["defineStream(...): (top level): Invalid input: expected object, received number"],
            },
            {
                builder: "defineLookup",
                definition: {
                    ...products,
                    attributes: [...(products.attributes as object[]), { name: "category", type: "string" }],
                },
                file: "products.yaml",
                build: library.defineLookup,
                problems: ['defineLookup("products"): attributes[2].name: attribute "category" is already declared at attributes[0]'],
            },
            {
                builder: "jobPlanFor",
                definition: {
                    ...customers,
                    extract: { ...customers.extract, csv: { ...customers.extract.csv, delimiter: "\n" } },
                    tables: { ...customers.tables, customers: { ...customers.tables.customers, primaryKey: ["customer_no"] } },
                },
                file: "customers.yaml",
                build: library.jobPlanFor,
                problems: [
                    'jobPlanFor("customers"): extract.csv.delimiter: must not be a line break: line breaks end records',
                    'jobPlanFor("customers"): tables.customers.primaryKey[0]: unknown column "customer_no" in table "customers"',
                    'jobPlanFor("customers"): relationships[0].on: must join on the whole primary key of "customers" (customer_no), not (customer_id)',
                    'jobPlanFor("customers"): relationships[2].on: must join on the whole primary key of "customers" (customer_no), not (customer_id)',
                    'jobPlanFor("customers"): item.partitionKey: the item key columns (customer_id) must be exactly the primary key of "customers" (customer_no), so each root row is one item',
                ],
            },
        ];
        const yamlReaders: Record<string, (fileName: string, text: string) => unknown> = {
            defineStream: parseStream,
            defineLookup: parseLookup,
            jobPlanFor: parseMapping,
        };

        for (const { builder, definition, file, build, problems } of refusals) {
            const shown = problems[0]!.slice(problems[0]!.indexOf(": ") + 2);
            it(`${builder} refuses a bad definition, naming the call and the field: ${shown}`, () => {
                expect(problemsOf(() => build(definition as never))).to.deep.equal(problems);
            });

            it(`${builder} gives the YAML reader's messages for it: ${shown}`, () => {
                // The same definition in a file: the same problems, located by line and column instead of by the call.
                const label = problems[0]!.slice(0, problems[0]!.indexOf(": ") + 2);
                const inFile = problemsOf(() => yamlReaders[builder]!(file, toYaml(definition)));
                expect(inFile.map((problem) => problem.replace(/^[^:]+:\d+:\d+: /, ""))).to.have.members(
                    problems.map((problem) => problem.slice(label.length)),
                );
            });
        }
    });
});

describe("examples/stream-lake, built under mocks", () => {
    let mocks: RecordingMocks;
    let outputs: Record<string, unknown>;
    before(async () => {
        mocks = await useMocks("example");
        const program = require(examplePath) as Record<string, pulumi.Output<unknown>>;
        outputs = await valueOf(pulumi.output(program));
        await settle();
    });

    const components = () =>
        mocks.resources.filter((resource) => !resource.type.startsWith("aws:")).map(({ type, name }) => `${type} ${name}`);

    it("imports nothing of the repository but the library entry", () => {
        const imported = sourceOf(examplePath).statements.flatMap((statement) =>
            ts.isImportDeclaration(statement) ? [(statement.moduleSpecifier as ts.StringLiteral).text] : [],
        );
        expect(imported).to.deep.equal(["@pulumi/pulumi", "../../lib"]);
    });

    it("declares storage, a catalog and one stream lake, named from the program's name", () => {
        expect(components()).to.have.members([
            "ingestion:storage:Storage orders-example",
            "ingestion:storage:SecureBucket orders-example-landing",
            "ingestion:storage:SecureBucket orders-example-lake",
            "ingestion:storage:SecureBucket orders-example-quarantine",
            "ingestion:storage:SecureBucket orders-example-glue-assets",
            "ingestion:storage:SecureBucket orders-example-athena-results",
            "ingestion:storage:SecureBucket orders-example-access-logs",
            "ingestion:catalog:Catalog orders-example",
            "ingestion:streaming:StreamLake orders-example-orders",
            "ingestion:storage:SecureBucket orders-example-orders-raw",
            "ingestion:notifications:AlarmTopic orders-example-orders-alarms",
            "ingestion:lambda:BundledFunction orders-example-orders-producer",
            "ingestion:lambda:BundledFunction orders-example-orders-crawl",
        ]);
        expect(mocks.ofType("aws:kinesis/stream:Stream").map((stream) => stream.name)).to.deep.equal(["orders-example-orders-stream"]);
        expect(mocks.ofType("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")).to.have.length(1);
        expect(mocks.ofType("aws:kms/key:Key")).to.have.length(1);
    });

    it("declares the stream from the plain object: on demand, 24 hours, under the storage's key", () => {
        const key = mocks.ofType("aws:kms/key:Key")[0]!;
        expect(mocks.named("orders-example-orders-stream").inputs).to.deep.equal({
            retentionPeriod: 24,
            encryptionType: "KMS",
            kmsKeyId: key.arn,
            streamModeDetails: { streamMode: "ON_DEMAND" },
        });
    });

    it("declares the table in the catalog's database, in the storage's lake, partitioned by event day then country", () => {
        const table = mocks.named("orders-example-orders-table").inputs;
        const storage = table.storageDescriptor as { location: string; columns: unknown[] };
        expect(table.name).to.equal("orders_events");
        expect(table.databaseName).to.equal("orders_lake");
        expect(storage.location).to.equal("s3://orders-example-lake/streams/orders/data/");
        expect(storage.columns).to.deep.equal([
            { name: "order_id", type: "string" },
            { name: "ordered_at", type: "timestamp" },
            { name: "country", type: "string" },
            { name: "amount", type: "decimal(12,2)" },
        ]);
        expect(table.partitionKeys).to.deep.equal([
            { name: "event_day", type: "string" },
            { name: "country", type: "string" },
        ]);
    });

    it("exports the stream, the table and the lake bucket", () => {
        expect(outputs).to.deep.equal({
            kinesisStream: "orders-example-orders-stream",
            table: "orders_events",
            lakeBucket: "orders-example-lake",
        });
    });
});
