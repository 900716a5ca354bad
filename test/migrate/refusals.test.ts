/**
 * Bad input, bad connections and targets that must not be touched: each run exits 1 (refused) or 2 (usage), prints
 * one clear message, leaves the target exactly as it was and creates no file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { type TestDatabase, createTestDatabase, superuserClient } from "../support/postgres";
import {
    type CommandResult,
    type SchemaState,
    errorLines,
    runMigrate,
    runMigrateInProcess,
    schemaState,
} from "./support";

const SCHEMA = "stage";
/** A schema no run creates: loads that fail must leave it absent. */
const EMPTY = "fresh";
const UPGRADE_FIX = (file: string, version: string, duckdb: string) =>
    `Fix: attach the catalog once with ${duckdb}, ` +
    `\`ATTACH 'ducklake:sqlite:${file}' AS lake (AUTOMATIC_MIGRATION TRUE)\`, so that DuckLake upgrades ${version} ` +
    "to a released spec version, then migrate again.";
const RESTORE_FIX =
    "Fix: restore the file from a backup; DuckLake does not rebuild the tables of a released spec version.";
const SUPPORTED = "0.1, 0.2, 0.3, 0.4, 1.0, 1.1, 1.1-dev1";

let db: TestDatabase;
let dir: string;
let good: string;
let before: SchemaState | null;

beforeAll(async () => {
    db = await createTestDatabase("refusals");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-refusals-"));
    good = path.join(dir, "good.sqlite");
    buildCatalog(good, { version: "1.0" });
    const result = await runMigrate(["--sqlite", good, "--schema", SCHEMA], db.env);
    expect(result.code).toBe(0);
    before = await schemaState(db.admin, SCHEMA);
    expect(before?.tables.ducklake_snapshot.rows).toBeGreaterThan(1);
});

afterAll(async () => {
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the command and checks the invariants every refusal shares (the populated schema and a never-created one
 * stay as they were); returns the one message.
 */
async function refused(
    argv: string[],
    code: 1 | 2,
    env: NodeJS.ProcessEnv = db.env,
    via: "command" | "in-process" = "in-process",
): Promise<string> {
    const result: CommandResult =
        via === "command" ? await runMigrate(argv, env) : await runMigrateInProcess(argv, env);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(code);
    expect(await schemaState(db.admin, SCHEMA)).toEqual(before);
    expect(await schemaState(db.admin, EMPTY)).toBeNull();
    const messages = errorLines(result.stderr);
    expect(messages.length).toBeGreaterThanOrEqual(1);
    return messages[0].replace(/^migrate: /, "");
}

function file(name: string): string {
    return path.join(dir, name);
}

describe("a bad source is refused before anything is written", () => {
    it("a missing file, and it is not created", async () => {
        const missing = file("missing.sqlite");
        expect(await refused(["--sqlite", missing, "--schema", SCHEMA], 1, db.env, "command")).toBe(
            `source ${missing} does not exist. ` +
                "Fix: pass the path of the DuckLake SQLite catalog file with --sqlite.",
        );
        expect(fs.existsSync(missing)).toBe(false);
    });

    it("a missing directory, and it is not created", async () => {
        const missing = file("nowhere/cat.sqlite");
        expect(await refused(["--sqlite", missing, "--schema", SCHEMA], 1)).toBe(
            `source ${missing} does not exist ` +
                `(nor does its directory ${file("nowhere")}). Fix: pass the path of the DuckLake SQLite catalog file ` +
                "with --sqlite.",
        );
        expect(fs.existsSync(file("nowhere"))).toBe(false);
    });

    it("a directory given as the file", async () => {
        expect(await refused(["--sqlite", dir, "--schema", SCHEMA], 1)).toBe(
            `source ${dir} is a directory, not a ` +
                "SQLite file. Fix: pass the catalog file inside it (the one DuckDB attaches as ducklake:sqlite:<file>).",
        );
    });

    it("an empty file", async () => {
        writeEmptyFile(file("empty.sqlite"));
        expect(await refused(["--sqlite", file("empty.sqlite"), "--schema", SCHEMA], 1)).toBe(
            `source ` +
                `${file("empty.sqlite")} is empty (0 bytes), so it holds no catalog; a mistyped path once created such ` +
                "a file. Fix: pass the real catalog file, and delete this one if it is a leftover.",
        );
        expect(fs.statSync(file("empty.sqlite")).size).toBe(0);
    });

    it("a file that is not SQLite", async () => {
        writeNonSqliteFile(file("data.parquet"));
        expect(await refused(["--sqlite", file("data.parquet"), "--schema", SCHEMA], 1)).toBe(
            `source ` +
                `${file("data.parquet")} is not a SQLite database (it does not start with the SQLite header). Fix: pass ` +
                "the DuckLake SQLite catalog file.",
        );
    });

    it("a SQLite file that is not a DuckLake catalog", async () => {
        writeForeignSqlite(file("app.sqlite"));
        expect(await refused(["--sqlite", file("app.sqlite"), "--schema", SCHEMA], 1)).toBe(
            `source ` +
                `${file("app.sqlite")} is a SQLite database but not a DuckLake catalog (it has no ducklake_metadata ` +
                "table). Fix: pass the file DuckDB attaches as ducklake:sqlite:<file>.",
        );
    });

    it("a catalog with required tables missing", async () => {
        const source = file("missing-tables.sqlite");
        writeCatalogMissingTables(source);
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                "1.0 but lacks its table ducklake_snapshot. The file is damaged, was not written by DuckLake, or has " +
                `another 1.0 layout. ${RESTORE_FIX}`,
        );
    });

    it("a catalog with a required column missing", async () => {
        const source = file("missing-column.sqlite");
        buildCatalog(source, { version: "1.0" });
        const sqlite = new DatabaseSync(source);
        sqlite.exec("ALTER TABLE ducklake_data_file DROP COLUMN partial_max");
        sqlite.close();
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                "1.0 but lacks column ducklake_data_file.partial_max. The file is damaged, was not written by DuckLake " +
                `1.0, or has another 1.0 layout. ${RESTORE_FIX}`,
        );
    });

    it("a 1.1 catalog with a 1.1 column missing", async () => {
        const source = file("missing-column-11.sqlite");
        buildCatalog(source, { version: "1.1" });
        const sqlite = new DatabaseSync(source);
        sqlite.exec("ALTER TABLE ducklake_schema DROP COLUMN parent_schema_id");
        sqlite.close();
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                "1.1 but lacks column ducklake_schema.parent_schema_id. The file is damaged, was not written by DuckLake " +
                `1.1, or has another 1.1 layout. ${RESTORE_FIX} If DuckLake wrote the file as it is, this migration's 1.1 ` +
                "layout (sql/ducklake/1.1.sql, taken from DuckLake's source without a DuckLake binary to check it " +
                "against) is out of date: update lakehouse-catalog, or report the tables and columns named here.",
        );
    });

    it("a 1.1-dev1 catalog of a later dev build (with the exactness flags), naming DuckDB 2.0", async () => {
        const source = file("dev11-later.sqlite");
        buildCatalog(source, { version: "1.1-dev1" });
        const sqlite = new DatabaseSync(source);
        sqlite.exec("ALTER TABLE ducklake_file_column_stats ADD COLUMN min_is_exact BOOLEAN");
        sqlite.close();
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                "1.1-dev1 but has an unexpected column ducklake_file_column_stats.min_is_exact. The file is damaged, was " +
                "not written by DuckLake 1.1-dev1, or has another 1.1-dev1 layout. " +
                UPGRADE_FIX(source, "1.1-dev1", "DuckDB 2.0"),
        );
    });

    it("a 1.1-dev1 catalog from before the inlined metadata columns got their prefix, naming DuckDB 2.0", async () => {
        const source = file("dev11-early.sqlite");
        buildCatalog(source, { version: "1.1-dev1", inlined: true });
        const sqlite = new DatabaseSync(source);
        const row = sqlite.prepare("SELECT table_name FROM ducklake_inlined_data_tables ORDER BY 1").get();
        const inlined = String(row?.table_name);
        for (const column of ["row_id", "begin_snapshot", "end_snapshot"]) {
            sqlite.exec(`ALTER TABLE "${inlined}" RENAME COLUMN _ducklake_${column} TO ${column}`);
        }
        sqlite.close();
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source}: the inlined data ` +
                `table ${inlined} does not start with the columns _ducklake_row_id, _ducklake_begin_snapshot, ` +
                "_ducklake_end_snapshot that DuckLake 1.1-dev1 gives it. " +
                UPGRADE_FIX(source, "1.1-dev1", "DuckDB 2.0"),
        );
    });

    it.each(["0.3-dev1", "0.4-dev1"] as const)("the dev version %s, naming the upgrade", async (version) => {
        const source = file(`${version}.sqlite`);
        buildCatalog(source, { version });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                `"${version}", a development layout that changed while it was in use, so it cannot be copied ` +
                `faithfully. ${UPGRADE_FIX(source, version, "DuckDB 1.5.2 or later")}`,
        );
    });

    it.each(["1.2", "7.3", "1.10"])(
        "the newer version %s, naming the supported ones and the update",
        async (version) => {
            const source = file(`future-${version}.sqlite`);
            writeCatalogWithVersion(source, version);
            expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
                `source ${source} is at DuckLake spec ` +
                    `"${version}", newer than this migration knows (it supports ${SUPPORTED}). No DuckDB can turn a catalog ` +
                    "back into an older spec version. Fix: update lakehouse-catalog to a release that supports spec " +
                    `${version}, then migrate again.`,
            );
        },
    );

    it.each(["0.9", "1.1-dev2", "", "latest"])("the unknown version %j, naming the supported ones", async (version) => {
        const source = file(`unknown-${Buffer.from(version).toString("hex")}.sqlite`);
        writeCatalogWithVersion(source, version);
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(
            `source ${source} is at DuckLake spec ` +
                `${JSON.stringify(version)}, not a version this migration knows (it supports ${SUPPORTED}). Fix: check ` +
                "that this is the right file, or restore it from a backup taken at one of those versions.",
        );
    });

    it("a truncated file", async () => {
        const source = file("truncated.sqlite");
        const { bytes } = writeTruncatedCatalog(source, { rows: 20_000 });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toMatch(
            new RegExp(
                `^source ${source} is ` +
                    `truncated: its header says \\d+ pages of \\d+ bytes \\(\\d+ bytes\\), the file has ${bytes}\\. Nothing was ` +
                    "written\\. Fix: restore the complete file from a backup\\.$",
            ),
        );
    });

    it("a file with zeroed pages in the middle of its largest table", async () => {
        const source = file("zeroed.sqlite");
        writeCatalogWithZeroedPages(source, { rows: 60_000, pages: 4 });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1, db.env, "command")).toMatch(
            new RegExp(
                `^source ${source} is ` +
                    'damaged: SQLite reports ".+"\\. Nothing was written\\. Fix: restore the file from a backup',
            ),
        );
    });

    it("a value PostgreSQL cannot take (text in a bigint column)", async () => {
        const source = copyOfGood(
            "text-in-bigint.sqlite",
            "UPDATE ducklake_data_file SET record_count = 'many' " +
                "WHERE data_file_id = (SELECT min(data_file_id) FROM ducklake_data_file)",
        );
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1, db.env, "command")).toMatch(
            new RegExp(
                "^could not load table " +
                    'ducklake_data_file: PostgreSQL rejected a source value \\(invalid input syntax for type bigint: "many"; ' +
                    'COPY ducklake_data_file, line 1, column record_count: "many"\\)\\. Nothing was committed; schema fresh ' +
                    `is unchanged\\. Fix: correct that value in ${source} with DuckDB, then migrate again\\.$`,
            ),
        );
    });

    it("a value PostgreSQL accepts but would change (text 'true' in a boolean column): verification fails", async () => {
        const source = copyOfGood("text-boolean.sqlite", "UPDATE ducklake_data_file SET path_is_relative = 'true'");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toMatch(
            new RegExp(
                "^verification failed " +
                    `for table ducklake_data_file: the source ${source} has \\d+ rows \\(digest \\d+\\), PostgreSQL read back ` +
                    "\\d+ rows \\(digest \\d+\\)\\. Nothing was committed; schema fresh is unchanged\\.",
            ),
        );
    });

    it("a timestamp whose instant is uncertain", async () => {
        const source = copyOfGood(
            "bad-timestamp.sqlite",
            "UPDATE ducklake_snapshot SET snapshot_time = " + "'2025-10-24 09:19:58' WHERE snapshot_id = 0",
        );
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toBe(
            `source ${source}: ` +
                'ducklake_snapshot.snapshot_time holds "2025-10-24 09:19:58", which is not a timestamp as DuckDB writes ' +
                "it (YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]), so its instant is uncertain. Fix: correct the value with " +
                "DuckDB or sqlite3, or restore the file from a backup.",
        );
    });

    it("a blob where DuckLake stores text", async () => {
        const source = copyOfGood(
            "blob.sqlite",
            "UPDATE ducklake_data_file SET path = X'00FF' " +
                "WHERE data_file_id = (SELECT min(data_file_id) FROM ducklake_data_file)",
        );
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toBe(
            `source ${source}: ` +
                "ducklake_data_file.path holds a binary value (a BLOB) where DuckLake stores text, so the file was not " +
                "written by DuckLake. Fix: repair the value with DuckDB, or restore the file from a backup.",
        );
    });

    it("duplicate primary key values", async () => {
        // SQLite's own key forbids duplicates, so the damaged file lost its key as well.
        const source = copyOfGood(
            "duplicates.sqlite",
            "ALTER TABLE ducklake_snapshot_changes RENAME TO keyed; " +
                "CREATE TABLE ducklake_snapshot_changes AS SELECT * FROM keyed; DROP TABLE keyed; " +
                "INSERT INTO ducklake_snapshot_changes SELECT * FROM ducklake_snapshot_changes WHERE snapshot_id = 0",
        );
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toMatch(
            new RegExp(
                "^could not build the " +
                    "primary key of ducklake_snapshot_changes: the source has duplicate values where DuckLake's PostgreSQL " +
                    "catalog has a primary key \\(.*Key \\(snapshot_id\\)=\\(0\\) is duplicated\\..*\\)\\. Nothing was " +
                    `committed; schema fresh is unchanged\\. Fix: the source ${source} is damaged; restore it from a backup\\.$`,
            ),
        );
    });

    it("an inlined column no migrator can map with certainty", async () => {
        const source = file("time-ns.sqlite");
        buildCatalog(source, { version: "1.0", inlined: { unmappable: "time_ns" } });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toMatch(
            /^inlined data table ducklake_inlined_data_\d+_\d+, column ".+" \(.+\): .+ Fix: run `CALL ducklake_flush_inlined_data\('<catalog alias>'\)` on the source with DuckDB, so the rows move to Parquet files, then migrate again\.$/,
        );
    });
});

describe("connections and targets", () => {
    it("a wrong password", async () => {
        const message = await refused(
            ["--sqlite", good, "--schema", SCHEMA],
            1,
            { ...db.env, PGPASSWORD: "wrong" },
            "command",
        );
        expect(message).toBe(
            `PostgreSQL at ${db.env.PGHOST}:${db.env.PGPORT} refused user ${db.role}: password ` +
                `authentication failed for user "${db.role}". The target is unchanged. Fix: set PGUSER and PGPASSWORD to ` +
                "the catalog role's credentials.",
        );
        expect(message).not.toContain(db.env.PGPASSWORD);
        // The stack's preview tells a refused login apart (a password rotation it previews), by this reason.
        const json = await runMigrateInProcess(["--sqlite", good, "--schema", SCHEMA, "--json"], {
            ...db.env,
            PGPASSWORD: "wrong",
        });
        expect(json.code).toBe(1);
        expect(JSON.parse(json.stdout)).toEqual({ status: "refused", reason: "login-refused", message });
    });

    it("an unreachable host", async () => {
        expect(await refused(["--sqlite", good, "--schema", SCHEMA], 1, { ...db.env, PGPORT: "1" })).toBe(
            `cannot reach ` +
                `PostgreSQL at ${db.env.PGHOST}:1 (ECONNREFUSED). The target is unchanged. Fix: check PGHOST and PGPORT, ` +
                "and that the server is running and reachable from here.",
        );
    });

    const NOT_AN_IDENTIFIER =
        "be a lowercase PostgreSQL schema name matching [a-z_][a-z0-9_]* (clients use it unquoted, and PostgreSQL " +
        "folds unquoted names to lowercase)";
    const RESERVED = "not be a reserved schema name (public, information_schema, pg_*) (PostgreSQL owns these names)";
    it.each([
        ["Stage", NOT_AN_IDENTIFIER],
        ["1stage", NOT_AN_IDENTIFIER],
        ["stage; drop", NOT_AN_IDENTIFIER],
        ["x".repeat(64), "be at most 63 bytes (PostgreSQL silently truncates longer names)"],
        ["pg_stage", RESERVED],
        // The stack's rule: a catalog gets a schema of its own, so a hand-run migration is refused `public` as well.
        ["public", RESERVED],
    ])("an invalid schema name %j", async (name, rule) => {
        expect(await refused(["--sqlite", good, "--schema", name], 2)).toBe(
            `--schema must ${rule}; got ${JSON.stringify(name)}`,
        );
    });

    it("an unknown flag or a missing value", async () => {
        expect(await refused(["--sqlite", good, "--schema", SCHEMA, "--force"], 2, db.env, "command")).toMatch(
            /^Unknown option '--force'/,
        );
        expect(await refused(["--sqlite", good], 2)).toBe("--schema is required");
        expect(await refused(["--sqlite", good, "--schema"], 2)).toMatch(/^Option '--schema <value>' argument missing/);
    });

    it("a target schema holding stray objects", async () => {
        await db.admin.query(
            "CREATE SCHEMA strays; CREATE TABLE strays.notes (id int); " +
                "CREATE VIEW strays.recent AS SELECT 1 AS one",
        );
        const strays = await schemaState(db.admin, "strays");
        expect(await refused(["--sqlite", good, "--schema", "strays"], 1)).toBe(
            "schema strays is neither empty nor a copy " +
                "of this DuckLake 1.0 catalog: it has objects that are not part of this catalog: table notes, view " +
                "recent; no " +
                "ducklake_metadata, ducklake_snapshot, ducklake_snapshot_changes, ducklake_schema, " +
                "ducklake_table, ducklake_view, ducklake_tag, ducklake_column_tag and 20 more. The migration never " +
                "drops or overwrites anything, so nothing was changed. Fix: migrate into an empty schema, or move those " +
                "objects out of this one.",
        );
        expect(await schemaState(db.admin, "strays")).toEqual(strays);
    });

    it("a catalog typed as the original runbook left it (text instead of character varying)", async () => {
        const migrated = await runMigrateInProcess(["--sqlite", good, "--schema", "runbook"], db.env);
        expect(migrated.code).toBe(0);
        await db.admin.query("ALTER TABLE runbook.ducklake_metadata ALTER COLUMN scope TYPE text");
        const state = await schemaState(db.admin, "runbook");
        expect(await refused(["--sqlite", good, "--schema", "runbook"], 1)).toBe(
            "schema runbook is neither empty nor a " +
                "copy of this DuckLake 1.0 catalog: it has tables not laid out as DuckLake 1.0 creates them: " +
                "ducklake_metadata (key character varying, value character varying, scope text, scope_id bigint; " +
                "DuckLake has key character varying, value character varying, scope character varying, scope_id " +
                "bigint). The migration never drops or overwrites anything, so nothing was changed. Fix: migrate into " +
                "an empty schema, or move those objects out of this one.",
        );
        expect(await schemaState(db.admin, "runbook")).toEqual(state);
    });

    it("another migration of the same schema holding the lock", async () => {
        const other = await superuserClient(db.database);
        try {
            await other.query("BEGIN");
            await other.query("SELECT pg_advisory_xact_lock(hashtext('lakehouse-catalog migrate'), hashtext($1))", [
                SCHEMA,
            ]);
            expect(await refused(["--sqlite", good, "--schema", SCHEMA], 1, db.env, "command")).toBe(
                `another migration of schema ` +
                    `${SCHEMA} is running (it holds the advisory lock), so this one stops without touching it. Fix: ` +
                    'wait for it to finish, then run again; a re-run of a finished migration reports "unchanged".',
            );
        } finally {
            await other.query("ROLLBACK");
            await other.end();
        }
    });
});

/** A copy of the good catalog with one change applied through SQLite. */
function copyOfGood(name: string, change: string): string {
    const target = file(name);
    fs.copyFileSync(good, target);
    const sqlite = new DatabaseSync(target);
    sqlite.exec(change);
    sqlite.close();
    return target;
}
