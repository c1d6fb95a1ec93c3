/**
 * What the event filter shares with the code that deploys it: the environment it reads.
 * Deploy-time code imports this module of the filter and no other, so it holds names only.
 */

/** The variables the filter needs; the LookupTable component sets every one. */
export const eventFilterVariables = ["LOOKUP_TABLE", "KEY_ATTRIBUTE", "KEY_TYPE", "EVENT_KEY_FIELD", "DESTINATION"] as const;

/** The variables the filter reads when they are set: TTL_ATTRIBUTE only for a lookup table with a time to live. */
export const eventFilterOptionalVariables = ["TTL_ATTRIBUTE"] as const;

export type EventFilterVariable = (typeof eventFilterVariables)[number] | (typeof eventFilterOptionalVariables)[number];

/** The filter's environment with values of type `Value`: every variable it needs, and the optional ones when set. */
export type EventFilterEnvironment<Value> = Record<(typeof eventFilterVariables)[number], Value> &
    Partial<Record<(typeof eventFilterOptionalVariables)[number], Value>>;
