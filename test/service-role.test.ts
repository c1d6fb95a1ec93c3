import { expect } from "chai";
import type { PolicyStatement } from "../components/policies";
import { assumedRole, rolePolicy, serviceRole } from "../components/service-role";
import { policyOf, settle, useMocks, type RecordingMocks } from "./support/pulumi-mocks";

const readItems: PolicyStatement = {
    Sid: "ReadItems",
    Effect: "Allow",
    Action: ["dynamodb:GetItem"],
    Resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/items",
};

describe("serviceRole", () => {
    let mocks: RecordingMocks;
    before(async () => {
        mocks = await useMocks();
        serviceRole(
            "crawler",
            {
                description: "The crawler's role",
                service: "glue.amazonaws.com",
                accountId: "123456789012",
                statements: [readItems],
            },
            {},
        );
        const role = assumedRole("job", { description: "A job's role", service: "glue.amazonaws.com", accountId: "123456789012" }, {});
        rolePolicy("job", role, [], {});
        await settle();
    });

    it("declares `<name>-role` and `<name>-policy`, and nothing else", () => {
        expect(mocks.resources.map((resource) => [resource.type, resource.name])).to.have.deep.members([
            ["aws:iam/role:Role", "crawler-role"],
            ["aws:iam/rolePolicy:RolePolicy", "crawler-policy"],
            ["aws:iam/role:Role", "job-role"],
            ["aws:iam/rolePolicy:RolePolicy", "job-policy"],
        ]);
    });

    it("lets only the service, acting for this account, assume the role", () => {
        expect(mocks.named("crawler-role").inputs.description).to.equal("The crawler's role");
        expect(policyOf(mocks.named("crawler-role"), "assumeRolePolicy").Statement).to.deep.equal([
            {
                Sid: "AssumedByService",
                Effect: "Allow",
                Principal: { Service: "glue.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
            },
        ]);
    });

    it("gives the role exactly the statements given, inline", () => {
        expect(mocks.named("crawler-policy").inputs.role).to.equal("crawler-role-id");
        expect(policyOf(mocks.named("crawler-policy")).Statement).to.deep.equal([readItems]);
        expect(policyOf(mocks.named("job-policy")).Statement).to.deep.equal([]);
    });
});
