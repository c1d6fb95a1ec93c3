/**
 * What the export starter shares with the code that deploys it: the environment it reads. Deploy-time
 * code imports this module of the starter and no other, so it holds names only.
 */

/** The variables the starter reads; the WarehouseExport component sets every one. */
export const exportStarterVariables = ["JOB_NAME", "RUN_LEDGER_TABLE", "DELIVERY_BUCKET", "DELIVERY_PREFIX", "MARKER_PREFIX"] as const;

export type ExportStarterVariable = (typeof exportStarterVariables)[number];
