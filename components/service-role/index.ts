import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { policyDocument, serviceTrustPolicy, type PolicyStatement } from "../policies";

export interface ServiceRoleArgs {
    readonly description: string;
    /** The AWS service that assumes the role, such as `glue.amazonaws.com`. */
    readonly service: string;
    /** The account the service acts for (the trust policy's `aws:SourceAccount`). */
    readonly accountId: pulumi.Input<string>;
    readonly statements: readonly PolicyStatement[];
}

/**
 * A role one AWS service assumes for this account, with exactly the given statements inline:
 * `<name>-role` and `<name>-policy`. Resources that use the role should depend on the policy,
 * so they never start without their permissions.
 */
export function serviceRole(
    name: string,
    args: ServiceRoleArgs,
    opts: pulumi.CustomResourceOptions,
): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const role = new aws.iam.Role(
        `${name}-role`,
        { description: args.description, assumeRolePolicy: serviceTrustPolicy(args.service, args.accountId) },
        opts,
    );
    const policy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: policyDocument([...args.statements]) }, opts);
    return { role, policy };
}
