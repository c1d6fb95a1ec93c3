import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import type { AwsClients } from "../cli/aws";
import { motoCredentials, motoRegion, useMotoServer } from "./support/moto";
import { deployOperatorStack, motoClients, runOperator, stackOutputsDocument, writeOutputsFile } from "./support/operator";
import { repositoryRoot } from "./support/program";

/**
 * The command line as a person runs it: a process whose exit code and output are the contract,
 * with AWS credentials, region and stack outputs found (or not) the way the AWS and Pulumi CLIs find them.
 */

interface ProcessResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

const tsx = path.join(repositoryRoot, "node_modules", ".bin", "tsx");
const isolatedHome = fs.mkdtempSync(path.join(os.tmpdir(), "ingest-home-"));

/** An environment with no AWS settings at all unless given: no profile files, no instance metadata. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
        PATH: process.env.PATH,
        HOME: isolatedHome,
        AWS_CONFIG_FILE: path.join(isolatedHome, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(isolatedHome, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        // The SDK warns on stderr that Node.js 20 support ends in 2027; the output checked here is the tool's own.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...extra,
    };
}

function ingest(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ProcessResult> {
    return new Promise((resolve) => {
        execFile(tsx, [path.join(repositoryRoot, "cli", "main.ts"), ...args], { env, cwd: isolatedHome }, (error, stdout, stderr) => {
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        });
    });
}

function without(variables: Record<string, string>, ...names: string[]): Record<string, string> {
    return Object.fromEntries(Object.entries(variables).filter(([name]) => !names.includes(name)));
}

/** A `pulumi` on PATH that prints `stdout` for `stack output --json` and fails with `stderr` otherwise. */
function fakePulumi(behaviour: { readonly stdout: string } | { readonly stderr: string }): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    const script =
        "stdout" in behaviour
            ? `#!/bin/sh\n[ "$*" = "stack output --json --stack dev" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat <<'JSON'\n${behaviour.stdout}\nJSON\n`
            : `#!/bin/sh\necho '${behaviour.stderr}' >&2\nexit 255\n`;
    fs.writeFileSync(path.join(directory, "pulumi"), script, { mode: 0o755 });
    return directory;
}

describe("operator command line: the process", () => {
    const moto = useMotoServer();
    let outputs: string;
    let awsAccess: Record<string, string>;
    let clients: AwsClients;

    before(async () => {
        clients = motoClients(moto.clientConfig);
        await deployOperatorStack(clients);
        outputs = writeOutputsFile();
        awsAccess = {
            AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey,
            AWS_REGION: motoRegion,
            AWS_ENDPOINT_URL: moto.endpoint,
        };
    });

    it("reads credentials, region and endpoint from the environment, as the AWS CLI does", async () => {
        expect(await ingest(["runs", "--outputs", outputs], environment(awsAccess))).to.deep.equal({
            code: 0,
            stdout: "No runs of pipeline customers (Glue job ingest-dev-customers-job) yet.\n",
            stderr: "",
        });
    });

    it("says how to provide credentials when there are none (exit code 3)", async () => {
        const withoutCredentials = without(awsAccess, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
        expect(await ingest(["runs", "--outputs", outputs], environment(withoutCredentials))).to.deep.equal({
            code: 3,
            stdout: "",
            stderr:
                "ingest: no AWS credentials: set AWS_PROFILE to a configured profile (after `aws sso login` if it uses SSO), " +
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n",
        });
    });

    it("says how to set the region when there is none (exit code 3)", async () => {
        const withoutRegion = without(awsAccess, "AWS_REGION");
        expect(await ingest(["runs", "--outputs", outputs], environment(withoutRegion))).to.deep.equal({
            code: 3,
            stdout: "",
            stderr: "ingest: no AWS region: set AWS_REGION, or a region in the profile AWS_PROFILE names\n",
        });
    });

    it("takes the stack outputs from INGEST_STACK_OUTPUTS", async () => {
        const result = await ingest(["runs"], environment({ ...awsAccess, INGEST_STACK_OUTPUTS: outputs }));
        expect(result.code).to.equal(0);
    });

    it("asks the Pulumi CLI for the stack outputs when it is installed", async () => {
        const bin = fakePulumi({ stdout: JSON.stringify(stackOutputsDocument()) });
        const result = await ingest(["runs", "--stack", "dev"], environment({ ...awsAccess, PATH: `${bin}:${process.env.PATH}` }));
        expect(result).to.deep.equal({
            code: 0,
            stdout: "No runs of pipeline customers (Glue job ingest-dev-customers-job) yet.\n",
            stderr: "",
        });
    });

    it("passes on the Pulumi CLI's own error (exit code 2)", async () => {
        const bin = fakePulumi({ stderr: "error: no stack named dev found" });
        const result = await ingest(["runs"], environment({ ...awsAccess, PATH: `${bin}:${process.env.PATH}` }));
        expect(result).to.deep.equal({
            code: 2,
            stdout: "",
            stderr: "ingest: `pulumi stack output --json --stack dev` failed: error: no stack named dev found\n",
        });
    });

    it("says how to hand over the outputs when neither a file nor the Pulumi CLI is there (exit code 2)", async () => {
        const result = await ingest(["runs", "--stack", "prod"], environment({ ...awsAccess, PATH: path.dirname(process.execPath) }));
        expect(result).to.deep.equal({
            code: 2,
            stdout: "",
            stderr:
                "ingest: no stack outputs for stack prod: the Pulumi CLI is not installed here. " +
                "Save them where it is with `pulumi stack output --json --stack prod > prod-outputs.json` " +
                "and pass --outputs prod-outputs.json (or set INGEST_STACK_OUTPUTS)\n",
        });
    });

    const badOutputs: [string, string, string][] = [
        ["a missing file", "/nonexistent/dev-outputs.json", "ingest: stack outputs file /nonexistent/dev-outputs.json does not exist\n"],
        ["a file that is not JSON", "not json", "is not JSON; save it with `pulumi stack output --json --stack dev`\n"],
        [
            "outputs of another program",
            JSON.stringify({ bucketName: "x" }),
            "lacks stack outputs this tool needs (is it the output of this platform's stack?):\n" +
                "  landingBucket: Invalid input: expected string, received undefined\n" +
                "  lakeBucket: Invalid input: expected string, received undefined\n" +
                "  quarantineBucket: Invalid input: expected string, received undefined\n" +
                "  glueDatabase: Invalid input: expected string, received undefined\n" +
                "  athenaWorkgroup: Invalid input: expected string, received undefined\n" +
                "  extractPipelines: Invalid input: expected record, received undefined\n",
        ],
    ];
    for (const [title, content, message] of badOutputs) {
        it(`refuses ${title} as stack outputs (exit code 2)`, async () => {
            let file = content;
            if (!content.startsWith("/")) {
                file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bad-outputs-")), "outputs.json");
                fs.writeFileSync(file, content);
            }
            const result = await runOperator(["runs", "--outputs", file], clients);
            expect(result.code).to.equal(2);
            expect(result.stderr).to.equal(content.startsWith("/") ? message : `ingest: stack outputs file ${file} ${message}`);
        });
    }

    it("names the Glue job that is missing when the outputs are stale (exit code 4)", async () => {
        const document = stackOutputsDocument() as { extractPipelines: { customers: { jobName: string } } };
        document.extractPipelines.customers.jobName = "ingest-dev-customers-old";
        const result = await runOperator(["runs", "--outputs", writeOutputsFile(document)], clients);
        expect(result).to.deep.equal({
            code: 4,
            stdout: "",
            stderr: "ingest: Glue job ingest-dev-customers-old does not exist: is the stack deployed, and are its outputs current?\n",
        });
    });

    it("dispatches plan without stack outputs or AWS, refusing a stack that has no config file (exit code 2)", async () => {
        expect(await runOperator(["plan", "--stack", "qa"], clients)).to.deep.equal({
            code: 2,
            stdout: "",
            stderr: 'ingest: unknown stack "qa": there is no Pulumi.qa.yaml; stacks with a config file: dev, prod\n',
        });
    });

    it("prints its usage with --help, and exits 2 on an unknown command", async () => {
        const help = await ingest(["--help"], environment({}));
        expect(help.code).to.equal(0);
        expect(help.stdout.split("\n").slice(0, 4)).to.deep.equal([
            "usage: ingest <command> [options]",
            "",
            "Commands:",
            "  runs     [--pipeline NAME] [--limit N] [--failed]",
        ]);
        expect(await ingest(["status"], environment({}))).to.deep.equal({
            code: 2,
            stdout: "",
            stderr: 'ingest: unknown command "status"; the commands are runs, replay, rebuild, query and plan (ingest --help)\n',
        });
    });
});
