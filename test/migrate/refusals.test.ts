/**
 * Bad input, bad connections and targets that must not be touched: each run exits 1 (refused) or 2 (usage), prints
 * one clear message, leaves the target exactly as it was and creates no file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalog } from "../fixtures";
import {
    writeCatalogMissingTables,
    writeCatalogWithVersion,
    writeCatalogWithZeroedPages,
    writeEmptyFile,
    writeForeignSqlite,
    writeNonSqliteFile,
    writeTruncatedCatalog,
} from "../fixtures/badInputs";
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
const UPGRADE_FIX = (file: string) => "Fix: attach the catalog once with DuckDB 1.5.2 or later, "
    + `\`ATTACH 'ducklake:sqlite:${file}' AS lake (AUTOMATIC_MIGRATION TRUE)\`, so that DuckLake upgrades it to a `
    + "released spec version, then migrate again.";

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
async function refused(argv: string[], code: 1 | 2, env: NodeJS.ProcessEnv = db.env,
    via: "command" | "in-process" = "in-process"): Promise<string> {
    const result: CommandResult = via === "command" ? await runMigrate(argv, env) : await runMigrateInProcess(argv, env);
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
        expect(await refused(["--sqlite", missing, "--schema", SCHEMA], 1, db.env, "command")).toBe(`source ${missing} does not exist. `
            + "Fix: pass the path of the DuckLake SQLite catalog file with --sqlite.");
        expect(fs.existsSync(missing)).toBe(false);
    });

    it("a missing directory, and it is not created", async () => {
        const missing = file("nowhere/cat.sqlite");
        expect(await refused(["--sqlite", missing, "--schema", SCHEMA], 1)).toBe(`source ${missing} does not exist `
            + `(nor does its directory ${file("nowhere")}). Fix: pass the path of the DuckLake SQLite catalog file `
            + "with --sqlite.");
        expect(fs.existsSync(file("nowhere"))).toBe(false);
    });

    it("a directory given as the file", async () => {
        expect(await refused(["--sqlite", dir, "--schema", SCHEMA], 1)).toBe(`source ${dir} is a directory, not a `
            + "SQLite file. Fix: pass the catalog file inside it (the one DuckDB attaches as ducklake:sqlite:<file>).");
    });

    it("an empty file", async () => {
        writeEmptyFile(file("empty.sqlite"));
        expect(await refused(["--sqlite", file("empty.sqlite"), "--schema", SCHEMA], 1)).toBe(`source `
            + `${file("empty.sqlite")} is empty (0 bytes), so it holds no catalog; a mistyped path once created such `
            + "a file. Fix: pass the real catalog file, and delete this one if it is a leftover.");
        expect(fs.statSync(file("empty.sqlite")).size).toBe(0);
    });

    it("a file that is not SQLite", async () => {
        writeNonSqliteFile(file("data.parquet"));
        expect(await refused(["--sqlite", file("data.parquet"), "--schema", SCHEMA], 1)).toBe(`source `
            + `${file("data.parquet")} is not a SQLite database (it does not start with the SQLite header). Fix: pass `
            + "the DuckLake SQLite catalog file.");
    });

    it("a SQLite file that is not a DuckLake catalog", async () => {
        writeForeignSqlite(file("app.sqlite"));
        expect(await refused(["--sqlite", file("app.sqlite"), "--schema", SCHEMA], 1)).toBe(`source `
            + `${file("app.sqlite")} is a SQLite database but not a DuckLake catalog (it has no ducklake_metadata `
            + "table). Fix: pass the file DuckDB attaches as ducklake:sqlite:<file>.");
    });

    it("a catalog with required tables missing", async () => {
        const source = file("missing-tables.sqlite");
        writeCatalogMissingTables(source);
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(`source ${source} is at DuckLake spec `
            + "1.0 but lacks its table ducklake_snapshot. The file is damaged or was not written by DuckLake. "
            + `${UPGRADE_FIX(source)} Or restore it from a backup.`);
    });

    it("a catalog with a required column missing", async () => {
        const source = file("missing-column.sqlite");
        buildCatalog(source, { version: "1.0" });
        const sqlite = new DatabaseSync(source);
        sqlite.exec("ALTER TABLE ducklake_data_file DROP COLUMN partial_max");
        sqlite.close();
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(`source ${source} is at DuckLake spec `
            + "1.0 but lacks column ducklake_data_file.partial_max. The file is damaged or was not written by DuckLake "
            + `1.0. ${UPGRADE_FIX(source)}`);
    });

    it.each(["0.3-dev1", "0.4-dev1"] as const)("the dev version %s, naming the upgrade", async (version) => {
        const source = file(`${version}.sqlite`);
        buildCatalog(source, { version });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(`source ${source} is at DuckLake spec `
            + `"${version}", a development layout that changed while it was in use, so it cannot be copied `
            + `faithfully. ${UPGRADE_FIX(source)}`);
    });

    it("an unknown version", async () => {
        const source = file("future.sqlite");
        writeCatalogWithVersion(source, "9.9");
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toBe(`source ${source} is at DuckLake spec `
            + "\"9.9\", not a version this migration knows (it supports 0.1, 0.2, 0.3, 0.4, 1.0, 1.1-dev1). "
            + UPGRADE_FIX(source));
    });

    it("a truncated file", async () => {
        const source = file("truncated.sqlite");
        const { bytes } = writeTruncatedCatalog(source, { rows: 20_000 });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toMatch(new RegExp(`^source ${source} is `
            + `truncated: its header says \\d+ pages of \\d+ bytes \\(\\d+ bytes\\), the file has ${bytes}\\. Nothing was `
            + "written\\. Fix: restore the complete file from a backup\\.$"));
    });

    it("a file with zeroed pages in the middle of its largest table", async () => {
        const source = file("zeroed.sqlite");
        writeCatalogWithZeroedPages(source, { rows: 60_000, pages: 4 });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1, db.env, "command")).toMatch(new RegExp(`^source ${source} is `
            + "damaged: SQLite reports \".+\"\\. Nothing was written\\. Fix: restore the file from a backup"));
    });

    it("a value PostgreSQL cannot take (text in a bigint column)", async () => {
        const source = copyOfGood("text-in-bigint.sqlite", "UPDATE ducklake_data_file SET record_count = 'many' "
            + "WHERE data_file_id = (SELECT min(data_file_id) FROM ducklake_data_file)");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1, db.env, "command")).toMatch(new RegExp("^could not load table "
            + "ducklake_data_file: PostgreSQL rejected a source value \\(invalid input syntax for type bigint: \"many\"; "
            + "COPY ducklake_data_file, line 1, column record_count: \"many\"\\)\\. Nothing was committed; schema fresh "
            + `is unchanged\\. Fix: correct that value in ${source} with DuckDB, then migrate again\\.$`));
    });

    it("a value PostgreSQL accepts but would change (text 'true' in a boolean column): verification fails", async () => {
        const source = copyOfGood("text-boolean.sqlite", "UPDATE ducklake_data_file SET path_is_relative = 'true'");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toMatch(new RegExp("^verification failed "
            + `for table ducklake_data_file: the source ${source} has \\d+ rows \\(digest \\d+\\), PostgreSQL read back `
            + "\\d+ rows \\(digest \\d+\\)\\. Nothing was committed; schema fresh is unchanged\\."));
    });

    it("a timestamp whose instant is uncertain", async () => {
        const source = copyOfGood("bad-timestamp.sqlite", "UPDATE ducklake_snapshot SET snapshot_time = "
            + "'2025-10-24 09:19:58' WHERE snapshot_id = 0");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toBe(`source ${source}: `
            + "ducklake_snapshot.snapshot_time holds \"2025-10-24 09:19:58\", which is not a timestamp as DuckDB writes "
            + "it (YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]), so its instant is uncertain. Fix: correct the value with "
            + "DuckDB or sqlite3, or restore the file from a backup.");
    });

    it("a blob where DuckLake stores text", async () => {
        const source = copyOfGood("blob.sqlite", "UPDATE ducklake_data_file SET path = X'00FF' "
            + "WHERE data_file_id = (SELECT min(data_file_id) FROM ducklake_data_file)");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toBe(`source ${source}: `
            + "ducklake_data_file.path holds a binary value (a BLOB) where DuckLake stores text, so the file was not "
            + "written by DuckLake. Fix: repair the value with DuckDB, or restore the file from a backup.");
    });

    it("duplicate primary key values", async () => {
        // SQLite's own key forbids duplicates, so the damaged file lost its key as well.
        const source = copyOfGood("duplicates.sqlite", "ALTER TABLE ducklake_snapshot_changes RENAME TO keyed; "
            + "CREATE TABLE ducklake_snapshot_changes AS SELECT * FROM keyed; DROP TABLE keyed; "
            + "INSERT INTO ducklake_snapshot_changes SELECT * FROM ducklake_snapshot_changes WHERE snapshot_id = 0");
        expect(await refused(["--sqlite", source, "--schema", EMPTY], 1)).toMatch(new RegExp("^could not build the "
            + "primary key of ducklake_snapshot_changes: the source has duplicate values where DuckLake's PostgreSQL "
            + "catalog has a primary key \\(.*Key \\(snapshot_id\\)=\\(0\\) is duplicated\\..*\\)\\. Nothing was "
            + `committed; schema fresh is unchanged\\. Fix: the source ${source} is damaged; restore it from a backup\\.$`));
    });

    it("an inlined column no migrator can map with certainty", async () => {
        const source = file("time-ns.sqlite");
        buildCatalog(source, { version: "1.0", inlined: { unmappable: "time_ns" } });
        expect(await refused(["--sqlite", source, "--schema", SCHEMA], 1)).toMatch(
            /^inlined data table ducklake_inlined_data_\d+_\d+, column ".+" \(.+\): .+ Fix: run `CALL ducklake_flush_inlined_data\('<catalog alias>'\)` on the source with DuckDB, so the rows move to Parquet files, then migrate again\.$/);
    });
});

describe("connections and targets", () => {
    it("a wrong password", async () => {
        const message = await refused(["--sqlite", good, "--schema", SCHEMA], 1, { ...db.env, PGPASSWORD: "wrong" }, "command");
        expect(message).toBe(`PostgreSQL at ${db.env.PGHOST}:${db.env.PGPORT} refused user ${db.role}: password `
            + `authentication failed for user "${db.role}". The target is unchanged. Fix: set PGUSER and PGPASSWORD to `
            + "the catalog role's credentials.");
        expect(message).not.toContain(db.env.PGPASSWORD);
        // The stack's preview tells a refused login apart (a password rotation it previews), by this reason.
        const json = await runMigrateInProcess(["--sqlite", good, "--schema", SCHEMA, "--json"], { ...db.env, PGPASSWORD: "wrong" });
        expect(json.code).toBe(1);
        expect(JSON.parse(json.stdout)).toEqual({ status: "refused", reason: "login-refused", message });
    });

    it("an unreachable host", async () => {
        expect(await refused(["--sqlite", good, "--schema", SCHEMA], 1, { ...db.env, PGPORT: "1" })).toBe(`cannot reach `
            + `PostgreSQL at ${db.env.PGHOST}:1 (ECONNREFUSED). The target is unchanged. Fix: check PGHOST and PGPORT, `
            + "and that the server is running and reachable from here.");
    });

    it.each(["Stage", "1stage", "pg_stage", "stage; drop", "x".repeat(64)])("an invalid schema name %j", async (name) => {
        expect(await refused(["--sqlite", good, "--schema", name], 2)).toBe("--schema must be a lower-case "
            + "PostgreSQL identifier (letters, digits, _; at most 63 characters; not starting with a digit or pg_) so "
            + `that every consumer can name it unquoted; got ${JSON.stringify(name)}`);
    });

    it("an unknown flag or a missing value", async () => {
        expect(await refused(["--sqlite", good, "--schema", SCHEMA, "--force"], 2, db.env, "command")).toMatch(/^Unknown option '--force'/);
        expect(await refused(["--sqlite", good], 2)).toBe("--schema is required");
        expect(await refused(["--sqlite", good, "--schema"], 2)).toMatch(/^Option '--schema <value>' argument missing/);
    });

    it("a target schema holding stray objects", async () => {
        await db.admin.query("CREATE SCHEMA strays; CREATE TABLE strays.notes (id int); "
            + "CREATE VIEW strays.recent AS SELECT 1 AS one");
        const strays = await schemaState(db.admin, "strays");
        expect(await refused(["--sqlite", good, "--schema", "strays"], 1)).toBe("schema strays is neither empty nor a copy "
            + "of this DuckLake 1.0 catalog: it has objects that are not part of this catalog: table notes, view "
            + "recent; no " + "ducklake_metadata, ducklake_snapshot, ducklake_snapshot_changes, ducklake_schema, "
            + "ducklake_table, ducklake_view, ducklake_tag, ducklake_column_tag and 20 more. The migration never "
            + "drops or overwrites anything, so nothing was changed. Fix: migrate into an empty schema, or move those "
            + "objects out of this one.");
        expect(await schemaState(db.admin, "strays")).toEqual(strays);
    });

    it("a catalog typed as the original runbook left it (text instead of character varying)", async () => {
        const migrated = await runMigrateInProcess(["--sqlite", good, "--schema", "runbook"], db.env);
        expect(migrated.code).toBe(0);
        await db.admin.query("ALTER TABLE runbook.ducklake_metadata ALTER COLUMN scope TYPE text");
        const state = await schemaState(db.admin, "runbook");
        expect(await refused(["--sqlite", good, "--schema", "runbook"], 1)).toBe("schema runbook is neither empty nor a "
            + "copy of this DuckLake 1.0 catalog: it has tables not laid out as DuckLake 1.0 creates them: "
            + "ducklake_metadata (key character varying, value character varying, scope text, scope_id bigint; "
            + "DuckLake has key character varying, value character varying, scope character varying, scope_id "
            + "bigint). The migration never drops or overwrites anything, so nothing was changed. Fix: migrate into "
            + "an empty schema, or move those objects out of this one.");
        expect(await schemaState(db.admin, "runbook")).toEqual(state);
    });

    it("another migration of the same schema holding the lock", async () => {
        const other = await superuserClient(db.database);
        try {
            await other.query("BEGIN");
            await other.query("SELECT pg_advisory_xact_lock(hashtext('lakehouse-catalog migrate'), hashtext($1))",
                [SCHEMA]);
            expect(await refused(["--sqlite", good, "--schema", SCHEMA], 1, db.env, "command")).toBe(`another migration of schema `
                + `${SCHEMA} is running (it holds the advisory lock), so this one stops without touching it. Fix: `
                + "wait for it to finish, then run again; a re-run of a finished migration reports \"unchanged\".");
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
