import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { streamSchemaDocumentSchema } from "../contracts/stream-schema";
import { CsvReader, type CsvCell, type CsvRow } from "../lambdas/shared/csv";
import { indentJson, parseJson, stringifyJson } from "../lambdas/shared/json-text";
import { RecordValidator, type RecordResult } from "../lambdas/shared/stream-records";
import {
    checkTime,
    compileTimestampFormat,
    parseStreamSchema,
    type PatternFormat,
    type StreamSchema,
} from "../lambdas/shared/stream-schema";
import { repositoryRoot } from "./support/program";

/** The contract's example, with a field of every other kind. */
const schemaText = JSON.stringify({
    stream: "clickstream",
    fields: [
        { name: "event_id", type: { kind: "string" } },
        { name: "event_time", type: { kind: "timestamp" } },
        { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 } },
        { name: "item_count", type: { kind: "integer" } },
        { name: "total_bytes", type: { kind: "long" } },
        { name: "score", type: { kind: "double" } },
        { name: "consented", type: { kind: "boolean" } },
        { name: "birthday", type: { kind: "date" } },
        { name: "seen_at", type: { kind: "timestamp" } },
    ],
    eventTime: { field: "event_time", format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
});
const schema = parseStreamSchema(schemaText);
const validator = new RecordValidator(schema);
const epochValidator = new RecordValidator({ ...schema, eventTime: { field: "event_time", format: "epoch-millis" } });
/**
 * A stream by arrival without an event time (test/fixtures/streams-arrival/pings.yaml): its schema
 * document, as test/stream-validation.test.ts checks the deploy side writes it and the export's tests read it.
 */
const pingsSchemaText = fs.readFileSync(path.join(repositoryRoot, "tests-py/fixtures/stream-schema-pings.json"), "utf8");
const pingsValidator = new RecordValidator(parseStreamSchema(pingsSchemaText));

/** A valid line with `members` added after event_id and event_time. */
function line(members = ""): string {
    return `{"event_id":"e-1","event_time":"2026-11-23T10:15:30.123Z"${members ? `,${members}` : ""}}`;
}

const accepted = (text: string): RecordResult => ({ ok: true, text: `${text}\n` });
const rejected = (reason: string): RecordResult => ({ ok: false, reason });

describe("stream schema (STREAM_SCHEMA)", () => {
    it("reads the deploy side's document", () => {
        const contract = parseStreamSchema(
            JSON.stringify({
                stream: "clickstream",
                fields: [
                    { name: "event_id", type: { kind: "string" } },
                    { name: "event_time", type: { kind: "timestamp" } },
                    { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 } },
                    { name: "item_count", type: { kind: "integer" } },
                ],
                eventTime: { field: "event_time", format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
                description: "members the functions do not use are ignored",
            }),
        );
        expect(contract).to.deep.equal({
            stream: "clickstream",
            fields: [
                { name: "event_id", type: { kind: "string" } },
                { name: "event_time", type: { kind: "timestamp" } },
                { name: "amount", type: { kind: "decimal", precision: 12, scale: 2 } },
                { name: "item_count", type: { kind: "integer" } },
            ],
            eventTime: { field: "event_time", format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
        } satisfies StreamSchema);
    });

    it("reads a document without eventTime.field: no event time, only the format of the timestamp fields", () => {
        expect(parseStreamSchema(pingsSchemaText)).to.deep.equal({
            stream: "pings",
            fields: [
                { name: "device_id", type: { kind: "string" } },
                { name: "battery", type: { kind: "integer" } },
                { name: "last_boot", type: { kind: "timestamp" } },
            ],
            eventTime: { format: "yyyy-MM-dd HH:mm:ss" },
        } satisfies StreamSchema);
    });

    const pings = JSON.parse(pingsSchemaText) as Record<string, unknown>;
    const invalid: [string, unknown, string][] = [
        ["an array", [], "STREAM_SCHEMA must be a JSON object with stream, fields and eventTime"],
        [
            "every problem at once",
            {
                fields: [
                    { name: "a", type: { kind: "text" } },
                    { name: "b", type: { kind: "decimal", precision: 40, scale: 1 } },
                    { name: "c", type: { kind: "decimal", precision: 4, scale: 5 } },
                    { name: "d", type: "string" },
                    { name: "e", type: { kind: "string" } },
                    { name: "e", type: { kind: "long" } },
                ],
                eventTime: { field: "t", format: "yy-MM-dd" },
            },
            "STREAM_SCHEMA is invalid: stream must be a non-empty string; " +
                'fields[0].type.kind is "text"; expected one of string, integer, long, double, boolean, date, timestamp, decimal; ' +
                "fields[1].type.precision must be a whole number from 1 to 38; " +
                "fields[2].type.scale must be a whole number from 0 to the precision; " +
                "fields[3].type must be an object with a kind; " +
                'fields[5].name "e" is declared twice; ' +
                'eventTime.field "t" is not a declared field; ' +
                'eventTime.format: pattern "yy-MM-dd" has yy; expected yyyy',
        ],
        [
            "an event time that is not a timestamp",
            { stream: "s", fields: [{ name: "day", type: { kind: "date" } }], eventTime: { field: "day", format: "epoch-millis" } },
            'STREAM_SCHEMA is invalid: eventTime.field "day" is a date; the event time must be a timestamp field',
        ],
        [
            "no fields and no event time",
            { stream: "s", fields: [] },
            "STREAM_SCHEMA is invalid: fields must be a non-empty array; eventTime must be an object with a format, and the event-time field when records carry one",
        ],
        [
            "an event time without a format",
            { ...pings, eventTime: { field: "last_boot" } },
            "STREAM_SCHEMA is invalid: eventTime must be an object with a format, and the event-time field when records carry one",
        ],
        [
            "a null event-time field",
            { ...pings, eventTime: { field: null, format: "epoch-millis" } },
            "STREAM_SCHEMA is invalid: eventTime.field must be a field name, or absent when records carry no event time; got null",
        ],
        [
            "an empty event-time field",
            { ...pings, eventTime: { field: "", format: "epoch-millis" } },
            'STREAM_SCHEMA is invalid: eventTime.field must be a field name, or absent when records carry no event time; got ""',
        ],
        [
            "an event-time field that is not a name",
            { ...pings, eventTime: { field: ["last_boot"], format: "epoch-millis" } },
            'STREAM_SCHEMA is invalid: eventTime.field must be a field name, or absent when records carry no event time; got ["last_boot"]',
        ],
    ];
    for (const [name, document, message] of invalid) {
        it(`refuses ${name}`, () => {
            expect(() => parseStreamSchema(JSON.stringify(document))).to.throw(message);
        });
    }

    it("refuses text that is not JSON, with the parser's message", () => {
        expect(() => parseStreamSchema("{")).to.throw(/^STREAM_SCHEMA is not JSON: \S/);
    });

    /**
     * The functions read the document with their own parser (zod stays out of the bundles); it
     * accepts and refuses what the contract (contracts/stream-schema.ts) does, but for the three
     * differences named here: members the functions do not use are ignored, a field's name is only
     * looked up (the deploy side checks it is lower_snake_case), and the format is compiled (the
     * contract says only that there is one).
     */
    const verdicts: { name: string; document: unknown; functions: boolean; contract: boolean }[] = [
        { name: "the example with a field of every kind", document: JSON.parse(schemaText), functions: true, contract: true },
        { name: "the stream without event time", document: pings, functions: true, contract: true },
        ...invalid.map(([name, document]) => ({ name, document, functions: false, contract: false })),
        { name: "a member the functions do not use", document: { ...pings, description: "x" }, functions: true, contract: false },
        {
            name: "a field name that is not lower_snake_case",
            document: { ...pings, fields: [{ name: "Device-Id", type: { kind: "string" } }] },
            functions: true,
            contract: false,
        },
        {
            name: "a format the functions cannot read",
            document: { ...pings, eventTime: { format: "yy-MM-dd" } },
            functions: false,
            contract: true,
        },
        {
            name: "a decimal's scale above its precision",
            document: { ...pings, fields: [{ name: "amount", type: { kind: "decimal", precision: 4, scale: 5 } }] },
            functions: false,
            contract: false,
        },
    ];
    for (const { name, document, functions, contract } of verdicts) {
        it(`${functions ? "accepts" : "refuses"} ${name}, and the contract ${contract ? "accepts" : "refuses"} it`, () => {
            const read = (() => {
                try {
                    parseStreamSchema(JSON.stringify(document));
                    return true;
                } catch {
                    return false;
                }
            })();
            expect([read, streamSchemaDocumentSchema.safeParse(document).success]).to.deep.equal([functions, contract]);
        });
    }
});

describe("timestamp formats", () => {
    const matching: [string, string[], string[]][] = [
        [
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            ["2026-11-23T10:15:30.123Z", "2026-11-23T10:15:30.123+05:30"],
            ["2026-11-23T10:15:30Z", "2026-11-23T10:15:30.123+0530"],
        ],
        ["yyyy-MM-dd HH:mm:ss", ["2026-11-23 10:15:30"], ["2026-11-23T10:15:30", "2026-11-23 10:15:30 ", "2026-11-23 10:15"]],
        ["yyyy/MM/dd'T'HH:mm:ssXX", ["2026/11/23T10:15:30+0130", "2026/11/23T10:15:30Z"], ["2026/11/23T10:15:30+01:30"]],
        [
            "yyyyMMdd'T'HHmmss.SSSSSSX",
            ["20261123T101530.123456+01", "20261123T101530.123456-0130", "20261123T101530.123456Z"],
            ["20261123T101530.123+01"],
        ],
        ["dd.MM.yyyy', 'HH'h'mm", ["23.11.2026, 10h15"], ["23.11.2026 10h15"]],
        ["yyyy-MM-dd''HH", ["2026-11-23'10"], ["2026-11-2310"]],
    ];
    for (const [pattern, good, bad] of matching) {
        it(`${pattern} reads ${good.join(", ")} and not ${bad.join(", ")}`, () => {
            const compiled = compileTimestampFormat(pattern);
            expect(compiled.ok).to.equal(true);
            const format = (compiled as { value: PatternFormat }).value;
            expect(good.map((text) => checkTime(text, format))).to.deep.equal(good.map(() => undefined));
            expect(bad.map((text) => checkTime(text, format))).to.deep.equal(bad.map(() => "does not match"));
        });
    }

    const outOfRange: [string, string][] = [
        ["2026-00-23T10:15:30.123Z", "has month 00 (expected 01 to 12)"],
        ["2026-11-32T10:15:30.123Z", "has day 32 (expected 01 to 31)"],
        ["2026-04-31T10:15:30.123Z", "has day 31, but 2026-04 has 30 days"],
        ["2026-11-23T24:15:30.123Z", "has hour 24 (expected 00 to 23)"],
        ["2026-11-23T10:60:30.123Z", "has minute 60 (expected 00 to 59)"],
        ["2026-11-23T10:15:60.123Z", "has second 60 (expected 00 to 59)"],
        ["2026-11-23T10:15:30.123+19:00", "has offset +19:00 (expected at most 18 hours and 59 minutes)"],
        ["2024-02-29T10:15:30.123Z", ""],
        ["2100-02-29T10:15:30.123Z", "has day 29, but 2100-02 has 28 days"],
    ];
    for (const [text, problem] of outOfRange) {
        it(`${text} ${problem || "is a real time"}`, () => {
            const format = (compileTimestampFormat("yyyy-MM-dd'T'HH:mm:ss.SSSXXX") as { value: PatternFormat }).value;
            expect(checkTime(text, format)).to.equal(problem || undefined);
        });
    }

    const refused: [string, string][] = [
        ["yy-MM-dd", 'pattern "yy-MM-dd" has yy; expected yyyy'],
        [
            "yyyy-MM-dd hh:mm",
            `pattern "yyyy-MM-dd hh:mm" has 'h'; use yyyy MM dd HH mm ss, S to SSSSSSSSS, X XX XXX, 'quoted' literals and - : . / , or space, or epoch-millis`,
        ],
        ["yyyy-MM-dd'T", 'pattern "yyyy-MM-dd\'T" has an unclosed quote'],
        ["HH:mm:ss", 'pattern "HH:mm:ss" must contain a year, month and day (yyyy, MM, dd)'],
        ["yyyy-MM-dd XXXX", 'pattern "yyyy-MM-dd XXXX" has XXXX; expected X, XX, XXX'],
        ["yyyy-MM-dd ss.SSSSSSSSSS", 'pattern "yyyy-MM-dd ss.SSSSSSSSSS" has SSSSSSSSSS; expected S to SSSSSSSSS'],
        ["yyyy-MM-dd-yyyy", 'pattern "yyyy-MM-dd-yyyy" has y twice'],
        [
            "epoch-seconds",
            `pattern "epoch-seconds" has 'e'; use yyyy MM dd HH mm ss, S to SSSSSSSSS, X XX XXX, 'quoted' literals and - : . / , or space, or epoch-millis`,
        ],
    ];
    for (const [pattern, error] of refused) {
        it(`refuses ${pattern}`, () => {
            expect(compileTimestampFormat(pattern)).to.deep.equal({ ok: false, error });
        });
    }
});

describe("record validation", () => {
    const cases: [string, RecordValidator, string, RecordResult][] = [
        ["the event id and event time alone", validator, line(), accepted(line())],
        [
            "an offset event time, written compactly",
            validator,
            '{ "event_id" : "e-1",\t"event_time": "2026-11-23T10:15:30.123+05:30" }',
            accepted('{"event_id":"e-1","event_time":"2026-11-23T10:15:30.123+05:30"}'),
        ],
        [
            "every kind, digits kept exactly",
            validator,
            line(
                '"amount":9999999999.99,"item_count":-2147483648,"total_bytes":9223372036854775807,"score":1.50e-7,' +
                    '"consented":false,"birthday":"2024-02-29","seen_at":"2026-11-23T10:15:31.000-08:00"',
            ),
            accepted(
                line(
                    '"amount":9999999999.99,"item_count":-2147483648,"total_bytes":9223372036854775807,"score":1.50e-7,' +
                        '"consented":false,"birthday":"2024-02-29","seen_at":"2026-11-23T10:15:31.000-08:00"',
                ),
            ),
        ],
        [
            "the highest integer and lowest long",
            validator,
            line('"item_count":2147483647,"total_bytes":-9223372036854775808'),
            accepted(line('"item_count":2147483647,"total_bytes":-9223372036854775808')),
        ],
        ["a decimal in a string, as a number", validator, line('"amount":"0042.50"'), accepted(line('"amount":42.50'))],
        ["decimals of fewer digits", validator, line('"amount":-0.5,"score":3'), accepted(line('"amount":-0.5,"score":3'))],
        ["a whole decimal", validator, line('"amount":"7"'), accepted(line('"amount":7'))],
        [
            "null and missing optional fields",
            validator,
            line('"amount":null,"birthday":null'),
            accepted(line('"amount":null,"birthday":null')),
        ],
        [
            "undeclared fields, unchanged",
            validator,
            line('"page":"/cart","tags":["a",{"x":1.10,"y":12345678901234567890}],"__proto__":{"z":1}'),
            accepted(line('"page":"/cart","tags":["a",{"x":1.10,"y":12345678901234567890}],"__proto__":{"z":1}')),
        ],
        ["text that is not JSON", validator, '{"event_id": }', rejected('invalid JSON: unexpected "}" at column 14')],
        [
            "a trailing comma",
            validator,
            '{"a":1,}',
            rejected('invalid JSON: unexpected "}" at column 8; expected a property name in double quotes'),
        ],
        ["a leading zero", validator, '{"a":01}', rejected('invalid JSON: unexpected "1" at column 7; expected ","')],
        ["a bad escape", validator, '{"a":"x\\qy"}', rejected('invalid JSON: bad escape "\\q" at column 8')],
        ["an unterminated string", validator, '{"a":"abc', rejected("invalid JSON: unterminated string starting at column 6")],
        ["text after the object", validator, '{"a":1} x', rejected('invalid JSON: unexpected "x" at column 9')],
        ["an array", validator, "[1,2]", rejected("not a JSON object")],
        ["a string", validator, '"event"', rejected("not a JSON object")],
        ["no event time", validator, '{"event_id":"e-1"}', rejected('field "event_time" is required')],
        ["a null event time", validator, '{"event_id":"e-1","event_time":null}', rejected('field "event_time" is required')],
        ["an integer given as text", validator, line('"item_count":"abc"'), rejected('field "item_count": expected an integer, got "abc"')],
        ["an integer with a fraction", validator, line('"item_count":1.0'), rejected('field "item_count": expected an integer, got 1.0')],
        [
            "an integer out of range",
            validator,
            line('"item_count":2147483648'),
            rejected('field "item_count": 2147483648 is out of range for an integer (-2147483648 to 2147483647)'),
        ],
        [
            "a long out of range",
            validator,
            line('"total_bytes":-9223372036854775809'),
            rejected('field "total_bytes": -9223372036854775809 is out of range for a long (-9223372036854775808 to 9223372036854775807)'),
        ],
        [
            "a decimal with too many integer digits",
            validator,
            line('"amount":12345678901.5'),
            rejected('field "amount": 12345678901.5 has 11 integer digits; decimal(12,2) allows at most 10'),
        ],
        [
            "a decimal with too many fraction digits",
            validator,
            line('"amount":"1.234"'),
            rejected('field "amount": 1.234 has 3 fraction digits; decimal(12,2) allows at most 2'),
        ],
        ["a decimal with a comma", validator, line('"amount":"12,50"'), rejected('field "amount": expected a decimal(12,2), got "12,50"')],
        ["a decimal with an exponent", validator, line('"amount":1e3'), rejected('field "amount": expected a decimal(12,2), got 1e3')],
        ["a double given as text", validator, line('"score":"1.5"'), rejected('field "score": expected a double, got "1.5"')],
        ["a boolean given as text", validator, line('"consented":"yes"'), rejected('field "consented": expected true or false, got "yes"')],
        [
            "a string given as a number",
            validator,
            '{"event_id":12,"event_time":"2026-11-23T10:15:30.123Z"}',
            rejected('field "event_id": expected a string, got 12'),
        ],
        [
            "a date in another format",
            validator,
            line('"birthday":"23-02-01"'),
            rejected('field "birthday": expected a date in the format yyyy-MM-dd, got "23-02-01"'),
        ],
        [
            "a date that does not exist",
            validator,
            line('"birthday":"2023-02-29"'),
            rejected('field "birthday": "2023-02-29" has day 29, but 2023-02 has 28 days'),
        ],
        [
            "an event time in another format",
            validator,
            '{"event_id":"e-1","event_time":"2026-11-23 10:15:30"}',
            rejected(`field "event_time": expected a timestamp in the format yyyy-MM-dd'T'HH:mm:ss.SSSXXX, got "2026-11-23 10:15:30"`),
        ],
        [
            "an event time in epoch milliseconds where the schema wants text",
            validator,
            '{"event_id":"e-1","event_time":1795428930123}',
            rejected(`field "event_time": expected a timestamp in the format yyyy-MM-dd'T'HH:mm:ss.SSSXXX, got 1795428930123`),
        ],
        [
            "another timestamp field out of range",
            validator,
            line('"seen_at":"2026-13-23T10:15:30.123Z"'),
            rejected('field "seen_at": "2026-13-23T10:15:30.123Z" has month 13 (expected 01 to 12)'),
        ],
        [
            "several problems, every one named",
            validator,
            '{"event_id":12,"item_count":"x","amount":"1.234"}',
            rejected(
                'field "event_id": expected a string, got 12; field "event_time" is required; ' +
                    'field "amount": 1.234 has 3 fraction digits; decimal(12,2) allows at most 2; field "item_count": expected an integer, got "x"',
            ),
        ],
        [
            "a long value, shortened in the reason",
            validator,
            line(`"item_count":"${"x".repeat(100)}"`),
            rejected(`field "item_count": expected an integer, got "${"x".repeat(59)}...`),
        ],
        [
            "epoch milliseconds",
            epochValidator,
            '{"event_time":1795428930123,"seen_at":0}',
            accepted('{"event_time":1795428930123,"seen_at":0}'),
        ],
        [
            "epoch milliseconds as text",
            epochValidator,
            '{"event_time":"1795428930123"}',
            rejected('field "event_time": expected epoch milliseconds (an integer), got "1795428930123"'),
        ],
        [
            "epoch milliseconds with an exponent",
            epochValidator,
            '{"event_time":1.795e12}',
            rejected('field "event_time": expected epoch milliseconds (an integer), got 1.795e12'),
        ],
        [
            "epoch milliseconds beyond 2^53",
            epochValidator,
            '{"event_time":9007199254740993}',
            rejected('field "event_time": expected epoch milliseconds (an integer), got 9007199254740993'),
        ],
        [
            "a pattern timestamp where the schema wants epoch milliseconds",
            epochValidator,
            '{"event_time":1795428930123,"seen_at":"2026-11-23T10:15:30.123Z"}',
            rejected('field "seen_at": expected epoch milliseconds (an integer), got "2026-11-23T10:15:30.123Z"'),
        ],
        // Without an event time, no field is required; what is given is still checked.
        [
            "no timestamp, without an event time",
            pingsValidator,
            '{"device_id":"d-1","battery":80}',
            accepted('{"device_id":"d-1","battery":80}'),
        ],
        ["an empty object, without an event time", pingsValidator, "{}", accepted("{}")],
        [
            "a null timestamp, without an event time",
            pingsValidator,
            '{"battery":3,"last_boot":null}',
            accepted('{"battery":3,"last_boot":null}'),
        ],
        [
            "a timestamp in the stream's format, without an event time",
            pingsValidator,
            '{"device_id":"d-2","last_boot":"2026-11-20 08:00:00"}',
            accepted('{"device_id":"d-2","last_boot":"2026-11-20 08:00:00"}'),
        ],
        [
            "a timestamp in another format, without an event time",
            pingsValidator,
            '{"device_id":"d-3","last_boot":"2026-11-20T08:00:00Z"}',
            rejected('field "last_boot": expected a timestamp in the format yyyy-MM-dd HH:mm:ss, got "2026-11-20T08:00:00Z"'),
        ],
    ];
    for (const [name, which, input, result] of cases) {
        it(`${result.ok ? "accepts" : "rejects"} ${name}`, () => {
            expect(which.validateLine(input)).to.deep.equal(result);
        });
    }

    it("checks an event the Lambda runtime parsed, as JSON.stringify writes it", () => {
        expect(
            validator.validateEvent({
                event_id: "e-1",
                event_time: "2026-11-23T10:15:30.123Z",
                amount: 19.9,
                item_count: 2,
                note: undefined,
            }),
        ).to.deep.equal(accepted(line('"amount":19.9,"item_count":2')));
        expect(validator.validateEvent({ event_id: "e-1", event_time: "2026-11-23T10:15:30.123Z", amount: 1e21 })).to.deep.equal(
            rejected('field "amount": expected a decimal(12,2), got 1e+21'),
        );
        expect(validator.validateEvent(null)).to.deep.equal(rejected("not a JSON object"));
    });

    it("keeps number text, member order and string escapes when writing JSON back", () => {
        const text = '{"b":1.000,"a":[true,false,null],"1":"line\\nbreak \\u00e9 \\"q\\"","nested":{"x":-0.0e+10}}';
        expect(stringifyJson(parseJson(text))).to.equal(
            '{"b":1.000,"a":[true,false,null],"1":"line\\nbreak é \\"q\\"","nested":{"x":-0.0e+10}}',
        );
    });

    it("lays JSON out for people as JSON.stringify does with an indent, keeping number text", () => {
        const text = '{"key":-9223372036854775807,"empty":{},"none":[],"list":[1.50,{"a":"\\u00e9"}]}';
        expect(indentJson(parseJson(text), 2)).to.equal(
            [
                "{",
                '  "key": -9223372036854775807,',
                '  "empty": {},',
                '  "none": [],',
                '  "list": [',
                "    1.50,",
                "    {",
                '      "a": "é"',
                "    }",
                "  ]",
                "}",
            ].join("\n"),
        );
        const plain = '{"a":[1,{"b":null,"c":[true,"x"]}],"d":{}}';
        expect(indentJson(parseJson(plain), 4)).to.equal(JSON.stringify(JSON.parse(plain), null, 4));
    });

    it("refuses nesting deeper than 512 levels instead of overflowing the stack", () => {
        expect(validator.validateLine(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)).to.deep.equal(
            rejected("invalid JSON: nesting deeper than 512 levels at column 514"),
        );
    });
});

function readCsv(lines: string[], maximumRowCharacters = 1_048_576): CsvRow[] {
    const reader = new CsvReader(maximumRowCharacters);
    const rows: CsvRow[] = [];
    lines.forEach((text, index) => {
        const row = reader.push(text, index + 1);
        if (row) {
            rows.push(row);
        }
    });
    const last = reader.end();
    return last ? [...rows, last] : rows;
}

/** The cells of a one-line CSV row. */
function cellsOf(text: string): readonly CsvCell[] {
    const [row] = readCsv([text]);
    if (row?.kind !== "row") {
        throw new Error(`"${text}" is not a CSV row`);
    }
    return row.cells;
}

const cells = (...texts: (string | [string])[]) =>
    texts.map((text) => (typeof text === "string" ? { text, quoted: false } : { text: text[0], quoted: true }));

describe("CSV", () => {
    const parsing: [string, string[], CsvRow[]][] = [
        ["plain cells", ["a,b,c"], [{ kind: "row", line: 1, cells: cells("a", "b", "c") }]],
        [
            "quoted commas, doubled quotes and empty cells",
            ['"x, y","say ""hi""",,""'],
            [{ kind: "row", line: 1, cells: cells(["x, y"], ['say "hi"'], "", [""]) }],
        ],
        [
            "a quoted field over several lines, numbered by its first line",
            ["h1,h2", '1,"first', "second", "", 'third",4', "5,6"],
            [
                { kind: "row", line: 1, cells: cells("h1", "h2") },
                { kind: "row", line: 2, cells: cells("1", ["first\nsecond\n\nthird"], "4") },
                { kind: "row", line: 6, cells: cells("5", "6") },
            ],
        ],
        [
            "blank lines",
            ["a", "", "b"],
            [
                { kind: "row", line: 1, cells: cells("a") },
                { kind: "blank", line: 2 },
                { kind: "row", line: 3, cells: cells("b") },
            ],
        ],
        [
            "a quote inside an unquoted value",
            ['ab"c,d', "e"],
            [
                { kind: "bad", line: 1, reason: "cell 1 has a quote inside an unquoted value" },
                { kind: "row", line: 2, cells: cells("e") },
            ],
        ],
        ["text after a closing quote", ['x,"ab"c'], [{ kind: "bad", line: 1, reason: "cell 2 has text after its closing quote" }]],
        [
            "a quoted field that never closes",
            ["a,b", '1,"open', "still open"],
            [
                { kind: "row", line: 1, cells: cells("a", "b") },
                { kind: "bad", line: 2, reason: "a quoted field has no closing quote before the end of the file" },
            ],
        ],
    ];
    for (const [name, lines, rows] of parsing) {
        it(`reads ${name}`, () => {
            expect(readCsv(lines)).to.deep.equal(rows);
        });
    }

    it("gives up on a quoted field longer than the limit and reads on from the next line", () => {
        expect(readCsv(['1,"0123456789', "ABC", "2,3"], 10)).to.deep.equal([
            { kind: "bad", line: 1, reason: "a quoted field runs past 10 characters without its closing quote" },
            { kind: "row", line: 3, cells: cells("2", "3") },
        ]);
    });

    const headers: [string[], string | undefined][] = [
        [["event_id", "event_time", "amount"], undefined],
        [["event_time"], undefined],
        [["event_id", "colour", "event_time"], 'CSV header column "colour" is not a declared field of stream clickstream'],
        [["event_id", "event_time", "event_id"], 'CSV header column "event_id" appears twice'],
        [["event_id", "amount"], 'CSV header has no column "event_time", the event time'],
    ];
    for (const [columns, problem] of headers) {
        it(`${problem ? "refuses" : "accepts"} the header ${columns.join(",")}`, () => {
            expect(validator.checkCsvHeader(columns)).to.equal(problem);
        });
    }

    // Without an event time, a header needs no timestamp column; it still names declared fields only, once each.
    const headersWithoutEventTime: [string[], string | undefined][] = [
        [["device_id", "battery"], undefined],
        [["battery"], undefined],
        [["battery", "event_time"], 'CSV header column "event_time" is not a declared field of stream pings'],
        [["battery", "battery"], 'CSV header column "battery" appears twice'],
    ];
    for (const [columns, problem] of headersWithoutEventTime) {
        it(`${problem ? "refuses" : "accepts"} the header ${columns.join(",")} without an event time`, () => {
            expect(pingsValidator.checkCsvHeader(columns)).to.equal(problem);
        });
    }

    it("accepts rows without any timestamp when the stream has no event time", () => {
        expect(["d-1,80", "d-2,", ","].map((text) => pingsValidator.validateCsvRow(["device_id", "battery"], cellsOf(text)))).to.deep.equal(
            [
                accepted('{"device_id":"d-1","battery":80}'),
                accepted('{"device_id":"d-2","battery":null}'),
                accepted('{"device_id":null,"battery":null}'),
            ],
        );
    });

    const columns = ["event_id", "event_time", "amount", "item_count", "total_bytes", "score", "consented", "birthday"];
    const rows: [string, string, RecordResult][] = [
        [
            "typed cells",
            '"e-1",2026-11-23T10:15:30.123Z,"12.50",007,+9223372036854775807,-1.5E3,TRUE,2024-02-29',
            accepted(
                '{"event_id":"e-1","event_time":"2026-11-23T10:15:30.123Z","amount":12.50,"item_count":7,' +
                    '"total_bytes":9223372036854775807,"score":-1.5E3,"consented":true,"birthday":"2024-02-29"}',
            ),
        ],
        [
            "empty cells as null, a quoted empty string as itself",
            '"",2026-11-23T10:15:30.123Z,,,,,"",',
            accepted(
                '{"event_id":"","event_time":"2026-11-23T10:15:30.123Z","amount":null,"item_count":null,' +
                    '"total_bytes":null,"score":null,"consented":null,"birthday":null}',
            ),
        ],
        [
            "cells of the wrong type",
            "e-1,2026-11-23T10:15:30.123Z,abc,1.5,x,NaN,yes,2024-2-29",
            rejected(
                'field "amount": expected a decimal(12,2), got "abc"; field "item_count": expected an integer, got "1.5"; ' +
                    'field "total_bytes": expected a long, got "x"; field "score": expected a double, got "NaN"; ' +
                    'field "consented": expected true or false, got "yes"; field "birthday": expected a date in the format yyyy-MM-dd, got "2024-2-29"',
            ),
        ],
        ["an empty event time", "e-1,,,,,,,", rejected('field "event_time" is required')],
        ["too few cells", "e-1,2026-11-23T10:15:30.123Z", rejected("row has 2 cells; the header has 8")],
    ];
    for (const [name, text, result] of rows) {
        it(`${result.ok ? "accepts" : "rejects"} a row of ${name}`, () => {
            expect(validator.validateCsvRow(columns, cellsOf(text))).to.deep.equal(result);
        });
    }

    it("reads epoch milliseconds from a cell when the schema says so", () => {
        expect(epochValidator.validateCsvRow(["event_time", "event_id"], cellsOf("1795428930123,e-1"))).to.deep.equal(
            accepted('{"event_time":1795428930123,"event_id":"e-1"}'),
        );
    });
});
