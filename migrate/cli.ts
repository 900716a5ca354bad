/**
 * `npm run --silent migrate -- --sqlite <file> --schema <schema> [--dry-run] [--json]`, which runs this module
 * compiled into dist/ through scripts/migrate.cjs (the stack runs `node … scripts/migrate.cjs` directly).
 *
 * Connection: the libpq environment variables only (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE).
 * Exit codes: 0 migrated, unchanged or a successful dry run; 1 refused or failed, target unchanged; 2 usage error.
 * Progress goes to stderr, the summary to stdout (one JSON object with --json; a refusal with --json also prints
 * `{"status":"refused","reason","message"}` there, the message being the one on stderr).
 */
import { parseArgs } from "node:util";
import { type MigrationResult, migrateCatalog } from "./engine";
import { MigrationError, type RefusalReason, UsageError } from "./errors";
import { runAsProcess } from "./process";

const USAGE =
    "usage: npm run --silent migrate -- --sqlite <file> --schema <schema> [--dry-run] [--json] | --help\n" +
    "  Copies a DuckLake catalog from a SQLite file into a PostgreSQL schema, verified, in one transaction.\n" +
    "  Connection from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE.\n" +
    "  Exit 0: migrated, unchanged or dry run done; 1: refused or failed (target unchanged); 2: usage error.";

export interface CliArguments {
    sqlite: string;
    schema: string;
    dryRun: boolean;
    json: boolean;
}

export function parseCliArguments(argv: readonly string[]): CliArguments {
    let values: { sqlite?: string; schema?: string; "dry-run"?: boolean; json?: boolean };
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                sqlite: { type: "string" },
                schema: { type: "string" },
                "dry-run": { type: "boolean" },
                json: { type: "boolean" },
            },
            allowPositionals: false,
            strict: true,
        }));
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    for (const key of ["sqlite", "schema"] as const) {
        if (values[key] === undefined || values[key] === "") {
            throw new UsageError(`--${key} is required`);
        }
    }
    return {
        sqlite: values.sqlite!,
        schema: values.schema!,
        dryRun: values["dry-run"] ?? false,
        json: values.json ?? false,
    };
}

export function summary(result: MigrationResult): string {
    const rows = `${result.totalRows.toLocaleString("en-US")} rows in ${Object.keys(result.rows).length} tables`;
    const rate =
        result.seconds > 0 ? `, ${Math.round(result.totalRows / result.seconds).toLocaleString("en-US")} rows/s` : "";
    const what = `${result.source} (DuckLake ${result.ducklakeVersion})`;
    switch (result.status) {
        case "migrated":
            return `migrated ${what} into schema ${result.schema}: ${rows}, verified, in ${result.seconds} s${rate}`;
        case "unchanged":
            return `unchanged: schema ${result.schema} already holds exactly ${what} (${rows}); nothing was written`;
        case "dry-run":
            return result.plan === "unchanged"
                ? `dry run: schema ${result.schema} already holds exactly ${what} (${rows}); a run would change nothing`
                : `dry run: would create the DuckLake ${result.ducklakeVersion} tables in schema ${result.schema} and ` +
                      `copy ${what}: ${rows}; nothing was written`;
    }
}

/** The `--json` object of a refused run, so that callers can tell refusals apart without parsing stderr. */
export interface MigrationRefusal {
    status: "refused";
    reason: RefusalReason;
    message: string;
}

/** The refusal as `--json` prints it. */
function refusal(error: MigrationError): MigrationRefusal {
    return { status: "refused", reason: error.reason, message: error.message };
}

/** Runs the command with `argv` (without node and script) and returns its exit code. */
export async function runCli(
    argv: readonly string[],
    env: NodeJS.ProcessEnv,
    stdout: (text: string) => void,
    stderr: (text: string) => void,
): Promise<number> {
    if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h")) {
        stdout(`${USAGE}\n`);
        return 0;
    }
    let args: CliArguments;
    try {
        args = parseCliArguments(argv);
    } catch (error) {
        stderr(`migrate: ${(error as Error).message}\n${USAGE}\n`);
        return 2;
    }
    try {
        const result = await migrateCatalog({
            sqlite: args.sqlite,
            schema: args.schema,
            dryRun: args.dryRun,
            env,
            onProgress: (line) => stderr(`migrate: ${line}\n`),
        });
        stdout(args.json ? `${JSON.stringify(result)}\n` : `${summary(result)}\n`);
        return 0;
    } catch (error) {
        if (error instanceof UsageError) {
            stderr(`migrate: ${error.message}\n${USAGE}\n`);
            return 2;
        }
        if (error instanceof MigrationError) {
            stderr(`migrate: ${error.message}\n`);
            if (args.json) {
                stdout(`${JSON.stringify(refusal(error))}\n`);
            }
            return 1;
        }
        stderr(
            `migrate: unexpected failure: ${(error as Error).stack ?? String(error)}\n` +
                "The PostgreSQL transaction was not committed, so the target is unchanged.\n",
        );
        return 1;
    }
}

/** The process entry point, called by scripts/migrate.cjs once it has checked the build. */
export function main(): void {
    runAsProcess(runCli);
}
