import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

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
