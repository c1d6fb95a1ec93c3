import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetJobRunsCommand, type JobRun } from "@aws-sdk/client-glue";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { useMotoServer } from "./support/moto";
import {
    deployOperatorStack,
    motoClients,
    operatorStack,
    runOperator,
    setMotoTransition,
    stackOutputsDocument,
    writeOutputsFile,
} from "./support/operator";

const archives = {
    first: "crm_customers_20261120T060000Z_1.zip",
    second: "crm_customers_20261121T060000Z_1.zip",
    third: "crm_customers_20261122T060000Z_1.zip",
};

describe("operator command line: replay", () => {
    const moto = useMotoServer();
    let clients: AwsClients;
    let outputs: string;
    const versions: Record<string, string> = {};
    /** When S3 wrote each archive's version (its Last-Modified), the landing a replay's run counts its latency from. */
    const landed: Record<string, Date> = {};

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        outputs = writeOutputsFile();
        // Landed out of order: a replay of a range starts them in extract order all the same.
        for (const name of [archives.third, archives.first, archives.second, "README.txt"]) {
            const put = await clients.s3.send(
                new PutObjectCommand({ Bucket: operatorStack.landingBucket, Key: `${operatorStack.landingPrefix}${name}`, Body: "PK" }),
            );
            versions[name] = put.VersionId!;
            const head = await clients.s3.send(
                new HeadObjectCommand({
                    Bucket: operatorStack.landingBucket,
                    Key: `${operatorStack.landingPrefix}${name}`,
                    VersionId: put.VersionId,
                }),
            );
            landed[name] = head.LastModified!;
        }
    });

    afterEach(async () => {
        await setMotoTransition(moto.endpoint, "glue::job_run", "immediate");
    });

    const replay = (...args: string[]) => runOperator(["replay", "--outputs", outputs, ...args], clients);

    async function runsOf(name: string): Promise<JobRun[]> {
        const listed = await clients.glue.send(new GetJobRunsCommand({ JobName: operatorStack.jobName }));
        return (listed.JobRuns ?? [])
            .filter((run) => run.Arguments?.["--archive_key"] === `${operatorStack.landingPrefix}${name}`)
            .sort((a, b) => a.StartedOn!.getTime() - b.StartedOn!.getTime());
    }

    async function ledgerRunOf(name: string): Promise<string | undefined> {
        const archive = `archive#s3://${operatorStack.landingBucket}/${operatorStack.landingPrefix}${name}#${versions[name]}`;
        const found = await clients.dynamodb.send(
            new GetItemCommand({ TableName: operatorStack.runLedgerTable, Key: { archive: { S: archive } }, ConsistentRead: true }),
        );
        return found.Item?.jobRunId?.S;
    }

    it("starts a run for an archive named by its file name, with the arguments the trigger gives, and records it in the ledger", async () => {
        const result = await replay(archives.first);
        const [run] = await runsOf(archives.first);
        expect(result).to.deep.equal({
            code: 0,
            stdout:
                "Replay of 1 archive of pipeline customers in extract order (Glue job ingest-dev-customers-job):\n" +
                "EXTRACT                  ARCHIVE                               OUTCOME\n" +
                `20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip  started ${run!.Id}\n` +
                "Started 1, skipped 0, not started 0.\n",
            stderr: "",
        });
        expect(run!.Arguments).to.deep.equal({
            "--archive_bucket": operatorStack.landingBucket,
            "--archive_key": `${operatorStack.landingPrefix}${archives.first}`,
            "--archive_version_id": versions[archives.first],
            "--extract_id": "20261120T060000Z-000001",
            "--extract_version": "1795154400000001",
            "--archive_landed_at": landed[archives.first]!.toISOString(),
        });
        // The landing, not the replay: the version was written before the run, and the command's clock plays no part.
        expect(run!.Arguments!["--archive_landed_at"]).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
        expect(landed[archives.first]!.getTime()).to.be.at.most(run!.StartedOn!.getTime());
        expect(await ledgerRunOf(archives.first)).to.equal(run!.Id);
    });

    it("skips an archive its last run loaded, and replays it with --force, replacing that run in the ledger", async () => {
        const [loaded] = await runsOf(archives.first);
        const skipped = await replay(`s3://${operatorStack.landingBucket}/${operatorStack.landingPrefix}${archives.first}`);
        expect(skipped.code).to.equal(0);
        expect(skipped.stdout.split("\n").slice(2)).to.deep.equal([
            `20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip  skipped: loaded by run ${loaded!.Id!.slice(0, 12)}; --force replays it`,
            "Started 0, skipped 1, not started 0.",
            "",
        ]);
        expect(await runsOf(archives.first)).to.have.length(1);

        const forced = await replay(`${operatorStack.landingPrefix}${archives.first}`, "--force");
        const runs = await runsOf(archives.first);
        expect(runs).to.have.length(2);
        expect(forced.stdout.split("\n").slice(2, 3)).to.deep.equal([
            `20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip  started ${runs[1]!.Id} (replaces ${loaded!.Id!.slice(0, 12)}, SUCCEEDED)`,
        ]);
        expect(await ledgerRunOf(archives.first)).to.equal(runs[1]!.Id);
    });

    it("never starts a second run beside one in progress, even with --force", async () => {
        await setMotoTransition(moto.endpoint, "glue::job_run", 1000);
        await replay(archives.second);
        const [running] = await runsOf(archives.second);
        const again = await replay(archives.second, "--force");
        expect(again.stdout.split("\n").slice(2, 4)).to.deep.equal([
            `20261121T060000Z-000001  crm_customers_20261121T060000Z_1.zip  skipped: run ${running!.Id!.slice(0, 12)} is STARTING`,
            "Started 0, skipped 1, not started 0.",
        ]);
        expect(await runsOf(archives.second)).to.have.length(1);
    });

    it("starts exactly one run when two replays of the same archive race", async () => {
        const results = await Promise.all([replay(archives.third), replay(archives.third)]);
        const runs = await runsOf(archives.third);
        expect(runs).to.have.length(1);
        const outcomes = results.map((result) => result.stdout.split("\n")[2]!.slice(63));
        const started = outcomes.indexOf(`started ${runs[0]!.Id}`);
        expect(started).to.be.oneOf([0, 1]);
        // Which one loses depends on whether it reads the ledger before or after the winner's run has started.
        expect(outcomes[1 - started]).to.be.oneOf([
            `skipped: run ${runs[0]!.Id!.slice(0, 12)} was started for it meanwhile`,
            "skipped: the trigger or another replay is starting a run for it now",
        ]);
    });

    it("replays every archive between two extract ids in extract order, ignoring other objects under the prefix", async () => {
        await setMotoTransition(moto.endpoint, "glue::job_run", 1000);
        const { first, second, third } = archives;
        const before = await Promise.all([first, second, third].map(async (name) => (await runsOf(name)).at(-1)!.Id!.slice(0, 12)));
        const range = ["--from", "20261120T000000Z-000000", "--to", "20261122T060000Z-000001", "--force"];
        const result = await replay(...range);
        const started = await Promise.all([first, second, third].map(async (name) => (await runsOf(name)).at(-1)!));
        expect(result).to.deep.equal({
            code: 0,
            stdout:
                "Replay of 3 archives of pipeline customers in extract order (Glue job ingest-dev-customers-job):\n" +
                "EXTRACT                  ARCHIVE                               OUTCOME\n" +
                `20261120T060000Z-000001  crm_customers_20261120T060000Z_1.zip  started ${started[0]!.Id} (replaces ${before[0]}, SUCCEEDED)\n` +
                `20261121T060000Z-000001  crm_customers_20261121T060000Z_1.zip  started ${started[1]!.Id} (replaces ${before[1]}, SUCCEEDED)\n` +
                `20261122T060000Z-000001  crm_customers_20261122T060000Z_1.zip  started ${started[2]!.Id} (replaces ${before[2]}, SUCCEEDED)\n` +
                "Started 3, skipped 0, not started 0.\n",
            stderr: "",
        });
        const startTimes = started.map((run) => run.StartedOn!.getTime());
        expect(startTimes).to.deep.equal([...startTimes].sort((a, b) => a - b));

        const again = await replay(...range);
        expect(again.stdout.split("\n").slice(2)).to.deep.equal([
            ...started.map(
                (run, index) =>
                    `2026112${index}T060000Z-000001  crm_customers_2026112${index}T060000Z_1.zip  skipped: run ${run.Id!.slice(0, 12)} is STARTING`,
            ),
            "Started 0, skipped 3, not started 0.",
            "",
        ]);
    });

    const errors: [string, string[], number, string][] = [
        [
            "an archive that is not in the landing bucket",
            ["crm_customers_20261130T060000Z_1.zip"],
            4,
            "ingest: archive not found: s3://ingest-dev-landing/incoming/customers/crm_customers_20261130T060000Z_1.zip does not exist\n",
        ],
        [
            "an object that is not an archive of the pipeline",
            ["README.txt"],
            2,
            'ingest: s3://ingest-dev-landing/incoming/customers/README.txt is not an archive of pipeline customers: "README.txt" does not match the archive naming ^crm_customers_(\\d{4}\\d{2}\\d{2}T\\d{2}\\d{2}\\d{2}Z)_(\\d+)\\.zip$\n',
        ],
        [
            "an archive in another bucket",
            ["s3://elsewhere/incoming/customers/crm_customers_20261120T060000Z_1.zip"],
            2,
            "ingest: s3://elsewhere/incoming/customers/crm_customers_20261120T060000Z_1.zip is not in the landing bucket ingest-dev-landing\n",
        ],
        [
            "an extract id in another form",
            ["--from", "2026-11-20", "--to", "20261122T060000Z-000001"],
            2,
            "ingest: --from 2026-11-20 is not an extract id like 20261120T060000Z-000001 (as `runs` shows them)\n",
        ],
        [
            "a range that ends before it starts",
            ["--from", "20261122T060000Z-000001", "--to", "20261120T060000Z-000001"],
            2,
            "ingest: --from 20261122T060000Z-000001 comes after --to 20261120T060000Z-000001\n",
        ],
        [
            "a range with no archives",
            ["--from", "20261201T000000Z-000000", "--to", "20261231T000000Z-000000"],
            4,
            "ingest: no archives of pipeline customers between 20261201T000000Z-000000 and 20261231T000000Z-000000 in s3://ingest-dev-landing/incoming/customers/\n",
        ],
        [
            "an archive and a range at once",
            [archives.first, "--from", "20261120T000000Z-000000"],
            2,
            "ingest: replay takes one archive, or --from and --to extract ids, not both\n",
        ],
        [
            "an unknown pipeline",
            [archives.first, "--pipeline", "orders"],
            2,
            'ingest: unknown pipeline "orders": stack dev has customers\n',
        ],
        ["an option of another command", [archives.first, "--saved", "x"], 2, "ingest: replay has no option --saved (ingest --help)\n"],
    ];
    for (const [title, args, code, stderr] of errors) {
        it(`refuses ${title} with exit code ${code}`, async () => {
            expect(await replay(...args)).to.deep.equal({ code, stdout: "", stderr });
        });
    }

    it("reports a run Glue refuses with exit code 6 and releases the claim, so the archive can be replayed once that is fixed", async () => {
        const name = "crm_customers_20261123T060000Z_1.zip";
        const put = await clients.s3.send(
            new PutObjectCommand({ Bucket: operatorStack.landingBucket, Key: `${operatorStack.landingPrefix}${name}`, Body: "PK" }),
        );
        versions[name] = put.VersionId!;
        const document = stackOutputsDocument() as { extractPipelines: { customers: { jobName: string } } };
        document.extractPipelines.customers.jobName = "ingest-dev-customers-missing";
        const wrongJob = writeOutputsFile(document);
        const result = await runOperator(["replay", "--outputs", wrongJob, name], clients);
        expect(result.code).to.equal(6);
        expect(result.stdout.split("\n").slice(2)).to.deep.equal([
            "20261123T060000Z-000001  crm_customers_20261123T060000Z_1.zip  not started: Glue refused (EntityNotFoundException: Job ingest-dev-customers-missing not found.)",
            "Started 0, skipped 0, not started 1.",
            "",
        ]);
        expect(await ledgerRunOf(name)).to.equal(undefined);
        expect((await replay(name)).stdout).to.contain("started jr_");
    });
});
