/**
 * User columns of data-inlining tables (`ducklake_inlined_data_<table>_<version>`): the PostgreSQL type DuckLake's
 * PostgreSQL backend gives each one, and the encoding of each SQLite-stored value into that type.
 *
 * The metadata columns (row_id, begin_snapshot, end_snapshot) are plain bigints and are not handled here.
 *
 * Sources, all in duckdb/ducklake:
 * - type names in `ducklake_column.column_type`: src/common/ducklake_types.cpp:17-49, 126-143 @ v1.5-variegata
 *   (lower case; `decimal(p,s)`; nested types are just `struct` / `list` / `map`, their children are separate rows).
 * - PG column types: src/metadata_manager/postgres_metadata_manager.cpp:14-78 @ v1.5-variegata and :13-45 @
 *   v1.4-andium, fed through DuckLakeMetadataManager::GetColumnType (src/storage/ducklake_metadata_manager.cpp:
 *   2436-2467 @ v1.5-variegata). DL-1.3 has no PG override: its DDL went through the postgres scanner's type
 *   mapping (duckdb-postgres src/postgres_utils.cpp ToPostgresType).
 * - PG values: ToSQLString / ValueToSQL in src/common/ducklake_util.cpp:124-300 @ v1.5-variegata and :96-262 @
 *   v1.4-andium (the literals DuckLake sends to PostgreSQL with postgres_execute).
 * - SQLite values: the same literals run through DuckDB into columns the sqlite extension declares as BIGINT,
 *   DOUBLE, BLOB or VARCHAR, so SQLite holds integers, REALs (float tables created at <= 0.3), blobs, or DuckDB's
 *   text of the value (src/metadata_manager/sqlite_metadata_manager.cpp:12-47 @ v1.5-variegata).
 */
import { isCalendarDate, pad } from "./calendar";
import { canonicalTimestamptz } from "./canonical";
import { MigrationError } from "./errors";
import { MAX_IDENTIFIER_BYTES } from "./names";

/** A cell as node:sqlite returns it with readBigInts(true). */
export type SqliteValue = null | bigint | number | string | Uint8Array;

export interface InlinedColumnPlan {
    /** The user column's name. */
    name: string;
    /** PG DDL type, e.g. "bytea", "numeric(18,3)", "character varying". */
    pgType: string;
    /**
     * The value encoded once, both ways: `copy`, its unescaped COPY text-format field (the caller escapes `\`,
     * newline, CR and tab), and `canonical`, its canonical text computed from the source value; null = SQL NULL.
     */
    encode(value: SqliteValue): Encoded | null;
    /** A PG SQL expression over the (already quoted) column yielding exactly `encode`'s `canonical`, NULL for NULL. */
    canonicalSql(column: string): string;
}

/** A field below a nested column, from ducklake_column: `path` is the dotted name below the column. */
export interface InlinedField {
    path: string;
    duckdbType: string;
}

/**
 * The DuckLake release line whose PostgreSQL backend writes a spec version: the line whose
 * src/storage/ducklake_initializer.cpp creates new catalogs at that version (main writes 1.0 and 1.1-dev1 as DL-1.5).
 */
type ReleaseLine = "DL-1.3" | "DL-1.4" | "DL-1.5";

const RELEASE_LINE_BY_SPEC: Record<string, ReleaseLine> = {
    "0.1": "DL-1.3",
    "0.2": "DL-1.3",
    "0.3": "DL-1.4",
    "0.4": "DL-1.5",
    "1.0": "DL-1.5",
    "1.1-dev1": "DL-1.5",
    // DuckDB 2.0's PostgreSQL backend keeps DL-1.5's inlined types; it only adds TIMESTAMP_TZ_NS (VARCHAR) and
    // SQLNULL (INTEGER), which have no rule here and are refused.
    "1.1": "DL-1.5",
};

/** Thrown by a codec for one value; the plan turns it into a MigrationError naming the table and column. */
class ValueRefused extends Error {}

/** The stored PG text of one value and its canonical text. */
export interface Encoded {
    copy: string;
    canonical: string;
}

/** How one DuckLake type is typed and encoded on one release line. */
interface Codec {
    pgType: string;
    encode(value: Exclude<SqliteValue, null>): Encoded;
    canonicalSql(column: string): string;
}

/** A type the release line cannot store faithfully; `reason` says why. */
interface Refusal {
    refuse: string;
}

type Rule = Codec | Refusal;

const asText = (column: string): string => `${column}::text`;

function describe(value: Exclude<SqliteValue, null>): string {
    if (value instanceof Uint8Array) {
        return `a ${value.length}-byte BLOB`;
    }
    if (typeof value === "string") {
        return `the text ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
    }
    return `the ${typeof value === "bigint" ? "INTEGER" : "REAL"} ${String(value)}`;
}

function expectText(value: Exclude<SqliteValue, null>): string {
    if (typeof value !== "string") {
        throw new ValueRefused(`expected text, got ${describe(value)}`);
    }
    return value;
}

/** PostgreSQL text types cannot hold a NUL character; DuckLake's PG backend fails on such a value as well. */
function withoutNul(text: string): string {
    if (text.includes("\0")) {
        throw new ValueRefused("the text contains a NUL character, which a PostgreSQL text column cannot store");
    }
    return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Integers and boolean

/** SQLite holds booleans as INTEGER 1/0 (DuckDB writes `true`/`false` into a BIGINT-declared column). */
const booleanCodec: Codec = {
    pgType: "boolean",
    encode(value) {
        if (value === 1n) {
            return { copy: "t", canonical: "true" };
        }
        if (value === 0n) {
            return { copy: "f", canonical: "false" };
        }
        throw new ValueRefused(`expected the INTEGER 0 or 1, got ${describe(value)}`);
    },
    canonicalSql: asText,
};

/** Integers up to 32 bits unsigned / 64 bits signed are SQLite INTEGERs (declared BIGINT by the sqlite extension). */
function integerCodec(pgType: string, min: bigint, max: bigint): Codec {
    return {
        pgType,
        encode(value) {
            if (typeof value !== "bigint" || value < min || value > max) {
                throw new ValueRefused(`expected an INTEGER from ${min} to ${max}, got ${describe(value)}`);
            }
            const text = value.toString();
            return { copy: text, canonical: text };
        },
        canonicalSql: asText,
    };
}

const CANONICAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** uint64, int128 and uint128 do not fit an SQLite INTEGER, so SQLite holds DuckDB's decimal text. DuckLake sends
 * the unquoted number, which PostgreSQL stores as that same text in a varchar column, or as numeric(20,0). */
function integerTextCodec(pgType: string, min: bigint, max: bigint): Codec {
    return {
        pgType,
        encode(value) {
            const text = expectText(value);
            if (!CANONICAL_INTEGER.test(text) || BigInt(text) < min || BigInt(text) > max) {
                throw new ValueRefused(`expected a decimal integer from ${min} to ${max}, got ${describe(value)}`);
            }
            return { copy: text, canonical: text };
        },
        canonicalSql: asText,
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Floating point

const FLOAT_TEXT = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/i;
const NON_FINITE_TEXT: Record<string, number> = {
    nan: NaN,
    "-nan": NaN,
    inf: Infinity,
    infinity: Infinity,
    "+inf": Infinity,
    "+infinity": Infinity,
    "-inf": -Infinity,
    "-infinity": -Infinity,
};

/**
 * The number a SQLite cell holds: a REAL in tables created at spec <= 0.3 (NaN was already lost to NULL there), or
 * DuckDB's text of the value from 0.4 on (`nan`, `inf`, `-inf`, `-0.0`, shortest digits), because SQLite would turn
 * NaN into NULL (sqlite_metadata_manager.cpp:18-21 @ v1.5-variegata).
 */
function sourceNumber(value: Exclude<SqliteValue, null>): number {
    if (typeof value === "number") {
        return value;
    }
    if (typeof value === "string") {
        const lower = value.toLowerCase();
        if (Object.hasOwn(NON_FINITE_TEXT, lower)) {
            return NON_FINITE_TEXT[lower];
        }
        if (FLOAT_TEXT.test(value)) {
            return Number(value);
        }
    }
    throw new ValueRefused(`expected a REAL or DuckDB's text of a float, got ${describe(value)}`);
}

/**
 * The float32 a source number stands for. The source is the double nearest to a decimal text of the float (DuckLake
 * writes the float's shortest digits as a literal, and DuckDB widens it or keeps its text), or the float widened.
 * Rounding that double to float32 gives the float unless the double lies exactly halfway between two floats: every
 * such midpoint is itself a double, so a double nearest to the text can only be on the text's side of a midpoint or
 * on the midpoint. That last case would need the text's exact digits, so it is refused.
 */
function toFloat32(source: number): number {
    const rounded = Math.fround(source);
    if (!Number.isFinite(source) || rounded === source) {
        return rounded;
    }
    const other = nextFloat32Toward(rounded, source);
    if (Number.isFinite(other) && (rounded + other) / 2 === source) {
        throw new ValueRefused(`${source} lies exactly halfway between two float32 values`);
    }
    return rounded;
}

function nextFloat32Toward(from: number, toward: number): number {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, from);
    const bits = view.getUint32(0);
    const awayFromZero = toward > from === from >= 0;
    view.setUint32(0, from === 0 ? (toward > 0 ? 1 : 0x80000001) : awayFromZero ? bits + 1 : bits - 1);
    return view.getFloat32(0);
}

/** The shortest decimal text that rounds back to the float32 `value`, closest to it among equally short ones:
 * what DuckDB's float-to-text gives (its literal is what DL-1.4 sends to a double precision column). */
function shortestFloat32Text(value: number): string {
    for (let digits = 1; digits < 9; digits++) {
        const text = value.toPrecision(digits);
        if (Math.fround(Number(text)) === value) {
            return text;
        }
    }
    return value.toPrecision(9);
}

/** PostgreSQL float input for a JS number. String(x) is the shortest text that reads back as the double x, so it
 * also reads back as x through float4in when x is a float32 (a float32 midpoint is never that close to it). */
function floatInput(x: number): string {
    if (Number.isNaN(x)) {
        return "NaN";
    }
    if (!Number.isFinite(x)) {
        return x > 0 ? "Infinity" : "-Infinity";
    }
    return Object.is(x, -0) ? "-0" : String(x);
}

/** Floats are compared bit for bit through float4send/float8send; every NaN compares equal, as in PostgreSQL. */
function floatCanonical(x: number, bits: 32 | 64): string {
    if (Number.isNaN(x)) {
        return "nan";
    }
    const view = new DataView(new ArrayBuffer(bits / 8));
    if (bits === 32) {
        view.setFloat32(0, x);
    } else {
        view.setFloat64(0, x);
    }
    return Buffer.from(view.buffer).toString("hex");
}

function floatCodec(pgType: "real" | "double precision", toStored: (source: number) => number): Codec {
    const bits = pgType === "real" ? 32 : 64;
    const send = bits === 32 ? "float4send" : "float8send";
    return {
        pgType,
        encode(value) {
            const stored = toStored(sourceNumber(value));
            return { copy: floatInput(stored), canonical: floatCanonical(stored, bits) };
        },
        canonicalSql: (column) => `CASE WHEN ${column} = 'NaN' THEN 'nan' ELSE encode(${send}(${column}), 'hex') END`,
    };
}

/** DL-1.4 creates float32 columns as `FLOAT`, which PostgreSQL makes double precision, and sends a finite float as
 * its shortest digits, so the column holds the double nearest to those digits, not the widened float. */
const float32AsDoubleCodec = floatCodec("double precision", (source) => {
    const float = toFloat32(source);
    return Number.isFinite(float) && !Object.is(float, -0) ? Number(shortestFloat32Text(float)) : float;
});

// ---------------------------------------------------------------------------------------------------------------
// Decimal, text, binary, uuid

const DECIMAL_TEXT = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

/** SQLite holds DuckDB's text of the decimal (declared VARCHAR); numeric(p,s)::text prints exactly s decimals. */
function decimalCodec(precision: number, scale: number): Codec {
    return {
        pgType: `numeric(${precision},${scale})`,
        encode(value) {
            const match = DECIMAL_TEXT.exec(expectText(value));
            const fraction = match?.[3] ?? "";
            const integer = (match?.[2] ?? "").replace(/^0+(?=[0-9])/, "");
            const integerDigits = integer === "0" ? 0 : integer.length;
            if (!match || fraction.length > scale || integerDigits > precision - scale) {
                throw new ValueRefused(
                    `expected DuckDB's text of a decimal(${precision},${scale}), got ${describe(value)}`,
                );
            }
            const digits = integer + (scale > 0 ? "." + fraction.padEnd(scale, "0") : "");
            const text = /[1-9]/.test(digits) ? match[1] + digits : digits;
            return { copy: text, canonical: text };
        },
        canonicalSql: asText,
    };
}

/** The value's bytes: text as UTF-8, or the exact bytes when the engine reads the cell as a BLOB. */
function sourceBytes(value: Exclude<SqliteValue, null>): Buffer {
    if (value instanceof Uint8Array) {
        return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    if (typeof value === "string") {
        return Buffer.from(value, "utf8");
    }
    throw new ValueRefused(`expected text or a BLOB, got ${describe(value)}`);
}

/** bytea in COPY text format is `\x<hex>`; canonical is the lowercase hex of the bytes. */
function byteaCodec(accepts: "text or blob" | "blob"): Codec {
    return {
        pgType: "bytea",
        encode(value) {
            if (accepts === "blob" && !(value instanceof Uint8Array)) {
                throw new ValueRefused(`expected a BLOB, got ${describe(value)}`);
            }
            const hex = sourceBytes(value).toString("hex");
            return { copy: "\\x" + hex, canonical: hex };
        },
        canonicalSql: (column) => `encode(${column}, 'hex')`,
    };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function sourceString(value: Exclude<SqliteValue, null>): string {
    if (value instanceof Uint8Array) {
        try {
            return utf8.decode(value);
        } catch {
            throw new ValueRefused("the text is not valid UTF-8");
        }
    }
    return expectText(value);
}

/** Text kept as it is in a PG text column: the source holds exactly the text DuckLake would send. */
function verbatimCodec(pgType: "character varying" | "json", check?: (text: string) => void): Codec {
    return {
        pgType,
        encode(value) {
            const text = withoutNul(sourceString(value));
            check?.(text);
            return { copy: text, canonical: text };
        },
        canonicalSql: asText,
    };
}

/** The json type keeps the text as given but rejects invalid JSON; refuse it here with the column named. */
function checkJson(text: string): void {
    try {
        JSON.parse(text);
    } catch {
        throw new ValueRefused("the text is not valid JSON");
    }
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const uuidCodec: Codec = {
    pgType: "uuid",
    encode(value) {
        const text = expectText(value);
        if (!UUID_TEXT.test(text)) {
            throw new ValueRefused(`expected a UUID, got ${describe(value)}`);
        }
        return { copy: text, canonical: text.toLowerCase() };
    },
    canonicalSql: asText,
};

// ---------------------------------------------------------------------------------------------------------------
// Dates and times. DuckDB's text (what SQLite holds) and PostgreSQL's ISO output agree for years 1 to 9999:
// `YYYY-MM-DD`, `HH:MM:SS[.ffffff]` without trailing zeros, offsets `+HH[:MM[:SS]]`. Other years are printed
// differently (`(BC)` vs ` BC`, DuckDB's wider range) and are refused rather than guessed.

const DATE_TEXT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TIME_TEXT = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?$/;
const OFFSET_TEXT = /^([+-])([0-9]{2})(?::([0-9]{2}))?(?::([0-9]{2}))?$/;
const INFINITIES = new Set(["infinity", "-infinity"]);

/** Days since 1970-01-01 of a valid proleptic Gregorian date in years 1..9999, or undefined. */
function epochDay(text: string): number | undefined {
    const match = DATE_TEXT.exec(text);
    if (!match) {
        return undefined;
    }
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (!isCalendarDate(year, month, day)) {
        return undefined;
    }
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    return Math.round(date.getTime() / 86_400_000);
}

const MICROS_PER_DAY = 86_400_000_000n;

/** Microseconds since midnight of `HH:MM:SS[.ffffff]`; 24:00:00 is allowed when `allow24`. */
function timeOfDay(text: string, allow24: boolean): bigint | undefined {
    const match = TIME_TEXT.exec(text);
    if (!match) {
        return undefined;
    }
    const [hours, minutes, seconds] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const micros = BigInt((hours * 60 + minutes) * 60 + seconds) * 1_000_000n + BigInt((match[4] ?? "").padEnd(6, "0"));
    if (minutes > 59 || seconds > 59 || micros > MICROS_PER_DAY || (micros === MICROS_PER_DAY && !allow24)) {
        return undefined;
    }
    return micros;
}

function formatTimeOfDay(micros: bigint): string {
    const seconds = micros / 1_000_000n;
    const fraction = pad(micros % 1_000_000n, 6).replace(/0+$/, "");
    const hms = `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
    return fraction ? `${hms}.${fraction}` : hms;
}

/** Offset east of UTC in seconds. */
function offsetSeconds(text: string): number | undefined {
    const match = OFFSET_TEXT.exec(text);
    if (!match) {
        return undefined;
    }
    const [hours, minutes, seconds] = [Number(match[2]), Number(match[3] ?? 0), Number(match[4] ?? 0)];
    if (hours > 15 || minutes > 59 || seconds > 59) {
        return undefined;
    }
    return (match[1] === "-" ? -1 : 1) * (hours * 3600 + minutes * 60 + seconds);
}

function formatOffset(seconds: number): string {
    const abs = Math.abs(seconds);
    const [h, m, s] = [Math.floor(abs / 3600), Math.floor(abs / 60) % 60, abs % 60];
    return (seconds < 0 ? "-" : "+") + pad(h, 2) + (m || s ? ":" + pad(m, 2) : "") + (s ? ":" + pad(s, 2) : "");
}

/** `<date> <time>[<offset>]` split at the first space and at the offset sign after the time. */
function splitTimestamp(text: string): { date: string; time: string; offset?: string } | undefined {
    const match = /^([^ ]+) ([0-9:.]+)([+-].*)?$/.exec(text);
    return match ? { date: match[1], time: match[2], offset: match[3] } : undefined;
}

function refuseTemporal(kind: string, value: Exclude<SqliteValue, null>): never {
    throw new ValueRefused(`expected DuckDB's text of a ${kind} in years 1 to 9999, got ${describe(value)}`);
}

const dateCodec: Codec = {
    pgType: "date",
    encode(value) {
        const text = expectText(value);
        if (!INFINITIES.has(text) && epochDay(text) === undefined) {
            refuseTemporal("date", value);
        }
        return { copy: text, canonical: text };
    },
    canonicalSql: asText,
};

/** timestamp, timestamp_s and timestamp_ms: DuckDB's text, at most microsecond precision, read by PG as is. */
const timestampCodec: Codec = {
    pgType: "timestamp without time zone",
    encode(value) {
        const text = expectText(value);
        if (INFINITIES.has(text)) {
            return { copy: text, canonical: text };
        }
        const parts = splitTimestamp(text);
        const micros = parts && !parts.offset ? timeOfDay(parts.time, false) : undefined;
        if (!parts || micros === undefined || epochDay(parts.date) === undefined) {
            refuseTemporal("timestamp", value);
        }
        const canonical = `${parts.date} ${formatTimeOfDay(micros)}`;
        return { copy: canonical, canonical };
    },
    canonicalSql: asText,
};

/**
 * timestamptz: SQLite holds DuckDB's text with the writer's offset (tables created at <= 0.3 cast in the session
 * time zone, e.g. `+05:30`) or with `+00` (from 0.4 DuckLake sends `Value::ToString()`, which is UTC). DuckLake's
 * PG backend stores the UTC text (DL-1.5, varchar) or the instant (DL-1.3/1.4, timestamptz); either way the
 * canonical text is the instant in UTC, as PG prints it with TimeZone 'UTC'.
 */
function timestamptzCodec(pgType: "timestamp with time zone" | "character varying"): Codec {
    return {
        pgType,
        encode(value) {
            const text = expectText(value);
            // The same canonical text as the catalog's own timestamptz columns, which the digest compares.
            const canonical = INFINITIES.has(text) ? text : canonicalTimestamptz(text);
            if (canonical === undefined) {
                refuseTemporal("timestamptz", value);
            }
            return { copy: canonical, canonical };
        },
        canonicalSql: asText,
    };
}

const timeCodec: Codec = {
    pgType: "time without time zone",
    encode(value) {
        const micros = timeOfDay(expectText(value), true);
        if (micros === undefined) {
            throw new ValueRefused(`expected DuckDB's text of a time, got ${describe(value)}`);
        }
        const text = formatTimeOfDay(micros);
        return { copy: text, canonical: text };
    },
    canonicalSql: asText,
};

const timetzCodec: Codec = {
    pgType: "time with time zone",
    encode(value) {
        const text = expectText(value);
        const split = /^([0-9:.]+)([+-].*)$/.exec(text);
        const micros = split ? timeOfDay(split[1], true) : undefined;
        const offset = split ? offsetSeconds(split[2]) : undefined;
        if (micros === undefined || offset === undefined) {
            throw new ValueRefused(`expected DuckDB's text of a time with time zone, got ${describe(value)}`);
        }
        const canonical = formatTimeOfDay(micros) + formatOffset(offset);
        return { copy: canonical, canonical };
    },
    canonicalSql: asText,
};

// ---------------------------------------------------------------------------------------------------------------
// Interval

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * DuckDB's interval text (IntervalToStringCast::Format in duckdb's string_cast): `[N year[s]] [N month[s]]
 * [N day[s]] [-]H+:MM:SS[.ffffff]`, or `00:00:00` for zero. PostgreSQL has the same three fields (months, days,
 * microseconds), so the value is carried as those numbers, as DL-1.5 itself sends it
 * (`CAST('<m> months <d> days <us> microseconds' AS INTERVAL)`, ducklake_util.cpp:153-157 @ v1.5-variegata).
 */
function parseInterval(text: string): { months: bigint; days: bigint; micros: bigint } | undefined {
    const tokens = text.split(" ");
    let months = 0n;
    let days = 0n;
    let micros = 0n;
    let i = 0;
    const units: [RegExp, (n: bigint) => void][] = [
        [/^years?$/, (n) => (months += n * 12n)],
        [/^months?$/, (n) => (months += n)],
        [/^days?$/, (n) => (days += n)],
    ];
    for (const [unit, add] of units) {
        if (i + 1 < tokens.length && /^-?[1-9][0-9]*$/.test(tokens[i]) && unit.test(tokens[i + 1])) {
            add(BigInt(tokens[i]));
            i += 2;
        }
    }
    if (i < tokens.length) {
        const time = /^(-?)([0-9]{2,}):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,6}))?$/.exec(tokens[i]);
        if (!time || i + 1 !== tokens.length) {
            return undefined;
        }
        const magnitude =
            ((BigInt(time[2]) * 60n + BigInt(time[3])) * 60n + BigInt(time[4])) * 1_000_000n +
            BigInt((time[5] ?? "").padEnd(6, "0"));
        micros = time[1] === "-" ? -magnitude : magnitude;
    } else if (i === 0) {
        return undefined;
    }
    const fits =
        months >= INT32_MIN &&
        months <= INT32_MAX &&
        days >= INT32_MIN &&
        days <= INT32_MAX &&
        micros >= INT64_MIN &&
        micros <= INT64_MAX;
    return fits ? { months, days, micros } : undefined;
}

const intervalCodec: Codec = {
    pgType: "interval",
    encode(value) {
        const interval = parseInterval(expectText(value));
        if (!interval) {
            throw new ValueRefused(`expected DuckDB's text of an interval, got ${describe(value)}`);
        }
        const text = `${interval.months} months ${interval.days} days ${interval.micros} microseconds`;
        return { copy: text, canonical: text };
    },
    // The fields back out of PostgreSQL exactly: year/month are the month field split with truncation, and
    // hour, minute and microseconds (seconds included) split the time field the same way.
    canonicalSql: (column) =>
        `(extract(year from ${column}) * 12 + extract(month from ${column}))::bigint || ' months ' || ` +
        `extract(day from ${column})::bigint || ' days ' || (extract(hour from ${column}) * 3600000000 + ` +
        `extract(minute from ${column}) * 60000000 + extract(microseconds from ${column}))::bigint || ' microseconds'`,
};

// ---------------------------------------------------------------------------------------------------------------
// The per-type rules

const INT8 = [-(2n ** 7n), 2n ** 7n - 1n] as const;
const INT16 = [-(2n ** 15n), 2n ** 15n - 1n] as const;
const INT32 = [INT32_MIN, INT32_MAX] as const;
const INT64 = [INT64_MIN, INT64_MAX] as const;
const UINT8 = [0n, 2n ** 8n - 1n] as const;
const UINT16 = [0n, 2n ** 16n - 1n] as const;
const UINT32 = [0n, 2n ** 32n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;
const INT128 = [-(2n ** 127n), 2n ** 127n - 1n] as const;
const UINT128 = [0n, 2n ** 128n - 1n] as const;

const float32Codec = floatCodec("real", toFloat32);
const float64Codec = floatCodec("double precision", (source) => source);
const varcharText = verbatimCodec("character varying");

/** DL-1.3 never inlined on PostgreSQL or SQLite in a supported way (DuckDB 1.3.2 refuses DATA_INLINING_ROW_LIMIT
 * at ATTACH on both: "Data inlining is currently only supported on DuckDB catalogs"; only a `set_option`
 * workaround, duckdb/ducklake#293, after which DuckDB 1.3.2 on PostgreSQL stores an inlined hugeint as a double
 * and reads 5 back as NULL or as the double's bits, 4617315517961601024),
 * and its DDL went through the postgres scanner. These are its types that lose or break data. */
const SCANNER_REFUSALS = {
    int128: "the postgres scanner of DuckDB 1.3 maps int128 to double precision, which loses digits",
    timestamp_ns: "the postgres scanner of DuckDB 1.3 maps timestamp_ns to a microsecond timestamp, which loses digits",
    struct: "the postgres scanner of DuckDB 1.3 cannot create a column for an unnamed struct",
    list:
        "the postgres scanner of DuckDB 1.3 maps a list to a PostgreSQL array of its child type, whose children " +
        "are not known here",
    map: "the postgres scanner of DuckDB 1.3 stores a map as the text of a DuckDB re-cast, not as the SQLite text",
};

/**
 * The rule for each DuckLake type per release line: the PostgreSQL type that line gives an inlined user column.
 * - DL-1.5 writes 0.4, 1.0 and (main) 1.1-dev1: postgres_metadata_manager.cpp:14-78 @ v1.5-variegata.
 * - DL-1.4 writes 0.3; its PG layout from 8bc4ac55 (2025-12-22) on: postgres_metadata_manager.cpp:13-45 @ v1.4-andium.
 * - DL-1.3 writes 0.1 and 0.2: the postgres scanner's CREATE TABLE of DuckDB's type names.
 */
const RULES: Record<string, Record<ReleaseLine, Rule>> = {
    boolean: { "DL-1.3": booleanCodec, "DL-1.4": booleanCodec, "DL-1.5": booleanCodec },
    // TINYINT -> SMALLINT in every line (GetColumnTypeInternal; the scanner's ToPostgresType on DL-1.3).
    int8: same(integerCodec("smallint", ...INT8)),
    int16: same(integerCodec("smallint", ...INT16)),
    int32: same(integerCodec("integer", ...INT32)),
    int64: same(integerCodec("bigint", ...INT64)),
    // UTINYINT/USMALLINT -> INTEGER from DL-1.4 on; the DL-1.3 scanner widens every unsigned type to BIGINT.
    uint8: {
        "DL-1.3": integerCodec("bigint", ...UINT8),
        "DL-1.4": integerCodec("integer", ...UINT8),
        "DL-1.5": integerCodec("integer", ...UINT8),
    },
    uint16: {
        "DL-1.3": integerCodec("bigint", ...UINT16),
        "DL-1.4": integerCodec("integer", ...UINT16),
        "DL-1.5": integerCodec("integer", ...UINT16),
    },
    uint32: same(integerCodec("bigint", ...UINT32)),
    // UBIGINT, HUGEINT, UHUGEINT are not native from DL-1.4 on (VARCHAR); the DL-1.3 scanner has UBIGINT ->
    // DECIMAL(20,0), HUGEINT -> DOUBLE (lossy) and UHUGEINT -> VARCHAR.
    uint64: {
        "DL-1.3": integerTextCodec("numeric(20,0)", ...UINT64),
        "DL-1.4": integerTextCodec("character varying", ...UINT64),
        "DL-1.5": integerTextCodec("character varying", ...UINT64),
    },
    int128: {
        "DL-1.3": { refuse: SCANNER_REFUSALS.int128 },
        "DL-1.4": integerTextCodec("character varying", ...INT128),
        "DL-1.5": integerTextCodec("character varying", ...INT128),
    },
    uint128: same(integerTextCodec("character varying", ...UINT128)),
    // FLOAT -> REAL on DL-1.5 and the DL-1.3 scanner, but DL-1.4 leaves the DuckDB name FLOAT, i.e. float8.
    float32: { "DL-1.3": float32Codec, "DL-1.4": float32AsDoubleCodec, "DL-1.5": float32Codec },
    float64: same(float64Codec),
    // VARCHAR (and JSON, a VARCHAR alias) -> BYTEA on DL-1.5 so NUL bytes survive (4fa44051); native before.
    varchar: { "DL-1.3": varcharText, "DL-1.4": varcharText, "DL-1.5": byteaCodec("text or blob") },
    json: {
        "DL-1.3": verbatimCodec("json", checkJson),
        "DL-1.4": verbatimCodec("json", checkJson),
        "DL-1.5": byteaCodec("text or blob"),
    },
    blob: same(byteaCodec("blob")),
    uuid: same(uuidCodec),
    // DATE and every TIMESTAMP kind are VARCHAR on DL-1.5 ("Postgres timestamp/date ranges are narrower than
    // DuckDB's"): ToSQLString sends CAST('<Value::ToString()>' AS VARCHAR), the very text SQLite holds.
    date: { "DL-1.3": dateCodec, "DL-1.4": dateCodec, "DL-1.5": varcharText },
    timestamp: { "DL-1.3": timestampCodec, "DL-1.4": timestampCodec, "DL-1.5": varcharText },
    timestamp_us: { "DL-1.3": timestampCodec, "DL-1.4": timestampCodec, "DL-1.5": varcharText },
    // TIMESTAMP_SEC/MS/NS are not native from DL-1.4 on; the DL-1.3 scanner maps them to a microsecond timestamp.
    timestamp_s: { "DL-1.3": timestampCodec, "DL-1.4": varcharText, "DL-1.5": varcharText },
    timestamp_ms: { "DL-1.3": timestampCodec, "DL-1.4": varcharText, "DL-1.5": varcharText },
    timestamp_ns: { "DL-1.3": { refuse: SCANNER_REFUSALS.timestamp_ns }, "DL-1.4": varcharText, "DL-1.5": varcharText },
    timestamptz: {
        "DL-1.3": timestamptzCodec("timestamp with time zone"),
        "DL-1.4": timestamptzCodec("timestamp with time zone"),
        "DL-1.5": timestamptzCodec("character varying"),
    },
    time: same(timeCodec),
    timetz: same(timetzCodec),
    interval: same(intervalCodec),
    // Nested values are VARCHAR from DL-1.4 on, read back by DuckDB's cast of that text to the nested type.
    // DL-1.5 writes a list or map as Value::ToString() on both backends, the text SQLite holds. DL-1.4 writes SQL
    // literals on PostgreSQL (`['a', 'it''s']`) where SQLite got DuckDB's cast text (`[a, 'it\'s']`); its own
    // PostgreSQL text reads back wrong (`its`), the SQLite text through the same cast reads back exactly, so the
    // SQLite text is carried over. A DL-1.5 struct depends on its fields (see structFieldRefusal).
    list: { "DL-1.3": { refuse: SCANNER_REFUSALS.list }, "DL-1.4": varcharText, "DL-1.5": varcharText },
    map: { "DL-1.3": { refuse: SCANNER_REFUSALS.map }, "DL-1.4": varcharText, "DL-1.5": varcharText },
    struct: { "DL-1.3": { refuse: SCANNER_REFUSALS.struct }, "DL-1.4": varcharText, "DL-1.5": varcharText },
};

/**
 * DL-1.5 renders a struct field by field with a cast per field (ToSQLString). For these field types the cast
 * differs by backend: `CAST('2024-01-02' AS DATE)` on SQLite, `CAST('2024-01-02' AS VARCHAR)` on PostgreSQL
 * (`'…'::DATE` / `'…'::VARCHAR` on DuckDB 1.5.0), so the SQLite text is not what PostgreSQL would hold. Every other
 * field type is written identically on both backends.
 */
const STRUCT_FIELDS_CAST_DIFFERENTLY: Record<string, string> = {
    blob: "BLOB",
    date: "DATE",
    timestamp: "TIMESTAMP",
    timestamp_us: "TIMESTAMP",
    timestamp_s: "TIMESTAMP_S",
    timestamp_ms: "TIMESTAMP_MS",
    timestamp_ns: "TIMESTAMP_NS",
};

/** The refusal for a DL-1.5 struct with a field whose text differs between the backends, or is not known. Fields
 * are checked at any depth, inside lists and maps too (where DuckLake writes them without casts), to stay on the
 * side of what was seen written. At 1.0 (DuckDB 1.5.5's `CAST(… AS DATE)` form) DuckLake cannot read a date or
 * timestamp field back from SQLite either, so the usual fix, a flush, fails there too; the message says so. */
function structFieldRefusal(fields: readonly InlinedField[], specVersion: string): string | undefined {
    for (const field of fields) {
        const type = field.duckdbType.toLowerCase();
        const known = Object.hasOwn(RULES, type) || DECIMAL_TYPE.test(type);
        const cast = Object.hasOwn(STRUCT_FIELDS_CAST_DIFFERENTLY, type)
            ? STRUCT_FIELDS_CAST_DIFFERENTLY[type]
            : undefined;
        if (cast !== undefined) {
            const unreadable =
                specVersion === "1.0" && type !== "blob"
                    ? '; DuckLake 1.0 cannot read such a field back from SQLite either ("Failed to read inlined data"), ' +
                      "so the flush below fails as well until DuckLake reads its own struct text"
                    : "";
            return (
                `its field ${JSON.stringify(field.path)} (${field.duckdbType}) is written inside the struct text ` +
                `as a cast to ${cast} on SQLite but as a cast to VARCHAR on PostgreSQL, so the SQLite text is not ` +
                `what DuckLake would hold on PostgreSQL${unreadable}`
            );
        }
        if (!known) {
            return (
                `its field ${JSON.stringify(field.path)} has the type ${JSON.stringify(field.duckdbType)}, whose ` +
                "text inside a struct on PostgreSQL is not known"
            );
        }
    }
    return undefined;
}

function same(rule: Rule): Record<ReleaseLine, Rule> {
    return { "DL-1.3": rule, "DL-1.4": rule, "DL-1.5": rule };
}

/** Types DuckLake has but never inlines (on SQLite either), or whose PG DDL is broken: DuckLake on PostgreSQL fails
 * to commit a time_ns row. */
const UNSUPPORTED: Record<string, string> = {
    time_ns: "DuckLake's PostgreSQL backend creates it as TIME_NS, which is not a PostgreSQL type",
    variant: "DuckLake writes variant values to Parquet files and never inlines them",
    geometry: "DuckLake writes geometry values to Parquet files and never inlines them",
};

const DECIMAL_TYPE = /^decimal\(([0-9]+),([0-9]+)\)$/;

function ruleFor(duckdbType: string, line: ReleaseLine): Rule {
    // DuckLake writes these names in lower case and parses them case-insensitively (ducklake_types.cpp:53-58).
    const type = duckdbType.toLowerCase();
    const decimal = DECIMAL_TYPE.exec(type);
    if (decimal) {
        const [precision, scale] = [Number(decimal[1]), Number(decimal[2])];
        return precision >= 1 && precision <= 38 && scale <= precision
            ? decimalCodec(precision, scale)
            : { refuse: `${duckdbType} is not a DuckDB decimal (width 1 to 38, scale up to the width)` };
    }
    const rule = Object.hasOwn(RULES, type) ? RULES[type][line] : undefined;
    const known = Object.hasOwn(UNSUPPORTED, type) ? UNSUPPORTED[type] : undefined;
    return rule ?? { refuse: known ?? `${JSON.stringify(duckdbType)} is not a DuckLake column type` };
}

function flushFix(specVersion: string): string {
    const flush =
        "run `CALL ducklake_flush_inlined_data('<catalog alias>')` on the source with DuckDB, so the rows " +
        "move to Parquet files, then migrate again";
    // ducklake_flush_inlined_data does not exist on v1.3-ossivalis, the only line that writes 0.1 and 0.2. DuckDB
    // 1.4 upgrades such a catalog to 0.3 on a plain ATTACH (it has no AUTOMATIC_MIGRATION option), while DuckDB 1.5
    // fails to upgrade a 0.2 SQLite catalog (its migration needs an ALTER that SQLite lacks): the real-DuckLake
    // upgrade test runs exactly this path.
    return RELEASE_LINE_BY_SPEC[specVersion] === "DL-1.3"
        ? `attach the source once with DuckDB 1.4 (a plain ATTACH upgrades it to spec 0.3; DuckDB 1.5 cannot upgrade ` +
              `it), then ${flush}`
        : flush;
}

function refusal(
    table: string,
    column: string,
    duckdbType: string,
    problem: string,
    specVersion: string,
): MigrationError {
    return new MigrationError(
        `inlined data table ${table}, column ${JSON.stringify(column)} (${duckdbType}): ${problem}. ` +
            `Fix: ${flushFix(specVersion)}.`,
    );
}

/**
 * Plans the user columns of one inlined data table of a catalog at `specVersion`: their PostgreSQL types and value
 * encodings, as DuckLake's PostgreSQL backend of the release line that writes that version would have them.
 * Throws MigrationError for a column that cannot be mapped with certainty; the encoders throw it for a value.
 */
export function planInlinedDataTable(args: {
    table: string;
    specVersion: string;
    /** `fields`: every field below a nested column, at any depth. */
    columns: { name: string; duckdbType: string; fields?: readonly InlinedField[] }[];
}): InlinedColumnPlan[] {
    const { table, specVersion } = args;
    const line = Object.hasOwn(RELEASE_LINE_BY_SPEC, specVersion) ? RELEASE_LINE_BY_SPEC[specVersion] : undefined;
    if (line === undefined) {
        throw new MigrationError(
            `inlined data table ${table}: spec version ${JSON.stringify(specVersion)} has no known PostgreSQL layout ` +
                `for inlined data (known: ${Object.keys(RELEASE_LINE_BY_SPEC).join(", ")}). Fix: attach the source with ` +
                "DuckDB and AUTOMATIC_MIGRATION TRUE to upgrade it to a released version, then migrate again.",
        );
    }
    return args.columns.map(({ name, duckdbType, fields = [] }) => {
        const fail = (problem: string) => refusal(table, name, duckdbType, problem, specVersion);
        // A longer name PostgreSQL would truncate. DuckDB 1.5.5's DuckLake writes the rows of such a column to
        // Parquet on PostgreSQL (`MaxIdentifierLength() = 63`, compared in bytes); DuckDB 1.4.4 and 1.5.0 inline
        // them under the truncated name and then fail to read them ("Referenced column … not found").
        if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
            throw fail(
                `the name is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte identifier limit, so ` +
                    "PostgreSQL would truncate it (DuckLake writes such a column's rows to Parquet files on PostgreSQL, " +
                    "or, before DuckDB 1.5.5, inlines them under the truncated name and cannot read them back)",
            );
        }
        const rule = ruleFor(duckdbType, line);
        const cannotHold = (problem: string) =>
            fail(`DuckLake ${specVersion} on PostgreSQL cannot hold this type faithfully: ${problem}`);
        if ("refuse" in rule) {
            throw cannotHold(rule.refuse);
        }
        const fieldProblem =
            duckdbType.toLowerCase() === "struct" && line === "DL-1.5"
                ? structFieldRefusal(fields, specVersion)
                : undefined;
        if (fieldProblem !== undefined) {
            throw cannotHold(fieldProblem);
        }
        const encode = (value: Exclude<SqliteValue, null>): Encoded => {
            try {
                return rule.encode(value);
            } catch (error) {
                if (error instanceof ValueRefused) {
                    throw fail(`cannot encode a value: ${error.message}`);
                }
                throw error;
            }
        };
        return {
            name,
            pgType: rule.pgType,
            encode: (value) => (value === null ? null : encode(value)),
            canonicalSql: (column) => rule.canonicalSql(column),
        };
    });
}
