import { expect } from "chai";
import { SecureBucket } from "../components/secure-bucket";
import { lifecycleRules } from "../components/secure-bucket/defaults";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";

/** The statement of every bucket's policy: no request without TLS, to the bucket or its objects. */
const tlsOnly = (bucket: string) => ({
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: ["s3:*"],
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
});

describe("SecureBucket", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        new SecureBucket("data", {
            kmsKeyArn: keyArn,
            accessLogs: { bucket: "logs", prefix: "data/" },
            expirations: [{ id: "expire-landed", prefix: "landing/", expireAfterDays: 30 }],
            eventBridge: true,
            queueNotifications: [{ queueArn: "arn:aws:sqs:eu-west-1:999999999999:pipe", filterPrefix: "out/" }],
        });
        new SecureBucket("logs", { versioned: false, receivesAccessLogsFrom: "123456789012", forceDestroy: true });
        await settle();
    });

    it("declares the bucket and `<name>-<part>` for each part it has", () => {
        const parts = (name: string) =>
            mocks.resources.filter((resource) => resource.name.startsWith(name) && !resource.type.startsWith("ingestion:"));
        expect(parts("data").map((resource) => resource.name)).to.have.members([
            "data",
            "data-ownership",
            "data-public-access",
            "data-encryption",
            "data-versioning",
            "data-lifecycle",
            "data-logging",
            "data-policy",
            "data-notifications",
        ]);
        expect(parts("logs").map((resource) => resource.name)).to.have.members([
            "logs",
            "logs-ownership",
            "logs-public-access",
            "logs-encryption",
            "logs-lifecycle",
            "logs-policy",
        ]);
    });

    it("keeps its objects on destroy unless told otherwise", () => {
        expect(mocks.ofType("aws:s3/bucket:Bucket").map((bucket) => [bucket.name, bucket.inputs.forceDestroy])).to.deep.equal([
            ["data", false],
            ["logs", true],
        ]);
    });

    it("blocks all public access, enforces the owner's object ownership and encrypts with the key (and a bucket key), else SSE-S3", () => {
        expect(mocks.named("data-public-access").inputs).to.deep.equal({
            bucket: "data-id",
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(mocks.named("data-ownership").inputs).to.deep.equal({ bucket: "data-id", rule: { objectOwnership: "BucketOwnerEnforced" } });
        expect(mocks.named("data-encryption").inputs.rules).to.deep.equal([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true },
        ]);
        expect(mocks.named("logs-encryption").inputs.rules).to.deep.equal([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ]);
    });

    it("versions by default, expires what it is told to, and cleans up uploads and old versions", () => {
        expect(mocks.named("data-versioning").inputs).to.deep.equal({ bucket: "data-id", versioningConfiguration: { status: "Enabled" } });
        expect(mocks.named("data-lifecycle").inputs.rules).to.deep.equal([
            {
                id: "housekeeping",
                status: "Enabled",
                filter: {},
                abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                noncurrentVersionExpiration: { noncurrentDays: 30 },
            },
            { id: "expire-landed", status: "Enabled", filter: { prefix: "landing/" }, expiration: { days: 30 } },
        ]);
        expect(mocks.named("data-logging").inputs).to.deep.equal({ bucket: "data-id", targetBucket: "logs", targetPrefix: "data/" });
    });

    it("refuses requests without TLS, and lets S3 deliver access logs from this account to a log bucket", () => {
        expect(policyOf(mocks.named("data-policy")).Statement).to.deep.equal([tlsOnly("data")]);
        expect(policyOf(mocks.named("logs-policy")).Statement).to.deep.equal([
            tlsOnly("logs"),
            {
                Sid: "S3ServerAccessLogDelivery",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: ["s3:PutObject"],
                Resource: "arn:aws:s3:::logs/*",
                Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
            },
        ]);
    });

    it("sends its object events to EventBridge and tells queues of objects created under their prefix", () => {
        expect(mocks.named("data-notifications").inputs).to.deep.equal({
            bucket: "data-id",
            eventbridge: true,
            queues: [{ queueArn: "arn:aws:sqs:eu-west-1:999999999999:pipe", events: ["s3:ObjectCreated:*"], filterPrefix: "out/" }],
        });
    });
});

describe("lifecycleRules", () => {
    it("keeps no noncurrent-version rule for a bucket without versions", () => {
        expect(lifecycleRules([], false, 30)).to.deep.equal([
            { id: "housekeeping", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ]);
    });
});
