/** STREAM_SCHEMA as the deploy side sets it for the clickstream: the contract's example. */
export const clickstreamSchema = JSON.stringify({
    stream: "clickstream",
    fields: [
        { name: "event_id", type: { kind: "string" } },
        { name: "event_time", type: { kind: "timestamp" } },
        { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 } },
        { name: "item_count", type: { kind: "integer" } },
    ],
    eventTime: { field: "event_time", format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
});
