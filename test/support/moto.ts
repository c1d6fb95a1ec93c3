import { startMoto, type MotoServer } from "../../local/moto-server";

export const motoRegion = "us-east-1";
export const motoCredentials = { accessKeyId: "testing", secretAccessKey: "testing" };

/**
 * Starts one moto server for the enclosing `describe` and stops it afterwards; the returned
 * object's `endpoint` is ready inside tests and `before` hooks declared after this call.
 */
export function useMotoServer(): { readonly endpoint: string; readonly clientConfig: ClientConfig } {
    let server: MotoServer | undefined;
    before(async function () {
        this.timeout(60_000);
        server = await startMoto();
    });
    after(async () => {
        await server?.stop();
    });
    return {
        get endpoint() {
            if (!server) {
                throw new Error("moto server is not running");
            }
            return server.endpoint;
        },
        get clientConfig() {
            return { endpoint: this.endpoint, region: motoRegion, credentials: motoCredentials };
        },
    };
}

export interface ClientConfig {
    readonly endpoint: string;
    readonly region: string;
    readonly credentials: typeof motoCredentials;
}
