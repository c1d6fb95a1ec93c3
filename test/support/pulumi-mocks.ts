import type * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "../../cli/preview/mocks";

// The mock engine lives beside the CLI, which builds the program under it too; tests import it from here.
export {
    mockAccountId,
    mockRegion,
    physicalNameOf,
    RecordingMocks,
    settle,
    snowflakeReports,
    useMocks,
    type RecordedResource,
} from "../../cli/preview/mocks";

/** Resolves an output's value (mocks run every apply, so this always settles). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** The parsed policy document of a recorded resource's `policy` (or `assumeRolePolicy`) input. */
export function policyOf(resource: RecordedResource, field = "policy"): PolicyDocument {
    const value = resource.inputs[field];
    if (typeof value !== "string") {
        throw new Error(`${resource.name}.${field} is not a JSON string`);
    }
    return JSON.parse(value) as PolicyDocument;
}

export interface PolicyDocument {
    Version: string;
    Statement: PolicyStatementJson[];
}

export interface PolicyStatementJson {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}
