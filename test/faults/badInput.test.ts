/**
 * Bad input, each refused with exit 1 or 2 and one clear message naming the input, the problem and the fix; the
 * target exactly as before (a good copy is never overwritten, a missing schema is not created) and no file created.
 * Unusual but legal content, by contrast, migrates exactly.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../migrate/sqlText";
import {
    buildCatalog,
    writeCatalogMissingTables,
    writeCatalogWithVersion,
    writeCatalogWithZeroedPages,
    writeEmptyFile,
    writeForeignSqlite,
    writeNonSqliteFile,
    writeTruncatedCatalog,
} from "../fixtures";
import { LARGEST_TABLE } from "./support/catalogs";
import { expectMigrated, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { runMigrate } from "./support/migrateProcess";
import { freePort } from "./support/privateCluster";
import { schemaState, waitUntilReaped, type SchemaState } from "./support/targetState";

let target: FaultTarget;
let good: string;
/** A schema holding a good copy of `good`: what a bad source must never overwrite. */
const GUARDED = "guarded";
let guardedBefore: SchemaState;

beforeAll(async () => {
    target = await openFaultTarget("badinput");
    good = path.join(target.dir, "good.sqlite");
    buildCatalog(good, { version: "1.0" });
    await target.createSchema(GUARDED);
    expectMigrated(await runMigrate({ sqlite: good, schema: GUARDED, env: target.env }), "migrated");
    guardedBefore = await schemaState(target.observer, GUARDED);
});

afterAll(async () => {
    await target?.close();
});

/** Every file under `dir`, so a test can see that nothing (a 0-byte file, a -journal) was created. */
function listing(dir: string): string[] {
    return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

interface BadSource {
    name: string;
    /** Makes the input in `dir` and returns the path given to --sqlite. */
    make(dir: string): string;
    problem: RegExp;
}

const BAD_SOURCES: BadSource[] = [
    { name: "a missing file", make: (dir) => path.join(dir, "missing.sqlite"), problem: /does not exist|not found/i },
    {
        name: "a file in a missing directory",
        make: (dir) => path.join(dir, "no-such-dir", "stage.sqlite"),
        problem: /does not exist|not found/i,
    },
    {
        name: "a directory given as the file",
        make: (dir) => {
            fs.mkdirSync(path.join(dir, "marts"));
            return path.join(dir, "marts");
        },
        problem: /directory/i,
    },
    {
        name: "an empty file",
        make: (dir) => {
            writeEmptyFile(path.join(dir, "empty.sqlite"));
            return path.join(dir, "empty.sqlite");
        },
        problem: /empty/i,
    },
    {
        name: "a truncated file",
        make: (dir) => {
            writeTruncatedCatalog(path.join(dir, "truncated.sqlite"));
            return path.join(dir, "truncated.sqlite");
        },
        problem: /truncated|corrupt|malformed/i,
    },
    {
        name: `a file with 16 zeroed pages in the middle of ${LARGEST_TABLE}`,
        make: (dir) => {
            writeCatalogWithZeroedPages(path.join(dir, "zeroed.sqlite"));
            return path.join(dir, "zeroed.sqlite");
        },
        problem: /corrupt|malformed|integrity/i,
    },
    {
        name: "a file that is not SQLite",
        make: (dir) => {
            writeNonSqliteFile(path.join(dir, "data.parquet"));
            return path.join(dir, "data.parquet");
        },
        problem: /not a SQLite/i,
    },
    {
        name: "a SQLite file that is not a DuckLake catalog",
        make: (dir) => {
            writeForeignSqlite(path.join(dir, "users.sqlite"));
            return path.join(dir, "users.sqlite");
        },
        problem: /not a DuckLake|DuckLake/i,
    },
    {
        name: "a version newer than the migration knows",
        make: (dir) => {
            writeCatalogWithVersion(path.join(dir, "future.sqlite"), "7.3");
            return path.join(dir, "future.sqlite");
        },
        problem:
            /"7\.3", newer than this migration knows \(it supports [^)]*1\.1[^)]*\)[\s\S]*update lakehouse-catalog/,
    },
    {
        name: "the dev version 0.3-dev1",
        make: (dir) => {
            buildCatalog(path.join(dir, "dev03.sqlite"), { version: "0.3-dev1" });
            return path.join(dir, "dev03.sqlite");
        },
        problem: /0\.3-dev1[\s\S]*DuckDB 1\.5\.2 or later[\s\S]*AUTOMATIC_MIGRATION TRUE/,
    },
    {
        name: "the dev version 0.4-dev1",
        make: (dir) => {
            buildCatalog(path.join(dir, "dev04.sqlite"), { version: "0.4-dev1" });
            return path.join(dir, "dev04.sqlite");
        },
        problem: /0\.4-dev1[\s\S]*DuckDB 1\.5\.2 or later[\s\S]*AUTOMATIC_MIGRATION TRUE/,
    },
    {
        name: `a required table missing (${LARGEST_TABLE})`,
        make: (dir) => {
            writeCatalogMissingTables(path.join(dir, "missing-table.sqlite"), { tables: [LARGEST_TABLE] });
            return path.join(dir, "missing-table.sqlite");
        },
        problem: new RegExp(LARGEST_TABLE),
    },
];

describe("a bad source is refused before anything is written", () => {
    it.each(BAD_SOURCES)("$name", async ({ name, make, problem }) => {
        const dir = path.join(target.dir, name.replace(/[^a-z0-9]+/gi, "-"));
        fs.mkdirSync(dir);
        const sqlite = make(dir);
        const filesBefore = listing(dir);

        // Into a schema holding a good copy, and into one that does not exist yet: neither may change.
        const [intoGuarded, intoNew] = await Promise.all([
            runMigrate({ sqlite, schema: GUARDED, env: target.env }),
            runMigrate({ sqlite, schema: "never_created", env: target.env }),
        ]);
        for (const result of [intoGuarded, intoNew]) {
            const message = expectRefused(result, 1, problem);
            expect(message, "the message names the input").toContain(path.basename(sqlite));
        }
        expect(listing(dir)).toEqual(filesBefore);
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, GUARDED)).toEqual(guardedBefore);
        expect((await schemaState(target.observer, "never_created")).exists).toBe(false);
    });
});

describe("a bad connection or target is refused, the target unchanged", () => {
    it("a wrong password: exit 1, says authentication failed, echoes no password", async () => {
        const wrong = `${target.password}-wrong`;
        const result = await runMigrate({ sqlite: good, schema: GUARDED, env: { ...target.env, PGPASSWORD: wrong } });
        expectRefused(result, 1, /password|authentication/i, new RegExp(target.role));
        for (const secret of [wrong, target.password]) {
            expect(result.stdout + result.stderr).not.toContain(secret);
        }
        expect(await schemaState(target.observer, GUARDED)).toEqual(guardedBefore);
    });

    it("an unreachable host (a closed port on 127.0.0.1): exit 1 quickly, names host and port", async () => {
        const port = String(await freePort());
        const started = Date.now();
        const result = await runMigrate({ sqlite: good, schema: GUARDED, env: { ...target.env, PGPORT: port } });
        expectRefused(result, 1, /connect|refused|reach/i, new RegExp(port));
        expect(Date.now() - started).toBeLessThan(30_000);
    });

    it.each([
        ["upper case and a dash", "Stage-Mart"],
        ["a quote and SQL", 'x"; DROP SCHEMA guarded CASCADE; --'],
        ["a reserved pg_ prefix", "pg_catalog"],
        ["an empty name", ""],
        ["64 bytes (over PostgreSQL's 63)", "s".repeat(64)],
    ])("an invalid schema name (%s): refused, nothing created", async (_label, schema) => {
        const schemasBefore = await target.observer.query("SELECT nspname FROM pg_namespace ORDER BY 1");
        const result = await runMigrate({ sqlite: good, schema, env: target.env });
        expect([1, 2], `exit code; stderr: ${result.stderr}`).toContain(result.code);
        expectRefused(result, result.code as 1 | 2, /schema/i);
        expect((await target.observer.query("SELECT nspname FROM pg_namespace ORDER BY 1")).rows).toEqual(
            schemasBefore.rows,
        );
        expect(await schemaState(target.observer, GUARDED)).toEqual(guardedBefore);
    });

    it("a target whose catalog went on living in PostgreSQL (a newer snapshot): refused, newer data kept", async () => {
        const schema = "diverged";
        await target.createSchema(schema);
        expectMigrated(await runMigrate({ sqlite: good, schema, env: target.env }), "migrated");
        await target.observer.query(
            `INSERT INTO ${quoteIdentifier(schema)}.ducklake_snapshot
             SELECT snapshot_id + 1, now(), schema_version, next_catalog_id, next_file_id
             FROM ${quoteIdentifier(schema)}.ducklake_snapshot ORDER BY snapshot_id DESC LIMIT 1`,
        );
        const before = await schemaState(target.observer, schema);

        const result = await runMigrate({ sqlite: good, schema, env: target.env });
        expectRefused(result, 1, /snapshot/i, new RegExp(schema));
        expect(await schemaState(target.observer, schema)).toEqual(before);
    });

    it("a target holding a different catalog: refused, unchanged", async () => {
        const other = path.join(target.dir, "other.sqlite");
        buildCatalog(other, { version: "1.0", seed: 7 });
        const result = await runMigrate({ sqlite: other, schema: GUARDED, env: target.env });
        expectRefused(result, 1, new RegExp(GUARDED));
        expect(await schemaState(target.observer, GUARDED)).toEqual(guardedBefore);
    });

    it("a target schema holding stray tables: refused, the stray table and its rows kept", async () => {
        const schema = "stray";
        await target.createSchema(schema);
        await target.observer.query(`CREATE TABLE ${quoteIdentifier(schema)}.notes (body text)`);
        await target.observer.query(`INSERT INTO ${quoteIdentifier(schema)}.notes VALUES ('keep me')`);
        const before = await schemaState(target.observer, schema);

        const result = await runMigrate({ sqlite: good, schema, env: target.env });
        expectRefused(result, 1, /notes/, new RegExp(schema));
        expect(await schemaState(target.observer, schema)).toEqual(before);
    });
});

/**
 * Every value of the VARCHAR-declared columns, as a sorted list per `table.column`, read from SQLite. NULL stays
 * null, so a NULL turned into '' (or back) shows up as a difference.
 */
function sourceTexts(file: string): Record<string, (string | null)[]> {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
        const texts: Record<string, (string | null)[]> = {};
        const tables = db
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .all()
            .map((row) => String(row.name));
        for (const table of tables) {
            const columns = db
                .prepare("SELECT name, type FROM pragma_table_info(?)")
                .all(table)
                .filter((column) => String(column.type) === "VARCHAR")
                .map((column) => String(column.name));
            for (const column of columns) {
                texts[`${table}.${column}`] = sortTexts(
                    db
                        .prepare(`SELECT "${column}" AS v FROM "${table}"`)
                        .all()
                        .map((row) => (row.v === null ? null : String(row.v))),
                );
            }
        }
        return texts;
    } finally {
        db.close();
    }
}

function sortTexts(values: (string | null)[]): (string | null)[] {
    return values.sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));
}

/** The same for the target, over the columns PostgreSQL types as text (`character varying`). */
async function targetTexts(schema: string): Promise<Record<string, (string | null)[]>> {
    const columns = await target.observer.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = $1 AND data_type = 'character varying'`,
        [schema],
    );
    const texts: Record<string, (string | null)[]> = {};
    for (const { table_name: table, column_name: column } of columns.rows) {
        const result = await target.observer.query<{ v: string | null }>(
            `SELECT ${quoteIdentifier(column)} AS v FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
        );
        texts[`${table}.${column}`] = sortTexts(result.rows.map((row) => row.v));
    }
    return texts;
}

describe("unusual but legal content migrates exactly", () => {
    it("names and values with quotes, newlines, tabs, backslashes, non-ASCII and 1 MB strings", async () => {
        const file = path.join(target.dir, "awkward.sqlite");
        buildCatalog(file, { version: "1.0" });
        const awkward = "it's \"quoted\"\n\ttabbed\r\\N back\\slash; Ünïcödé 名前 🦆 ' OR 1=1 --";
        const db = new DatabaseSync(file);
        try {
            db.prepare(
                "UPDATE ducklake_table SET table_name = ? WHERE table_id = (SELECT min(table_id) FROM ducklake_table)",
            ).run(awkward);
            db.prepare(
                "UPDATE ducklake_data_file SET path = ? WHERE data_file_id = (SELECT min(data_file_id) FROM ducklake_data_file)",
            ).run(`${awkward} `.repeat(20_000));
            db.prepare("UPDATE ducklake_snapshot_changes SET commit_message = '' WHERE snapshot_id = 0").run();
            db.prepare("UPDATE ducklake_snapshot_changes SET commit_message = NULL WHERE snapshot_id = 1").run();
        } finally {
            db.close();
        }
        const schema = "awkward";
        await target.createSchema(schema);
        expectMigrated(await runMigrate({ sqlite: file, schema, env: target.env }), "migrated");

        const copied = await targetTexts(schema);
        const source = sourceTexts(file);
        expect(Object.keys(copied).length).toBeGreaterThan(20);
        for (const [column, values] of Object.entries(copied)) {
            expect(values, column).toEqual(source[column]);
        }
        expect(copied["ducklake_table.table_name"]).toContain(awkward);
        expectMigrated(await runMigrate({ sqlite: file, schema, env: target.env }), "unchanged");
    });

    it("a catalog with a single snapshot and empty tables", async () => {
        const file = path.join(target.dir, "single.sqlite");
        const built = buildCatalog(file, { version: "1.0", history: "initial" });
        expect(built.rowCounts.ducklake_snapshot).toBe(1);
        expect(Object.values(built.rowCounts)).toContain(0);
        const schema = "single";
        await target.createSchema(schema);

        const summary = expectMigrated(await runMigrate({ sqlite: file, schema, env: target.env }), "migrated");
        expect(summary.rows).toEqual(built.rowCounts);
        const state = await schemaState(target.observer, schema);
        for (const [table, count] of Object.entries(built.rowCounts)) {
            expect(state.rows[table]?.count, table).toBe(String(count));
        }
    });
});
