import { expect } from "chai";
import { checkDeployedLake, glueLakeTables, type ReadLakeTable } from "../config/deployed-lake";
import type { JobPlan } from "../config/job-plan";
import { lakeSchemaProblems, sparkTypeName, widens, type DeployedColumn, type LakeSchemaProblem } from "../config/lake-schema";
import { loadJobPlans } from "../config/load";
import { ConfigError } from "../config/yaml-source";
import { fixtureRoot, useConfigRoot, withConfigRoot } from "./support/config-root";
import { runProgramWithExports } from "./support/program";
import { RecordingMocks, settle, useMocks } from "./support/pulumi-mocks";

/** A deployed lake column's type that Iceberg cannot change in place; the job fails a run with the same words. */
const refusal = (table: string, column: string, lake: string, mapping: string): string =>
    `${table}.${column} is ${lake} in the lake and ${mapping} in the mapping; Iceberg can only widen int to bigint, float to double ` +
    "and raise a decimal's precision (same scale) without rewriting the table";

const [customers] = withConfigRoot(fixtureRoot, () => loadJobPlans(["customers"])) as [JobPlan];

/** The customers lake as its plan declares it, in Glue's words, with `changes` (table -> column -> type, or undefined to drop it). */
function deployedCustomers(
    changes: Record<string, Record<string, string | undefined>> = {},
    notDeployed: readonly string[] = [],
): Map<string, DeployedColumn[]> {
    const current = { "iceberg.field.current": "true" };
    return new Map(
        customers.lake.tables
            .filter((table) => !notDeployed.includes(table.name))
            .map((table) => {
                const changed = changes[table.name] ?? {};
                const columns = table.columns.flatMap(({ name, type }): DeployedColumn[] => {
                    const deployedType = name in changed ? changed[name] : type;
                    return deployedType === undefined ? [] : [{ name, type: deployedType, parameters: current }];
                });
                return [table.name, columns];
            }),
    );
}

describe("type widening (glue-scripts/ingest/contracts/type_widening.json, which the Glue job reads too)", () => {
    const cases: [lake: string, mapping: string, widens: boolean][] = [
        ["int", "bigint", true],
        ["float", "double", true],
        ["decimal(10,2)", "decimal(12,2)", true],
        ["decimal(10,2)", "decimal(10,2)", false],
        ["decimal(10,2)", "decimal(12,3)", false],
        ["decimal(12,2)", "decimal(10,2)", false],
        ["bigint", "int", false],
        ["int", "double", false],
        ["string", "int", false],
        ["date", "timestamp", false],
    ];
    for (const [lake, mapping, expected] of cases) {
        it(`${lake} -> ${mapping}: ${expected ? "widens in place" : "cannot be made in place"}`, () => {
            expect(widens(lake, mapping)).to.equal(expected);
        });
    }
});

describe("sparkTypeName: a deployed column's Glue type in the plan's vocabulary", () => {
    const cases: [glue: string, spark: string][] = [
        // What Iceberg's GlueCatalog writes on every commit: Spark's names already.
        ["string", "string"],
        ["int", "int"],
        ["bigint", "bigint"],
        ["double", "double"],
        ["boolean", "boolean"],
        ["date", "date"],
        ["timestamp", "timestamp"],
        ["decimal(12,2)", "decimal(12,2)"],
        // Other spellings of the same types.
        ["DECIMAL(12, 2)", "decimal(12,2)"],
        [" BigInt ", "bigint"],
        // Iceberg's own names, as a table may hold them before the job's first commit.
        ["long", "bigint"],
        ["timestamptz", "timestamp"],
        // Nothing a plan declares: kept, so it compares unequal and is refused.
        ["binary", "binary"],
    ];
    for (const [glue, spark] of cases) {
        it(`${JSON.stringify(glue)} is ${spark}`, () => {
            expect(sparkTypeName(glue)).to.equal(spark);
        });
    }
});

describe("lakeSchemaProblems: the customers plan against its deployed lake tables", () => {
    const cases: { name: string; deployed: Map<string, DeployedColumn[]>; problems: LakeSchemaProblem[] }[] = [
        { name: "the lake as the plan declares it", deployed: deployedCustomers(), problems: [] },
        { name: "no table deployed yet (first deployment)", deployed: new Map(), problems: [] },
        {
            name: "some tables not deployed yet, the others as planned",
            deployed: deployedCustomers({}, ["customers_orders", "customers_orders_history", "customers_orders_keys"]),
            problems: [],
        },
        {
            name: "changes Iceberg makes in place: int to bigint, a decimal's precision up at the same scale",
            deployed: deployedCustomers({
                customers_customers: { credit_limit: "decimal(10,2)", ingest_extract_version: "int" },
                customers_customers_history: { credit_limit: "decimal(10,2)" },
            }),
            problems: [],
        },
        {
            name: "Glue's other spellings and Iceberg's own names of the same types",
            deployed: deployedCustomers({
                customers_customers: { credit_limit: "DECIMAL(12, 2)", ingest_extract_version: "long", updated_at: "timestamptz" },
            }),
            problems: [],
        },
        {
            name: "a column the plan adds, and a deployed column the plan no longer has",
            deployed: new Map([
                ...deployedCustomers({ customers_customers: { segment: undefined } }),
                ["customers_addresses", [...deployedCustomers().get("customers_addresses")!, { name: "legacy_code", type: "int" }]],
            ]),
            problems: [],
        },
        {
            name: "a column of an older schema only (Iceberg's GlueCatalog keeps it, not current)",
            deployed: new Map([
                ...deployedCustomers({ customers_customers: { credit_limit: undefined } }),
                [
                    "customers_customers",
                    [
                        ...deployedCustomers({ customers_customers: { credit_limit: undefined } }).get("customers_customers")!,
                        { name: "credit_limit", type: "string", parameters: { "iceberg.field.current": "false" } },
                    ],
                ],
            ]),
            problems: [],
        },
        {
            name: "a decimal's scale changed",
            deployed: deployedCustomers({ customers_customers: { credit_limit: "decimal(12,3)" } }),
            problems: [
                {
                    path: ["tables", "customers", "columns", 4, "type"],
                    message: refusal("customers_customers", "credit_limit", "decimal(12,3)", "decimal(12,2)"),
                },
            ],
        },
        {
            name: "a decimal's precision lowered, in the current and history tables",
            deployed: deployedCustomers({
                customers_orders: { total_amount: "decimal(16,2)" },
                customers_orders_history: { total_amount: "decimal(16,2)" },
            }),
            problems: [
                {
                    path: ["tables", "orders", "columns", 4, "type"],
                    message: refusal("customers_orders", "total_amount", "decimal(16,2)", "decimal(14,2)"),
                },
                {
                    path: ["tables", "orders", "columns", 4, "type"],
                    message: refusal("customers_orders_history", "total_amount", "decimal(16,2)", "decimal(14,2)"),
                },
            ],
        },
        {
            name: "a string column retyped as integer",
            deployed: deployedCustomers({ customers_order_lines: { quantity: "string" } }),
            problems: [
                {
                    path: ["tables", "order_lines", "columns", 3, "type"],
                    message: refusal("customers_order_lines", "quantity", "string", "int"),
                },
            ],
        },
        {
            name: "a long key column narrowed to integer, in the keys table",
            deployed: deployedCustomers({ customers_order_lines_keys: { line_number: "bigint" } }),
            problems: [
                {
                    path: ["tables", "order_lines", "columns", 1, "type"],
                    message: refusal("customers_order_lines_keys", "line_number", "bigint", "int"),
                },
            ],
        },
        {
            name: "the root key each row carries, at the root table's column",
            deployed: deployedCustomers({ customers_orders: { ingest_root_customer_id: "int" } }),
            problems: [
                {
                    path: ["tables", "customers", "columns", 0, "type"],
                    message: refusal("customers_orders", "ingest_root_customer_id", "int", "string"),
                },
            ],
        },
        {
            name: "a column of the lake's own, which no mapping field declares",
            deployed: deployedCustomers({ customers_customers_history: { ingest_extract_time: "date" } }),
            problems: [{ path: [], message: refusal("customers_customers_history", "ingest_extract_time", "date", "timestamp") }],
        },
    ];
    for (const { name, deployed, problems } of cases) {
        it(name, () => {
            expect(lakeSchemaProblems(customers, deployed)).to.deep.equal(problems);
        });
    }
});

function problemsOf(error: unknown): readonly string[] {
    if (error instanceof ConfigError) {
        return error.problems;
    }
    throw error;
}

async function failureOf(action: () => Promise<unknown>): Promise<unknown> {
    try {
        await action();
    } catch (error) {
        return error;
    }
    throw new Error("expected a failure, but it succeeded");
}

describe("checkDeployedLake", () => {
    useConfigRoot();
    const reading = (deployed: Map<string, DeployedColumn[]>): { read: ReadLakeTable; asked: string[] } => {
        const asked: string[] = [];
        return {
            asked,
            read: (name) => {
                asked.push(name);
                return Promise.resolve(deployed.get(name));
            },
        };
    };

    it("reads every lake table of the plans and accepts a lake they only widen", async () => {
        const { read, asked } = reading(deployedCustomers({ customers_customers: { credit_limit: "decimal(10,2)" } }));
        await checkDeployedLake([customers], read);
        expect(asked).to.deep.equal(customers.lake.tables.map((table) => table.name));
        expect(asked).to.have.length(12);
    });

    it("refuses every type change Iceberg cannot make, each at the mapping file, line, column and field that makes it", async () => {
        const { read } = reading(
            deployedCustomers({
                customers_customers: { credit_limit: "decimal(12,3)" },
                customers_order_lines: { quantity: "string" },
                customers_order_lines_history: { quantity: "string" },
            }),
        );
        expect(problemsOf(await failureOf(() => checkDeployedLake([customers], read)))).to.deep.equal([
            `config/mappings/customers.yaml:33:31: tables.customers.columns[4].type: ${refusal("customers_customers", "credit_limit", "decimal(12,3)", "decimal(12,2)")}`,
            `config/mappings/customers.yaml:53:27: tables.order_lines.columns[3].type: ${refusal("customers_order_lines", "quantity", "string", "int")}`,
            `config/mappings/customers.yaml:53:27: tables.order_lines.columns[3].type: ${refusal("customers_order_lines_history", "quantity", "string", "int")}`,
        ]);
    });
});

describe("glueLakeTables: a deployed lake table through the aws.glue.getCatalogTable invoke", () => {
    afterEach(settle);

    it("reads a deployed table's storage descriptor columns", async () => {
        await useMocks(
            "test",
            {},
            new RecordingMocks([
                { databaseName: "ingest_test", name: "customers_customers", columns: [{ name: "customer_id", type: "string" }] },
            ]),
        );
        expect(await glueLakeTables("ingest_test")("customers_customers")).to.deep.equal([
            { comment: "", parameters: {}, name: "customer_id", type: "string" },
        ]);
    });

    it("takes a table Glue does not have for one not deployed yet", async () => {
        await useMocks("test");
        expect(await glueLakeTables("ingest_test")("customers_customers")).to.equal(undefined);
    });

    it("fails on any other failure of the invoke, rather than take the table for not deployed", async () => {
        class DeniedMocks extends RecordingMocks {
            override call(_args: Parameters<RecordingMocks["call"]>[0]): ReturnType<RecordingMocks["call"]> {
                const message = "reading Glue Catalog Table: operation error Glue: GetTable, AccessDeniedException: not authorized";
                throw Object.assign(new Error(message), { details: message });
            }
        }
        await useMocks("test", {}, new DeniedMocks());
        const failure = await failureOf(() => glueLakeTables("ingest_test")("customers_customers"));
        expect(failure).to.be.instanceOf(Error);
        expect((failure as Error).message).to.equal(
            "reading Glue Catalog Table: operation error Glue: GetTable, AccessDeniedException: not authorized",
        );
    });
});

describe("the program refuses a deployment that changes a deployed lake column's type in a way Iceberg cannot", () => {
    const getCatalogTable = "aws:glue/getCatalogTable:getCatalogTable";

    it("checks every lake table of the dev stack and deploys when none is deployed yet", async () => {
        const { mocks, exports } = await runProgramWithExports("dev");
        const asked = mocks.invokes.filter((invoke) => invoke.token === getCatalogTable).map(({ inputs }) => inputs);
        expect(asked).to.deep.equal(
            [
                "customers_customers",
                "customers_customers_history",
                "customers_customers_keys",
                "customers_addresses",
                "customers_addresses_history",
                "customers_addresses_keys",
                "customers_orders",
                "customers_orders_history",
                "customers_orders_keys",
                "customers_order_lines",
                "customers_order_lines_history",
                "customers_order_lines_keys",
            ].map((name) => ({ databaseName: "ingest_dev", name })),
        );
        expect(exports.glueDatabase).to.equal("ingest_dev");
        const lakeTables = mocks.ofType("aws:glue/catalogTable:CatalogTable").filter((table) => table.inputs.name !== "clickstream_events");
        // Registered in the order their inputs resolve, not the order declared.
        expect(lakeTables.map((table) => table.inputs.name).sort()).to.deep.equal(asked.map(({ name }) => name).sort());
    });

    it("refuses with the located reason before it declares anything", async () => {
        const mocks = new RecordingMocks([
            {
                databaseName: "ingest_dev",
                name: "customers_order_lines",
                columns: [
                    { name: "order_id", type: "string", parameters: { "iceberg.field.current": "true" } },
                    { name: "quantity", type: "string", parameters: { "iceberg.field.current": "true" } },
                ],
            },
        ]);
        const failure = await failureOf(() => runProgramWithExports("dev", mocks));
        expect(problemsOf(failure)).to.deep.equal([
            `config/mappings/customers.yaml:53:27: tables.order_lines.columns[3].type: ${refusal("customers_order_lines", "quantity", "string", "int")}`,
        ]);
        expect(mocks.resources).to.deep.equal([]);
    });
});
