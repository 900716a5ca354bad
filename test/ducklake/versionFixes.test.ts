/**
 * The fixes the migration gives for versions it refuses, tried with a real DuckLake: the dev layouts 0.3-dev1 and
 * 0.4-dev1 become a catalog the migration copies after one attach with DuckDB 1.5.5 and AUTOMATIC_MIGRATION TRUE
 * (the fix names "DuckDB 1.5.2 or later"); and DuckDB 1.5 cannot open a 1.1 catalog at all, which is why a 1.1
 * catalog is migrated as it is and no refusal sends anyone to DuckDB 1.5. DuckDB 2.0, which writes 1.1, has no
 * DuckLake binary within reach here, so 1.1 itself is checked against DuckLake's source (sql/ducklake/1.1.sql).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalog } from "../fixtures";
import { runStackMigration } from "../migrate/support";
import { attachSqliteSql, NEWEST_LINE, runDuckLake } from "../support/ducklake";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("version_fixes");
    dir = mkdtempSync(path.join(tmpdir(), "ducklake-version-fixes-"));
});

afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
});

const VERSION = "SELECT value FROM __ducklake_metadata_lake.ducklake_metadata WHERE key = 'version'";

describe.each(["0.3-dev1", "0.4-dev1"] as const)("a %s catalog", (version) => {
    it(`is refused, then migrates after the fix: one attach with DuckDB ${NEWEST_LINE.duckdb} and AUTOMATIC_MIGRATION`, async () => {
        const sqlite = path.join(dir, `${version}.sqlite`);
        const data = path.join(dir, `data-${version}`) + "/";
        buildCatalog(sqlite, { version, dataPath: data });
        const schema = `fix_${version.replace(/[.-]/g, "_")}`;

        const refused = await runStackMigration(sqlite, schema, db.env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`ATTACH 'ducklake:sqlite:${sqlite}' AS lake (AUTOMATIC_MIGRATION TRUE)`);

        const upgraded = await runDuckLake(NEWEST_LINE, [
            attachSqliteSql("lake", sqlite, data, ["AUTOMATIC_MIGRATION TRUE"]),
            VERSION,
        ]);
        expect(upgraded.at(-1)?.rows).toEqual([[NEWEST_LINE.spec]]);

        const migrated = await runStackMigration(sqlite, schema, db.env);
        expect(migrated.code, migrated.stderr).toBe(0);
        expect(JSON.parse(migrated.stdout)).toMatchObject({ status: "migrated", ducklakeVersion: NEWEST_LINE.spec });
    });
});

it(`DuckDB ${NEWEST_LINE.duckdb} cannot open a 1.1 catalog, even with AUTOMATIC_MIGRATION`, async () => {
    const sqlite = path.join(dir, "1.1.sqlite");
    const data = path.join(dir, "data-1.1") + "/";
    buildCatalog(sqlite, { version: "1.1", dataPath: data });
    await expect(
        runDuckLake(NEWEST_LINE, [attachSqliteSql("lake", sqlite, data, ["AUTOMATIC_MIGRATION TRUE"]), VERSION]),
    ).rejects.toThrow("Only DuckLake versions 0.1, 0.2, 0.3-dev1, 0.3, 0.4-dev1, 0.4, 1.0 are supported");
});
