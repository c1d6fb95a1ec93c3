/** The newest Node.js runtime Lambda offers; bundles target Node 20 so they also run locally. */
export const lambdaRuntime = "nodejs22.x";
export const lambdaArchitecture = "arm64";
export const defaultMemoryMb = 256;
export const defaultTimeoutSeconds = 30;
export const defaultLogRetentionDays = 90;
