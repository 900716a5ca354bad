/**
 * A real DuckDB with the real DuckLake extension, for every release line whose signed binaries setup fetches
 * (`scripts/setup-duckdb.sh`, pins in `tools/duckdb/<version>/`). Each line is @duckdb/node-api of that exact DuckDB
 * version (the project's own for the newest line, `.tools/duckdb/v<version>/node` for older ones) with the
 * extensions built for it, loaded from `.tools/duckdb/v<version>/`.
 * Nothing is autoloaded or installed: the extension repository is out of reach, so a missing binary fails loudly.
 *
 * A process holds one DuckDB library: every line's native binding links `libduckdb.so` by the same name, so the
 * second line opened in a process silently gets the first one's library. `DuckLakeSession.open` refuses that;
 * `runDuckLake` runs a line in a child process of its own, for tests that need several lines.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { text } from "node:stream/consumers";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "../../migrate/sqlText";
import { runProcess } from "../../migrate/process";

export interface DuckLakeLine {
    /** The DuckDB release whose library and extension binaries are used. */
    readonly duckdb: string;
    /** The DuckLake spec version this line's extension writes into a new catalog. */
    readonly spec: string;
    /** Where its @duckdb/node-api is installed: the project's own, or a folder of `.tools/duckdb/`. */
    readonly nodeApi: "project" | "tools";
}

/** Newest first. DuckDB 1.3.0's DuckLake (spec 0.1) has no wheel on PyPI, so 0.1 has no real writer here. */
export const DUCKLAKE_LINES: readonly DuckLakeLine[] = [
    { duckdb: "1.5.5", spec: "1.0", nodeApi: "project" },
    { duckdb: "1.5.0", spec: "0.4", nodeApi: "tools" },
    { duckdb: "1.4.4", spec: "0.3", nodeApi: "tools" },
    { duckdb: "1.3.2", spec: "0.2", nodeApi: "tools" },
];

export const NEWEST_LINE = DUCKLAKE_LINES[0];

const TOOLS_ROOT = path.resolve(__dirname, "../../.tools/duckdb");

/** A file of a line's folder in `.tools/duckdb/`; missing means setup has not run. */
function installed(line: DuckLakeLine, ...parts: string[]): string {
    const file = path.join(TOOLS_ROOT, `v${line.duckdb}`, ...parts);
    if (!existsSync(file)) {
        throw new Error(
            `DuckDB ${line.duckdb} is not installed: ${file} is missing; run scripts/setup.sh ` +
                "(it fetches the pinned extension binaries from PyPI and the line's @duckdb/node-api from npm).",
        );
    }
    return file;
}

export function extensionPath(line: DuckLakeLine, name: string): string {
    return installed(line, `${name}.duckdb_extension`);
}

function nodeApiModule(line: DuckLakeLine): string {
    return line.nodeApi === "project"
        ? "@duckdb/node-api"
        : require.resolve("@duckdb/node-api", { paths: [installed(line, "node")] });
}

/** A DuckDB session of one release line with ducklake, sqlite_scanner and postgres_scanner loaded. */
export class DuckLakeSession {
    private constructor(
        readonly line: DuckLakeLine,
        private readonly instance: DuckDBInstance,
        readonly connection: DuckDBConnection,
    ) {}

    static async open(line: DuckLakeLine = NEWEST_LINE): Promise<DuckLakeSession> {
        const api = (await import(nodeApiModule(line))) as typeof import("@duckdb/node-api");
        const instance = await api.DuckDBInstance.create(":memory:", {
            autoinstall_known_extensions: "false",
            autoload_known_extensions: "false",
        });
        const connection = await instance.connect();
        const session = new DuckLakeSession(line, instance, connection);
        const [[version]] = await session.rows("SELECT version()");
        if (version !== `v${line.duckdb}`) {
            throw new Error(
                `DuckDB ${line.duckdb}'s @duckdb/node-api runs DuckDB ${String(version)}: either another ` +
                    "DuckDB line was opened in this process first (use runDuckLake), or its @duckdb/node-api and " +
                    "extensions are pinned to different versions.",
            );
        }
        for (const name of ["ducklake", "sqlite_scanner", "postgres_scanner"]) {
            await connection.run(`LOAD '${extensionPath(line, name)}'`);
        }
        return session;
    }

    async run(sql: string): Promise<void> {
        await this.connection.run(sql);
    }

    /** Rows as arrays of DuckDB values (typed: bigint, Date-like values, nested objects). */
    async rows(sql: string): Promise<unknown[][]> {
        return (await this.connection.runAndReadAll(sql)).getRows();
    }

    /** Rows as JSON-compatible arrays: a stable form for comparing results between two sessions. */
    async jsonRows(sql: string): Promise<unknown[][]> {
        return (await this.connection.runAndReadAll(sql)).getRowsJson();
    }

    close(): void {
        this.connection.closeSync();
        this.instance.closeSync();
    }
}

/** `ATTACH` of a DuckLake catalog kept in a SQLite file. */
export function attachSqliteSql(alias: string, sqliteFile: string, dataPath: string, options: string[] = []): string {
    return (
        `ATTACH ${sqlString(`ducklake:sqlite:${sqliteFile}`)} AS ${alias} ` +
        `(${[`DATA_PATH ${sqlString(dataPath)}`, ...options].join(", ")})`
    );
}

/**
 * `ATTACH` of a DuckLake catalog kept in a PostgreSQL schema. The connection string (password included) lives only
 * in this in-process session, never in a process argument.
 */
export function attachPostgresSql(
    alias: string,
    env: NodeJS.ProcessEnv,
    schema: string,
    dataPath: string,
    options: string[] = [],
): string {
    const connection = [
        `host=${env.PGHOST}`,
        `port=${env.PGPORT}`,
        `dbname=${env.PGDATABASE}`,
        `user=${env.PGUSER}`,
        `password=${env.PGPASSWORD}`,
    ].join(" ");
    return (
        `ATTACH ${sqlString(`ducklake:postgres:${connection}`)} AS ${alias} ` +
        `(${[`DATA_PATH ${sqlString(dataPath)}`, `METADATA_SCHEMA ${sqlString(schema)}`, ...options].join(", ")})`
    );
}

/** One statement's result as `runDuckLake` returns it: column names and JSON-compatible rows. */
export interface StatementResult {
    columns: string[];
    rows: unknown[][];
}

const CHILD_SCRIPT = path.join(__dirname, "ducklakeChild.ts");

/**
 * Runs statements in order in a fresh process with one DuckDB line, and returns every statement's result. The
 * statements travel on stdin (an ATTACH may carry a password), never as arguments.
 */
export function runDuckLake(line: DuckLakeLine, statements: readonly string[]): Promise<StatementResult[]> {
    return runLineScript<StatementResult[]>(line, CHILD_SCRIPT, { statements });
}

/**
 * Runs `script` (a module that reads `{ line, ...request }` as JSON on stdin and prints its JSON answer) in a fresh
 * process, so that the process holds only this line's DuckDB.
 */
export async function runLineScript<T>(line: DuckLakeLine, script: string, request: object): Promise<T> {
    const result = await runProcess(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", "--import", "tsx", script],
        { stdin: JSON.stringify({ line: line.duckdb, ...request }) },
    );
    if (result.code !== 0) {
        throw new Error(`DuckDB ${line.duckdb} failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
    return JSON.parse(result.stdout) as T;
}

/** The request of `runLineScript` as its script reads it from stdin, with the line it names resolved. */
export async function readLineRequest<T extends object>(): Promise<T & { line: DuckLakeLine }> {
    const request = JSON.parse(await text(process.stdin)) as T & { line: string };
    const line = DUCKLAKE_LINES.find((candidate) => candidate.duckdb === request.line);
    if (!line) {
        throw new Error(`no DuckDB line ${request.line} in DUCKLAKE_LINES`);
    }
    return { ...request, line };
}
