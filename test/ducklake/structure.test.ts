/**
 * Ground truth for the migrated schema's structure: for every real DuckDB line, DuckLake itself creates its catalog
 * in an empty PostgreSQL schema, inlined tables included, and the same history written to SQLite and moved by the
 * stack's migrate command must give exactly the same structure: tables, column order, types (format_type), NOT NULL,
 * defaults, constraints with their names, indexes, sequences, views and routines; and the same metadata keys.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
    attachPostgresSql,
    attachSqliteSql,
    DUCKLAKE_LINES,
    type DuckLakeLine,
    runDuckLake,
} from "../support/ducklake";
import { runStackMigration } from "../migrate/support";

/** Every DuckDB type DuckLake inlines on PostgreSQL on every line that inlines there, with a value of each. */
const INLINED_COLUMNS: readonly [name: string, type: string, value: string][] = [
    ["c_bool", "BOOLEAN", "true"],
    ["c_int8", "TINYINT", "-5"],
    ["c_int16", "SMALLINT", "300"],
    ["c_int32", "INTEGER", "70000"],
    ["c_int64", "BIGINT", "9000000000"],
    ["c_uint8", "UTINYINT", "200"],
    ["c_uint16", "USMALLINT", "60000"],
    ["c_uint32", "UINTEGER", "4000000000"],
    ["c_uint64", "UBIGINT", "18000000000000000000"],
    ["c_int128", "HUGEINT", "-170141183460469231731687303715884105728"],
    ["c_uint128", "UHUGEINT", "340282366920938463463374607431768211455"],
    ["c_float32", "FLOAT", "1.5"],
    ["c_float64", "DOUBLE", "2.25"],
    ["c_decimal", "DECIMAL(18,3)", "12.345"],
    ["c_decimal38", "DECIMAL(38,10)", "-1.5"],
    ["c_varchar", "VARCHAR", "'hello'"],
    ["c_json", "JSON", "'{\"a\": 1}'"],
    // Printable bytes only: DuckLake 1.4 sends a blob as DuckDB's escaped text, which PostgreSQL rejects for
    // other bytes (see inlined.test.ts in this folder).
    ["c_blob", "BLOB", "'abc'::BLOB"],
    ["c_uuid", "UUID", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"],
    ["c_date", "DATE", "'2024-01-02'"],
    ["c_timestamp", "TIMESTAMP", "'2024-01-02 03:04:05.123456'"],
    ["c_timestamp_s", "TIMESTAMP_S", "'2024-01-02 03:04:05'"],
    ["c_timestamp_ms", "TIMESTAMP_MS", "'2024-01-02 03:04:05.123'"],
    ["c_timestamp_ns", "TIMESTAMP_NS", "'2024-01-02 03:04:05.123456789'"],
    ["c_timestamptz", "TIMESTAMPTZ", "'2024-01-02 03:04:05+00'"],
    ["c_time", "TIME", "'03:04:05'"],
    ["c_timetz", "TIMETZ", "'03:04:05+02'"],
    ["c_interval", "INTERVAL", "INTERVAL 3 DAY"],
    ["c_list", "INTEGER[]", "[1, 2, NULL]"],
    ["c_struct", "STRUCT(a INTEGER, b VARCHAR)", "{'a': 1, 'b': 'x'}"],
    ["c_map", "MAP(VARCHAR, INTEGER)", "MAP {'k': 1}"],
];

/**
 * One catalog history touching every catalog table DuckLake fills lazily: several schemas, tables and a view, rows
 * in Parquet files and inlined, deletes of both, a partitioned table, table and column comments (tags), a column
 * added and renamed, a table dropped.
 */
function history(line: DuckLakeLine): string[] {
    const inlines = line.spec !== "0.2";
    const columns = INLINED_COLUMNS.map(([name, type]) => `${name} ${type}`).join(", ");
    const values = INLINED_COLUMNS.map(([, , value]) => value).join(", ");
    return [
        "CREATE SCHEMA lake.s2",
        "CREATE TABLE lake.files (id INTEGER, name VARCHAR)",
        "INSERT INTO lake.files SELECT i, 'row ' || i FROM range(100) t(i)",
        "DELETE FROM lake.files WHERE id < 10",
        "ALTER TABLE lake.files ADD COLUMN extra DOUBLE",
        "ALTER TABLE lake.files RENAME COLUMN name TO label",
        "ALTER TABLE lake.files SET PARTITIONED BY (id)",
        "INSERT INTO lake.files SELECT i, 'p', 0.5 FROM range(200, 220) t(i)",
        "COMMENT ON TABLE lake.files IS 'a table'",
        "COMMENT ON COLUMN lake.files.label IS 'a column'",
        "CREATE VIEW lake.s2.v AS SELECT 1 AS one",
        "CREATE TABLE lake.s2.dropped (x INTEGER)",
        "DROP TABLE lake.s2.dropped",
        ...(inlines
            ? [
                  `CREATE TABLE lake.inlined (${columns})`,
                  `INSERT INTO lake.inlined VALUES (${values})`,
                  `INSERT INTO lake.inlined (c_int32) VALUES (1), (2)`,
                  "DELETE FROM lake.inlined WHERE c_int32 = 1",
                  "DELETE FROM lake.files WHERE id = 50",
              ]
            : []),
    ];
}

/** Whether a line inlines on PostgreSQL at all: DuckLake 0.2 refuses DATA_INLINING_ROW_LIMIT on a non-DuckDB catalog. */
function inliningOption(line: DuckLakeLine): string[] {
    return line.spec === "0.2" ? [] : ["DATA_INLINING_ROW_LIMIT 10"];
}

interface Structure {
    /** table → "column type [NOT NULL] [DEFAULT …]" in column order. */
    tables: Record<string, string[]>;
    /** "table constraint-name definition", sorted. */
    constraints: string[];
    /** "index-name definition" with the schema name removed, sorted. */
    indexes: string[];
    /** Every other object in the schema: "kind name" (sequences, views, routines, types), sorted. */
    otherObjects: string[];
}

async function structure(client: Client, schema: string): Promise<Structure> {
    const columns = await client.query<{ relname: string; column: string }>(
        "SELECT c.relname, a.attname || ' ' || format_type(a.atttypid, a.atttypmod) " +
            "|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END " +
            "|| coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS column " +
            "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped " +
            "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum " +
            "WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum",
        [schema],
    );
    const tables: Record<string, string[]> = {};
    for (const row of columns.rows) {
        (tables[row.relname] ??= []).push(row.column);
    }
    const constraints = await client.query<{ text: string }>(
        "SELECT c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) AS text " +
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE k.connamespace = $1::regnamespace " +
            "ORDER BY 1",
        [schema],
    );
    const indexes = await client.query<{ text: string }>(
        "SELECT indexname || ' ' || replace(indexdef, quote_ident(schemaname) || '.', '') AS text " +
            "FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
        [schema],
    );
    const others = await client.query<{ text: string }>(
        "SELECT relkind::text || ' ' || relname AS text FROM pg_class " +
            "WHERE relnamespace = $1::regnamespace AND relkind NOT IN ('r', 'p', 'i') " +
            "UNION ALL SELECT 'routine ' || proname FROM pg_proc WHERE pronamespace = $1::regnamespace " +
            "UNION ALL SELECT 'type ' || typname FROM pg_type t WHERE typnamespace = $1::regnamespace " +
            "AND NOT EXISTS (SELECT FROM pg_class c WHERE c.reltype = t.oid) AND typelem = 0 " +
            "ORDER BY 1",
        [schema],
    );
    return {
        tables,
        constraints: constraints.rows.map((row) => row.text),
        indexes: indexes.rows.map((row) => row.text),
        otherObjects: others.rows.map((row) => row.text),
    };
}

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("structure");
    dir = mkdtempSync(path.join(tmpdir(), "ducklake-structure-"));
});

afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
});

describe.each(DUCKLAKE_LINES)("DuckDB $duckdb (spec $spec)", (line) => {
    const tag = line.duckdb.replaceAll(".", "_");
    const truth = `truth_${tag}`;
    const migrated = `migrated_${tag}`;
    // Without the trailing slash: DuckLake adds it to the data_path it records, on both backends alike.
    const data = () => path.join(dir, `data-${tag}`);

    beforeAll(async () => {
        await db.admin.query(`CREATE SCHEMA ${truth} AUTHORIZATION ${db.role}`);
        await runDuckLake(line, [
            attachPostgresSql("lake", db.env, truth, data(), inliningOption(line)),
            ...history(line),
        ]);
        const sqlite = path.join(dir, `lake-${tag}.sqlite`);
        await runDuckLake(line, [attachSqliteSql("lake", sqlite, data(), inliningOption(line)), ...history(line)]);
        const result = await runStackMigration(sqlite, migrated, db.env);
        if (result.code !== 0) {
            throw new Error(`migrate failed (exit ${result.code}): ${result.stderr}`);
        }
    });

    it("the migrated schema has exactly the structure DuckLake creates on PostgreSQL", async () => {
        const expected = await structure(db.admin, truth);
        expect(Object.keys(expected.tables)).toContain("ducklake_snapshot");
        expect(await structure(db.admin, migrated)).toEqual(expected);
    });

    it.runIf(line.spec !== "0.2")("DuckLake created the inlined tables the comparison relies on", async () => {
        const inlined = await db.admin.query<{ relname: string }>(
            "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relname LIKE 'ducklake_inlined%' " +
                "ORDER BY 1",
            [truth],
        );
        // One data table per table and schema version from the table's creation on, rows or not (files: 2_2 to
        // 2_5, the last for its partitioning; the dropped table: 5_9; the all-types table: 6_11), and from 0.4 on
        // a delete table for deletes of Parquet rows made while inlining is on.
        const tables = [
            "ducklake_inlined_data_2_2",
            "ducklake_inlined_data_2_3",
            "ducklake_inlined_data_2_4",
            "ducklake_inlined_data_2_5",
            "ducklake_inlined_data_5_9",
            "ducklake_inlined_data_6_11",
            "ducklake_inlined_data_tables",
        ];
        expect(inlined.rows.map((row) => row.relname)).toEqual(
            line.spec === "0.3" ? tables : [...tables, "ducklake_inlined_delete_2"],
        );
    });

    it("every catalog table holds as many rows as DuckLake's own", async () => {
        const counts = async (schema: string) => {
            const tables = await db.admin.query<{ relname: string }>(
                "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r' ORDER BY 1",
                [schema],
            );
            const result: Record<string, number> = {};
            for (const { relname } of tables.rows) {
                const count = await db.admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.${relname}`);
                result[relname] = Number(count.rows[0].n);
            }
            return result;
        };
        expect(await counts(migrated)).toEqual(await counts(truth));
    });

    it("the metadata rows are DuckLake's, values included", async () => {
        const query = (schema: string) =>
            db.admin.query<{ key: string; value: string; scope: string | null }>(
                `SELECT key, value, scope, scope_id FROM ${schema}.ducklake_metadata ORDER BY key, scope`,
            );
        const [expected, actual] = [await query(truth), await query(migrated)];
        expect(expected.rows.find((row) => row.key === "data_path")?.value).toBe(data() + "/");
        expect(actual.rows).toEqual(expected.rows);
    });

    const inlinesByDefault = line.spec === "1.0" || line.spec === "0.4";
    it(`inlines by default, without DATA_INLINING_ROW_LIMIT: ${inlinesByDefault ? "yes" : "no"}`, async () => {
        const results = await runDuckLake(line, [
            attachSqliteSql("lake", path.join(dir, `default-${tag}.sqlite`), data()),
            "CREATE TABLE lake.t (i INTEGER)",
            "INSERT INTO lake.t VALUES (1)",
            "SELECT count(*) FROM __ducklake_metadata_lake.ducklake_data_file",
        ]);
        expect(results.at(-1)?.rows).toEqual([[inlinesByDefault ? "0" : "1"]]);
    });
});
