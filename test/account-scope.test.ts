import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { accountScope, glueArn } from "../components/account-scope";
import { mockAccountId, mockRegion, settle, useMocks, valueOf, type RecordingMocks } from "./support/pulumi-mocks";

class Scoped extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:index:Scoped", name, {}, {});
        this.registerOutputs({});
    }
}

describe("accountScope", () => {
    let mocks: RecordingMocks;
    let scope: ReturnType<typeof accountScope>;
    before(async () => {
        mocks = await useMocks();
        scope = accountScope(new Scoped("scoped"));
        await settle();
    });

    it("reads the account, partition and region through the provider of the component it is given", async () => {
        expect(await valueOf(pulumi.all([scope.partition, scope.region, scope.accountId]))).to.deep.equal([
            "aws",
            mockRegion,
            mockAccountId,
        ]);
    });

    it("asks the provider once for each and declares nothing of its own", () => {
        expect(mocks.invokes.map((invoke) => invoke.token)).to.have.members([
            "aws:index/getCallerIdentity:getCallerIdentity",
            "aws:index/getPartition:getPartition",
            "aws:index/getRegion:getRegion",
        ]);
        expect(mocks.resources.map((resource) => resource.name)).to.deep.equal(["scoped"]);
    });
});

describe("glueArn", () => {
    before(async () => {
        await useMocks();
    });

    const scope = { partition: "aws-cn", region: "cn-north-1", accountId: "210987654321" };
    const cases: [string, string][] = [
        ["catalog", "arn:aws-cn:glue:cn-north-1:210987654321:catalog"],
        ["table/lake/orders", "arn:aws-cn:glue:cn-north-1:210987654321:table/lake/orders"],
        ["workflow/products-workflow", "arn:aws-cn:glue:cn-north-1:210987654321:workflow/products-workflow"],
    ];
    for (const [resource, arn] of cases) {
        it(`names ${resource} in the scope's partition, region and account`, async () => {
            expect(await valueOf(glueArn(scope, resource))).to.equal(arn);
        });
    }
});
