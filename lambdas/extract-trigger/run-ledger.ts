/** The run ledger's claims live in `lambdas/shared/run-ledger.ts`, shared with the warehouse export's starter. */
export { archiveRecordKey, claimLeaseSeconds, claimRetentionSeconds, RunLedger } from "../shared/run-ledger";
export type { ArchiveRecord, Claim, ClaimResult } from "../shared/run-ledger";
