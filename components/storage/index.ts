import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../policies";
import { SecureBucket } from "../secure-bucket";
import { defaultAccessLogDays, defaultScratchDays, keyDeletionWindowDays, projectKeyPolicy } from "./defaults";
import { accountScope } from "../account-scope";

export interface StorageArgs {
    /** Days landed archives, quarantine objects and the lake's expiring prefixes are kept. */
    readonly retentionDays: number;
    /**
     * Prefixes of the lake bucket whose objects expire `retentionDays` after they are written, such as
     * the stream lakes' `streams/`. Nothing else in the lake expires by age: the Apache Iceberg tables
     * expire their own snapshots and rows (an age rule would delete files current rows still live in),
     * and run reports stay.
     */
    readonly expiringLakePrefixes: readonly string[];
    /** Days Glue temporary files and Athena results are kept. Defaults to 7. */
    readonly scratchDays?: number;
    /** Days server access logs are kept. Defaults to 365. */
    readonly accessLogDays?: number;
    /** Let `pulumi destroy` delete buckets that still hold data. Defaults to false. */
    readonly allowDataDeletion?: boolean;
}

/**
 * The project's KMS key and the buckets every pipeline shares: landing (where extracts arrive),
 * lake (Iceberg tables, run reports, stream lakes), quarantine (rejected archives, rows and items),
 * Glue assets (scripts, plans, temporary files), Athena results, and the access-log bucket they all
 * log to.
 */
export class Storage extends pulumi.ComponentResource {
    readonly key: aws.kms.Key;
    readonly keyArn: pulumi.Output<string>;
    readonly accessLogs: SecureBucket;
    readonly landing: SecureBucket;
    readonly lake: SecureBucket;
    readonly quarantine: SecureBucket;
    readonly glueAssets: SecureBucket;
    readonly athenaResults: SecureBucket;

    constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:storage:Storage", name, {}, opts);
        const scope = accountScope(this);
        const forceDestroy = args.allowDataDeletion ?? false;
        const scratchDays = args.scratchDays ?? defaultScratchDays;

        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the data, logs, topics and queues of ${name}`,
                enableKeyRotation: true,
                deletionWindowInDays: keyDeletionWindowDays,
                policy: policyDocument(projectKeyPolicy(scope.accountId, scope.region, scope.partition)),
            },
            { parent: this },
        );
        this.keyArn = this.key.arn;
        new aws.kms.Alias(`${name}-key-alias`, { name: pulumi.interpolate`alias/${name}`, targetKeyId: this.key.keyId }, { parent: this });

        // S3 server access logging delivers only to buckets encrypted with SSE-S3, so this bucket
        // alone has no KMS key (Checkov CKV_AWS_145 does not apply to log targets).
        this.accessLogs = new SecureBucket(
            `${name}-access-logs`,
            {
                expirations: [{ id: "expire-access-logs", expireAfterDays: args.accessLogDays ?? defaultAccessLogDays }],
                versioned: false,
                forceDestroy,
                receivesAccessLogsFrom: scope.accountId,
            },
            { parent: this },
        );
        const logTo = (prefix: string) => ({ bucket: this.accessLogs.name, prefix: `${prefix}/` });
        const dataBucket = (suffix: string, extra: Partial<ConstructorParameters<typeof SecureBucket>[1]>) =>
            new SecureBucket(
                `${name}-${suffix}`,
                { kmsKeyArn: this.keyArn, accessLogs: logTo(suffix), forceDestroy, ...extra },
                { parent: this, dependsOn: [this.accessLogs] },
            );

        this.landing = dataBucket("landing", {
            eventBridge: true,
            expirations: [{ id: "expire-landed-archives", expireAfterDays: args.retentionDays }],
        });
        this.lake = dataBucket("lake", {
            expirations: args.expiringLakePrefixes.map((prefix) => ({
                id: `expire-${prefix}`,
                prefix,
                expireAfterDays: args.retentionDays,
            })),
        });
        this.quarantine = dataBucket("quarantine", { expirations: [{ id: "expire-quarantine", expireAfterDays: args.retentionDays }] });
        this.glueAssets = dataBucket("glue-assets", {
            expirations: [{ id: "expire-temporary-files", prefix: "temporary/", expireAfterDays: scratchDays }],
        });
        this.athenaResults = dataBucket("athena-results", {
            versioned: false,
            expirations: [{ id: "expire-query-results", expireAfterDays: scratchDays }],
        });

        this.registerOutputs({ keyArn: this.keyArn });
    }
}
