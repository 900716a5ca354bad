import * as path from "node:path";
import { type BenchDatabase, benchDatabaseEnvironment } from "./database";
import { runMeasured } from "./process";

/** The original runbook's type fixes, run verbatim as the baseline (see the header of the file). */
const runbookFixSqlPath = path.join(__dirname, "runbook-fix.sql");

export interface RunbookResult {
    seconds: number;
    /** Wall seconds of each of the runbook's three commands. */
    steps: { createSchema: number; pgloader: number; fixSql: number };
    /** pgloader's peak resident set (its VmHWM), in bytes: the runbook's client memory. */
    peakRssBytes: number;
    /**
     * What went wrong although every command exited 0, which is how the runbook reports failures
     * (pgloader and `psql -f` without ON_ERROR_STOP both do); empty when nothing did.
     */
    problems: string[];
}

/**
 * The three runbook commands, argument for argument as the runbook writes them, except that pgloader's URL leaves
 * the password out: pgloader falls back to PGPASSWORD like libpq, so the password stays out of process arguments.
 */
function runbookCommands(sqlite: string, schema: string, connection: BenchDatabase): [string, string[]][] {
    const url = `postgresql://${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
    return [
        ["psql", ["-c", `CREATE SCHEMA IF NOT EXISTS ${schema}`]],
        ["pgloader", ["--set", `search_path='${schema}'`, sqlite, url]],
        ["psql", ["-f", runbookFixSqlPath]],
    ];
}

/** Runs the runbook on `sqlite` into `schema`, timing each step; the caller checks the rows that arrived. */
export async function runRunbook(sqlite: string, schema: string, connection: BenchDatabase): Promise<RunbookResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...benchDatabaseEnvironment(connection) };
    const [createSchema, pgloader, fixSql] = runbookCommands(sqlite, schema, connection);
    const created = await runMeasured(createSchema[0], createSchema[1], { env, measure: () => false });
    const loaded = await runMeasured(pgloader[0], pgloader[1], { env, measure: () => true });
    const fixed = await runMeasured(fixSql[0], fixSql[1], {
        env: { ...env, PGOPTIONS: `--search-path=${schema}` },
        measure: () => false,
    });

    const problems: string[] = [];
    for (const [name, run] of [
        ["psql -c", created],
        ["pgloader", loaded],
        ["psql -f fix.sql", fixed],
    ] as const) {
        if (run.exitCode !== 0) {
            problems.push(`${name} exited ${run.exitCode}: ${lastLines(run.stderr)}`);
        }
    }
    const loaderErrors = pgloaderErrorLines(loaded.stdout + loaded.stderr);
    if (loaderErrors.length > 0) {
        problems.push(`pgloader logged errors: ${loaderErrors.join(" | ")}`);
    }
    const sqlErrors = fixed.stderr.split("\n").filter((line) => line.includes("ERROR:"));
    if (sqlErrors.length > 0) {
        problems.push(`fix.sql failed statements: ${sqlErrors.join(" | ")}`);
    }

    return {
        seconds: created.seconds + loaded.seconds + fixed.seconds,
        steps: { createSchema: created.seconds, pgloader: loaded.seconds, fixSql: fixed.seconds },
        peakRssBytes: loaded.peakRssBytes,
        problems,
    };
}

/** pgloader's log lines at ERROR or FATAL level (it logs them and still exits 0). */
function pgloaderErrorLines(log: string): string[] {
    return log
        .split("\n")
        .filter((line) => /^\S+ (ERROR|FATAL) /.test(line))
        .map((line) => line.trim());
}

function lastLines(text: string): string {
    return text.trim().split("\n").slice(-3).join(" | ");
}
