import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { kmsUse, logWriting, xrayTraceWriting, type PolicyStatement } from "../policies";
import { serviceRole } from "../service-role";
import { defaultLogRetentionDays } from "../defaults/log-groups";
import { defaultMemoryMb, defaultTimeoutSeconds, lambdaArchitecture, lambdaRuntime } from "./defaults";
import { defaultLambdaSettings, type TracingMode } from "./lambda-settings";

export interface BundledFunctionArgs {
    readonly description: string;
    /** The bundled handler: an archive with `index.js` exporting `handler`. */
    readonly code: pulumi.asset.Archive;
    /** What the function may do besides writing its own logs and using the project key. */
    readonly policyStatements: readonly PolicyStatement[];
    readonly environment?: Record<string, pulumi.Input<string>>;
    /** Encrypts logs and environment variables; the role may use it. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Receives events from failed asynchronous invocations (Checkov CKV_AWS_116). */
    readonly deadLetterQueueArn: pulumi.Input<string>;
    /** Defaults to 30 seconds. */
    readonly timeoutSeconds?: number;
    /** Defaults to 256 MB. */
    readonly memoryMb?: number;
    /** Defaults to 90 days. */
    readonly logRetentionDays?: number;
    /** X-Ray tracing (Checkov CKV_AWS_50); the role may send traces either way. Defaults to Active. */
    readonly tracing?: TracingMode;
    /**
     * Concurrent executions reserved for the function, which are also the most it runs at once
     * (Checkov CKV_AWS_115): size it from its trigger (`lambda-settings.ts`), at least 1.
     */
    readonly reservedConcurrency: number;
}

/**
 * A Lambda function from an esbuild bundle, with its own role (only the statements given, plus its
 * log group, the project key and its X-Ray traces), a KMS-encrypted log group with retention, JSON
 * logs, encrypted environment variables, a dead-letter queue, X-Ray tracing and reserved concurrency.
 */
export class BundledFunction extends pulumi.ComponentResource {
    readonly role: aws.iam.Role;
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly function: aws.lambda.Function;
    readonly arn: pulumi.Output<string>;
    readonly functionName: pulumi.Output<string>;

    constructor(name: string, args: BundledFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ingestion:lambda:BundledFunction", name, {}, opts);
        if (!Number.isInteger(args.reservedConcurrency) || args.reservedConcurrency < 1) {
            throw new Error(`${name}: reservedConcurrency must be a whole number of at least 1, not ${args.reservedConcurrency}`);
        }
        const identity = aws.getCallerIdentityOutput({}, { parent: this });

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { retentionInDays: args.logRetentionDays ?? defaultLogRetentionDays, kmsKeyId: args.kmsKeyArn },
            { parent: this },
        );
        const { role, policy } = serviceRole(
            name,
            {
                description: args.description,
                service: "lambda.amazonaws.com",
                accountId: identity.accountId,
                statements: [
                    logWriting(this.logGroup.arn),
                    kmsUse(args.kmsKeyArn),
                    {
                        Sid: "SendFailedInvocationsToDeadLetterQueue",
                        Effect: "Allow",
                        Action: ["sqs:SendMessage"],
                        Resource: args.deadLetterQueueArn,
                    },
                    xrayTraceWriting(),
                    ...args.policyStatements,
                ],
            },
            { parent: this },
        );
        this.role = role;
        this.function = new aws.lambda.Function(
            name,
            {
                description: args.description,
                runtime: lambdaRuntime,
                architectures: [lambdaArchitecture],
                handler: "index.handler",
                code: args.code,
                role: this.role.arn,
                timeout: args.timeoutSeconds ?? defaultTimeoutSeconds,
                memorySize: args.memoryMb ?? defaultMemoryMb,
                kmsKeyArn: args.kmsKeyArn,
                // No NODE_OPTIONS=--enable-source-maps: it would read the source map on every cold start; the
                // bundle maps its stack frames itself when a stack is formatted (config/assets.ts).
                ...(args.environment ? { environment: { variables: args.environment } } : {}),
                loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
                deadLetterConfig: { targetArn: args.deadLetterQueueArn },
                tracingConfig: { mode: args.tracing ?? defaultLambdaSettings.tracing },
                reservedConcurrentExecutions: args.reservedConcurrency,
            },
            { parent: this, dependsOn: [policy] },
        );
        this.arn = this.function.arn;
        this.functionName = this.function.name;

        this.registerOutputs({ arn: this.arn, functionName: this.functionName });
    }
}
