/**
 * JSON that keeps every number's digits. JSON.parse reads numbers into doubles, so a decimal(38,10)
 * or a long beyond 2^53 would come back rounded; records must reach the stream with the digits the
 * producer wrote. Numbers are kept as their source text, objects as Maps (insertion order, no
 * prototype keys), and written back compactly.
 */

/** A JSON number, as written. */
export class JsonNumber {
    constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonSyntaxError extends Error {
    override readonly name = "JsonSyntaxError";
}

export function isJsonObject(value: JsonValue): value is JsonObject {
    return value instanceof Map;
}

/** Deeper nesting than this is refused rather than risking the call stack. */
const maximumDepth = 512;

const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const plainStringPattern = /[\\\u0000-\u001f]/;
const escapes: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** Parses one JSON text; throws JsonSyntaxError with a column (1-based) on malformed input. */
export function parseJson(text: string): JsonValue {
    return new Parser(text).parseDocument();
}

class Parser {
    private position = 0;

    constructor(private readonly text: string) {}

    parseDocument(): JsonValue {
        this.skipWhitespace();
        const value = this.parseValue(0);
        this.skipWhitespace();
        if (this.position < this.text.length) {
            throw this.unexpected();
        }
        return value;
    }

    private parseValue(depth: number): JsonValue {
        if (depth > maximumDepth) {
            throw new JsonSyntaxError(`nesting deeper than ${maximumDepth} levels at column ${this.position + 1}`);
        }
        switch (this.text.charAt(this.position)) {
            case "{":
                return this.parseObject(depth);
            case "[":
                return this.parseArray(depth);
            case '"':
                return this.parseString();
            case "t":
                return this.parseLiteral("true", true);
            case "f":
                return this.parseLiteral("false", false);
            case "n":
                return this.parseLiteral("null", null);
            default:
                return this.parseNumber();
        }
    }

    private parseObject(depth: number): JsonObject {
        const object: JsonObject = new Map();
        this.position++;
        this.skipWhitespace();
        if (this.text.charAt(this.position) === "}") {
            this.position++;
            return object;
        }
        for (;;) {
            if (this.text.charAt(this.position) !== '"') {
                throw this.unexpected("a property name in double quotes");
            }
            const name = this.parseString();
            this.skipWhitespace();
            this.expect(":");
            this.skipWhitespace();
            object.set(name, this.parseValue(depth + 1));
            this.skipWhitespace();
            if (this.text.charAt(this.position) === "}") {
                this.position++;
                return object;
            }
            this.expect(",");
            this.skipWhitespace();
        }
    }

    private parseArray(depth: number): JsonValue[] {
        const array: JsonValue[] = [];
        this.position++;
        this.skipWhitespace();
        if (this.text.charAt(this.position) === "]") {
            this.position++;
            return array;
        }
        for (;;) {
            array.push(this.parseValue(depth + 1));
            this.skipWhitespace();
            if (this.text.charAt(this.position) === "]") {
                this.position++;
                return array;
            }
            this.expect(",");
            this.skipWhitespace();
        }
    }

    private parseString(): string {
        const start = this.position + 1;
        const end = this.text.indexOf('"', start);
        if (end >= 0) {
            const plain = this.text.slice(start, end);
            if (!plainStringPattern.test(plain)) {
                this.position = end + 1;
                return plain;
            }
        }
        let value = "";
        let index = start;
        for (;;) {
            if (index >= this.text.length) {
                throw new JsonSyntaxError(`unterminated string starting at column ${start}`);
            }
            const character = this.text.charAt(index);
            if (character === '"') {
                this.position = index + 1;
                return value;
            }
            if (character < " ") {
                throw new JsonSyntaxError(`unescaped control character in a string at column ${index + 1}`);
            }
            if (character !== "\\") {
                value += character;
                index++;
                continue;
            }
            const escape = this.text.charAt(index + 1);
            if (escape === "u") {
                const hex = this.text.slice(index + 2, index + 6);
                if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
                    throw new JsonSyntaxError(`bad unicode escape at column ${index + 1}`);
                }
                value += String.fromCharCode(parseInt(hex, 16));
                index += 6;
                continue;
            }
            const decoded = escapes[escape];
            if (decoded === undefined) {
                throw new JsonSyntaxError(`bad escape "\\${escape}" at column ${index + 1}`);
            }
            value += decoded;
            index += 2;
        }
    }

    private parseLiteral<T>(word: string, value: T): T {
        if (!this.text.startsWith(word, this.position)) {
            throw this.unexpected();
        }
        this.position += word.length;
        return value;
    }

    private parseNumber(): JsonNumber {
        numberPattern.lastIndex = this.position;
        const match = numberPattern.exec(this.text);
        if (!match) {
            throw this.unexpected();
        }
        this.position += match[0].length;
        return new JsonNumber(match[0]);
    }

    private expect(character: string): void {
        if (this.text.charAt(this.position) !== character) {
            throw this.unexpected(`"${character}"`);
        }
        this.position++;
    }

    private skipWhitespace(): void {
        for (;;) {
            const character = this.text.charAt(this.position);
            if (character !== " " && character !== "\t" && character !== "\n" && character !== "\r") {
                return;
            }
            this.position++;
        }
    }

    private unexpected(expected?: string): JsonSyntaxError {
        const wanted = expected ? `; expected ${expected}` : "";
        if (this.position >= this.text.length) {
            return new JsonSyntaxError(`unexpected end of input${wanted}`);
        }
        const found = JSON.stringify(this.text.charAt(this.position));
        return new JsonSyntaxError(`unexpected ${found} at column ${this.position + 1}${wanted}`);
    }
}

/** Compact JSON text: numbers with their original digits, object members in their original order. */
export function stringifyJson(value: JsonValue): string {
    if (typeof value === "string") {
        return quote(value);
    }
    if (value === null || typeof value === "boolean") {
        return String(value);
    }
    if (value instanceof JsonNumber) {
        return value.text;
    }
    let text: string;
    if (Array.isArray(value)) {
        text = "[";
        for (const item of value) {
            text += text.length === 1 ? stringifyJson(item) : `,${stringifyJson(item)}`;
        }
        return `${text}]`;
    }
    text = "{";
    for (const [name, member] of value) {
        text += `${text.length === 1 ? "" : ","}${quote(name)}:${stringifyJson(member)}`;
    }
    return `${text}}`;
}

/** JSON laid out for people as JSON.stringify(value, null, indent) lays it out, numbers with their original digits. */
export function indentJson(value: JsonValue, indent = 2): string {
    return indented(value, " ".repeat(indent), "");
}

function indented(value: JsonValue, indent: string, margin: string): string {
    if (!Array.isArray(value) && !isJsonObject(value)) {
        return stringifyJson(value);
    }
    const inner = margin + indent;
    const members = Array.isArray(value)
        ? value.map((item) => indented(item, indent, inner))
        : [...value].map(([name, member]) => `${quote(name)}: ${indented(member, indent, inner)}`);
    const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    return members.length === 0 ? `${open}${close}` : `${open}\n${inner}${members.join(`,\n${inner}`)}\n${margin}${close}`;
}

/** Characters JSON.stringify escapes: quote, backslash, controls, and surrogates (lone ones are escaped). */
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(text: string): string {
    return needsEscape.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * A value the Lambda runtime already parsed (a test event), as JSON.stringify would write it:
 * undefined members are dropped, non-finite numbers become null.
 */
export function fromPlainValue(value: unknown): JsonValue {
    if (value === null || value === undefined || typeof value === "boolean" || typeof value === "string") {
        return value ?? null;
    }
    if (typeof value === "number") {
        return Number.isFinite(value) ? new JsonNumber(JSON.stringify(value)) : null;
    }
    if (typeof value === "bigint") {
        return new JsonNumber(value.toString());
    }
    if (Array.isArray(value)) {
        return value.map((item: unknown) => fromPlainValue(item));
    }
    if (typeof value === "object") {
        const object: JsonObject = new Map();
        for (const [name, member] of Object.entries(value)) {
            if (member !== undefined && typeof member !== "function" && typeof member !== "symbol") {
                object.set(name, fromPlainValue(member));
            }
        }
        return object;
    }
    return null;
}
