/**
 * Helpers for the migration's integration tests: run the real command, and read a target schema's exact state.
 */
import * as path from "node:path";
import type { Client } from "pg";
import { expect } from "vitest";
import { dryRunCommand, migrateCommand, shellQuote } from "../../components/catalogMigration";
import { runCli } from "../../migrate/cli";
import { type CommandResult, runProcess } from "../../migrate/process";
import { quoteIdentifier } from "../../migrate/sqlText";

export type { CommandResult };

export const PROJECT_DIR = path.join(__dirname, "..", "..");

/** Runs a shell command line from the project directory, as the stack's Command does. */
export function runShell(command: string, env: NodeJS.ProcessEnv): Promise<CommandResult> {
    return runProcess("/bin/sh", ["-c", command], { cwd: PROJECT_DIR, env });
}

/** The exact command the stack runs (`--json` summary): the migration, or the dry run a preview runs. */
export function runStackMigration(sqlite: string, schema: string, env: NodeJS.ProcessEnv, dryRun = false) {
    return runShell(dryRun ? dryRunCommand(sqlite, schema) : migrateCommand(sqlite, schema, { dryRun: false }), env);
}

/** The documented human form: `npm run --silent migrate -- --sqlite <file> --schema <schema> [flags]`. */
export function runMigrate(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
    return runShell(`npm run --silent migrate -- ${argv.map(shellQuote).join(" ")}`, env);
}

/**
 * The same command run in this process (the CLI's own entry function, without spawning npm and node): the fast
 * path for the many cases whose subject is the engine's behaviour rather than the process around it.
 */
export async function runMigrateInProcess(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
    let stdout = "";
    let stderr = "";
    const code = await runCli(
        argv,
        env,
        (text) => (stdout += text),
        (text) => (stderr += text),
    );
    return { code, stdout, stderr };
}

/** The messages on stderr without the progress lines. */
export function errorLines(stderr: string): string[] {
    return stderr.split("\n").filter((line) => line.startsWith("migrate: ") && !PROGRESS.test(line));
}

const PROGRESS =
    /^migrate: (checking |building the primary key|verifying every table|schema \S+ already holds a DuckLake \S+ catalog; comparing|dry run: reading|ducklake_\w+: [\d,]+ rows)/;

/** DuckLake's primary keys, table → column: the only constraints (and indexes) a catalog schema holds. */
export const PRIMARY_KEYS: Record<string, string> = {
    ducklake_snapshot: "snapshot_id",
    ducklake_snapshot_changes: "snapshot_id",
    ducklake_schema: "schema_id",
    ducklake_data_file: "data_file_id",
    ducklake_delete_file: "delete_file_id",
};

/** The schema's constraints and indexes are exactly DuckLake's five primary keys, each named <table>_pkey. */
export async function expectOnlyPrimaryKeys(client: Client, schema: string): Promise<void> {
    const constraints = await client.query<{ definition: string }>(
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS definition " +
            "FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1",
        [schema],
    );
    const indexes = await client.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
        [schema],
    );
    expect(constraints.rows.map((row) => row.definition)).toEqual(
        Object.entries(PRIMARY_KEYS)
            .map(([table, column]) => `${schema}.${table} ${table}_pkey PRIMARY KEY (${column})`)
            .sort(),
    );
    expect(indexes.rows.map((row) => row.indexname)).toEqual(
        Object.keys(PRIMARY_KEYS)
            .map((table) => `${table}_pkey`)
            .sort(),
    );
}

export interface SchemaState {
    /** Every object in the schema (relations, routines, types) as "kind name". */
    objects: string[];
    /** Per table: its columns and a digest of its contents (md5 of the sorted row texts). */
    tables: Record<string, { columns: string; rows: number; md5: string }>;
}

/** A complete picture of a schema, to prove a failed or refused run left it exactly as it was. */
export async function schemaState(client: Client, schema: string): Promise<SchemaState | null> {
    const namespace = await client.query("SELECT oid FROM pg_namespace WHERE nspname = $1", [schema]);
    if (namespace.rowCount === 0) {
        return null;
    }
    const oid = namespace.rows[0].oid;
    const objects = await client.query<{ object: string }>(
        "SELECT relkind::text || ' ' || relname AS object FROM pg_class WHERE relnamespace = $1 " +
            "UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = $1 " +
            "UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE connamespace = $1 ORDER BY 1",
        [oid],
    );
    const tables = await client.query<{ relname: string }>(
        "SELECT relname FROM pg_class WHERE relnamespace = $1 AND relkind = 'r' ORDER BY relname",
        [oid],
    );
    const state: SchemaState = { objects: objects.rows.map((row) => row.object), tables: {} };
    for (const { relname } of tables.rows) {
        const columns = await client.query<{ columns: string }>(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS columns " +
                "FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            [`${quoteIdentifier(schema)}.${quoteIdentifier(relname)}`],
        );
        const contents = await client.query<{ rows: string; md5: string }>(
            `SELECT count(*) AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 ` +
                `FROM ${quoteIdentifier(schema)}.${quoteIdentifier(relname)} t`,
        );
        state.tables[relname] = {
            columns: columns.rows[0].columns,
            rows: Number(contents.rows[0].rows),
            md5: contents.rows[0].md5,
        };
    }
    return state;
}
