import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The partition, region and account a component builds ARNs in. */
export interface AccountScope {
    readonly partition: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
    readonly accountId: pulumi.Input<string>;
}

/**
 * The account, region and partition a component builds its ARNs in, read through the provider of
 * `parent` (so a component under another provider or region scopes its ARNs there).
 */
export function accountScope(parent: pulumi.Resource): AccountScope & { readonly [Name in keyof AccountScope]: pulumi.Output<string> } {
    return {
        accountId: aws.getCallerIdentityOutput({}, { parent }).accountId,
        partition: aws.getPartitionOutput({}, { parent }).partition,
        region: aws.getRegionOutput({}, { parent }).region,
    };
}

/**
 * The ARN of a Glue resource in the scope's partition, region and account: `catalog`,
 * `database/<database>`, `table/<database>/<table>`, `workflow/<name>`, `crawler/<name>`.
 */
export function glueArn(scope: AccountScope, resource: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`arn:${scope.partition}:glue:${scope.region}:${scope.accountId}:${resource}`;
}
