/**
 * The Lambda runtime every function runs on, pinned: the bundles rely on it. Lambda's Node.js
 * runtimes from nodejs18.x on ship the AWS SDK for JavaScript v3 (the `@aws-sdk/*` clients and the
 * `@smithy/*` packages they are built on) on the runtime's NODE_PATH, so bundles leave those packages
 * out (`runtimeProvidedPackages`) and require them at run time. That takes a handler from megabytes to
 * kilobytes and makes its cold start load the SDK the runtime already has on disk. A runtime without
 * the SDK (nodejs16.x and older ship v2, a custom runtime ships none) would fail every function at
 * import with "Cannot find module '@aws-sdk/client-...'"; moving to a newer runtime is a change here
 * that `test/bundles.test.ts` and `scripts/benchmark_lambdas.ts` then check again. The SDK version
 * is the runtime's (Lambda updates it in place), not package.json's: the handlers use only long
 * stable commands and client options.
 */
export const lambdaRuntime = "nodejs22.x";
/** Packages the runtime above provides; esbuild marks them external. */
export const runtimeProvidedPackages: readonly string[] = ["@aws-sdk/*", "@smithy/*"];
/** The bundles' language target: Node 20 syntax runs on the nodejs22.x runtime and on the Node 20 this repository runs locally. */
export const bundleTarget = "node20";
export const lambdaArchitecture = "arm64";
export const defaultMemoryMb = 256;
export const defaultTimeoutSeconds = 30;
