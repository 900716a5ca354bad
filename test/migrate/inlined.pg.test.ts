import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planInlinedDataTable, SqliteValue } from "../../migrate/inlined";

// Every value goes the real way: COPY text into a column of the planned PG type, then canonicalSql on PostgreSQL
// must give exactly what canonical() computes in JS from the SQLite value.

const MISSING_PG = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].filter((key) => !process.env[key]);

/** The engine's COPY text escaping: backslash, newline, CR and tab; NULL is \N. */
function copyField(text: string | null): string {
    return text === null
        ? "\\N"
        : text.replace(/[\\\n\r\t]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!);
}

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

/** SQLite values per DuckLake type, the way DuckLake leaves them in SQLite (text from DuckDB's casts). */
const CASES: Record<string, SqliteValue[]> = {
    boolean: [1n, 0n, null],
    int8: [-128n, 127n, 0n],
    int16: [-32768n, 32767n],
    int32: [-2147483648n, 2147483647n],
    int64: [-9223372036854775808n, 9223372036854775807n, 0n],
    uint8: [0n, 255n],
    uint16: [65535n],
    uint32: [4294967295n],
    uint64: ["18446744073709551615", "0"],
    uint128: ["340282366920938463463374607431768211455"],
    int128: ["-170141183460469231731687303715884105728", "170141183460469231731687303715884105727"],
    float32: [
        "0.1",
        "nan",
        "inf",
        "-inf",
        "-0.0",
        "3.4028235e+38",
        "1e-45",
        "16777216.0",
        0.1,
        0.10000000149011612,
        1.5,
        -2.5e-40,
        null,
    ],
    float64: [
        "0.30000000000000004",
        "nan",
        "inf",
        "-inf",
        "-0.0",
        "5e-324",
        "1.7976931348623157e+308",
        0.1 + 0.2,
        -0,
        Number.MAX_VALUE,
        Infinity,
    ],
    "decimal(18,3)": ["123.450", "-0.001", "0.000", "999999999999999.999", "-999999999999999.999"],
    "decimal(38,0)": ["99999999999999999999999999999999999999", "-1"],
    "decimal(4,4)": ["0.1234", "-0.0001"],
    varchar: [
        "",
        'it\'s "quoted"',
        "line\nbreak\r\ttab \\ backslash \\x41",
        "naïve ☃ 😀",
        "a\0b",
        null,
        enc("raw \u0000 bytes ü"),
    ],
    json: ['{"a": [1, 2.5, null]}', '"\\u0000"', "[]"],
    blob: [new Uint8Array([0, 1, 92, 120, 255]), new Uint8Array([]), enc("\\x00")],
    uuid: ["0195c4a1-0000-7000-8000-00000000abcd", "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"],
    date: ["2024-02-29", "0001-01-01", "9999-12-31", "infinity", "-infinity"],
    timestamp: ["2024-01-01 12:34:56", "2024-01-01 12:34:56.5", "0001-01-01 00:00:00.000001", "infinity"],
    timestamp_s: ["2024-01-01 12:34:56"],
    timestamp_ms: ["2024-01-01 12:34:56.123"],
    timestamp_ns: ["2024-01-01 12:34:56.123456789"],
    timestamptz: [
        "2024-01-01 12:34:56+00",
        "2025-10-24 14:49:58.011998+05:30",
        "2026-11-25 23:02:41.704962-05",
        "1900-01-01 00:00:00+00:53:28",
        "0001-01-01 00:30:00+00:00",
        "infinity",
        "-infinity",
    ],
    time: ["00:00:00", "12:34:56.5", "23:59:59.999999", "24:00:00"],
    timetz: ["12:34:56+00", "12:34:56.25+05:30", "00:00:00-15:59:59"],
    interval: [
        "00:00:00",
        "1 year 2 months 3 days 04:05:06.789",
        "-1 year -1 month",
        "1 day -00:00:00.000001",
        "-2562047788:00:54.775808",
        "2562047788:00:54.775807",
        "-178956970 years -8 months -2147483648 days",
    ],
    list: ["[1, 2, NULL]", "[a, 'b c']"],
    map: ["{k=v, 'x y'=1}"],
    struct: ["{'a': 1, 'b': 'it''s'}", "{'a': NULL, 'b': x}"],
};

const SPEC_VERSIONS = ["0.1", "0.3", "1.0"];

/** Types a release line refuses (tested for their messages in inlined.test.ts). */
const REFUSED: Record<string, string[]> = {
    "0.1": ["int128", "timestamp_ns", "list", "map", "struct"],
    "0.3": [],
    "1.0": [],
};

describe("inlined data user columns on real PostgreSQL", () => {
    const client = new Client();

    beforeAll(async () => {
        if (MISSING_PG.length > 0) {
            throw new Error(
                `PostgreSQL integration test needs ${MISSING_PG.join(", ")}; run it through ` +
                    "`bash scripts/with-postgres.sh npx vitest run test/migrate/inlined.pg.test.ts`",
            );
        }
        await client.connect();
        // The migration session's settings (agreed with the engine).
        await client.query(
            "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; " +
                "SET extra_float_digits = 1; CREATE SCHEMA inlined_test",
        );
    });

    afterAll(async () => {
        await client.end();
    });

    for (const specVersion of SPEC_VERSIONS) {
        const types = Object.keys(CASES).filter((type) => !REFUSED[specVersion].includes(type));
        // NUL cannot live in a PG text column: the bytea line keeps it, the text lines refuse it (unit tested).
        const hasNul = (value: SqliteValue) =>
            typeof value === "string" ? value.includes("\0") : value instanceof Uint8Array && value.includes(0);
        const valuesFor = (type: string) =>
            CASES[type].filter((value) => specVersion === "1.0" || type !== "varchar" || !hasNul(value));

        it.each(types)(
            `spec ${specVersion}: %s round-trips through COPY with canonicalSql = canonical`,
            async (type) => {
                const table = `t_${specVersion.replace(".", "_")}_${type.replace(/[^a-z0-9]/g, "_")}`;
                const [plan] = planInlinedDataTable({ table, specVersion, columns: [{ name: "v", duckdbType: type }] });
                const values = valuesFor(type);
                await client.query(`CREATE TABLE inlined_test.${table} (id integer, v ${plan.pgType})`);
                const lines = values.map((value, id) => `${id}\t${copyField(plan.encode(value)?.copy ?? null)}\n`);
                await pipeline(Readable.from(lines), client.query(copyFrom(`COPY inlined_test.${table} FROM STDIN`)));

                const { rows } = await client.query<{ c: string | null; t: string }>(
                    `SELECT ${plan.canonicalSql('"v"')} AS c, format_type(a.atttypid, a.atttypmod) AS t ` +
                        `FROM inlined_test.${table} JOIN pg_attribute a ON a.attrelid = 'inlined_test.${table}'::regclass ` +
                        "AND a.attname = 'v' ORDER BY id",
                );
                expect(rows.map((row) => row.c)).toEqual(values.map((value) => plan.encode(value)?.canonical ?? null));
                expect(rows[0].t).toBe(plan.pgType);
            },
        );
    }
});
