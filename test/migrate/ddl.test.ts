/**
 * sql/ducklake/<version>.sql against the reference facts (test/fixtures/ducklake-schema.json) and, run as files on a
 * real PostgreSQL, against what the server reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    SCHEMA_PLACEHOLDER,
    SQL_DIR,
    loadCatalogSpec,
    parseCatalogDdl,
    supportedVersions,
} from "../../migrate/catalogSpec";
import { SPEC_VERSIONS, ducklakeSchema } from "../fixtures";
import { type TestDatabase, createTestDatabase } from "../support/postgres";
import { PRIMARY_KEYS, expectOnlyPrimaryKeys } from "./support";

it("there is one DDL file per spec version of the reference, and no other", () => {
    expect(supportedVersions()).toEqual([...SPEC_VERSIONS].sort());
});

describe.each(SPEC_VERSIONS)("sql/ducklake/%s.sql", (version) => {
    const spec = loadCatalogSpec(version);

    it("has the reference's tables, columns, column order and PostgreSQL types", () => {
        const expected = Object.entries(ducklakeSchema()[version]).map(([table, columns]) => [
            table,
            columns.map((column) => `${column.name} ${column.postgresType}`),
        ]);
        const actual = spec.tables.map((table) => [
            table.name,
            table.columns.map((column) => `${column.name} ${column.pgType}`),
        ]);
        expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    });

    it("declares NOT NULL only on ducklake_metadata key and value, and the five primary keys", () => {
        const notNull = spec.tables.flatMap((table) =>
            table.columns.filter((column) => column.notNull).map((column) => `${table.name}.${column.name}`),
        );
        expect(notNull).toEqual(["ducklake_metadata.key", "ducklake_metadata.value"]);
        const keys = spec.tables.flatMap((table) =>
            table.primaryKey ? [`${table.name} ${table.primaryKey.constraint} ${table.primaryKey.column}`] : [],
        );
        expect(keys.sort()).toEqual(
            Object.entries(PRIMARY_KEYS)
                .map(([table, column]) => `${table} ${table}_pkey ${column}`)
                .sort(),
        );
    });
});

describe("the parser", () => {
    it("rejects anything outside the controlled format", () => {
        expect(() => parseCatalogDdl("x", `CREATE TABLE ${SCHEMA_PLACEHOLDER}.t (\n    a integer\n);`)).toThrow(
            "sql/ducklake/x.sql: unexpected column definition: a integer",
        );
        expect(() => parseCatalogDdl("x", `CREATE INDEX i ON ${SCHEMA_PLACEHOLDER}.t (a);`)).toThrow(
            'sql/ducklake/x.sql: unexpected statement: CREATE INDEX i ON :"schema".t (a)',
        );
        expect(() =>
            parseCatalogDdl(
                "x",
                `CREATE TABLE ${SCHEMA_PLACEHOLDER}.t (\n    a bigint\n);\n` +
                    `ALTER TABLE ${SCHEMA_PLACEHOLDER}.t ADD CONSTRAINT t_pkey PRIMARY KEY (b);`,
            ),
        ).toThrow("sql/ducklake/x.sql: primary key on unknown column t.b");
    });
});

describe("the files on a real PostgreSQL", () => {
    let db: TestDatabase;

    beforeAll(async () => {
        db = await createTestDatabase("ddl");
    });

    afterAll(async () => {
        await db?.drop();
    });

    it.each(SPEC_VERSIONS)("%s: information_schema, pg_constraint and pg_indexes match DuckLake", async (version) => {
        const schema = `ddl_${version.replace(/[.-]/g, "_")}`;
        const ddl = fs
            .readFileSync(path.join(SQL_DIR, `${version}.sql`), "utf8")
            .replaceAll(SCHEMA_PLACEHOLDER, schema);
        await db.admin.query(`CREATE SCHEMA ${schema}; ${ddl}`);
        const columns = await db.admin.query<{ table_name: string; columns: string[] }>(
            "SELECT table_name, array_agg(column_name || ' ' || data_type ORDER BY ordinal_position) AS columns " +
                "FROM information_schema.columns WHERE table_schema = $1 GROUP BY table_name",
            [schema],
        );
        expect(Object.fromEntries(columns.rows.map((row) => [row.table_name, row.columns]))).toEqual(
            Object.fromEntries(
                Object.entries(ducklakeSchema()[version]).map(([table, cols]) => [
                    table,
                    cols.map((column) => `${column.name} ${column.postgresType}`),
                ]),
            ),
        );
        await expectOnlyPrimaryKeys(db.admin, schema);
        const notNull = await db.admin.query<{ column: string }>(
            "SELECT table_name || '.' || column_name AS column FROM information_schema.columns " +
                "WHERE table_schema = $1 AND is_nullable = 'NO' ORDER BY 1",
            [schema],
        );
        expect(notNull.rows.map((row) => row.column)).toEqual(
            [
                ...Object.entries(PRIMARY_KEYS).map(([table, column]) => `${table}.${column}`),
                "ducklake_metadata.key",
                "ducklake_metadata.value",
            ].sort(),
        );
    });
});
