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
 * A role one AWS service assumes for this account, with no permissions yet: `<name>-role`. Give it
 * its statements with `rolePolicy`; a caller whose statements name the role itself (Glue's log
 * groups carry the role's name) creates the role first, then its policy.
 */
export function assumedRole(name: string, args: Omit<ServiceRoleArgs, "statements">, opts: pulumi.CustomResourceOptions): aws.iam.Role {
    return new aws.iam.Role(
        `${name}-role`,
        { description: args.description, assumeRolePolicy: serviceTrustPolicy(args.service, args.accountId) },
        opts,
    );
}

/** Exactly the given statements, inline on `role`: `<name>-policy`. */
export function rolePolicy(
    name: string,
    role: aws.iam.Role,
    statements: readonly PolicyStatement[],
    opts: pulumi.CustomResourceOptions,
): aws.iam.RolePolicy {
    return new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: policyDocument([...statements]) }, opts);
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
    const role = assumedRole(name, args, opts);
    return { role, policy: rolePolicy(name, role, args.statements, opts) };
}
