import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { glueJob, type GlueJobArgs } from "../components/glue-job";
import { glueJobArguments, glueVersion } from "../components/glue-job/defaults";
import { failedRunRule, glueJobEventPattern, glueJobEventRule } from "../components/glue-job/run-events";
import type { PolicyStatement } from "../components/policies";
import { glueLogsOf, publishJobMetrics } from "./support/glue-statements";
import { policyOf, settle, useMocks, valueOf, type RecordingMocks } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";
const readSource: PolicyStatement = { Sid: "ReadSource", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::source/*" };

/** A job `name` of its own assets prefix, with one statement of its own; `capacity` overrides. */
function jobArgs(name: string, capacity: Partial<GlueJobArgs["capacity"]> = {}): GlueJobArgs {
    return {
        description: `The ${name} job`,
        scope: { partition: "aws", region: "eu-west-1", accountId: "123456789012" },
        kmsKeyArn: keyArn,
        glueAssets: { name: "assets", arn: "arn:aws:s3:::assets" },
        assetsPrefix: `jobs/${name}/`,
        script: { file: `${name}_job.py`, source: new pulumi.asset.StringAsset("print('job')") },
        jobPackage: new pulumi.asset.AssetArchive({}),
        configuration: { suffix: "plan", file: "plan.json", document: { tables: ["orders"] } },
        statements: [readSource],
        contract: { plan_uri: `s3://assets/jobs/${name}/plan.json`, stack: "dev" },
        temporaryPrefix: name,
        capacity: { workerType: "G.1X", numberOfWorkers: 2, timeoutMinutes: 30, maxRetries: 0, maxConcurrentRuns: 1, ...capacity },
        securityConfigurationName: "lake-security",
    };
}

/** The arguments every job gets that turn on Glue's features, before its temporary directory. */
const glueFlags = {
    "--job-language": "python",
    "--enable-auto-scaling": "true",
    "--enable-metrics": "true",
    "--enable-observability-metrics": "true",
    "--enable-glue-datacatalog": "true",
};

/** The logical name at the end of a URN. */
const nameOf = (urn: string) => urn.split("::").pop()!;

describe("glueJob", () => {
    let mocks: RecordingMocks;
    const jobOptions: Record<string, pulumi.CustomResourceOptions> = {};
    let caller: aws.sqs.Queue;
    before(async () => {
        mocks = await useMocks();
        caller = new aws.sqs.Queue("caller-first");
        glueJob("etl", jobArgs("etl", { flex: true, queueRuns: true, notifyDelayAfterMinutes: 45 }), {
            dependsOn: [caller],
            transformations: [
                ({ type, name, opts }) => {
                    if (type === "aws:glue/job:Job") {
                        jobOptions[name] = opts;
                    }
                    return undefined;
                },
            ],
        });
        glueJob("plain", { ...jobArgs("plain"), glueArguments: { "--datalake-formats": "iceberg" } }, {});
        await settle();
    });

    it("uploads the script, package and configuration, and declares the role, its policy and the job, named from `name`", () => {
        expect(
            mocks.resources.filter((resource) => resource.name.startsWith("etl")).map((resource) => [resource.type, resource.name]),
        ).to.have.deep.members([
            ["aws:s3/bucketObjectv2:BucketObjectv2", "etl-script"],
            ["aws:s3/bucketObjectv2:BucketObjectv2", "etl-package"],
            ["aws:s3/bucketObjectv2:BucketObjectv2", "etl-plan"],
            ["aws:iam/role:Role", "etl-role"],
            ["aws:iam/rolePolicy:RolePolicy", "etl-policy"],
            ["aws:glue/job:Job", "etl"],
        ]);
        expect(
            mocks
                .ofType("aws:s3/bucketObjectv2:BucketObjectv2")
                .filter((upload) => upload.name.startsWith("etl"))
                .map((upload) => [
                    upload.inputs.key,
                    upload.inputs.contentType,
                    upload.inputs.serverSideEncryption,
                    upload.inputs.kmsKeyId,
                ]),
        ).to.have.deep.members([
            ["jobs/etl/etl_job.py", "text/x-python", "aws:kms", keyArn],
            ["jobs/etl/ingest.zip", "application/zip", "aws:kms", keyArn],
            ["jobs/etl/plan.json", "application/json", "aws:kms", keyArn],
        ]);
    });

    it("keeps a caller's dependsOn beside its own files and permissions", async () => {
        const dependsOn = jobOptions["etl"]!.dependsOn as pulumi.Resource[];
        expect(dependsOn[0]).to.equal(caller);
        expect((await Promise.all(dependsOn.map((resource) => valueOf(resource.urn)))).map(nameOf)).to.deep.equal([
            "caller-first",
            "etl-policy",
            "etl-script",
            "etl-package",
            "etl-plan",
        ]);
    });

    it("gives its role exactly the given statements, then its own log groups and its metrics", () => {
        expect(policyOf(mocks.named("etl-role"), "assumeRolePolicy").Statement.map((statement) => statement.Principal)).to.deep.equal([
            { Service: "glue.amazonaws.com" },
        ]);
        expect(policyOf(mocks.named("etl-policy")).Statement).to.deep.equal([readSource, glueLogsOf("etl-role"), publishJobMetrics]);
    });

    it("runs the script on Glue 5.1 with Glue's runtime arguments, the package and the contract's, sized by its capacity", () => {
        const job = mocks.named("etl").inputs;
        expect(job).to.deep.include({
            description: "The etl job",
            roleArn: "arn:aws:iam:eu-west-1:123456789012:role/etl-role",
            glueVersion: "5.1",
            command: { name: "glueetl", pythonVersion: "3", scriptLocation: "s3://assets/jobs/etl/etl_job.py" },
            defaultArguments: {
                ...glueFlags,
                "--TempDir": "s3://assets/temporary/etl/",
                "--extra-py-files": "s3://assets/jobs/etl/ingest.zip",
                "--plan_uri": "s3://assets/jobs/etl/plan.json",
                "--stack": "dev",
            },
            workerType: "G.1X",
            numberOfWorkers: 2,
            executionClass: "FLEX",
            timeout: 30,
            maxRetries: 0,
            executionProperty: { maxConcurrentRuns: 1 },
            jobRunQueuingEnabled: true,
            notificationProperty: { notifyDelayAfter: 45 },
            securityConfiguration: "lake-security",
        });
    });

    it("leaves execution class, queuing and the delay notice to Glue unless its capacity names them, and adds Glue's own arguments", () => {
        const job = mocks.named("plain").inputs;
        expect(job).not.to.have.any.keys("executionClass", "jobRunQueuingEnabled", "notificationProperty");
        expect(job.defaultArguments).to.deep.equal({
            ...glueFlags,
            "--TempDir": "s3://assets/temporary/plain/",
            "--datalake-formats": "iceberg",
            "--extra-py-files": "s3://assets/jobs/plain/ingest.zip",
            "--plan_uri": "s3://assets/jobs/plain/plan.json",
            "--stack": "dev",
        });
    });
});

describe("glueJobArguments", () => {
    it("puts a contract argument after Glue's, so the contract decides a name both give", async () => {
        const resolved = await valueOf(
            glueJobArguments("assets", "jobs/x/ingest.zip", "x", { TempDir: "s3://elsewhere/" }, { "--conf": "a=b" }),
        );
        expect(resolved).to.deep.equal({
            ...glueFlags,
            "--TempDir": "s3://elsewhere/",
            "--conf": "a=b",
            "--extra-py-files": "s3://assets/jobs/x/ingest.zip",
        });
    });

    it("pins Glue 5.1", () => {
        expect(glueVersion).to.equal("5.1");
    });
});

describe("Glue job event rules", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        failedRunRule("etl-run-failed", { description: "Failed runs of etl", jobName: "etl" }, {});
        glueJobEventRule("etl-run-delayed", { description: "Late runs of etl", jobName: "etl", detailType: "Glue Job Run Status" }, {});
        await settle();
    });

    it("match a job's failed, timed-out, stopped and unstarted runs in one rule every job's failure alarm counts", () => {
        expect(mocks.named("etl-run-failed").inputs).to.deep.equal({
            description: "Failed runs of etl",
            eventPattern: JSON.stringify({
                source: ["aws.glue"],
                "detail-type": ["Glue Job State Change"],
                detail: { jobName: ["etl"], state: ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] },
            }),
        });
    });

    it("match every event of a type when no state is named", async () => {
        expect(JSON.parse(mocks.named("etl-run-delayed").inputs.eventPattern as string)).to.deep.equal({
            source: ["aws.glue"],
            "detail-type": ["Glue Job Run Status"],
            detail: { jobName: ["etl"] },
        });
        expect(await valueOf(glueJobEventPattern({ jobName: "etl", detailType: "Glue Job State Change", states: ["SUCCEEDED"] }))).to.equal(
            '{"source":["aws.glue"],"detail-type":["Glue Job State Change"],"detail":{"jobName":["etl"],"state":["SUCCEEDED"]}}',
        );
    });
});
