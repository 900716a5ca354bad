/**
 * The canonical line of a row, shared by both sides of the verification: the fields in table column order, each as
 * the text PostgreSQL outputs for the typed value (TimeZone UTC, DateStyle ISO, booleans t/f), escaped as in COPY
 * text format, NULL as `\N`, joined by tabs.
 *
 * On the source side, SQLite builds the COPY line itself (string work in C, many rows per call). For bigint,
 * varchar, boolean and uuid columns that line already is the canonical line; timestamptz text keeps the writer's
 * offset in the COPY line (PostgreSQL parses it) and, unless it already is PostgreSQL's UTC output, is normalised
 * to UTC here, independently, for the digest.
 */
import { isCalendarDate, pad } from "./calendar";
import type { CoreType } from "./catalogSpec";
import { quoteIdentifier, sqlString } from "./sqlText";

export const COPY_NULL = "\\N";

function sqliteEscaped(column: string): string {
    const escaped =
        `replace(replace(replace(replace(${column}, '\\', '\\\\'), char(10), '\\n'), char(13), '\\r'), ` +
        "char(9), '\\t')";
    // Most values need no escaping. JSON quoting adds bytes for every backslash and control character (and for a
    // double quote, which only costs the slower branch), in one plain loop of C: cheaper than the four replace()
    // copies, and than a GLOB for the characters, which costs three times as much on values of 150 characters.
    // NULL is tested first, which spares it the JSON quoting (into the text null) and then the replace() branch.
    return (
        `CASE WHEN ${column} IS NULL OR octet_length(json_quote(${column})) = octet_length(${column}) + 2 ` +
        `THEN ${column} ELSE ${escaped} END`
    );
}

/**
 * The SQLite expression rendering one source column as its COPY text field. A value that does not fit the
 * PostgreSQL type is passed through as text, so that PostgreSQL rejects it or the verification finds it differs;
 * it is never silently turned into something else.
 */
function sqliteCopyField(table: string, column: string, pgType: CoreType): string {
    const quoted = quoteIdentifier(column);
    switch (pgType) {
        case "bigint":
            return `ifnull(${quoted}, '\\N')`;
        case "boolean":
            return `CASE ${quoted} WHEN 1 THEN 't' WHEN 0 THEN 'f' ELSE ifnull(${sqliteEscaped(quoted)}, '\\N') END`;
        case "uuid":
            // PostgreSQL prints UUIDs in lower case; DuckLake writes them so.
            return `ifnull(lower(${sqliteEscaped(quoted)}), '\\N')`;
        case "character varying":
        case "timestamp with time zone":
            // A blob in a text column would reach PostgreSQL as its raw bytes; refuse it instead.
            return (
                `CASE WHEN typeof(${quoted}) = 'blob' THEN lakehouse_refuse_blob(${sqlString(table)}, ${sqlString(column)}) ` +
                `ELSE ifnull(${sqliteEscaped(quoted)}, '\\N') END`
            );
    }
}

/** The SQLite expression for a whole COPY line of the given columns (concat_ws: one allocation per row). */
export function sqliteCopyLine(table: string, columns: readonly { name: string; pgType: CoreType }[]): string {
    return `concat_ws(char(9), ${columns.map((column) => sqliteCopyField(table, column.name, column.pgType)).join(", ")})`;
}

// PostgreSQL's UTC output of a timestamptz: hours 00-23, and a fraction of at most six digits without trailing zeros.
const UTC_DATE_TIME = "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]";
const UTC_OUTPUT_PATTERNS = [
    `${UTC_DATE_TIME}+00`,
    ...[1, 2, 3, 4, 5, 6].map((digits) => `${UTC_DATE_TIME}.${"[0-9]".repeat(digits - 1)}[1-9]+00`),
];

/**
 * The SQLite expression that is 0 when a timestamptz column is NULL or its text already is PostgreSQL's UTC output
 * of it (what DuckDB writes in a UTC session), so its COPY field is its canonical field; 1 when it needs
 * `canonicalTimestamptz`. A text of that form that PostgreSQL cannot read exactly so (February 30) is rejected by
 * COPY, or fails the verification: never copied unnoticed.
 */
export function sqliteNeedsCanonicalTimestamptz(column: string): string {
    const quoted = quoteIdentifier(column);
    const utcOutput = UTC_OUTPUT_PATTERNS.map((pattern) => `${quoted} GLOB '${pattern}'`).join(" OR ");
    return `CASE WHEN ${quoted} IS NULL OR (substr(${quoted}, 12, 2) < '24' AND (${utcOutput})) THEN 0 ELSE 1 END`;
}

/** The PostgreSQL expression rendering a typed column as its canonical field (never NULL). */
export function pgCanonicalField(column: string, pgType: CoreType): string {
    const quoted = quoteIdentifier(column);
    switch (pgType) {
        case "bigint":
        case "uuid":
        case "timestamp with time zone":
            return `coalesce(${quoted}::text, '\\N')`;
        case "boolean":
            // boolean::text gives true/false; COPY prints t/f.
            return `CASE WHEN ${quoted} THEN 't' WHEN NOT ${quoted} THEN 'f' ELSE '\\N' END`;
        case "character varying":
            return `coalesce(${pgCopyEscaped(quoted)}, '\\N')`;
    }
}

/** A PostgreSQL expression escaping a text expression as in COPY text format. */
export function pgCopyEscaped(expression: string): string {
    return (
        `replace(replace(replace(replace(${expression}, '\\', '\\\\'), E'\\n', '\\n'), E'\\r', '\\r'), ` +
        "E'\\t', '\\t')"
    );
}

export function copyEscape(text: string): string {
    return text.replace(/[\\\n\r\t]/g, (character) => COPY_ESCAPES[character]);
}

const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// What DuckDB writes when it casts TIMESTAMPTZ to VARCHAR: `YYYY-MM-DD HH:MM:SS[.f{1,6}]±HH[:MM[:SS]]`.
const TIMESTAMPTZ =
    /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-])(\d{2})(?::(\d{2})(?::(\d{2}))?)?$/;

/**
 * The canonical (UTC, PostgreSQL ISO output) text of a timestamptz written by DuckDB, e.g.
 * `2025-10-24 14:49:58.0119+05:30` → `2025-10-24 09:19:58.0119+00`; undefined for anything else, which the caller
 * refuses rather than guess at.
 */
export function canonicalTimestamptz(text: string): string | undefined {
    const match = TIMESTAMPTZ.exec(text);
    if (!match) {
        return undefined;
    }
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
    const [offsetHours, offsetMinutes, offsetSecondsPart] = [
        Number(match[9]),
        Number(match[10] ?? 0),
        Number(match[11] ?? 0),
    ];
    const offsetSeconds = (match[8] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60 + offsetSecondsPart);
    const valid =
        isCalendarDate(year, month, day) &&
        hour <= 23 &&
        minute <= 59 &&
        second <= 59 &&
        offsetHours <= 15 &&
        offsetMinutes <= 59 &&
        offsetSecondsPart <= 59;
    if (!valid) {
        return undefined;
    }
    const instant = new Date(0);
    instant.setUTCFullYear(year, month - 1, day);
    instant.setUTCHours(hour, minute, second - offsetSeconds, 0);
    const utcYear = instant.getUTCFullYear();
    if (utcYear < 1 || utcYear > 9999) {
        return undefined;
    }
    // PostgreSQL prints the fraction without trailing zeros, and none at all when it is zero.
    const fraction = (match[7] ?? "").replace(/0+$/, "").replace(/^\.$/, "");
    return (
        `${pad(utcYear, 4)}-${pad(instant.getUTCMonth() + 1, 2)}-${pad(instant.getUTCDate(), 2)} ` +
        `${pad(instant.getUTCHours(), 2)}:${pad(instant.getUTCMinutes(), 2)}:${pad(instant.getUTCSeconds(), 2)}` +
        `${fraction}+00`
    );
}
