/**
 * Every DuckDB release line the tests run is real: its DuckLake writes a SQLite catalog at the spec it is known for,
 * the stack's migrate command moves it, and the same DuckLake reads it back from PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { attachPostgresSql, attachSqliteSql, DUCKLAKE_LINES, runDuckLake } from "../support/ducklake";
import { runStackMigration } from "../migrate/support";

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("lines");
    dir = mkdtempSync(path.join(tmpdir(), "ducklake-lines-"));
});

afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
});

describe.each(DUCKLAKE_LINES)("DuckDB $duckdb", (line) => {
    it(`writes spec ${line.spec}, which migrates and reads back from PostgreSQL`, async () => {
        const sqlite = path.join(dir, `lake-${line.duckdb}.sqlite`);
        const data = path.join(dir, `data-${line.duckdb}`) + "/";
        const schema = `lake_${line.duckdb.replaceAll(".", "_")}`;
        const written = await runDuckLake(line, [
            attachSqliteSql("lake", sqlite, data),
            "CREATE TABLE lake.t (id INTEGER, name VARCHAR)",
            "INSERT INTO lake.t VALUES (1, 'one'), (2, 'two')",
            "DELETE FROM lake.t WHERE id = 1",
            "SELECT value FROM __ducklake_metadata_lake.ducklake_metadata WHERE key = 'version'",
        ]);
        expect(written.at(-1)?.rows).toEqual([[line.spec]]);

        const result = await runStackMigration(sqlite, schema, db.env);
        expect(result.stderr).not.toMatch(/refus/);
        expect(JSON.parse(result.stdout)).toMatchObject({ status: "migrated", ducklakeVersion: line.spec });

        const read = await runDuckLake(line, [
            attachPostgresSql("lake", db.env, schema, data),
            "SELECT id, name FROM lake.t ORDER BY id",
            "SELECT id FROM lake.t AT (VERSION => 2) ORDER BY id",
        ]);
        expect(read[1].rows).toEqual([[2, "two"]]);
        expect(read[2].rows).toEqual([[1], [2]]);
    });
});
