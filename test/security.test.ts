import { expect } from "chai";
import { jobMetricsNamespace } from "../components/metrics";
import { xrayTraceActions } from "../components/policies";
import runMetrics from "../glue-scripts/ingest/contracts/run_metrics.json";
import { badArchiveNameMetric } from "../lambdas/extract-trigger/contract";
import { AlarmTopic } from "../components/alarm-topic";
import { SnowflakeIngest } from "../components/snowflake-ingest";
import { Storage } from "../components/storage";
import {
    mockAccountId,
    physicalNameOf,
    policyOf,
    settle,
    useMocks,
    type PolicyStatementJson,
    type RecordedResource,
    RecordingMocks,
} from "./support/pulumi-mocks";
import { runProgram } from "./support/program";

/**
 * The security walk: every resource the whole program declares, for every stack, is checked
 * against the platform's secure defaults. Each check names the equivalent Checkov rule where one
 * exists. A resource type without an entry in `checksByType` fails the walk, so a new kind of
 * resource cannot slip in unchecked.
 */

type Check = (resource: RecordedResource, program: ProgramView) => string[];

interface ProgramView {
    readonly stack: string;
    readonly keyArn: string;
    readonly resources: readonly RecordedResource[];
    attachedTo(type: string, bucketId: string): RecordedResource[];
}

/**
 * Actions AWS does not allow to be scoped to a resource ARN, so `Resource: "*"` is the only
 * possible value (the statement must then carry a condition, unless the actions have none: see below).
 */
const actionsWithoutResourceScope = new Set<string>(["cloudwatch:PutMetricData", ...xrayTraceActions]);

/**
 * Actions with neither a resource type nor a condition key, so a statement of nothing else takes
 * `Resource: "*"` with no condition. Exactly X-Ray's PutTraceSegments and PutTelemetryRecords, which a
 * traced function's runtime calls: the Service Authorization Reference ("Actions, resources, and
 * condition keys for AWS X-Ray") lists no resource type and no condition key for them, and AWS's own
 * AWSXRayDaemonWriteAccess policy grants them on "*".
 */
const actionsWithoutAnyScope = new Set<string>(xrayTraceActions);

/** Buckets that, by design, differ from the data-bucket defaults, with the reason. */
const bucketExemptions: Record<string, { kms?: string; versioning?: string; logging?: string }> = {
    "access-logs": {
        kms: "S3 server access logging delivers only to SSE-S3 buckets",
        versioning: "logs are written once and never overwritten",
        logging: "a log bucket that logs to itself loops",
    },
    "athena-results": { versioning: "query results are scratch data, recomputable and expired after days" },
};

function bucketRole(resource: RecordedResource): string {
    return resource.name.replace(/^ingest-[a-z]+-/, "");
}

function asArray<T>(value: T | T[] | undefined): T[] {
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function statementProblems(owner: string, statements: PolicyStatementJson[], isKeyPolicy: boolean): string[] {
    const problems: string[] = [];
    for (const statement of statements) {
        const label = `${owner} statement ${statement.Sid ?? "(no Sid)"}`;
        if (statement.Effect !== "Allow") {
            continue;
        }
        const actions = asArray(statement.Action);
        const resources = asArray(statement.Resource);
        // The account-root delegation is AWS's default key policy; kms:* there hands control to IAM.
        const isRootDelegation = isKeyPolicy && statement.Sid === "DelegateToAccountIam";
        for (const action of actions) {
            // CKV_AWS_62 / CKV_AWS_63 / CKV_AWS_1: no "*" or "service:*" actions.
            if ((action === "*" || action.endsWith(":*")) && !isRootDelegation) {
                problems.push(`${label}: wildcard action ${action}`);
            }
        }
        // In a key policy, Resource "*" means the key itself.
        if (resources.includes("*") && !isKeyPolicy) {
            const unscoped = actions.filter((action) => !actionsWithoutResourceScope.has(action));
            // CKV_AWS_355: no "*" resource for actions that can be scoped.
            if (unscoped.length > 0) {
                problems.push(`${label}: Resource "*" for scopable actions ${unscoped.join(", ")}`);
            }
            if (!statement.Condition && !actions.every((action) => actionsWithoutAnyScope.has(action))) {
                problems.push(`${label}: Resource "*" without a condition`);
            }
        }
        if (!isKeyPolicy) {
            for (const resource of resources) {
                // Glue ARNs by wildcard reach the tables (or jobs, crawlers) of every pipeline whose name
                // shares the prefix: grants name each one.
                if (resource.startsWith("arn:") && resource.split(":")[2] === "glue" && resource.includes("*")) {
                    problems.push(`${label}: Glue resource by wildcard ${resource}`);
                }
                // A log group by wildcard is every group of that name's prefix, other jobs' and services' too.
                const logGroup = /:log-group:([^:]*)/.exec(resource)?.[1];
                if (logGroup?.includes("*")) {
                    problems.push(`${label}: log group by wildcard ${resource}`);
                }
            }
        }
        // CKV_AWS_33 / CKV_AWS_70: no Allow to any principal.
        if (statement.Principal === "*" || asArray(statement.Principal?.AWS).includes("*")) {
            problems.push(`${label}: allows any principal`);
        }
        if (statement.Principal && typeof statement.Principal === "object" && statement.Principal.Service && !statement.Condition) {
            problems.push(`${label}: service principal without a source condition (confused deputy)`);
        }
        // A role another party assumes names that party's external id (confused deputy across accounts).
        const trustsAccounts = !isKeyPolicy && typeof statement.Principal === "object" && statement.Principal.AWS !== undefined;
        if (trustsAccounts && actions.includes("sts:AssumeRole") && !statement.Condition?.StringEquals?.["sts:ExternalId"]) {
            problems.push(`${label}: trusts another principal without an external id`);
        }
    }
    return problems;
}

const policyCheck =
    (field: string, isKeyPolicy = false): Check =>
    (resource) =>
        statementProblems(`${resource.type} ${resource.name}`, policyOf(resource, field).Statement, isKeyPolicy);

/** The statements of every inline policy of the role with ARN `roleArn`, if the program declares it. */
function roleStatements(program: ProgramView, roleArn: unknown): PolicyStatementJson[] | undefined {
    const role = program.resources.find((candidate) => candidate.type === "aws:iam/role:Role" && candidate.arn === roleArn);
    return role
        ? program.resources
              .filter((candidate) => candidate.type === "aws:iam/rolePolicy:RolePolicy" && candidate.inputs.role === `${role.name}-id`)
              .flatMap((policy) => policyOf(policy).Statement)
        : undefined;
}

/**
 * A role's statements, and: a grant conditioned on S3's encryption context names a bucket that
 * encrypts with an S3 Bucket Key, whose requests to KMS carry the bucket's ARN as that context (a
 * bucket without one sends each object's ARN, and the grant would never match).
 */
const rolePolicyCheck: Check = (resource, program) => [
    ...policyCheck("policy")(resource, program),
    ...policyOf(resource)
        .Statement.flatMap((statement) => asArray(statement.Condition?.StringEquals?.["kms:EncryptionContext:aws:s3:arn"]))
        .filter((bucketArn) => {
            const bucket = program.resources.find((candidate) => candidate.type === "aws:s3/bucket:Bucket" && candidate.arn === bucketArn);
            const rules = bucket
                ? program
                      .attachedTo(
                          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                          `${bucket.name}-id`,
                      )
                      .flatMap((encryption) => encryption.inputs.rules as { bucketKeyEnabled?: boolean }[])
                : [];
            return !rules.some((rule) => rule.bucketKeyEnabled === true);
        })
        .map((bucketArn) => `${resource.name}: ${bucketArn} as S3 encryption context, but that bucket encrypts without an S3 Bucket Key`),
];

/**
 * A Glue job's or crawler's role writes no log group but those Glue writes that job or crawler's
 * logs to (`own`, from its security configuration and its role's name): a shared or wildcard group
 * would let it write, or encrypt with its key, other jobs' logs.
 */
function writesOnlyOwnLogGroups(
    resource: RecordedResource,
    program: ProgramView,
    roleArn: unknown,
    own: (securityConfiguration: string, roleName: string) => string[],
): string[] {
    const role = program.resources.find((candidate) => candidate.type === "aws:iam/role:Role" && candidate.arn === roleArn);
    if (!role) {
        return [];
    }
    const ownGroups = own(String(resource.inputs.securityConfiguration), physicalNameOf(role));
    return (roleStatements(program, roleArn) ?? [])
        .filter((statement) => asArray(statement.Action).some((action) => action.startsWith("logs:")))
        .flatMap((statement) => asArray(statement.Resource))
        .map((arn) => /:log-group:([^:]*)/.exec(arn)?.[1] ?? arn)
        .filter((group) => !ownGroups.includes(group))
        .map((group) => `${resource.name}: its role writes the log group ${group}, not only its own (${ownGroups.join(", ")})`);
}

interface EventSourceMappingJson {
    eventSourceArn?: string;
    functionName?: string;
    parallelizationFactor?: number;
    scalingConfig?: { maximumConcurrency?: number };
}

/**
 * How many executions an event source mapping runs at once, where the program says: a queue
 * mapping's maximum concurrency, and for a stream the program declares with its shards, one batch
 * per shard and parallelization factor. A queue mapping without a maximum is unbounded (Lambda adds
 * pollers up to its own limits); a stream of another stack, or on demand, has no declared shards.
 */
function concurrencyOf(mapping: EventSourceMappingJson, program: ProgramView): number | "unbounded" | undefined {
    const source = program.resources.find((candidate) => candidate.arn === mapping.eventSourceArn);
    if (source?.type === "aws:sqs/queue:Queue") {
        return mapping.scalingConfig?.maximumConcurrency ?? "unbounded";
    }
    const shards = source?.type === "aws:kinesis/stream:Stream" ? source.inputs.shardCount : undefined;
    return typeof shards === "number" ? shards * (mapping.parallelizationFactor ?? 1) : undefined;
}

/**
 * A function: a dead-letter queue (CKV_AWS_116); environment encrypted with the project key
 * (CKV_AWS_173); X-Ray tracing, Active or PassThrough (CKV_AWS_50), under a role that may send the
 * traces; reserved concurrency (CKV_AWS_115), no less than what each of its event sources runs at
 * once (fewer would throttle: a queue's received messages go back to the queue, and on to its
 * dead-letter queue).
 */
const functionCheck: Check = (resource, program) => {
    const problems = [
        ...((resource.inputs.deadLetterConfig as { targetArn?: string } | undefined)?.targetArn
            ? []
            : [`${resource.name}: no dead-letter queue (CKV_AWS_116)`]),
        ...usesProjectKey("kmsKeyArn", "CKV_AWS_173")(resource, program),
    ];
    const mode = (resource.inputs.tracingConfig as { mode?: string } | undefined)?.mode;
    if (mode !== "Active" && mode !== "PassThrough") {
        problems.push(`${resource.name}: X-Ray tracing off (CKV_AWS_50)`);
    }
    const statements = roleStatements(program, resource.inputs.role) ?? [];
    const sendsTraces = xrayTraceActions.every((action) =>
        statements.some(
            (statement) =>
                statement.Effect === "Allow" && asArray(statement.Action).includes(action) && asArray(statement.Resource).includes("*"),
        ),
    );
    if (!sendsTraces) {
        problems.push(`${resource.name}: its role may not send X-Ray traces`);
    }
    const reserved = resource.inputs.reservedConcurrentExecutions;
    if (typeof reserved !== "number" || !Number.isInteger(reserved) || reserved < 1) {
        return [...problems, `${resource.name}: no reserved concurrency (CKV_AWS_115)`];
    }
    for (const mapping of program.resources.filter((candidate) => candidate.type === "aws:lambda/eventSourceMapping:EventSourceMapping")) {
        const inputs = mapping.inputs as EventSourceMappingJson;
        if (inputs.functionName !== resource.arn) {
            continue;
        }
        const runs = concurrencyOf(inputs, program);
        if (runs === "unbounded") {
            problems.push(
                `${resource.name}: its queue mapping ${mapping.name} has no maximum concurrency to keep within the reserved ${reserved}`,
            );
        } else if (runs !== undefined && runs > reserved) {
            problems.push(
                `${resource.name}: reserves ${reserved} concurrent executions, fewer than the ${runs} its source ${mapping.name} runs at once`,
            );
        }
    }
    return problems;
};

const noSecuritySettings =
    (why: string): Check =>
    () =>
        why.length > 0 ? [] : ["exemption without a reason"];

const usesProjectKey =
    (field: string, checkov: string): Check =>
    (resource, program) =>
        resource.inputs[field] === program.keyArn
            ? []
            : [`${resource.type} ${resource.name}: ${field} is not the project key (${checkov})`];

interface IcebergTableInputJson {
    location?: string;
    properties?: Record<string, string>;
}

function icebergInputOf(resource: RecordedResource): IcebergTableInputJson | undefined {
    return (resource.inputs.openTableFormatInput as { icebergInput?: { icebergTableInput?: IcebergTableInputJson } } | undefined)
        ?.icebergInput?.icebergTableInput;
}

/** The bucket and key prefix of an `s3://bucket/key` location. */
function s3Location(location: string | undefined): { bucket: string; key: string } | undefined {
    const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(location ?? "");
    return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

/** The declared bucket a location is in. */
function bucketAt(program: ProgramView, bucketName: string): RecordedResource | undefined {
    return program.resources.find((candidate) => candidate.type === "aws:s3/bucket:Bucket" && candidate.name === bucketName);
}

/**
 * A Glue table's data is in one of the program's buckets (each checked for encryption and the rest).
 * An Iceberg table is format v2, in the lake bucket, and under no prefix the bucket expires by age:
 * an age rule would delete files that current rows still live in.
 */
const catalogTableCheck: Check = (resource, program) => {
    const iceberg = icebergInputOf(resource);
    const location = iceberg?.location ?? (resource.inputs.storageDescriptor as { location?: string } | undefined)?.location;
    const place = s3Location(location);
    const bucket = place && bucketAt(program, place.bucket);
    if (!place || !bucket) {
        return [`${resource.name}: data outside the program's buckets (${location})`];
    }
    if (!iceberg) {
        return [];
    }
    const expiringRules = program
        .attachedTo("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${bucket.name}-id`)
        .flatMap((lifecycle) => lifecycle.inputs.rules as { id: string; filter?: { prefix?: string }; expiration?: { days?: number } }[])
        .filter((rule) => rule.expiration?.days !== undefined && `${place.key}/`.startsWith(rule.filter?.prefix ?? ""));
    return [
        ...(bucketRole(bucket) === "lake" ? [] : [`${resource.name}: Iceberg table outside the lake bucket (${location})`]),
        ...(iceberg.properties?.["format-version"] === "2" ? [] : [`${resource.name}: not Iceberg format version 2`]),
        ...expiringRules.map((rule) => `${resource.name}: the lake's lifecycle rule ${rule.id} expires the table's files by age`),
    ];
};

/**
 * A table optimizer runs under a role the program declares, granted its own table by ARN, no table
 * by wildcard, and objects only under the locations of the program's Iceberg tables.
 */
const tableOptimizerCheck: Check = (resource, program) => {
    const statements = roleStatements(program, (resource.inputs.configuration as { roleArn?: string }).roleArn);
    if (!statements) {
        return [`${resource.name}: runs under a role the program does not declare`];
    }
    const glueResources = statements
        .filter((statement) => asArray(statement.Action).some((action) => action.startsWith("glue:")))
        .flatMap((statement) => asArray(statement.Resource));
    const tableLocations = new Set(
        program.resources.flatMap((candidate) => {
            const place =
                candidate.type === "aws:glue/catalogTable:CatalogTable" ? s3Location(icebergInputOf(candidate)?.location) : undefined;
            return place ? [`arn:aws:s3:::${place.bucket}/${place.key}/*`] : [];
        }),
    );
    const objects = statements
        .filter((statement) => asArray(statement.Action).some((action) => action.startsWith("s3:") && action !== "s3:ListBucket"))
        .flatMap((statement) => asArray(statement.Resource));
    return [
        ...(glueResources.some((arn) => arn.endsWith(`:table/${String(resource.inputs.databaseName)}/${String(resource.inputs.tableName)}`))
            ? []
            : [`${resource.name}: its role is not granted its table by ARN`]),
        ...glueResources
            .filter((arn) => arn.includes(":table/") && arn.includes("*"))
            .map((arn) => `${resource.name}: its role reaches tables by wildcard (${arn})`),
        ...objects
            .filter((arn) => !tableLocations.has(arn))
            .map((arn) => `${resource.name}: its role reaches objects outside the lake tables (${arn})`),
    ];
};

/**
 * The namespaces the stack's own jobs and functions publish metrics in, each with the dimension that
 * names the stack beside a pipeline or lookup (`glue-scripts/ingest/contracts/run_metrics.json`, the
 * extract trigger's `lambdas/extract-trigger/contract.ts`).
 */
const ownStackDimensions = new Map<string, ReadonlySet<string>>([
    [jobMetricsNamespace, new Set([runMetrics.extractRuns.dimensions.stack, runMetrics.lookupLoads.dimensions.stack])],
    [badArchiveNameMetric.namespace, new Set([badArchiveNameMetric.dimensions.stack])],
]);

interface DashboardWidgetJson {
    type?: string;
    properties?: { title?: string; region?: string; accountId?: string; metrics?: unknown[][] };
}

/**
 * A dashboard shows this stack and nothing else: every chart reads the stack's region, none reads
 * another account (CloudWatch's cross-account `accountId`), and every metric it draws is of a
 * resource the program declares (its name as dimension) or one the stack's jobs publish for a
 * pipeline or lookup the stack deploys (whose plan it uploads), named for this stack (a job's or the
 * trigger's metric without the stack's name is shared with every stack deploying the same pipeline). A dashboard
 * drawing another stack's series would show, and let readers act on, numbers that are not this stack's.
 */
const dashboardCheck: Check = (resource, program) => {
    const region = program.keyArn.split(":")[3];
    const declaredNames = new Set(program.resources.map(physicalNameOf));
    const deployedPlans = new Set(
        program.resources.flatMap((candidate) => {
            const key = candidate.type === "aws:s3/bucketObjectv2:BucketObjectv2" ? String(candidate.inputs.key) : "";
            const deployed = /^jobs\/(?:lookups\/)?([^/]+)\/(?:plan|lookup)\.json$/.exec(key);
            return deployed ? [deployed[1]!] : [];
        }),
    );
    const body = JSON.parse(String(resource.inputs.dashboardBody)) as { widgets?: DashboardWidgetJson[] };
    const problems: string[] = [];
    for (const widget of (body.widgets ?? []).filter((candidate) => candidate.type === "metric")) {
        const chart = `${resource.name}: chart "${widget.properties?.title}"`;
        if (widget.properties?.region !== region) {
            problems.push(`${chart} reads region ${widget.properties?.region}, not the stack's ${region}`);
        }
        if (widget.properties?.accountId !== undefined) {
            problems.push(`${chart} reads account ${widget.properties.accountId}`);
        }
        for (const metric of widget.properties?.metrics ?? []) {
            const names = metric.filter((part): part is string => typeof part === "string");
            const options = metric.find((part): part is { accountId?: string } => typeof part === "object" && part !== null);
            if (options?.accountId !== undefined) {
                problems.push(`${chart} reads account ${options.accountId}`);
            }
            const [namespace = "", metricName, ...dimensions] = names;
            const pairs = dimensions.flatMap((name, index) => (index % 2 === 0 ? [[name, dimensions[index + 1] ?? ""] as const] : []));
            const values = pairs.map(([, value]) => value);
            const stackDimensions = ownStackDimensions.get(namespace) ?? new Set<string>();
            const forThisStack = ([name, value]: readonly [string, string]) =>
                stackDimensions.has(name) ? value === program.stack : deployedPlans.has(value);
            const publishedForThisStack = pairs.some(([name]) => stackDimensions.has(name)) && pairs.every(forThisStack);
            const ours = values.length > 0 && (values.every((value) => declaredNames.has(value)) || publishedForThisStack);
            if (!ours) {
                problems.push(`${chart} draws ${[namespace, metricName, ...dimensions].join(" ")}, which is not of this stack`);
            }
        }
    }
    return problems;
};

const checksByType: Record<string, Check> = {
    "aws:kms/key:Key": (resource) => [
        // CKV_AWS_7
        ...(resource.inputs.enableKeyRotation === true ? [] : [`${resource.name}: key rotation off (CKV_AWS_7)`]),
        ...policyCheck("policy", true)(resource, undefined as never),
    ],
    "aws:kms/alias:Alias": noSecuritySettings("an alias only names the key"),
    "aws:s3/bucket:Bucket": (resource, program) => {
        const problems: string[] = [];
        const bucketId = `${resource.name}-id`;
        const exemption = bucketExemptions[bucketRole(resource)] ?? {};
        const encryption = program.attachedTo(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            bucketId,
        );
        const rule = (
            encryption[0]?.inputs.rules as
                { applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId?: string } }[] | undefined
        )?.[0];
        const byDefault = rule?.applyServerSideEncryptionByDefault;
        // CKV_AWS_145: encrypted with the project's KMS key.
        if (exemption.kms) {
            if (byDefault?.sseAlgorithm !== "AES256") {
                problems.push(`${resource.name}: must use SSE-S3 (${exemption.kms})`);
            }
        } else if (byDefault?.sseAlgorithm !== "aws:kms" || byDefault.kmsMasterKeyId !== program.keyArn) {
            problems.push(`${resource.name}: not encrypted with the project key (CKV_AWS_145)`);
        }
        // CKV_AWS_53, CKV_AWS_54, CKV_AWS_55, CKV_AWS_56 (and CKV2_AWS_6).
        const publicAccess = program.attachedTo("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucketId)[0]?.inputs;
        for (const setting of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            if (publicAccess?.[setting] !== true) {
                problems.push(`${resource.name}: ${setting} is not on (CKV_AWS_53-56)`);
            }
        }
        // AWS Config s3-bucket-ssl-requests-only (Checkov has no single rule for it).
        const policies = program.attachedTo("aws:s3/bucketPolicy:BucketPolicy", bucketId);
        const tlsOnly = policies.some((policy) =>
            policyOf(policy).Statement.some(
                (statement) =>
                    statement.Effect === "Deny" &&
                    statement.Principal === "*" &&
                    statement.Condition?.Bool?.["aws:SecureTransport"] === "false",
            ),
        );
        if (policies.length !== 1 || !tlsOnly) {
            problems.push(`${resource.name}: needs exactly one bucket policy, denying requests without TLS`);
        }
        // CKV_AWS_21: versioning where data lands.
        const versioning = program.attachedTo("aws:s3/bucketVersioning:BucketVersioning", bucketId)[0];
        const versioned = (versioning?.inputs.versioningConfiguration as { status?: string } | undefined)?.status === "Enabled";
        if (!versioned && !exemption.versioning) {
            problems.push(`${resource.name}: versioning is off (CKV_AWS_21)`);
        }
        // CKV_AWS_18: access logging.
        if (program.attachedTo("aws:s3/bucketLogging:BucketLogging", bucketId).length !== 1 && !exemption.logging) {
            problems.push(`${resource.name}: access logging is off (CKV_AWS_18)`);
        }
        // CKV2_AWS_61: a lifecycle configuration.
        if (program.attachedTo("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucketId).length !== 1) {
            problems.push(`${resource.name}: no lifecycle configuration (CKV2_AWS_61)`);
        }
        // Object ownership enforced: ACLs off (CKV2_AWS_65).
        const ownership = program.attachedTo("aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucketId)[0];
        if ((ownership?.inputs.rule as { objectOwnership?: string } | undefined)?.objectOwnership !== "BucketOwnerEnforced") {
            problems.push(`${resource.name}: object ownership is not BucketOwnerEnforced (CKV2_AWS_65)`);
        }
        // Data is retained unless the stack explicitly allows deletion.
        if (program.stack === "prod" && resource.inputs.forceDestroy !== false) {
            problems.push(`${resource.name}: forceDestroy in production`);
        }
        return problems;
    },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketVersioning:BucketVersioning": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketLogging:BucketLogging": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": noSecuritySettings("checked with its bucket"),
    "aws:s3/bucketNotification:BucketNotification": noSecuritySettings(
        "sends object events to EventBridge in the same account, or to the queue of a Snowpipe the stack names",
    ),
    "aws:s3/bucketPolicy:BucketPolicy": policyCheck("policy"),
    "aws:s3/bucketObjectv2:BucketObjectv2": (resource, program) =>
        resource.inputs.serverSideEncryption === "aws:kms" && resource.inputs.kmsKeyId === program.keyArn
            ? []
            : [`${resource.name}: object not encrypted with the project key`],
    "aws:glue/catalogDatabase:CatalogDatabase": noSecuritySettings("metadata only; table data is in the encrypted lake bucket"),
    "aws:glue/catalogTable:CatalogTable": catalogTableCheck,
    "aws:glue/catalogTableOptimizer:CatalogTableOptimizer": tableOptimizerCheck,
    // CKV_AWS_99: S3, CloudWatch and job bookmark encryption.
    "aws:glue/securityConfiguration:SecurityConfiguration": (resource, program) => {
        const configuration = resource.inputs.encryptionConfiguration as {
            s3Encryption: { s3EncryptionMode: string; kmsKeyArn: string };
            cloudwatchEncryption: { cloudwatchEncryptionMode: string; kmsKeyArn: string };
            jobBookmarksEncryption: { jobBookmarksEncryptionMode: string; kmsKeyArn: string };
        };
        const ok =
            configuration.s3Encryption.s3EncryptionMode === "SSE-KMS" &&
            configuration.cloudwatchEncryption.cloudwatchEncryptionMode === "SSE-KMS" &&
            configuration.jobBookmarksEncryption.jobBookmarksEncryptionMode === "CSE-KMS" &&
            [configuration.s3Encryption, configuration.cloudwatchEncryption, configuration.jobBookmarksEncryption].every(
                (setting) => setting.kmsKeyArn === program.keyArn,
            );
        return ok ? [] : [`${resource.name}: security configuration does not encrypt everything with the project key (CKV_AWS_99)`];
    },
    // CKV_AWS_195: a Glue job runs under a security configuration.
    "aws:glue/job:Job": (resource, program) => {
        const configurations = program.resources.filter(
            (candidate) => candidate.type === "aws:glue/securityConfiguration:SecurityConfiguration",
        );
        return [
            ...(configurations.some((configuration) => configuration.inputs.name === resource.inputs.securityConfiguration)
                ? []
                : [`${resource.name}: no Glue security configuration attached (CKV_AWS_195)`]),
            // Glue 5 writes a job under a security configuration to <configuration>-role/<role>/{output,error}.
            ...writesOnlyOwnLogGroups(resource, program, resource.inputs.roleArn, (configuration, role) =>
                ["output", "error"].map((group) => `/aws-glue/jobs/${configuration}-role/${role}/${group}`),
            ),
        ];
    },
    // CKV_AWS_82 (enforced) and CKV_AWS_159 (encrypted results).
    "aws:athena/workgroup:Workgroup": (resource, program) => {
        const configuration = resource.inputs.configuration as {
            enforceWorkgroupConfiguration?: boolean;
            resultConfiguration?: { encryptionConfiguration?: { encryptionOption?: string; kmsKeyArn?: string } };
        };
        const encryption = configuration.resultConfiguration?.encryptionConfiguration;
        return [
            ...(configuration.enforceWorkgroupConfiguration === true ? [] : [`${resource.name}: configuration not enforced (CKV_AWS_82)`]),
            ...(encryption?.encryptionOption === "SSE_KMS" && encryption.kmsKeyArn === program.keyArn
                ? []
                : [`${resource.name}: results not encrypted with the project key (CKV_AWS_159)`]),
        ];
    },
    // CKV_AWS_28 (point-in-time recovery) and CKV_AWS_119 (customer-managed KMS key).
    "aws:dynamodb/table:Table": (resource, program) => {
        const encryption = resource.inputs.serverSideEncryption as { enabled?: boolean; kmsKeyArn?: string } | undefined;
        return [
            ...((resource.inputs.pointInTimeRecovery as { enabled?: boolean } | undefined)?.enabled === true
                ? []
                : [`${resource.name}: PITR off (CKV_AWS_28)`]),
            ...(encryption?.enabled === true && encryption.kmsKeyArn === program.keyArn
                ? []
                : [`${resource.name}: not encrypted with the project key (CKV_AWS_119)`]),
            ...(program.stack === "prod" && resource.inputs.deletionProtectionEnabled !== true
                ? [`${resource.name}: deletion protection off in production`]
                : []),
        ];
    },
    "aws:sns/topic:Topic": usesProjectKey("kmsMasterKeyId", "CKV_AWS_26"),
    "aws:sns/topicPolicy:TopicPolicy": policyCheck("policy"),
    "aws:sns/topicSubscription:TopicSubscription": noSecuritySettings("e-mail delivery of an encrypted topic; confirmed by the recipient"),
    "aws:sqs/queue:Queue": usesProjectKey("kmsMasterKeyId", "CKV_AWS_27"),
    "aws:sqs/queuePolicy:QueuePolicy": policyCheck("policy"),
    "aws:cloudwatch/eventRule:EventRule": noSecuritySettings("a pattern over the account's default bus"),
    "aws:cloudwatch/eventTarget:EventTarget": noSecuritySettings("delivery is authorized by the target's resource policy, checked there"),
    "aws:cloudwatch/dashboard:Dashboard": dashboardCheck,
    "aws:cloudwatch/metricAlarm:MetricAlarm": (resource) =>
        asArray(resource.inputs.alarmActions as string[] | undefined).length > 0 ? [] : [`${resource.name}: alarm notifies nobody`],
    // CKV_AWS_158 (KMS) and CKV_AWS_66 (retention).
    "aws:cloudwatch/logGroup:LogGroup": (resource, program) => [
        ...usesProjectKey("kmsKeyId", "CKV_AWS_158")(resource, program),
        ...(typeof resource.inputs.retentionInDays === "number" ? [] : [`${resource.name}: no retention (CKV_AWS_66)`]),
    ],
    "aws:iam/role:Role": policyCheck("assumeRolePolicy"),
    "aws:iam/rolePolicy:RolePolicy": rolePolicyCheck,
    // CKV_AWS_116, CKV_AWS_173, CKV_AWS_50 and CKV_AWS_115.
    "aws:lambda/function:Function": functionCheck,
    // Only the named rule may invoke: a service principal without a source ARN is a confused deputy.
    "aws:lambda/permission:Permission": (resource) =>
        typeof resource.inputs.sourceArn === "string" && resource.inputs.principal === "events.amazonaws.com"
            ? []
            : [`${resource.name}: invocation permission not limited to one EventBridge rule`],
    // CKV_AWS_43 (encrypted) and CKV_AWS_185 (with a customer-managed key).
    "aws:kinesis/stream:Stream": (resource, program) => [
        ...(resource.inputs.encryptionType === "KMS" ? [] : [`${resource.name}: stream not encrypted (CKV_AWS_43)`]),
        ...usesProjectKey("kmsKeyId", "CKV_AWS_185")(resource, program),
    ],
    // Firehose cannot encrypt server-side when its source is a Kinesis stream (CKV_AWS_240/241 apply
    // to Direct PUT); the stream is encrypted with the project key and so is every object written.
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": (resource, program) => {
        const s3 = resource.inputs.extendedS3Configuration as {
            kmsKeyArn?: string;
            cloudwatchLoggingOptions?: { enabled?: boolean };
            s3BackupMode?: string;
            s3BackupConfiguration?: { kmsKeyArn?: string };
        };
        const source = resource.inputs.kinesisSourceConfiguration as { kinesisStreamArn?: string } | undefined;
        const streams = program.resources.filter((candidate) => candidate.type === "aws:kinesis/stream:Stream");
        return [
            ...(streams.some((stream) => stream.arn === source?.kinesisStreamArn)
                ? []
                : [`${resource.name}: does not read one of the program's encrypted streams (CKV_AWS_240)`]),
            ...(s3.kmsKeyArn === program.keyArn ? [] : [`${resource.name}: objects not encrypted with the project key`]),
            ...(s3.s3BackupMode === "Enabled" && s3.s3BackupConfiguration?.kmsKeyArn !== program.keyArn
                ? [`${resource.name}: backup objects not encrypted with the project key`]
                : []),
            ...(s3.cloudwatchLoggingOptions?.enabled === true ? [] : [`${resource.name}: delivery errors not logged`]),
        ];
    },
    "aws:cloudwatch/logStream:LogStream": noSecuritySettings("a stream inside a log group, which is checked"),
    "aws:athena/namedQuery:NamedQuery": (resource, program) => {
        const workgroups = program.resources.filter((candidate) => candidate.type === "aws:athena/workgroup:Workgroup");
        return workgroups.some((workgroup) => (workgroup.inputs.name ?? workgroup.name) === resource.inputs.workgroup)
            ? []
            : [`${resource.name}: saved outside the program's enforced, encrypted workgroup`];
    },
    // CKV_AWS_195 for crawlers; a catalog-target crawler never rewrites the declared schema.
    "aws:glue/crawler:Crawler": (resource, program) => {
        const configurations = program.resources.filter(
            (candidate) => candidate.type === "aws:glue/securityConfiguration:SecurityConfiguration",
        );
        const policy = resource.inputs.schemaChangePolicy as { updateBehavior?: string; deleteBehavior?: string } | undefined;
        return [
            ...(configurations.some((configuration) => configuration.inputs.name === resource.inputs.securityConfiguration)
                ? []
                : [`${resource.name}: no Glue security configuration attached (CKV_AWS_195)`]),
            ...(policy?.updateBehavior === "LOG" && policy.deleteBehavior === "LOG"
                ? []
                : [`${resource.name}: may change the declared table instead of logging schema changes`]),
            // Glue writes a crawler under a security configuration to crawlers-role/<role>-<configuration>.
            ...writesOnlyOwnLogGroups(resource, program, resource.inputs.role, (configuration, role) => [
                `/aws-glue/crawlers-role/${role}-${configuration}`,
            ]),
        ];
    },
    "aws:glue/trigger:Trigger": noSecuritySettings("starts a job, which runs under the security configuration checked with the job"),
    "aws:glue/workflow:Workflow": noSecuritySettings("orders triggers and jobs; holds no data"),
    // The Snowflake side (components/snowflake-ingest): objects in Snowflake's account, checked for what
    // the stack decides about them; grants inside Snowflake are Snowflake's, outside this walk.
    "snowflake:index/storageIntegration:StorageIntegration": (resource, program) => {
        const locations = asArray(resource.inputs.storageAllowedLocations as string[] | undefined);
        const buckets = resourcesOf(program, "aws:s3/bucket:Bucket").map(physicalNameOf);
        return [
            ...(declaresRole(program, resource.inputs.storageAwsRoleArn)
                ? []
                : [`${resource.name}: does not assume a role of the program`]),
            ...(locations.length > 0 ? [] : [`${resource.name}: allows every location`]),
            ...locations
                .filter((location) => !buckets.some((bucket) => new RegExp(`^s3://${bucket}/[^*]+/$`).test(location)))
                .map((location) => `${resource.name}: allows ${location}, not one prefix of the program's buckets`),
        ];
    },
    "snowflake:index/stage:Stage": (resource, program) => [
        ...(resourcesOf(program, "snowflake:index/storageIntegration:StorageIntegration").some(
            (integration) => physicalNameOf(integration) === resource.inputs.storageIntegration,
        )
            ? []
            : [`${resource.name}: not on one of the program's storage integrations`]),
        ...(resource.inputs.credentials === undefined ? [] : [`${resource.name}: holds credentials instead of using an integration`]),
    ],
    "snowflake:index/pipe:Pipe": (resource, program) =>
        resourcesOf(program, "snowflake:index/notificationIntegration:NotificationIntegration").some(
            (integration) => physicalNameOf(integration) === resource.inputs.errorIntegration,
        )
            ? []
            : [`${resource.name}: load errors reach no error integration of the program`],
    "snowflake:index/notificationIntegration:NotificationIntegration": (resource, program) => [
        ...(resourcesOf(program, "aws:sns/topic:Topic").some((topic) => topic.arn === resource.inputs.awsSnsTopicArn)
            ? []
            : [`${resource.name}: publishes to a topic the program does not declare`]),
        ...(declaresRole(program, resource.inputs.awsSnsRoleArn) ? [] : [`${resource.name}: does not assume a role of the program`]),
    ],
    "snowflake:index/table:Table": noSecuritySettings("rows in Snowflake, reached through Snowflake's own grants"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (resource) =>
        asArray(resource.inputs.functionResponseTypes as string[] | undefined).includes("ReportBatchItemFailures")
            ? []
            : [`${resource.name}: one failed message would fail the whole batch`],
};

for (const stack of ["dev", "prod"]) {
    describe(`security walk over every resource of the ${stack} stack`, () => {
        let program: RecordingMocks;
        let view: ProgramView;

        before(async () => {
            program = await runProgram(stack);
            const keys = program.ofType("aws:kms/key:Key");
            expect(keys, "the program declares exactly one project key").to.have.length(1);
            view = {
                stack,
                keyArn: keys[0]!.arn,
                resources: program.resources,
                attachedTo: (type, bucketId) => program.ofType(type).filter((resource) => resource.inputs.bucket === bucketId),
            };
        });

        it("declares only resource types the walk knows how to check", () => {
            const unknown = [...new Set(program.resources.map((resource) => resource.type))].filter(
                (type) => !type.startsWith("ingestion:") && !(type in checksByType),
            );
            expect(unknown).to.deep.equal([]);
        });

        it("finds no problem in any resource", () => {
            const problems = program.resources
                .filter((resource) => !resource.type.startsWith("ingestion:"))
                .flatMap((resource) => checksByType[resource.type]!(resource, view));
            expect(problems).to.deep.equal([]);
        });

        it("lets each Glue job and the crawler write exactly the log groups Glue names after its own role", () => {
            const logGroupsOf = (role: string) =>
                policyOf(program.named(`ingest-${stack}-${role}-policy`))
                    .Statement.filter((statement) => asArray(statement.Action).some((action) => action.startsWith("logs:")))
                    .flatMap((statement) => asArray(statement.Resource));
            const group = (name: string) => `arn:aws:logs:eu-west-1:123456789012:log-group:${name}:*`;
            const jobGroups = (job: string) =>
                ["output", "error"].map((stream) =>
                    group(`/aws-glue/jobs/ingest-${stack}-security-role/ingest-${stack}-${job}-role/${stream}`),
                );
            const roles = [
                "customers-job",
                "customers-maintenance-job",
                "products-job",
                "clickstream-warehouse-job",
                "clickstream-crawler",
            ];
            expect(Object.fromEntries(roles.map((role) => [role, logGroupsOf(role)]))).to.deep.equal({
                "customers-job": jobGroups("customers-job"),
                "customers-maintenance-job": jobGroups("customers-maintenance-job"),
                "products-job": jobGroups("products-job"),
                "clickstream-warehouse-job": jobGroups("clickstream-warehouse-job"),
                "clickstream-crawler": [group(`/aws-glue/crawlers-role/ingest-${stack}-clickstream-crawler-role-ingest-${stack}-security`)],
            });
        });

        it("traces every function and reserves what its trigger runs at once", () => {
            expect(
                program
                    .ofType("aws:lambda/function:Function")
                    .map((fn) => [
                        fn.name.replace(`ingest-${stack}-`, ""),
                        (fn.inputs.tracingConfig as { mode?: string }).mode,
                        fn.inputs.reservedConcurrentExecutions,
                    ]),
            ).to.deep.equal([
                // Invoked by hand.
                ["clickstream-producer", "Active", 1],
                // One batch per shard of clickstream, an on-demand stream (four shards to start with).
                ["products-filter", "Active", 4],
                // Its queue mapping's maximum concurrency.
                ["clickstream-loader", "Active", 2],
                // Its queue mapping's maximum concurrency.
                ["clickstream-warehouse-starter", "Active", 2],
                // One per failed run; the job runs at most glue.maxConcurrentRuns (2) at once.
                ["customers-run-notifier", "Active", 2],
                // Its queue mapping's maximum concurrency.
                ["customers-trigger", "Active", 2],
                // Started by its schedule.
                ["clickstream-crawl", "Active", 1],
            ]);
        });

        it("walks every resource the program declared", () => {
            expect(program.resources.length).to.be.greaterThan(80);
        });
    });
}

function resourcesOf(program: ProgramView, type: string): RecordedResource[] {
    return program.resources.filter((candidate) => candidate.type === type);
}

describe("security walk over the Snowflake side (components/snowflake-ingest)", () => {
    // The example stacks keep the manual path (no Snowflake account): the walk meets the Snowflake
    // resources here, declared beside the platform's storage as index.ts declares them.
    let program: RecordingMocks;
    let view: ProgramView;

    before(async () => {
        program = await useMocks("prod", {}, new RecordingMocks());
        const storage = new Storage("ingest-prod", { retentionDays: 30, expiringLakePrefixes: [] });
        new SnowflakeIngest("ingest-prod-clickstream-snowflake", {
            stream: "clickstream",
            fields: [],
            target: { database: "RAW", schema: "EVENTS", table: "CLICKSTREAM" },
            integrationPrefix: "INGEST_PROD_CLICKSTREAM",
            destination: storage.quarantine,
            prefix: "clickstream/",
            kmsKeyArn: storage.keyArn,
            alarms: new AlarmTopic("ingest-prod-clickstream-alarms", { kmsKeyArn: storage.keyArn }),
        });
        await settle();
        view = {
            stack: "prod",
            keyArn: program.ofType("aws:kms/key:Key")[0]!.arn,
            resources: program.resources,
            attachedTo: (type, bucketId) => program.ofType(type).filter((resource) => resource.inputs.bucket === bucketId),
        };
    });

    it("knows every resource type and finds no problem", () => {
        const checked = program.resources.filter((resource) => !resource.type.startsWith("ingestion:"));
        expect(checked.filter((resource) => !(resource.type in checksByType)).map((resource) => resource.type)).to.deep.equal([]);
        expect(checked.flatMap((resource) => checksByType[resource.type]!(resource, view))).to.deep.equal([]);
        expect(
            checked
                .filter((resource) => resource.type.startsWith("snowflake:"))
                .map((resource) => resource.type)
                .sort(),
        ).to.deep.equal([
            "snowflake:index/notificationIntegration:NotificationIntegration",
            "snowflake:index/pipe:Pipe",
            "snowflake:index/stage:Stage",
            "snowflake:index/storageIntegration:StorageIntegration",
            "snowflake:index/table:Table",
        ]);
    });
});

/** Whether `roleArn` names a role the program declares (by name: the ARN of a role named before it exists). */
function declaresRole(program: ProgramView, roleArn: unknown): boolean {
    return program.resources.some(
        (candidate) =>
            candidate.type === "aws:iam/role:Role" && roleArn === `arn:aws:iam::${mockAccountId}:role/${physicalNameOf(candidate)}`,
    );
}

describe("the security walk itself", () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/project";
    const view: ProgramView = { stack: "prod", keyArn: key, resources: [], attachedTo: () => [] };
    const resource = (type: string, inputs: Record<string, unknown>): RecordedResource => ({
        type,
        name: "bad",
        inputs,
        arn: "arn:aws:mock",
    });
    const statement = (extra: Partial<PolicyStatementJson>): string =>
        JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Sid: "S", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*", ...extra }],
        });

    const cases: [string, RecordedResource, string[]][] = [
        [
            "Snowflake storage integration reading a whole bucket through a role not of the program",
            resource("snowflake:index/storageIntegration:StorageIntegration", {
                storageAwsRoleArn: "arn:aws:iam::123456789012:role/elsewhere",
                storageAllowedLocations: ["s3://elsewhere/"],
            }),
            ["bad: does not assume a role of the program", "bad: allows s3://elsewhere/, not one prefix of the program's buckets"],
        ],
        [
            "Snowflake stage with credentials",
            resource("snowflake:index/stage:Stage", { credentials: "AWS_KEY_ID='x' AWS_SECRET_KEY='y'" }),
            ["bad: not on one of the program's storage integrations", "bad: holds credentials instead of using an integration"],
        ],
        [
            "Snowpipe whose errors reach nothing",
            resource("snowflake:index/pipe:Pipe", {}),
            ["bad: load errors reach no error integration of the program"],
        ],
        [
            "Snowflake error integration to another topic",
            resource("snowflake:index/notificationIntegration:NotificationIntegration", { awsSnsTopicArn: "arn:aws:sns:eu-west-1:1:t" }),
            ["bad: publishes to a topic the program does not declare", "bad: does not assume a role of the program"],
        ],
        [
            "wildcard action",
            resource("aws:iam/rolePolicy:RolePolicy", { policy: statement({ Action: ["s3:*"] }) }),
            ["aws:iam/rolePolicy:RolePolicy bad statement S: wildcard action s3:*"],
        ],
        [
            "unscoped resource",
            resource("aws:iam/rolePolicy:RolePolicy", { policy: statement({ Resource: "*" }) }),
            [
                'aws:iam/rolePolicy:RolePolicy bad statement S: Resource "*" for scopable actions s3:GetObject',
                'aws:iam/rolePolicy:RolePolicy bad statement S: Resource "*" without a condition',
            ],
        ],
        [
            "any principal",
            resource("aws:sqs/queuePolicy:QueuePolicy", { policy: statement({ Principal: "*" }) }),
            ["aws:sqs/queuePolicy:QueuePolicy bad statement S: allows any principal"],
        ],
        [
            "service principal without condition",
            resource("aws:sns/topicPolicy:TopicPolicy", { policy: statement({ Principal: { Service: "events.amazonaws.com" } }) }),
            ["aws:sns/topicPolicy:TopicPolicy bad statement S: service principal without a source condition (confused deputy)"],
        ],
        [
            "key without rotation",
            resource("aws:kms/key:Key", { enableKeyRotation: false, policy: statement({}) }),
            ["bad: key rotation off (CKV_AWS_7)"],
        ],
        [
            "table without PITR",
            resource("aws:dynamodb/table:Table", {
                serverSideEncryption: { enabled: true, kmsKeyArn: key },
                deletionProtectionEnabled: true,
            }),
            ["bad: PITR off (CKV_AWS_28)"],
        ],
        [
            "queue with another key",
            resource("aws:sqs/queue:Queue", { kmsMasterKeyId: "alias/aws/sqs" }),
            ["aws:sqs/queue:Queue bad: kmsMasterKeyId is not the project key (CKV_AWS_27)"],
        ],
        [
            "function without DLQ, tracing, a role that may send traces, or reserved concurrency",
            resource("aws:lambda/function:Function", { kmsKeyArn: key, tracingConfig: { mode: "Off" }, reservedConcurrentExecutions: 0 }),
            [
                "bad: no dead-letter queue (CKV_AWS_116)",
                "bad: X-Ray tracing off (CKV_AWS_50)",
                "bad: its role may not send X-Ray traces",
                "bad: no reserved concurrency (CKV_AWS_115)",
            ],
        ],
        [
            "X-Ray's trace actions with another action on any resource",
            resource("aws:iam/rolePolicy:RolePolicy", {
                policy: statement({
                    Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments", "xray:GetTraceSummaries"],
                    Resource: "*",
                }),
            }),
            [
                'aws:iam/rolePolicy:RolePolicy bad statement S: Resource "*" for scopable actions xray:GetTraceSummaries',
                'aws:iam/rolePolicy:RolePolicy bad statement S: Resource "*" without a condition',
            ],
        ],
        [
            "X-Ray's trace actions alone on any resource, without a condition (they take none)",
            resource("aws:iam/rolePolicy:RolePolicy", {
                policy: statement({ Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: "*" }),
            }),
            [],
        ],
        [
            "Glue tables and log groups by wildcard",
            resource("aws:iam/rolePolicy:RolePolicy", {
                policy: statement({
                    Action: ["glue:UpdateTable", "logs:PutLogEvents"],
                    Resource: [
                        "arn:aws:glue:eu-west-1:123456789012:table/ingest_prod/customers_*",
                        "arn:aws:glue:eu-west-1:123456789012:table/ingest_prod/customers_orders",
                        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/*",
                        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/security-role/job-role/output:*",
                    ],
                }),
            }),
            [
                "aws:iam/rolePolicy:RolePolicy bad statement S: Glue resource by wildcard arn:aws:glue:eu-west-1:123456789012:table/ingest_prod/customers_*",
                "aws:iam/rolePolicy:RolePolicy bad statement S: log group by wildcard arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/*",
            ],
        ],
        [
            "role trusting another account without an external id",
            resource("aws:iam/role:Role", {
                assumeRolePolicy: statement({ Principal: { AWS: "arn:aws:iam::999999999999:user/x" }, Action: ["sts:AssumeRole"] }),
            }),
            ["aws:iam/role:Role bad statement S: trusts another principal without an external id"],
        ],
        [
            "unencrypted stream",
            resource("aws:kinesis/stream:Stream", { encryptionType: "NONE" }),
            ["bad: stream not encrypted (CKV_AWS_43)", "aws:kinesis/stream:Stream bad: kmsKeyId is not the project key (CKV_AWS_185)"],
        ],
        [
            "delivery stream without a source stream, encryption or logging",
            resource("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", {
                extendedS3Configuration: { s3BackupMode: "Enabled", s3BackupConfiguration: {} },
            }),
            [
                "bad: does not read one of the program's encrypted streams (CKV_AWS_240)",
                "bad: objects not encrypted with the project key",
                "bad: backup objects not encrypted with the project key",
                "bad: delivery errors not logged",
            ],
        ],
        [
            "crawler that rewrites the declared table",
            resource("aws:glue/crawler:Crawler", { schemaChangePolicy: { updateBehavior: "UPDATE_IN_DATABASE", deleteBehavior: "LOG" } }),
            [
                "bad: no Glue security configuration attached (CKV_AWS_195)",
                "bad: may change the declared table instead of logging schema changes",
            ],
        ],
        [
            "invocation permission for any source",
            resource("aws:lambda/permission:Permission", { principal: "events.amazonaws.com" }),
            ["bad: invocation permission not limited to one EventBridge rule"],
        ],
        [
            "saved query outside the workgroup",
            resource("aws:athena/namedQuery:NamedQuery", { workgroup: "primary" }),
            ["bad: saved outside the program's enforced, encrypted workgroup"],
        ],
        [
            "table optimizer under a role the program does not declare",
            resource("aws:glue/catalogTableOptimizer:CatalogTableOptimizer", {
                databaseName: "db",
                tableName: "t",
                configuration: { roleArn: "arn:aws:iam::123456789012:role/elsewhere", enabled: true },
            }),
            ["bad: runs under a role the program does not declare"],
        ],
        [
            "Iceberg table outside the program's buckets",
            resource("aws:glue/catalogTable:CatalogTable", {
                openTableFormatInput: {
                    icebergInput: { icebergTableInput: { location: "s3://elsewhere/t", properties: { "format-version": "2" } } },
                },
            }),
            ["bad: data outside the program's buckets (s3://elsewhere/t)"],
        ],
        [
            "bucket without anything",
            resource("aws:s3/bucket:Bucket", { forceDestroy: true }),
            [
                "bad: not encrypted with the project key (CKV_AWS_145)",
                "bad: blockPublicAcls is not on (CKV_AWS_53-56)",
                "bad: blockPublicPolicy is not on (CKV_AWS_53-56)",
                "bad: ignorePublicAcls is not on (CKV_AWS_53-56)",
                "bad: restrictPublicBuckets is not on (CKV_AWS_53-56)",
                "bad: needs exactly one bucket policy, denying requests without TLS",
                "bad: versioning is off (CKV_AWS_21)",
                "bad: access logging is off (CKV_AWS_18)",
                "bad: no lifecycle configuration (CKV2_AWS_61)",
                "bad: object ownership is not BucketOwnerEnforced (CKV2_AWS_65)",
                "bad: forceDestroy in production",
            ],
        ],
    ];
    for (const [label, bad, expected] of cases) {
        it(`reports ${label}`, () => {
            expect(checksByType[bad.type]!(bad, view)).to.deep.equal(expected);
        });
    }

    it("reports a Glue job or crawler whose role writes log groups not its own", () => {
        const role: RecordedResource = {
            type: "aws:iam/role:Role",
            name: "job-role",
            inputs: {},
            arn: "arn:aws:iam::123456789012:role/job-role",
        };
        const logs = (...groups: string[]) =>
            resource("aws:iam/rolePolicy:RolePolicy", {
                role: "job-role-id",
                policy: statement({
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: groups.map((group) => `arn:aws:logs:eu-west-1:123456789012:log-group:${group}:*`),
                }),
            });
        const job = resource("aws:glue/job:Job", { roleArn: role.arn, securityConfiguration: "sec" });
        const crawler = resource("aws:glue/crawler:Crawler", {
            role: role.arn,
            securityConfiguration: "sec",
            schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
        });
        const configuration = resource("aws:glue/securityConfiguration:SecurityConfiguration", { name: "sec" });
        const withPolicy = (policy: RecordedResource): ProgramView => ({ ...view, resources: [configuration, role, policy] });
        expect(
            checksByType[job.type]!(
                job,
                withPolicy(logs("/aws-glue/jobs/sec-role/job-role/output", "/aws-glue/jobs/sec-role/job-role/error")),
            ),
        ).to.deep.equal([]);
        expect(
            checksByType[job.type]!(job, withPolicy(logs("/aws-glue/jobs/output", "/aws-glue/jobs/sec-role/other-role/error"))),
        ).to.deep.equal([
            "bad: its role writes the log group /aws-glue/jobs/output, not only its own (/aws-glue/jobs/sec-role/job-role/output, /aws-glue/jobs/sec-role/job-role/error)",
            "bad: its role writes the log group /aws-glue/jobs/sec-role/other-role/error, not only its own (/aws-glue/jobs/sec-role/job-role/output, /aws-glue/jobs/sec-role/job-role/error)",
        ]);
        expect(checksByType[crawler.type]!(crawler, withPolicy(logs("/aws-glue/crawlers-role/job-role-sec")))).to.deep.equal([]);
        expect(checksByType[crawler.type]!(crawler, withPolicy(logs("/aws-glue/crawlers")))).to.deep.equal([
            "bad: its role writes the log group /aws-glue/crawlers, not only its own (/aws-glue/crawlers-role/job-role-sec)",
        ]);
    });

    it("reports a function reserving fewer executions than its sources run, and a queue mapping with no maximum", () => {
        const declared = (type: string, name: string, inputs: Record<string, unknown>, arn: string): RecordedResource => ({
            type,
            name,
            inputs,
            arn,
        });
        const role = declared("aws:iam/role:Role", "f-role", {}, "arn:aws:iam::123456789012:role/f-role");
        const policy = declared(
            "aws:iam/rolePolicy:RolePolicy",
            "f-policy",
            { role: "f-role-id", policy: statement({ Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource: "*" }) },
            "arn:aws:iam::123456789012:policy/f-policy",
        );
        const fn = declared(
            "aws:lambda/function:Function",
            "f",
            {
                kmsKeyArn: key,
                deadLetterConfig: { targetArn: "arn:aws:sqs:eu-west-1:123456789012:f-dlq" },
                tracingConfig: { mode: "PassThrough" },
                reservedConcurrentExecutions: 4,
                role: role.arn,
            },
            "arn:aws:lambda:eu-west-1:123456789012:function/f",
        );
        const queue = declared("aws:sqs/queue:Queue", "q", {}, "arn:aws:sqs:eu-west-1:123456789012:queue/q");
        const stream = declared("aws:kinesis/stream:Stream", "s", { shardCount: 3 }, "arn:aws:kinesis:eu-west-1:123456789012:stream/s");
        const mapping = (name: string, inputs: Record<string, unknown>) =>
            declared("aws:lambda/eventSourceMapping:EventSourceMapping", name, { functionName: fn.arn, ...inputs }, `arn:${name}`);
        const sources = [
            mapping("queue-within", { eventSourceArn: queue.arn, scalingConfig: { maximumConcurrency: 4 } }),
            mapping("queue-beyond", { eventSourceArn: queue.arn, scalingConfig: { maximumConcurrency: 5 } }),
            mapping("queue-unbounded", { eventSourceArn: queue.arn }),
            mapping("stream-within", { eventSourceArn: stream.arn }),
            mapping("stream-beyond", { eventSourceArn: stream.arn, parallelizationFactor: 2 }),
            // Another stack's stream: its shards are not the program's to know.
            mapping("stream-elsewhere", {
                eventSourceArn: "arn:aws:kinesis:eu-west-1:999999999999:stream/other",
                parallelizationFactor: 10,
            }),
        ];
        const program: ProgramView = { ...view, resources: [role, policy, fn, queue, stream, ...sources] };
        expect(checksByType[fn.type]!(fn, program)).to.deep.equal([
            "f: reserves 4 concurrent executions, fewer than the 5 its source queue-beyond runs at once",
            "f: its queue mapping queue-unbounded has no maximum concurrency to keep within the reserved 4",
            "f: reserves 4 concurrent executions, fewer than the 6 its source stream-beyond runs at once",
        ]);
    });

    it("reports a grant conditioned on a bucket's ARN as S3 encryption context when the bucket encrypts without a Bucket Key", () => {
        const bucket = (name: string, bucketKeyEnabled: boolean): RecordedResource[] => [
            { type: "aws:s3/bucket:Bucket", name, inputs: {}, arn: `arn:aws:s3:::${name}` },
            {
                type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                name: `${name}-encryption`,
                inputs: {
                    bucket: `${name}-id`,
                    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key }, bucketKeyEnabled }],
                },
                arn: "arn:aws:mock",
            },
        ];
        const resources = [...bucket("keyed", true), ...bucket("unkeyed", false)];
        const decrypting = (bucketName: string) =>
            resource("aws:iam/rolePolicy:RolePolicy", {
                policy: statement({
                    Action: ["kms:Decrypt"],
                    Resource: key,
                    Condition: {
                        StringEquals: {
                            "kms:ViaService": "s3.eu-west-1.amazonaws.com",
                            "kms:EncryptionContext:aws:s3:arn": `arn:aws:s3:::${bucketName}`,
                        },
                    },
                }),
            });
        const program: ProgramView = {
            ...view,
            resources,
            attachedTo: (type, bucketId) =>
                resources.filter((candidate) => candidate.type === type && candidate.inputs.bucket === bucketId),
        };
        expect(checksByType["aws:iam/rolePolicy:RolePolicy"]!(decrypting("keyed"), program)).to.deep.equal([]);
        expect(checksByType["aws:iam/rolePolicy:RolePolicy"]!(decrypting("unkeyed"), program)).to.deep.equal([
            "bad: arn:aws:s3:::unkeyed as S3 encryption context, but that bucket encrypts without an S3 Bucket Key",
        ]);
    });

    it("reports a dashboard reading another region or account, or drawing what the stack does not declare or deploy", () => {
        const queue: RecordedResource = {
            type: "aws:sqs/queue:Queue",
            name: "ingest-prod-customers-archives",
            inputs: {},
            arn: "arn:aws:mock",
        };
        const plan = resource("aws:s3/bucketObjectv2:BucketObjectv2", { key: "jobs/customers/plan.json" });
        const chart = (title: string, region: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
            type: "metric",
            properties: { title, region, metrics, ...extra },
        });
        const dashboard = resource("aws:cloudwatch/dashboard:Dashboard", {
            dashboardBody: JSON.stringify({
                widgets: [
                    { type: "text", properties: { markdown: "## Extract pipeline customers" } },
                    chart("ours", "eu-west-1", [
                        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "ingest-prod-customers-archives", { stat: "Maximum" }],
                        ["Ingestion", "LandingToItemsWritten", "Stack", "prod", "Pipeline", "customers", { stat: "Maximum" }],
                        ["Ingestion/ExtractTrigger", "BadArchiveNames", "Stack", "prod", "Pipeline", "customers", { stat: "Sum" }],
                    ]),
                    chart("elsewhere", "us-east-1", [
                        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "ingest-prod-customers-archives"],
                    ]),
                    chart("another account", "eu-west-1", [
                        [
                            "AWS/SQS",
                            "ApproximateAgeOfOldestMessage",
                            "QueueName",
                            "ingest-prod-customers-archives",
                            { accountId: "999999999999" },
                        ],
                    ]),
                    chart("another stack", "eu-west-1", [
                        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "ingest-dev-customers-archives"],
                        ["Ingestion", "LandingToItemsWritten", "Stack", "prod", "Pipeline", "orders"],
                        ["Ingestion", "LandingToItemsWritten", "Stack", "dev", "Pipeline", "customers"],
                        ["Ingestion", "LandingToItemsWritten", "Pipeline", "customers"],
                        ["Ingestion/ExtractTrigger", "BadArchiveNames", "Stack", "dev", "Pipeline", "customers"],
                        ["Ingestion/ExtractTrigger", "BadArchiveNames", "Pipeline", "customers"],
                        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", "customers"],
                        ["AWS/Lambda", "Errors"],
                    ]),
                ],
            }),
        });
        const withQueue: ProgramView = { stack: "prod", keyArn: key, resources: [queue, plan, dashboard], attachedTo: () => [] };
        expect(checksByType[dashboard.type]!(dashboard, withQueue)).to.deep.equal([
            `bad: chart "elsewhere" reads region us-east-1, not the stack's eu-west-1`,
            `bad: chart "another account" reads account 999999999999`,
            `bad: chart "another stack" draws AWS/SQS ApproximateAgeOfOldestMessage QueueName ingest-dev-customers-archives, which is not of this stack`,
            `bad: chart "another stack" draws Ingestion LandingToItemsWritten Stack prod Pipeline orders, which is not of this stack`,
            // The same pipeline, published by another stack's job, or by a job that names no stack (every stack's series).
            `bad: chart "another stack" draws Ingestion LandingToItemsWritten Stack dev Pipeline customers, which is not of this stack`,
            `bad: chart "another stack" draws Ingestion LandingToItemsWritten Pipeline customers, which is not of this stack`,
            // The same for the trigger's count of archives quarantined for their name.
            `bad: chart "another stack" draws Ingestion/ExtractTrigger BadArchiveNames Stack dev Pipeline customers, which is not of this stack`,
            `bad: chart "another stack" draws Ingestion/ExtractTrigger BadArchiveNames Pipeline customers, which is not of this stack`,
            // A pipeline's name is a job metric's dimension, never a queue's.
            `bad: chart "another stack" draws AWS/SQS NumberOfMessagesSent QueueName customers, which is not of this stack`,
            `bad: chart "another stack" draws AWS/Lambda Errors, which is not of this stack`,
        ]);
    });

    it("reports an Iceberg table outside the lake, in format v1, whose files a lifecycle rule expires", () => {
        const bucket: RecordedResource = {
            type: "aws:s3/bucket:Bucket",
            name: "ingest-prod-quarantine",
            inputs: {},
            arn: "arn:aws:s3:::ingest-prod-quarantine",
        };
        const lifecycle = resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {
            bucket: "ingest-prod-quarantine-id",
            rules: [
                { id: "housekeeping", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
                { id: "expire-all", filter: {}, expiration: { days: 30 } },
                { id: "expire-other", filter: { prefix: "other/" }, expiration: { days: 30 } },
                { id: "expire-orders", filter: { prefix: "crm/orders/" }, expiration: { days: 30 } },
            ],
        });
        const withBucket: ProgramView = {
            ...view,
            resources: [bucket, lifecycle],
            attachedTo: (type, bucketId) =>
                [lifecycle].filter((candidate) => candidate.type === type && candidate.inputs.bucket === bucketId),
        };
        const table = resource("aws:glue/catalogTable:CatalogTable", {
            openTableFormatInput: {
                icebergInput: {
                    icebergTableInput: {
                        location: "s3://ingest-prod-quarantine/crm/orders/current",
                        properties: { "format-version": "1" },
                    },
                },
            },
        });
        expect(checksByType[table.type]!(table, withBucket)).to.deep.equal([
            "bad: Iceberg table outside the lake bucket (s3://ingest-prod-quarantine/crm/orders/current)",
            "bad: not Iceberg format version 2",
            "bad: the lake's lifecycle rule expire-all expires the table's files by age",
            "bad: the lake's lifecycle rule expire-orders expires the table's files by age",
        ]);
    });

    it("reports a table optimizer whose role is not granted its table, reaches tables by wildcard or objects outside the tables", () => {
        const role: RecordedResource = {
            type: "aws:iam/role:Role",
            name: "optimizers-role",
            inputs: {},
            arn: "arn:aws:iam::123456789012:role/optimizers",
        };
        const policy = resource("aws:iam/rolePolicy:RolePolicy", {
            role: "optimizers-role-id",
            policy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "Glue",
                        Effect: "Allow",
                        Action: ["glue:UpdateTable"],
                        Resource: ["arn:aws:glue:eu-west-1:123456789012:table/db/*"],
                    },
                    { Sid: "S3", Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::lake/*"] },
                ],
            }),
        });
        const optimizer = resource("aws:glue/catalogTableOptimizer:CatalogTableOptimizer", {
            databaseName: "db",
            tableName: "orders",
            configuration: { roleArn: role.arn, enabled: true },
        });
        expect(checksByType[optimizer.type]!(optimizer, { ...view, resources: [role, policy] })).to.deep.equal([
            "bad: its role is not granted its table by ARN",
            "bad: its role reaches tables by wildcard (arn:aws:glue:eu-west-1:123456789012:table/db/*)",
            "bad: its role reaches objects outside the lake tables (arn:aws:s3:::lake/*)",
        ]);
    });
});
