import { describe, expect, it } from "vitest";
import { MigrationError } from "../../migrate/errors";
import { planInlinedDataTable, SqliteValue } from "../../migrate/inlined";

const TABLE = "ducklake_inlined_data_3_7";
const FLUSH =
    "Fix: run `CALL ducklake_flush_inlined_data('<catalog alias>')` on the source with DuckDB, so the rows " +
    "move to Parquet files, then migrate again.";
const FLUSH_AFTER_UPGRADE =
    "Fix: attach the source once with DuckDB 1.4 (a plain ATTACH upgrades it to spec 0.3; " +
    "DuckDB 1.5 cannot upgrade it), then run `CALL ducklake_flush_inlined_data('<catalog alias>')` on the source " +
    "with DuckDB, so the rows move to Parquet files, then migrate again.";

function plan(specVersion: string, duckdbType: string, name = "v") {
    return planInlinedDataTable({ table: TABLE, specVersion, columns: [{ name, duckdbType }] })[0];
}

function encoded(specVersion: string, duckdbType: string, value: SqliteValue) {
    return plan(specVersion, duckdbType).encode(value) ?? { copy: null, canonical: null };
}

function refusalOf(action: () => unknown): string {
    try {
        action();
    } catch (error) {
        expect(error).toBeInstanceOf(MigrationError);
        return (error as Error).message;
    }
    throw new Error("expected a MigrationError");
}

describe("planInlinedDataTable: PG types per release line", () => {
    const TYPES = [
        "boolean",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int128",
        "uint128",
        "float32",
        "float64",
        "decimal(18,3)",
        "varchar",
        "json",
        "blob",
        "uuid",
        "date",
        "time",
        "timetz",
        "interval",
        "timestamp",
        "timestamp_us",
        "timestamp_s",
        "timestamp_ms",
        "timestamp_ns",
        "timestamptz",
        "list",
        "map",
        "struct",
    ];
    const typesOf = (specVersion: string) =>
        Object.fromEntries(
            TYPES.map((type) => {
                try {
                    return [type, plan(specVersion, type).pgType];
                } catch {
                    return [type, "refused"];
                }
            }),
        );

    it("0.4, 1.0, 1.1-dev1 and 1.1 get the DL-1.5 layout", () => {
        const expected = {
            boolean: "boolean",
            int8: "smallint",
            int16: "smallint",
            int32: "integer",
            int64: "bigint",
            uint8: "integer",
            uint16: "integer",
            uint32: "bigint",
            uint64: "character varying",
            int128: "character varying",
            uint128: "character varying",
            float32: "real",
            float64: "double precision",
            "decimal(18,3)": "numeric(18,3)",
            varchar: "bytea",
            json: "bytea",
            blob: "bytea",
            uuid: "uuid",
            date: "character varying",
            time: "time without time zone",
            timetz: "time with time zone",
            interval: "interval",
            timestamp: "character varying",
            timestamp_us: "character varying",
            timestamp_s: "character varying",
            timestamp_ms: "character varying",
            timestamp_ns: "character varying",
            timestamptz: "character varying",
            list: "character varying",
            map: "character varying",
            struct: "character varying",
        };
        expect(typesOf("0.4")).toEqual(expected);
        expect(typesOf("1.0")).toEqual(expected);
        expect(typesOf("1.1-dev1")).toEqual(expected);
        expect(typesOf("1.1")).toEqual(expected);
    });

    it("0.3 gets the DL-1.4 layout of 2025-12-22 on", () => {
        expect(typesOf("0.3")).toEqual({
            boolean: "boolean",
            int8: "smallint",
            int16: "smallint",
            int32: "integer",
            int64: "bigint",
            uint8: "integer",
            uint16: "integer",
            uint32: "bigint",
            uint64: "character varying",
            int128: "character varying",
            uint128: "character varying",
            float32: "double precision",
            float64: "double precision",
            "decimal(18,3)": "numeric(18,3)",
            varchar: "character varying",
            json: "json",
            blob: "bytea",
            uuid: "uuid",
            date: "date",
            time: "time without time zone",
            timetz: "time with time zone",
            interval: "interval",
            timestamp: "timestamp without time zone",
            timestamp_us: "timestamp without time zone",
            timestamp_s: "character varying",
            timestamp_ms: "character varying",
            timestamp_ns: "character varying",
            timestamptz: "timestamp with time zone",
            list: "character varying",
            map: "character varying",
            struct: "character varying",
        });
    });

    it("0.1 and 0.2 get the DL-1.3 postgres-scanner layout", () => {
        const expected = {
            boolean: "boolean",
            int8: "smallint",
            int16: "smallint",
            int32: "integer",
            int64: "bigint",
            uint8: "bigint",
            uint16: "bigint",
            uint32: "bigint",
            uint64: "numeric(20,0)",
            int128: "refused",
            uint128: "character varying",
            float32: "real",
            float64: "double precision",
            "decimal(18,3)": "numeric(18,3)",
            varchar: "character varying",
            json: "json",
            blob: "bytea",
            uuid: "uuid",
            date: "date",
            time: "time without time zone",
            timetz: "time with time zone",
            interval: "interval",
            timestamp: "timestamp without time zone",
            timestamp_us: "timestamp without time zone",
            timestamp_s: "timestamp without time zone",
            timestamp_ms: "timestamp without time zone",
            timestamp_ns: "refused",
            timestamptz: "timestamp with time zone",
            list: "refused",
            map: "refused",
            struct: "refused",
        };
        expect(typesOf("0.1")).toEqual(expected);
        expect(typesOf("0.2")).toEqual(expected);
    });

    it("keeps the columns in order with their names", () => {
        const columns = planInlinedDataTable({
            table: TABLE,
            specVersion: "1.0",
            columns: [
                { name: "b", duckdbType: "varchar" },
                { name: "a", duckdbType: "INT64" },
            ],
        });
        expect(columns.map((column) => [column.name, column.pgType])).toEqual([
            ["b", "bytea"],
            ["a", "bigint"],
        ]);
    });
});

describe("value encodings", () => {
    it("turns text into bytea of its UTF-8 bytes on the 1.0 line, NUL included", () => {
        expect(encoded("1.0", "varchar", "a\0é")).toEqual({ copy: "\\x6100c3a9", canonical: "6100c3a9" });
        expect(encoded("1.0", "json", "{}")).toEqual({ copy: "\\x7b7d", canonical: "7b7d" });
        expect(encoded("1.0", "varchar", new Uint8Array([0xff]))).toEqual({ copy: "\\xff", canonical: "ff" });
        expect(encoded("1.0", "varchar", "")).toEqual({ copy: "\\x", canonical: "" });
        expect(encoded("1.0", "varchar", null)).toEqual({ copy: null, canonical: null });
    });

    it("keeps float32 as real bit for bit, from REAL or from DuckDB's text", () => {
        expect(encoded("1.0", "float32", "0.1")).toEqual({ copy: "0.10000000149011612", canonical: "3dcccccd" });
        expect(encoded("0.1", "float32", 0.1)).toEqual({ copy: "0.10000000149011612", canonical: "3dcccccd" });
        expect(encoded("1.0", "float32", "-0.0")).toEqual({ copy: "-0", canonical: "80000000" });
        expect(encoded("1.0", "float32", "nan")).toEqual({ copy: "NaN", canonical: "nan" });
        expect(encoded("1.0", "float32", "-inf")).toEqual({ copy: "-Infinity", canonical: "ff800000" });
    });

    it("stores a 0.3 float32 as the double nearest to its shortest digits, as DL-1.4 sends them", () => {
        expect(encoded("0.3", "float32", 0.1)).toEqual({ copy: "0.1", canonical: "3fb999999999999a" });
        expect(encoded("0.3", "float32", 0.10000000149011612)).toEqual({ copy: "0.1", canonical: "3fb999999999999a" });
        expect(encoded("0.3", "float32", 3.4028234663852886e38).copy).toBe("3.4028235e+38");
    });

    it("keeps float64 bit for bit", () => {
        expect(encoded("1.0", "float64", 0.1 + 0.2)).toEqual({
            copy: "0.30000000000000004",
            canonical: "3fd3333333333334",
        });
        expect(encoded("1.0", "float64", "5e-324")).toEqual({ copy: "5e-324", canonical: "0000000000000001" });
        expect(encoded("1.0", "float64", "inf")).toEqual({ copy: "Infinity", canonical: "7ff0000000000000" });
    });

    it("moves every timestamptz to UTC text", () => {
        expect(encoded("1.0", "timestamptz", "2025-10-24 14:49:58.011998+05:30").copy).toBe(
            "2025-10-24 09:19:58.011998+00",
        );
        expect(encoded("0.3", "timestamptz", "2026-11-25 23:02:41.704962-05").copy).toBe(
            "2026-11-26 04:02:41.704962+00",
        );
        expect(encoded("1.0", "timestamptz", "2024-01-01 00:00:00.5+00").copy).toBe("2024-01-01 00:00:00.5+00");
    });

    it("copies DuckDB's date and timestamp text verbatim on the 1.0 line", () => {
        expect(encoded("1.0", "date", "5877642-06-25 (BC)").copy).toBe("5877642-06-25 (BC)");
        expect(encoded("1.0", "timestamp_ns", "2024-01-01 00:00:00.123456789").copy).toBe(
            "2024-01-01 00:00:00.123456789",
        );
    });

    it("carries intervals as months, days and microseconds", () => {
        expect(encoded("1.0", "interval", "1 year 2 months 3 days 04:05:06.789").copy).toBe(
            "14 months 3 days 14706789000 microseconds",
        );
        expect(encoded("1.0", "interval", "-1 day -00:00:01").copy).toBe("0 months -1 days -1000000 microseconds");
    });

    it("normalizes decimals to their scale", () => {
        expect(encoded("1.0", "decimal(9,2)", "-0.50").copy).toBe("-0.50");
        expect(encoded("1.0", "decimal(9,2)", "7").copy).toBe("7.00");
    });

    it("writes booleans as t/f", () => {
        expect(encoded("1.0", "boolean", 1n)).toEqual({ copy: "t", canonical: "true" });
        expect(encoded("1.0", "boolean", 0n)).toEqual({ copy: "f", canonical: "false" });
    });
});

describe("refusals", () => {
    it("refuses a column name PostgreSQL would truncate", () => {
        expect(refusalOf(() => plan("1.0", "int32", "x".repeat(64)))).toBe(
            `inlined data table ${TABLE}, column "${"x".repeat(64)}" (int32): the name is longer than PostgreSQL's ` +
                "63-byte identifier limit, so PostgreSQL would truncate it (DuckLake writes such a column's rows to " +
                "Parquet files on PostgreSQL, or, before DuckDB 1.5.5, inlines them under the truncated name and cannot " +
                `read them back). ${FLUSH}`,
        );
        expect(refusalOf(() => plan("1.0", "int32", "é".repeat(32)))).toContain("63-byte identifier limit");
        expect(plan("1.0", "int32", "x".repeat(63)).pgType).toBe("integer");
    });

    it("refuses an unknown spec version", () => {
        expect(refusalOf(() => plan("0.3-dev1", "int32"))).toBe(
            `inlined data table ${TABLE}: spec version "0.3-dev1" has no known PostgreSQL layout for inlined data ` +
                "(known: 0.1, 0.2, 0.3, 0.4, 1.0, 1.1-dev1, 1.1). Fix: attach the source with DuckDB and AUTOMATIC_MIGRATION " +
                "TRUE to upgrade it to a released version, then migrate again.",
        );
    });

    it("refuses types a line cannot hold", () => {
        const struct = (fields: { path: string; duckdbType: string }[]) => () =>
            planInlinedDataTable({
                table: TABLE,
                specVersion: "1.0",
                columns: [{ name: "v", duckdbType: "struct", fields }],
            });
        expect(
            refusalOf(
                struct([
                    { path: "s", duckdbType: "struct" },
                    { path: "s.d", duckdbType: "date" },
                ]),
            ),
        ).toBe(
            `inlined data table ${TABLE}, column "v" (struct): DuckLake 1.0 on PostgreSQL cannot hold this type ` +
                'faithfully: its field "s.d" (date) is written inside the struct text as a cast to DATE on SQLite but ' +
                "as a cast to VARCHAR on PostgreSQL, so the SQLite text is not what DuckLake would hold on PostgreSQL; " +
                'DuckLake 1.0 cannot read such a field back from SQLite either ("Failed to read inlined data"), so the ' +
                `flush below fails as well until DuckLake reads its own struct text. ${FLUSH}`,
        );
        expect(
            refusalOf(() =>
                planInlinedDataTable({
                    table: TABLE,
                    specVersion: "0.4",
                    columns: [{ name: "v", duckdbType: "struct", fields: [{ path: "b", duckdbType: "blob" }] }],
                }),
            ),
        ).toBe(
            `inlined data table ${TABLE}, column "v" (struct): DuckLake 0.4 on PostgreSQL cannot hold this type ` +
                'faithfully: its field "b" (blob) is written inside the struct text as a cast to BLOB on SQLite but ' +
                "as a cast to VARCHAR on PostgreSQL, so the SQLite text is not what DuckLake would hold on PostgreSQL. " +
                FLUSH,
        );
        expect(refusalOf(struct([{ path: "g", duckdbType: "geometry" }]))).toContain(
            'its field "g" has the type "geometry", whose text inside a struct on PostgreSQL is not known',
        );
        expect(
            struct([
                { path: "a", duckdbType: "int32" },
                { path: "l", duckdbType: "list" },
                { path: "l.element", duckdbType: "varchar" },
                { path: "d", duckdbType: "decimal(9,2)" },
            ])()[0].pgType,
        ).toBe("character varying");
        expect(refusalOf(() => plan("0.2", "int128"))).toBe(
            `inlined data table ${TABLE}, column "v" (int128): DuckLake 0.2 on PostgreSQL cannot hold this type ` +
                "faithfully: the postgres scanner of DuckDB 1.3 maps int128 to double precision, which loses digits. " +
                FLUSH_AFTER_UPGRADE,
        );
        expect(refusalOf(() => plan("1.0", "time_ns"))).toBe(
            `inlined data table ${TABLE}, column "v" (time_ns): DuckLake 1.0 on PostgreSQL cannot hold this type ` +
                "faithfully: DuckLake's PostgreSQL backend creates it as TIME_NS, which is not a PostgreSQL type. " +
                FLUSH,
        );
        expect(refusalOf(() => plan("1.0", "varchar(10)"))).toContain(
            'cannot hold this type faithfully: "varchar(10)" is not a DuckLake column type.',
        );
        expect(refusalOf(() => plan("1.0", "decimal(39,2)"))).toContain(
            "decimal(39,2) is not a DuckDB decimal (width 1 to 38, scale up to the width)",
        );
    });

    it("refuses values it cannot encode with certainty", () => {
        const valueRefusal = (specVersion: string, type: string, value: SqliteValue) =>
            refusalOf(() => plan(specVersion, type).encode(value));
        expect(valueRefusal("0.3", "varchar", "a\0b")).toBe(
            `inlined data table ${TABLE}, column "v" (varchar): cannot encode a value: the text contains a NUL ` +
                `character, which a PostgreSQL text column cannot store. ${FLUSH}`,
        );
        expect(valueRefusal("1.0", "float32", "16777217")).toBe(
            `inlined data table ${TABLE}, column "v" (float32): cannot encode a value: 16777217 lies exactly halfway ` +
                `between two float32 values. ${FLUSH}`,
        );
        expect(valueRefusal("1.0", "int8", 128n)).toBe(
            `inlined data table ${TABLE}, column "v" (int8): cannot encode a value: expected an INTEGER from -128 to ` +
                `127, got the INTEGER 128. ${FLUSH}`,
        );
        expect(valueRefusal("1.0", "boolean", "true")).toContain('expected the INTEGER 0 or 1, got the text "true"');
        expect(valueRefusal("1.0", "uint64", "18446744073709551616")).toContain(
            "expected a decimal integer from 0 to 18446744073709551615",
        );
        expect(valueRefusal("1.0", "float64", "constructor")).toContain("DuckDB's text of a float");
        expect(refusalOf(() => plan("1.0", "constructor"))).toContain('"constructor" is not a DuckLake column type');
        expect(valueRefusal("1.0", "float64", "1,5")).toContain(
            'expected a REAL or DuckDB\'s text of a float, got the text "1,5"',
        );
        expect(valueRefusal("1.0", "decimal(4,2)", "123.45")).toContain(
            'expected DuckDB\'s text of a decimal(4,2), got the text "123.45"',
        );
        expect(valueRefusal("0.3", "date", "0044-03-15 (BC)")).toContain(
            'expected DuckDB\'s text of a date in years 1 to 9999, got the text "0044-03-15 (BC)"',
        );
        expect(valueRefusal("0.3", "timestamp", "2024-02-30 00:00:00")).toContain("timestamp in years 1 to 9999");
        expect(valueRefusal("1.0", "timestamptz", "2024-01-01 00:00:00")).toContain("timestamptz in years 1 to 9999");
        expect(valueRefusal("1.0", "interval", "1 fortnight")).toContain("expected DuckDB's text of an interval");
        expect(valueRefusal("1.0", "uuid", "not-a-uuid")).toContain("expected a UUID");
        expect(valueRefusal("0.3", "json", "{")).toContain("the text is not valid JSON");
        expect(valueRefusal("0.3", "varchar", new Uint8Array([0xc3]))).toContain("the text is not valid UTF-8");
        expect(valueRefusal("1.0", "blob", "abc")).toContain('expected a BLOB, got the text "abc"');
    });
});
