/**
 * Every spec version and layout the fixtures build, migrated into a real PostgreSQL with the exact command the
 * stack runs: the schema exactly as DuckLake creates it, every row exact, the no-op re-run, the refusal of a
 * diverged target and a dry run that writes nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planInlinedDataTable } from "../../migrate/inlined";
import { SPEC_VERSIONS, type SpecVersion, buildCatalog, ducklakeSchema } from "../fixtures";
import { type TestDatabase, createTestDatabase } from "../support/postgres";
import {
    PRIMARY_KEYS,
    expectOnlyPrimaryKeys,
    errorLines,
    runMigrate,
    runMigrateInProcess,
    runStackMigration,
    schemaState,
} from "./support";

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("catalog");
    await db.admin.query("SET TimeZone = 'UTC'");
    await db.admin.query("CREATE EXTENSION pg_visibility");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-catalog-"));
});

afterAll(async () => {
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
});

const CASES = SPEC_VERSIONS.flatMap((version) =>
    (version === "0.1" ? (["fresh"] as const) : (["fresh", "upgraded"] as const)).map((layout) => ({
        version,
        layout,
    })),
);

describe.each(CASES)("DuckLake $version, $layout layout", ({ version, layout }) => {
    const schema = `c_${version.replace(/[.-]/g, "_")}_${layout}`;
    // Every version is migrated with the stack's exact command; the follow-up runs spawn the real command for one
    // version and run the CLI in-process for the others, which keeps this file fast.
    const rerun = version === "1.0" ? runMigrate : runMigrateInProcess;
    let file: string;
    let rowCounts: Record<string, number>;

    beforeAll(() => {
        file = path.join(dir, `${schema}.sqlite`);
        const built = buildCatalog(file, { version, layout, inlined: true });
        dropUnmappableInlinedColumns(file, version);
        rowCounts = built.rowCounts;
    });

    it("migrates with the stack's command: exit 0 and a JSON summary of every table", async () => {
        const result = await runStackMigration(file, schema, db.env);
        expect(errorLines(result.stderr)).toEqual([]);
        expect(result.code).toBe(0);
        const summary = JSON.parse(result.stdout);
        expect(summary).toMatchObject({ status: "migrated", ducklakeVersion: version, schema, rows: rowCounts });
        expect(summary.totalRows).toBe(Object.values(rowCounts).reduce((sum, rows) => sum + rows, 0));
    });

    it("creates the core tables exactly as DuckLake's PostgreSQL backend: columns, types, order", async () => {
        const expected = ducklakeSchema()[version];
        const actual = await db.admin.query<{ table_name: string; columns: string[] }>(
            "SELECT table_name, array_agg(column_name || ' ' || data_type || ' ' || is_nullable " +
                "ORDER BY ordinal_position) AS columns FROM information_schema.columns WHERE table_schema = $1 " +
                "AND table_name !~ '^ducklake_inlined_(data|delete)_\\d' GROUP BY table_name ORDER BY table_name",
            [schema],
        );
        const want = Object.entries(expected)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([table, columns]) => ({
                table_name: table,
                columns: columns.map((column) => {
                    const notNull =
                        (table === "ducklake_metadata" && ["key", "value"].includes(column.name)) ||
                        PRIMARY_KEYS[table] === column.name;
                    return `${column.name} ${column.postgresType} ${notNull ? "NO" : "YES"}`;
                }),
            }));
        expect(actual.rows).toEqual(want);
    });

    it("has exactly DuckLake's constraints and indexes: five <table>_pkey and nothing else", async () => {
        await expectOnlyPrimaryKeys(db.admin, schema);
        const others = await db.admin.query(
            "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind NOT IN ('r', 'i')",
            [schema],
        );
        expect(others.rows).toEqual([]);
    });

    it("copies every core row exactly (typed values compared with the SQLite values)", async () => {
        const source = new DatabaseSync(file, { readOnly: true });
        try {
            for (const [table, columns] of Object.entries(ducklakeSchema()[version])) {
                const expected = sqliteRows(source, table, columns)
                    .map((row) => JSON.stringify(row))
                    .sort();
                const actual = (await pgRows(db, schema, table, columns)).map((row) => JSON.stringify(row)).sort();
                expect(actual, table).toEqual(expected);
            }
        } finally {
            source.close();
        }
    });

    it("writes every row frozen, on pages already all-visible (COPY FREEZE), so no first read rewrites them", async () => {
        const pages = await db.admin.query<{ table: string; pages: number; unfrozen: number }>(
            "SELECT c.relname AS table, count(*)::int AS pages, (count(*) FILTER (WHERE NOT v.all_frozen))::int " +
                "AS unfrozen FROM pg_class c, pg_visibility_map(c.oid) v WHERE c.relnamespace = $1::regnamespace " +
                "AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname",
            [schema],
        );
        expect(pages.rows.length).toBeGreaterThan(5);
        expect(pages.rows.filter((row) => row.unfrozen > 0)).toEqual([]);
    });

    it("types the inlined tables' user columns per the inlined plan and keeps their row counts", async () => {
        const inlined = Object.keys(rowCounts).filter((table) => /^ducklake_inlined_(data|delete)_\d/.test(table));
        expect(inlined.length).toBeGreaterThan(0);
        const source = new DatabaseSync(file, { readOnly: true });
        try {
            for (const table of inlined) {
                const columns = await db.admin.query<{ column: string }>(
                    "SELECT attname || ' ' || format_type(atttypid, atttypmod) AS column FROM pg_attribute " +
                        "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    [`${schema}.${table}`],
                );
                expect(
                    columns.rows.map((row) => row.column),
                    table,
                ).toEqual(expectedInlinedColumns(source, table, version));
                const count = await db.admin.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`);
                expect(count.rows[0].n, table).toBe(rowCounts[table]);
            }
        } finally {
            source.close();
        }
    });

    it('re-runs as a no-op: exit 0, "unchanged", nothing written', async () => {
        const before = await schemaState(db.admin, schema);
        const result = await rerun(["--sqlite", file, "--schema", schema], db.env);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(new RegExp(`^unchanged: schema ${schema} already holds exactly`));
        expect(await schemaState(db.admin, schema)).toEqual(before);
    });

    it("refuses a target that went on living in PostgreSQL, and keeps its data", async () => {
        await db.admin.query(
            `INSERT INTO ${schema}.ducklake_snapshot (snapshot_id, snapshot_time, schema_version, ` +
                `next_catalog_id, next_file_id) SELECT max(snapshot_id) + 1, now(), 0, 0, 0 FROM ${schema}.ducklake_snapshot`,
        );
        const before = await schemaState(db.admin, schema);
        const result = await rerun(["--sqlite", file, "--schema", schema, "--json"], db.env);
        expect(result.code).toBe(1);
        const snapshots = rowCounts.ducklake_snapshot;
        const last = lastSnapshotId(file);
        const message =
            `schema ${schema} already holds a DuckLake catalog with ${snapshots + 1} snapshots up to ` +
            `snapshot ${last + 1} (the source ${file} has ${snapshots}, up to snapshot ${last}): it went on living ` +
            "in PostgreSQL after an earlier migration; refusing to overwrite newer data. Nothing was changed. Fix: " +
            "keep using the PostgreSQL catalog (the SQLite file is outdated and may be deleted), or migrate into " +
            "another, empty schema.";
        expect(errorLines(result.stderr)).toEqual([`migrate: ${message}`]);
        // The stack's preview tells this refusal from the others by its reason.
        expect(JSON.parse(result.stdout)).toEqual({ status: "refused", reason: "target-newer", message });
        if (version === "1.0") {
            // The preview's dry run, exactly as the stack runs it: the refusal comes back as JSON, exit 0.
            const preview = await runStackMigration(file, schema, db.env, true);
            expect(preview.code).toBe(0);
            expect(JSON.parse(preview.stdout)).toEqual({ status: "refused", reason: "target-newer", message });
        }
        expect(await schemaState(db.admin, schema)).toEqual(before);
    });

    it("refuses as gone on a target where DuckLake also created inlined tables the source does not have", async () => {
        // DuckLake creates an inlined table as it writes to a new table or a new schema version of one.
        const table = `${schema}.ducklake_inlined_data_999999_999999`;
        await db.admin.query(
            `CREATE TABLE ${table} (row_id bigint, begin_snapshot bigint, end_snapshot bigint, x integer)`,
        );
        try {
            const before = await schemaState(db.admin, schema);
            const result = await rerun(["--sqlite", file, "--schema", schema, "--json"], db.env);
            expect(result.code).toBe(1);
            expect(JSON.parse(result.stdout)).toMatchObject({
                status: "refused",
                reason: "target-newer",
                message: expect.stringMatching(/went on living in PostgreSQL/),
            });
            expect(await schemaState(db.admin, schema)).toEqual(before);
        } finally {
            await db.admin.query(`DROP TABLE ${table}`);
        }
    });

    it("dry-runs into a new schema without creating it", async () => {
        const result =
            version === "1.0"
                ? await runStackMigration(file, `${schema}_dry`, db.env, true)
                : await runMigrateInProcess(
                      ["--sqlite", file, "--schema", `${schema}_dry`, "--dry-run", "--json"],
                      db.env,
                  );
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ status: "dry-run", plan: "migrate", rows: rowCounts });
        expect(await schemaState(db.admin, `${schema}_dry`)).toBeNull();
    });
});

type Columns = ReturnType<typeof ducklakeSchema>[SpecVersion][string];

function lastSnapshotId(file: string): number {
    const source = new DatabaseSync(file, { readOnly: true });
    try {
        return Number(source.prepare("SELECT max(snapshot_id) AS last FROM ducklake_snapshot").get()?.last);
    } finally {
        source.close();
    }
}

/** Source rows as text per column, derived from the SQLite values independently of the engine. */
function sqliteRows(source: DatabaseSync, table: string, columns: Columns): (string | null)[][] {
    const statement = source.prepare(
        `SELECT ${columns.map((column) => `"${column.name}"`).join(", ")} FROM "${table}"`,
    );
    statement.setReadBigInts(true);
    statement.setReturnArrays(true);
    return (statement.all() as unknown as unknown[][]).map((row) =>
        row.map((value, index) => {
            if (value === null) {
                return null;
            }
            switch (columns[index].postgresType) {
                case "boolean":
                    return value === 1n ? "true" : value === 0n ? "false" : `unexpected ${String(value)}`;
                case "timestamp with time zone":
                    return epochMicros(String(value)).toString();
                case "uuid":
                    return String(value).toLowerCase();
                default:
                    return String(value);
            }
        }),
    );
}

async function pgRows(
    test: TestDatabase,
    schema: string,
    table: string,
    columns: Columns,
): Promise<(string | null)[][]> {
    const select = columns.map((column) =>
        column.postgresType === "timestamp with time zone"
            ? `(extract(epoch FROM "${column.name}") * 1000000)::bigint::text`
            : `"${column.name}"::text`,
    );
    const result = await test.admin.query({
        text: `SELECT ${select.join(", ")} FROM ${schema}."${table}"`,
        rowMode: "array",
    });
    return result.rows as (string | null)[][];
}

/** Microseconds since the epoch of DuckDB's timestamptz text, e.g. `2025-10-24 14:49:58.0119+05:30`. */
function epochMicros(text: string): bigint {
    const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?$/.exec(text);
    if (!match) {
        throw new Error(`test: unexpected timestamptz text ${text}`);
    }
    const [, year, month, day, hour, minute, second, fraction = "", sign, offsetHours, offsetMinutes = "0"] = match;
    const localSeconds =
        Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) / 1000;
    const offset = (sign === "-" ? -1 : 1) * (Number(offsetHours) * 3600 + Number(offsetMinutes) * 60);
    return BigInt(localSeconds - offset) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
}

function expectedInlinedColumns(source: DatabaseSync, table: string, version: SpecVersion): string[] {
    const columns = source
        .prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid")
        .all(table)
        .map((row) => String(row.name));
    if (table.startsWith("ducklake_inlined_delete_")) {
        return columns.map((name) => `${name} bigint`);
    }
    const types = inlinedTypes(source, table);
    const plan = planInlinedDataTable({
        table,
        specVersion: version,
        columns: columns.slice(3).map((name) => ({ name, duckdbType: types.get(name)! })),
    });
    return [
        ...columns.slice(0, 3).map((name) => `${name} bigint`),
        ...plan.map((column) => `${column.name} ${column.pgType}`),
    ];
}

function inlinedTypes(source: DatabaseSync, table: string): Map<string, string> {
    const tableId = Number(/^ducklake_inlined_data_(\d+)_\d+$/.exec(table)![1]);
    return new Map(
        source
            .prepare(
                "SELECT column_name, column_type FROM ducklake_column WHERE table_id = ? " +
                    "AND parent_column IS NULL",
            )
            .all(tableId)
            .map((row) => [String(row.column_name), String(row.column_type)]),
    );
}

/**
 * The fixtures inline every DuckLake type, some of which no migrator can map with certainty (those are refused;
 * test/migrate/refusals.test.ts covers that). Dropping them leaves the rest to migrate.
 */
function dropUnmappableInlinedColumns(file: string, version: SpecVersion): void {
    const source = new DatabaseSync(file);
    try {
        const tables = source
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .all()
            .map((row) => String(row.name))
            .filter((name) => /^ducklake_inlined_data_\d+_\d+$/.test(name));
        for (const table of tables) {
            const types = inlinedTypes(source, table);
            const userColumns = source
                .prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .all(table)
                .map((row) => String(row.name))
                .slice(3);
            for (const name of userColumns) {
                try {
                    planInlinedDataTable({
                        table,
                        specVersion: version,
                        columns: [{ name, duckdbType: types.get(name)! }],
                    });
                } catch {
                    source.exec(`ALTER TABLE "${table}" DROP COLUMN "${name}"`);
                }
            }
        }
    } finally {
        source.close();
    }
}
