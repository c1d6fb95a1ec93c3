import { expect } from "chai";
import { checkDatetimePattern, compileArchiveName } from "../config/formats";
import { serdeTimestampFormat } from "../config/event-time";
import { datetimeDialects, quotedText, tokenizeDatetimePattern, type PatternPiece } from "../contracts/datetime-pattern";
import { parseTimestamp } from "../lambdas/extract-trigger/extract-name";
import { compileTimestampFormat } from "../lambdas/shared/stream-schema";

describe("datetime patterns (contracts/datetime-pattern.ts)", () => {
    const cases: [string, PatternPiece[]][] = [
        [
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            [
                { kind: "run", character: "y", count: 4, at: 0 },
                { kind: "run", character: "-", count: 1, at: 4 },
                { kind: "run", character: "M", count: 2, at: 5 },
                { kind: "run", character: "-", count: 1, at: 7 },
                { kind: "run", character: "d", count: 2, at: 8 },
                { kind: "quoted", text: "T", at: 10 },
                { kind: "run", character: "H", count: 2, at: 13 },
                { kind: "run", character: ":", count: 1, at: 15 },
                { kind: "run", character: "m", count: 2, at: 16 },
                { kind: "run", character: ":", count: 1, at: 18 },
                { kind: "run", character: "s", count: 2, at: 19 },
                { kind: "run", character: ".", count: 1, at: 21 },
                { kind: "run", character: "S", count: 3, at: 22 },
                { kind: "run", character: "X", count: 3, at: 25 },
            ],
        ],
        [
            "yyyy''MM'--'",
            [
                { kind: "run", character: "y", count: 4, at: 0 },
                { kind: "quoted", text: "", at: 4 },
                { kind: "run", character: "M", count: 2, at: 6 },
                { kind: "quoted", text: "--", at: 8 },
            ],
        ],
        [
            "yyyy 'at",
            [
                { kind: "run", character: "y", count: 4, at: 0 },
                { kind: "run", character: " ", count: 1, at: 4 },
                { kind: "unclosed-quote", at: 5 },
            ],
        ],
        ["", []],
    ];
    for (const [pattern, pieces] of cases) {
        it(`splits "${pattern}" into runs and quoted text, in order`, () => {
            expect(tokenizeDatetimePattern(pattern)).to.deep.equal(pieces);
        });
    }

    it("reads '' as one quote, as Java and Spark do", () => {
        expect(quotedText({ kind: "quoted", text: "", at: 0 })).to.equal("'");
        expect(quotedText({ kind: "quoted", text: "T", at: 0 })).to.equal("T");
    });

    it("names the dialects the platform writes patterns in", () => {
        expect(Object.keys(datetimeDialects)).to.deep.equal(["spark", "java", "joda", "archiveName"]);
        expect(Object.keys(datetimeDialects.java.fields)).to.deep.equal(["y", "M", "d", "H", "m", "s", "S"]);
        expect(Object.keys(datetimeDialects.archiveName.fields)).to.deep.equal(["y", "M", "d", "H", "m", "s"]);
        expect(datetimeDialects.joda.offsets).to.deep.equal({ 2: "Z", 3: "ZZ" });
    });

    it("every reader finds an unclosed quote where it stands, after what comes before it", () => {
        expect([
            checkDatetimePattern("yyyy-MM-dd Q'", "timestamp"),
            compileArchiveName("x_{timestamp:yyyyMMdd'Z}.zip"),
            serdeTimestampFormat("yyyy-MM-dd 'at"),
            compileTimestampFormat("yyy 'at"),
            parseTimestamp("20261123", "yyyyMMdd'"),
        ]).to.deep.equal([
            `pattern "yyyy-MM-dd Q'" has unknown letter 'Q'; quote literal text, as in 'T'`,
            { ok: false, error: `timestamp format "yyyyMMdd'Z" has an unclosed quote` },
            { ok: false, error: `pattern "yyyy-MM-dd 'at" has an unclosed quote` },
            { ok: false, error: `pattern "yyy 'at" has yyy; expected yyyy` },
            undefined,
        ]);
    });

    it("an archive name's timestamp reads a run of a field letter as whole fields", () => {
        expect([
            compileArchiveName("x_{timestamp:yyyyyyyy}.zip"),
            compileArchiveName("x_{timestamp:yyyyyMMdd}.zip"),
            parseTimestamp("20262026", "yyyyyyyy"),
        ]).to.deep.equal([
            { ok: false, error: `timestamp format "yyyyyyyy" must contain MM` },
            {
                ok: false,
                error: `timestamp format "yyyyyMMdd" has unsupported text at "yMMdd"; use yyyy MM dd HH mm ss, - _ . and 'quoted' literals`,
            },
            Date.UTC(2026, 0, 1) / 1000,
        ]);
    });
});
