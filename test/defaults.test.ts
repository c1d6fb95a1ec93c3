import { expect } from "chai";
import { defaultLogRetentionDays } from "../components/defaults/log-groups";
import { deadLetterRetentionSeconds, receiveWaitTimeSeconds, visibilityTimeoutFor } from "../components/defaults/queues";
import { runLedgerKey, tableDefaults } from "../components/defaults/tables";
import { defaultWorkerType } from "../components/glue-job/defaults";

const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/project";

describe("the platform's shared defaults", () => {
    it("keep logs 90 days unless the stack says otherwise", () => {
        expect(defaultLogRetentionDays).to.equal(90);
    });

    it("keep dead letters 14 days (SQS's maximum) and long-poll 20 seconds", () => {
        expect(deadLetterRetentionSeconds).to.equal(1_209_600);
        expect(receiveWaitTimeSeconds).to.equal(20);
    });

    const visibility: [number, number][] = [
        [30, 180],
        [900, 5400],
    ];
    for (const [timeout, expected] of visibility) {
        it(`hide a message ${expected} seconds from other consumers of a function that may run ${timeout} seconds`, () => {
            expect(visibilityTimeoutFor(timeout)).to.equal(expected);
        });
    }

    it("declare every table on demand, with PITR and the project key, protected as the stack says", () => {
        expect(tableDefaults(keyArn, true)).to.deep.equal({
            billingMode: "PAY_PER_REQUEST",
            pointInTimeRecovery: { enabled: true },
            serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
            deletionProtectionEnabled: true,
        });
        expect(tableDefaults(keyArn, false).deletionProtectionEnabled).to.equal(false);
    });

    it("key a run ledger by archive, expiring its claims at expiresAt", () => {
        expect(runLedgerKey()).to.deep.equal({
            hashKey: "archive",
            attributes: [{ name: "archive", type: "S" }],
            ttl: { attributeName: "expiresAt", enabled: true },
        });
    });

    it("run Glue jobs on G.1X workers unless their settings say otherwise", () => {
        expect(defaultWorkerType).to.equal("G.1X");
    });
});
