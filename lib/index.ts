/**
 * The platform's components as a library, for a Pulumi program of your own: each component with its
 * Args, the builders that turn plain objects into the validated definitions the Args take (no YAML,
 * no stack file), and the Lambda bundles and Glue scripts the components deploy. This repository's
 * own program (index.ts) declares the same components from its YAML; the package's exports map
 * names this module `ingestion-platform/components`.
 */

// The components the program declares, with their Args and what the Args name.
export { Storage, type StorageArgs } from "../components/storage";
export { Catalog, type CatalogArgs, type IcebergTableSpec } from "../components/catalog";
export {
    ExtractPipeline,
    type ExtractPipelineArgs,
    type ExtractPipelineMetrics,
    type GlueJobSettings,
} from "../components/extract-pipeline";
export { LakeMaintenance, type LakeMaintenanceArgs } from "../components/lake-maintenance";
export { StreamLake, type StreamLakeArgs, type StreamLakeMetrics } from "../components/stream-lake";
export { FileSource, type FileSourceArgs } from "../components/file-source";
export { WarehouseExport, type WarehouseExportArgs } from "../components/warehouse-export";
export { SnowflakeIngest, type SnowflakeIngestArgs, type SnowflakeTarget } from "../components/snowflake-ingest";
export { LookupTable, type LookupFilterArgs, type LookupTableArgs, type LookupTableMetrics } from "../components/lookup-table";
export { StackDashboard, type LookupPanel, type PipelinePanel, type StackDashboardArgs, type StreamPanel } from "../components/dashboard";
export type { AlarmTopic } from "../components/alarm-topic";
export type { BucketRef } from "../components/secure-bucket";
export { defaultLambdaSettings, type LambdaSettings } from "../components/bundled-function/lambda-settings";
/** `streamLakesPrefix` is what `Storage`'s `expiringLakePrefixes` needs when the program declares streams. */
export { freshnessThresholdSeconds, streamLakesPrefix } from "../components/stream-lake/defaults";

// The definitions the Args take, from plain objects, checked as the YAML files are.
export { defineLookup, defineStream, jobPlanFor, type LookupInput, type MappingInput, type StreamInput } from "./define";
export type { JobPlan } from "../config/job-plan";
export { upstreamStreamOf, type Lookup, type LookupContext, type UpstreamStream } from "../config/lookup";
export { manualSnowflake, type Stream } from "../config/stream";
export { ConfigError } from "../config/yaml-source";

// What the components deploy: the handlers' bundles and the Glue jobs' scripts and package.
export {
    extractJobScript,
    handlerCode,
    handlers,
    jobPackage,
    lakeMaintenanceJobScript,
    lookupLoadJobScript,
    streamExportJobScript,
    type Handler,
} from "./assets";
