/**
 * What the file-to-stream function shares with the code that deploys it: the environment it reads
 * and the default bound on what it reads of one file. Deploy-time code imports this module of the
 * function and no other, so it holds names and numbers only, nothing that needs the AWS SDK.
 */

/** The variables the function reads; the FileSource component sets every one. */
export const fileToStreamVariables = [
    "STREAM_NAME",
    "STREAM_SCHEMA",
    "SOURCE_BUCKET",
    "REPORT_BUCKET",
    "REPORT_PREFIX",
    "MAX_FILE_BYTES",
] as const;

export type FileToStreamVariable = (typeof fileToStreamVariables)[number];

export const mebibyte = 1_048_576;

/**
 * The most a file may hold, in MiB after gunzip, unless the stream's `fileSource.maxFileMiB` says
 * otherwise (MAX_FILE_BYTES, in bytes; the function falls back on this default when it is unset). Within it a file's records fit the function's 15 minutes even on a stream of one shard
 * (1 MiB/s of writes); beyond it (a gzip bomb: 1 MB that gunzips to gigabytes) the file is rejected
 * with its report rather than timing out and coming back from the queue until the dead-letter queue.
 */
export const defaultMaxFileMiB = 512;
