import type { LimitRun } from "./limit";

/** Seconds the engine spent in each phase, as it reports them in its `--json` output. */
export interface Phases {
    read: number;
    load: number;
    keys: number;
    verify: number;
}

export interface MigrationRun {
    /** The exact command line the bench ran. */
    command: string;
    status: string;
    seconds: number;
    rowsPerSecond: number;
    /** VmHWM of the node process running scripts/migrate.cjs (the engine). */
    peakRssMb: number;
    /** User plus system CPU seconds of that node process (its own cost, whatever else ran on the machine). */
    cpuSeconds: number;
    /** CPU seconds of the whole machine during the run, PostgreSQL's share included (runMeasured). */
    machineCpuSeconds: number;
    /** Highest sum of VmRSS over npm, sh and node together. */
    peakTreeRssMb: number;
    /** The engine's own `seconds`, which leaves out npm's and Node's start-up. */
    engineSeconds: number | null;
    phases: Phases | null;
    /** Every phase the engine reported, in its order (e.g. check, load, keys, verify, commit). */
    enginePhases: Record<string, number> | null;
    /** Why `phases` is null. */
    phasesMissing?: string;
}

export interface RunbookRun {
    seconds: number;
    rowsPerSecond: number;
    /** pgloader's VmHWM. */
    peakRssMb: number;
    steps: { createSchema: number; pgloader: number; fixSql: number };
    rowsArrived: number;
    problems: string[];
}

export interface StackEvaluation {
    catalogs: number;
    /** Wall time of the child process: Node and tsx start-up, module loading and the program. */
    processSeconds: number | null;
    /** From installing the mocks until every export of index.ts has resolved (the evaluator's own clock). */
    programSeconds: number | null;
    resources: number | null;
    error?: string;
}

export interface NoopStep {
    seconds: number;
    status: string;
    /** "fingerprint" when the recorded fingerprint decided, "content" when every row was compared. */
    checkedBy: string;
}

/** The dry run and the re-run against the catalog the engine just migrated, wall seconds with start-up. */
export interface NoopRun {
    dryRun: NoopStep;
    rerun: NoopStep;
    /** The dry run after the file was touched (content unchanged), so that it compares every row. */
    dryRunCompared: NoopStep;
}

export interface ShapeRun {
    shape: string;
    rows: number;
    catalog: BenchResult["catalog"];
    engine: MigrationRun;
    limit: LimitRun;
    /** Engine rows/s divided by the plain-COPY limit's rows/s, both measured in this run; null if the limit failed. */
    limitRatio: number | null;
    /**
     * The highest ratio the engine could reach with the CPU it spent: the limit's seconds divided by the engine's
     * machine CPU seconds spread evenly over every core. Null if the limit failed.
     */
    ratioCeiling: number | null;
    noop: NoopRun;
}

export interface BenchResult {
    rows: number;
    /** Other work on the machine skews every number here; the 1-minute load average says how much there was. */
    machine: { cpus: number; loadAverageAtStart: number; loadAverageAtEnd: number };
    catalog: { specVersion: string; generateSeconds: number; tables: Record<string, number>; keptAt: string | null };
    engine: MigrationRun;
    runbook: RunbookRun | { skipped: string };
    /** Engine rows/s divided by runbook rows/s; null without a runbook run. */
    ratio: number | null;
    /** `migrate --help` through the stack's program, best and median of five. */
    startupSeconds: { best: number; median: number };
    /** Every shape measured; the first is also reported as `engine` and `catalog` above. */
    shapes: ShapeRun[];
    stack: StackEvaluation[];
    keptDatabase: string | null;
}

const phaseNames = ["read", "load", "keys", "verify"] as const;

/**
 * Finds the per-phase seconds in the engine's `--json` object: `phases: { load, keys, verify, ... }` in wall seconds,
 * and `readSeconds`, the time spent reading and encoding the source, which overlaps PostgreSQL's work inside `load`.
 * Anything missing is reported back word for word, so a change on the engine side shows up in the bench output
 * instead of as zeros.
 */
export function readPhases(
    summary: Record<string, unknown>,
): { phases: Phases; all: Record<string, number> } | { missing: string } {
    const phases = summary.phases;
    if (typeof phases !== "object" || phases === null) {
        return {
            missing: `the engine's --json output has no "phases" object (keys: ${Object.keys(summary).join(", ")})`,
        };
    }
    const values: Record<string, unknown> = { ...phases, read: summary.readSeconds };
    const absent = phaseNames.filter((name) => typeof values[name] !== "number");
    if (absent.length > 0) {
        return {
            missing:
                `the engine's --json output lacks numeric ${absent.map((name) => (name === "read" ? "readSeconds" : `phases.${name}`)).join(", ")} ` +
                `(phases: ${JSON.stringify(phases)}, readSeconds: ${JSON.stringify(summary.readSeconds)})`,
        };
    }
    const all = Object.fromEntries(
        Object.entries(phases).filter(([, seconds]) => typeof seconds === "number"),
    ) as Record<string, number>;
    return {
        phases: {
            read: Number(values.read),
            load: Number(values.load),
            keys: Number(values.keys),
            verify: Number(values.verify),
        },
        all,
    };
}

/** The human-readable report: one row per migration, then the stack timings. */
export function formatReport(result: BenchResult): string {
    const header = [
        "run",
        "rows",
        "seconds",
        "rows/s",
        "peak RSS MB",
        "read s",
        "load s",
        "keys s",
        "verify s",
        "vs runbook",
    ];
    const engine = result.engine;
    const lines: string[][] = [
        header,
        [
            "engine",
            integer(result.rows),
            fixed(engine.seconds),
            integer(engine.rowsPerSecond),
            fixed(engine.peakRssMb, 1),
            ...phaseNames.map((name) => (engine.phases === null ? "-" : fixed(engine.phases[name]))),
            result.ratio === null ? "-" : `${fixed(result.ratio, 2)}x`,
        ],
    ];
    if ("seconds" in result.runbook) {
        const runbook = result.runbook;
        lines.push([
            "runbook",
            integer(runbook.rowsArrived),
            fixed(runbook.seconds),
            integer(runbook.rowsPerSecond),
            fixed(runbook.peakRssMb, 1),
            "-",
            "-",
            "-",
            "-",
            "1.00x",
        ]);
    }

    const shapeLines: string[][] = [
        [
            "shape",
            "rows",
            "seconds",
            "rows/s",
            "limit rows/s",
            "ratio",
            "ceiling",
            "limit CPU s",
            "engine CPU s",
            "engine process CPU s",
            "peak RSS MB",
            "dry run s",
            "re-run s",
            "compared dry run s",
        ],
        ...result.shapes.map((run) => [
            run.shape,
            integer(run.rows),
            fixed(run.engine.seconds),
            integer(run.engine.rowsPerSecond),
            run.limit.exitCode === 0 ? integer(run.limit.rowsPerSecond) : "failed",
            run.limitRatio === null ? "-" : `${fixed(run.limitRatio, 2)}x`,
            run.ratioCeiling === null ? "-" : `${fixed(run.ratioCeiling, 2)}x`,
            run.limit.exitCode === 0 ? fixed(run.limit.machineCpuSeconds) : "-",
            fixed(run.engine.machineCpuSeconds),
            fixed(run.engine.cpuSeconds),
            fixed(run.engine.peakRssMb, 1),
            `${fixed(run.noop.dryRun.seconds)} (${run.noop.dryRun.checkedBy})`,
            `${fixed(run.noop.rerun.seconds)} (${run.noop.rerun.checkedBy})`,
            `${fixed(run.noop.dryRunCompared.seconds)} (${run.noop.dryRunCompared.checkedBy})`,
        ]),
    ];
    const out = [
        `catalog: ${integer(result.rows)} rows, spec ${result.catalog.specVersion}, generated in ` +
            `${fixed(result.catalog.generateSeconds)} s`,
        `machine: ${result.machine.cpus} CPUs, 1-minute load average ${fixed(result.machine.loadAverageAtStart)} at ` +
            `the start, ${fixed(result.machine.loadAverageAtEnd)} at the end` +
            (Math.max(result.machine.loadAverageAtStart, result.machine.loadAverageAtEnd) > result.machine.cpus
                ? ` (above ${result.machine.cpus}, other work competed with the bench)`
                : ""),
        `start-up of the migrate command (--help): best ${fixed(result.startupSeconds.best, 3)} s, median ` +
            `${fixed(result.startupSeconds.median, 3)} s`,
        "",
        "CPU s: the whole machine's during the limit's load and the migration (PostgreSQL included); engine process",
        "CPU s: the migrate process alone. ceiling: the ratio the engine would reach if its CPU kept every core busy.",
        ...table(shapeLines),
        ...result.shapes.flatMap((run) =>
            run.limit.error === undefined ? [] : [`  limit of ${run.shape} failed: ${run.limit.error}`],
        ),
        "",
        ...table(lines),
        "",
        `engine: status ${engine.status}, engine-reported ${engine.engineSeconds === null ? "-" : fixed(engine.engineSeconds)} s, ` +
            `process tree peak ${fixed(engine.peakTreeRssMb, 1)} MB`,
        `  ${engine.command}`,
    ];
    if (engine.enginePhases !== null) {
        const phases = Object.entries(engine.enginePhases).map(([phase, seconds]) => `${phase} ${fixed(seconds)} s`);
        out.push(
            `  engine phases: ${phases.join(", ")}; read (inside load, overlapping COPY) ${fixed(engine.phases?.read ?? 0)} s`,
        );
    }
    if (engine.phasesMissing !== undefined) {
        out.push(`  phases missing: ${engine.phasesMissing}`);
    }
    if ("seconds" in result.runbook) {
        const { steps, problems } = result.runbook;
        out.push(
            `runbook: CREATE SCHEMA ${fixed(steps.createSchema)} s, pgloader ${fixed(steps.pgloader)} s, ` +
                `fix.sql ${fixed(steps.fixSql)} s`,
            ...problems.map((problem) => `  problem: ${problem}`),
        );
    } else {
        out.push(`runbook: skipped (${result.runbook.skipped})`);
    }
    for (const run of result.stack) {
        out.push(
            run.error === undefined
                ? `stack under mocks, ${run.catalogs} catalogs: program ${fixed(run.programSeconds ?? 0)} s ` +
                      `(${run.resources} resources; whole process with start-up ${fixed(run.processSeconds ?? 0)} s)`
                : `stack under mocks, ${run.catalogs} catalogs: failed: ${run.error}`,
        );
    }
    if (result.catalog.keptAt !== null) {
        out.push(`kept: catalog ${result.catalog.keptAt}, database ${result.keptDatabase}`);
    }
    return out.join("\n");
}

function table(rows: string[][]): string[] {
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    return rows.map((row) =>
        row
            .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
            .join("  "),
    );
}

function integer(value: number): string {
    return Math.round(value).toLocaleString("en-US");
}

function fixed(value: number, digits = 2): string {
    return value.toFixed(digits);
}
