/**
 * The migration benchmark: per catalog shape (bench/shapes.ts), generates a catalog, loads it the plain way
 * (bench/limit.ts, the speed limit) and migrates it with the stack's command into a fresh database owned by a
 * non-superuser role, then times the dry run and the re-run against the unchanged catalog. It also times the
 * command's start-up, runs the original runbook (pgloader + fix.sql) on the first shape when pgloader is
 * installed, times the Pulumi program under mocks, and prints a table (or `--json`).
 *
 * Usage: bash scripts/with-postgres.sh npm run --silent bench -- --rows-millions N [--shapes a,b] [--keep] [--json]
 * The PG* environment must be an administrator (it creates a role and a database per run).
 * Exit codes: 0 = measured; 1 = the migration (or the bench itself) failed; 2 = usage.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import type { Client } from "pg";
import { MIGRATE_PROGRAM, dryRunCommand, migrateCommand } from "../components/catalogMigration";
import {
    adminEnvironment,
    BenchDatabase,
    benchDatabaseEnvironment,
    connectAdmin,
    countRows,
    createBenchDatabase,
    dropBenchDatabase,
} from "./database";
import { runLimit } from "./limit";
import { runMeasured } from "./process";
import {
    BenchResult,
    formatReport,
    MigrationRun,
    NoopRun,
    readPhases,
    RunbookRun,
    ShapeRun,
    StackEvaluation,
} from "./report";
import { runRunbook } from "./runbook";
import { SHAPES, type Shape, buildShapedCatalog } from "./shapes";

const projectDir = path.join(__dirname, "..");
const engineSchema = "bench_engine";
const runbookSchema = "bench_runbook";
const stackSizes = [4, 40];
const stackEvaluator = path.join(projectDir, "test", "stack", "evaluate.ts");
const megabyte = 1024 * 1024;

export interface BenchOptions {
    rows: number;
    keep: boolean;
    shapes: Shape[];
}

class UsageError extends Error {}

const usage = `usage: npm run --silent bench -- --rows-millions <N> [--shapes ${SHAPES.join(",")}] [--keep] [--json]`;

export function parseBenchArgs(argv: string[]): BenchOptions & { json: boolean } {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            options: {
                "rows-millions": { type: "string" },
                shapes: { type: "string", default: SHAPES.join(",") },
                keep: { type: "boolean", default: false },
                json: { type: "boolean", default: false },
            },
            strict: true,
            allowPositionals: false,
        });
    } catch (error) {
        throw new UsageError(`${(error as Error).message}\n${usage}`);
    }
    const millions = Number(parsed.values["rows-millions"]);
    if (
        parsed.values["rows-millions"] === undefined ||
        !Number.isFinite(millions) ||
        millions <= 0 ||
        millions > 1000
    ) {
        throw new UsageError(
            `--rows-millions must be a number of millions of catalog rows above 0 and at most 1000 (e.g. 0.02, 2, 11); ` +
                `got ${parsed.values["rows-millions"] ?? "nothing"}\n${usage}`,
        );
    }
    const shapes = parsed.values.shapes.split(",");
    const unknown = shapes.filter((shape) => !(SHAPES as readonly string[]).includes(shape));
    if (unknown.length > 0) {
        throw new UsageError(
            `--shapes takes a comma-separated list of ${SHAPES.join(", ")}; got ${unknown.join(", ")}\n${usage}`,
        );
    }
    return {
        rows: Math.round(millions * 1e6),
        keep: parsed.values.keep,
        json: parsed.values.json,
        shapes: shapes as Shape[],
    };
}

async function runBench(options: BenchOptions): Promise<BenchResult> {
    adminEnvironment(process.env);
    const loadAverageAtStart = os.loadavg()[0];
    const runId = `bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
    const workDir = path.join(projectDir, "bench-output", runId);
    fs.mkdirSync(workDir, { recursive: true });

    const admin = await connectAdmin();
    let database: BenchDatabase | undefined;
    try {
        database = await createBenchDatabase(admin, runId);
        const startupSeconds = timeStartup();
        const shapes: ShapeRun[] = [];
        let runbook: RunbookRun | { skipped: string } = { skipped: "pgloader is not installed" };
        for (const [index, shape] of options.shapes.entries()) {
            const sqlite = path.join(workDir, `${shape}.sqlite`);
            const generateStarted = process.hrtime.bigint();
            buildShapedCatalog(sqlite, shape, options.rows);
            const generateSeconds = Number(process.hrtime.bigint() - generateStarted) / 1e9;
            const source = readSource(sqlite);
            const rows = sum(Object.values(source.tables));
            const suffix = index === 0 ? "" : `_${shape.replace(/-/g, "_")}`;
            await checkpoint(admin);
            const limit = await runLimit(sqlite, source.version, `bench_limit${suffix}`, database, rows, workDir);
            const engine = await runEngine(admin, sqlite, `${engineSchema}${suffix}`, database, rows);
            const noop = await runNoop(sqlite, `${engineSchema}${suffix}`, database);
            if (index === 0 && hasPgloader()) {
                runbook = await runBaseline(admin, sqlite, database, rows);
            }
            shapes.push({
                shape,
                rows,
                catalog: {
                    specVersion: source.version,
                    generateSeconds,
                    tables: source.tables,
                    keptAt: options.keep ? sqlite : null,
                },
                engine,
                limit,
                limitRatio: limit.exitCode === 0 ? engine.rowsPerSecond / limit.rowsPerSecond : null,
                ratioCeiling:
                    limit.exitCode === 0 ? limit.seconds / (engine.machineCpuSeconds / os.cpus().length) : null,
                noop,
            });
        }
        const stack = stackSizes.map(evaluateStack);
        const [first] = shapes;
        return {
            rows: first.rows,
            machine: { cpus: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg()[0] },
            catalog: first.catalog,
            engine: first.engine,
            runbook,
            ratio: "rowsPerSecond" in runbook ? first.engine.rowsPerSecond / runbook.rowsPerSecond : null,
            startupSeconds,
            shapes,
            stack,
            keptDatabase: options.keep ? runId : null,
        };
    } finally {
        if (!options.keep) {
            if (database !== undefined) {
                await dropBenchDatabase(admin, runId);
            }
            fs.rmSync(workDir, { recursive: true, force: true });
        }
        await admin.end();
    }
}

/** Wall seconds of `migrate --help` through the stack's program: node, the build check and every engine module. */
function timeStartup(): { best: number; median: number } {
    const seconds = [0, 1, 2, 3, 4]
        .map(() => {
            const started = process.hrtime.bigint();
            const child = spawnSync("sh", ["-c", `${MIGRATE_PROGRAM} --help`], { cwd: projectDir, stdio: "ignore" });
            if (child.status !== 0) {
                throw new Error(`\`${MIGRATE_PROGRAM} --help\` exited ${child.status}`);
            }
            return Number(process.hrtime.bigint() - started) / 1e9;
        })
        .sort((a, b) => a - b);
    return { best: seconds[0], median: seconds[2] };
}

/** The dry run (as every preview runs it) and the re-run against the catalog the engine just migrated. */
async function runNoop(sqlite: string, schema: string, database: BenchDatabase): Promise<NoopRun> {
    const env = { ...process.env, ...benchDatabaseEnvironment(database) };
    const timed = (command: string) => {
        const started = process.hrtime.bigint();
        const child = spawnSync("sh", ["-c", command], { cwd: projectDir, env, encoding: "utf8" });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (child.status !== 0) {
            throw new Error(`${command} exited ${child.status}: ${child.stderr.trim()}`);
        }
        const summary = parseSummary(child.stdout);
        return { seconds, status: String(summary.status), checkedBy: String(summary.checkedBy) };
    };
    const dryRun = timed(dryRunCommand(sqlite, schema));
    const rerun = timed(migrateCommand(sqlite, schema, { dryRun: false }));
    // The same dry run once the file's times changed (same content): what every preview cost before fingerprints.
    const now = new Date();
    fs.utimesSync(sqlite, now, now);
    const dryRunCompared = timed(dryRunCommand(sqlite, schema));
    return { dryRun, rerun, dryRunCompared };
}

async function runEngine(
    admin: Client,
    sqlite: string,
    schema: string,
    database: BenchDatabase,
    sourceRows: number,
): Promise<MigrationRun> {
    await checkpoint(admin);
    // The stack's own command line, through a shell as the Command provider runs it.
    const command = migrateCommand(sqlite, schema, { dryRun: false });
    const run = await runMeasured("sh", ["-c", command], {
        cwd: projectDir,
        env: { ...process.env, ...benchDatabaseEnvironment(database) },
        measure: (commandLine) => commandLine.includes("scripts/migrate.cjs"),
        echoStderr: true,
    });
    if (run.exitCode !== 0) {
        throw new Error(`the migration failed (exit ${run.exitCode}): ${run.stderr.trim() || run.stdout.trim()}`);
    }
    const summary = parseSummary(run.stdout);
    if (summary.status !== "migrated") {
        throw new Error(
            `the migration into an empty schema reported status ${String(summary.status)}, expected migrated`,
        );
    }
    if (summary.totalRows !== sourceRows) {
        throw new Error(`the migration reported ${String(summary.totalRows)} rows; the source holds ${sourceRows}`);
    }
    const phases = readPhases(summary);
    return {
        command,
        status: String(summary.status),
        seconds: run.seconds,
        rowsPerSecond: sourceRows / run.seconds,
        peakRssMb: run.peakRssBytes / megabyte,
        cpuSeconds: run.cpuSeconds,
        machineCpuSeconds: run.machineCpuSeconds,
        peakTreeRssMb: run.peakTreeRssBytes / megabyte,
        engineSeconds: typeof summary.seconds === "number" ? summary.seconds : null,
        phases: "phases" in phases ? phases.phases : null,
        enginePhases: "all" in phases ? phases.all : null,
        ...("missing" in phases ? { phasesMissing: phases.missing } : {}),
    };
}

async function runBaseline(
    admin: Client,
    sqlite: string,
    database: BenchDatabase,
    sourceRows: number,
): Promise<RunbookRun> {
    await checkpoint(admin);
    const result = await runRunbook(sqlite, runbookSchema, database);
    const client = await connectAdmin(database.database);
    let rowsArrived: number;
    try {
        rowsArrived = sum(Object.values(await countRows(client, runbookSchema)));
    } finally {
        await client.end();
    }
    const problems = [...result.problems];
    if (rowsArrived !== sourceRows) {
        problems.push(
            `the runbook left ${rowsArrived} rows in schema ${runbookSchema}; the source holds ${sourceRows}`,
        );
    }
    return {
        seconds: result.seconds,
        rowsPerSecond: sourceRows / result.seconds,
        peakRssMb: result.peakRssBytes / megabyte,
        steps: result.steps,
        rowsArrived,
        problems,
    };
}

/** Starts each measured run from a clean checkpoint, so one run's dirty buffers are not written during the next. */
async function checkpoint(admin: Client): Promise<void> {
    await admin.query("CHECKPOINT");
}

/**
 * Times the program under mocks with the stack helper's evaluator (test/stack/evaluate.ts), in a fresh process per
 * size so that no module cache from an earlier run makes the program look faster than `pulumi up` would see it.
 */
function evaluateStack(catalogs: number): StackEvaluation {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ["--import", "tsx", stackEvaluator, String(catalogs)], {
        cwd: projectDir,
        encoding: "utf8",
        timeout: 120_000,
    });
    const processSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const line = child.stdout.trim().split("\n").pop() ?? "";
    if (child.status !== 0 || !line.startsWith("{")) {
        const reason = (child.stderr || child.stdout || String(child.error ?? ""))
            .trim()
            .split("\n")
            .slice(0, 3)
            .join(" | ");
        return { catalogs, processSeconds: null, programSeconds: null, resources: null, error: reason };
    }
    const parsed = JSON.parse(line) as { resources: number; milliseconds: number };
    return { catalogs, processSeconds, programSeconds: parsed.milliseconds / 1000, resources: parsed.resources };
}

function readSource(sqlite: string): { version: string; tables: Record<string, number> } {
    const db = new DatabaseSync(sqlite, { readOnly: true });
    try {
        const names = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ducklake%' ORDER BY name")
            .all() as { name: string }[];
        const tables: Record<string, number> = {};
        for (const { name } of names) {
            tables[name] = Number((db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n);
        }
        const version = db.prepare("SELECT value FROM ducklake_metadata WHERE key = 'version'").get() as
            { value: string } | undefined;
        return { version: version?.value ?? "unknown", tables };
    } finally {
        db.close();
    }
}

function parseSummary(stdout: string): Record<string, unknown> {
    try {
        return JSON.parse(stdout) as Record<string, unknown>;
    } catch {
        throw new Error(`the migration's --json output is not one JSON object: ${stdout.slice(0, 300)}`);
    }
}

function hasPgloader(): boolean {
    return spawnSync("pgloader", ["--version"], { stdio: "ignore" }).status === 0;
}

function sum(values: number[]): number {
    return values.reduce((total, value) => total + value, 0);
}

async function main(): Promise<void> {
    let options;
    try {
        options = parseBenchArgs(process.argv.slice(2));
    } catch (error) {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exitCode = error instanceof UsageError ? 2 : 1;
        return;
    }
    try {
        const result = await runBench(options);
        process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${formatReport(result)}\n`);
    } catch (error) {
        process.stderr.write(`bench: ${(error as Error).message}\n`);
        process.exitCode = 1;
    }
}

if (require.main === module) {
    void main();
}
