import { spawn, type ChildProcess } from "child_process";
import * as net from "net";
import * as path from "path";
import { repositoryRoot } from "../config/load";

/** A moto server bound to 127.0.0.1 on a free port, standing in for AWS. */
export interface MotoServer {
    readonly endpoint: string;
    /** Stops the server and waits for it to exit. */
    stop(): Promise<void>;
}

const startTimeoutMilliseconds = 30_000;

/** Starts moto from the project's virtual environment (`scripts/python-env.sh` creates it). */
export async function startMoto(): Promise<MotoServer> {
    const port = await freePort();
    const python = path.join(repositoryRoot, ".venv", "bin", "python");
    const child = spawn(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const stop = () => stopProcess(child);
    try {
        await waitUntilServing(endpoint, child, () => stderr);
    } catch (error) {
        await stop();
        throw error;
    }
    return { endpoint, stop };
}

async function waitUntilServing(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
    const deadline = Date.now() + startTimeoutMilliseconds;
    for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`moto server exited before serving (is .venv set up? run scripts/install.sh):\n${stderr()}`);
        }
        try {
            const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
            if (response.ok) {
                return;
            }
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            throw new Error(`moto server did not answer on ${endpoint} within ${startTimeoutMilliseconds / 1000}s:\n${stderr()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

function stopProcess(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.resolve();
    }
    return new Promise((resolve) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
            clearTimeout(kill);
            resolve();
        });
        child.kill("SIGTERM");
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
        });
    });
}
