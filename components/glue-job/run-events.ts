import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { failedRunStates } from "../../contracts/glue-run-states";

/** The events Glue sends of a job's runs: each change of a run's state, and a run still going after the job's notifyDelayAfter. */
export type GlueJobEventType = "Glue Job State Change" | "Glue Job Run Status";

export interface GlueJobEventsArgs {
    readonly description: string;
    readonly jobName: pulumi.Input<string>;
    readonly detailType: GlueJobEventType;
    /** Only events of runs in these states. Defaults to every event of `detailType`. */
    readonly states?: readonly string[];
}

/** The EventBridge pattern of one job's events of a type, in the given states when there are some. */
export function glueJobEventPattern(args: Omit<GlueJobEventsArgs, "description">): pulumi.Output<string> {
    return pulumi.jsonStringify({
        source: ["aws.glue"],
        "detail-type": [args.detailType],
        detail: { jobName: [args.jobName], ...(args.states ? { state: args.states } : {}) },
    });
}

/** An EventBridge rule `name` matching one job's events (`glueJobEventPattern`). */
export function glueJobEventRule(name: string, args: GlueJobEventsArgs, opts: pulumi.CustomResourceOptions): aws.cloudwatch.EventRule {
    return new aws.cloudwatch.EventRule(name, { description: args.description, eventPattern: glueJobEventPattern(args) }, opts);
}

/**
 * The rule every job's failure alarm counts: the job's runs that failed, timed out, were stopped or
 * could not start (`failedRunStates`), as "Glue Job State Change" events.
 */
export function failedRunRule(
    name: string,
    args: { readonly description: string; readonly jobName: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.EventRule {
    return glueJobEventRule(name, { ...args, detailType: "Glue Job State Change", states: failedRunStates }, opts);
}
