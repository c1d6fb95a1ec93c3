/**
 * "41s", "12m 05s", "1h 02m 05s": a duration as the notifications and `ingest runs` write it, the
 * way the job's report.py `describe_seconds` writes it in its own notifications.
 */
export function describeSeconds(seconds: number): string {
    if (seconds < 60) {
        return `${seconds}s`;
    }
    const minutes = Math.floor(seconds / 60);
    const rest = String(seconds % 60).padStart(2, "0");
    if (minutes < 60) {
        return `${minutes}m ${rest}s`;
    }
    return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m ${rest}s`;
}

/** Whole seconds from one time to another, rounded as the job rounds them. */
export function secondsBetween(from: Date, to: Date): number {
    return Math.round((to.getTime() - from.getTime()) / 1000);
}
