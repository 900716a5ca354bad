import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchResult } from "../../bench/report";
import { readPhases } from "../../bench/report";
import { parseBenchArgs } from "../../bench/run";

const projectDir = path.join(__dirname, "..", "..");

function requirePostgres(): void {
    const missing = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].filter((key) => !process.env[key]);
    if (missing.length > 0) {
        throw new Error(
            `the bench test needs a PostgreSQL administrator in ${missing.join(", ")}; ` +
                "run it as `bash scripts/with-postgres.sh npx vitest run test/bench`",
        );
    }
}

function runBenchCommand(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const child = spawnSync("npm", ["run", "--silent", "bench", "--", ...args], {
        cwd: projectDir,
        env: process.env,
        encoding: "utf8",
        timeout: 280_000,
    });
    return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe("npm run bench", () => {
    it("migrates a tiny catalog with the real command, runs the runbook beside it and times the stack", () => {
        requirePostgres();
        const run = runBenchCommand(["--rows-millions", "0.02", "--json"]);
        expect(run.stderr).not.toMatch(/^bench: /m);
        expect(run.status).toBe(0);

        const result = JSON.parse(run.stdout) as BenchResult;
        expect(result.rows).toBeGreaterThanOrEqual(19_000);
        expect(result.rows).toBeLessThanOrEqual(21_000);
        expect(result.rows).toBe(Object.values(result.catalog.tables).reduce((sum, n) => sum + n, 0));
        expect(result.catalog.tables.ducklake_file_column_stats).toBeGreaterThan(result.rows / 2);
        expect(result.machine.cpus).toBeGreaterThan(0);
        expect(result.machine.loadAverageAtStart).toBeGreaterThanOrEqual(0);

        expect(result.engine.status).toBe("migrated");
        expect(result.engine.command).toMatch(
            /^node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts\/migrate\.cjs --sqlite \S+\/baseline\.sqlite --schema bench_engine --json$/,
        );
        expect(result.engine.seconds).toBeGreaterThan(0);
        expect(result.engine.rowsPerSecond).toBeCloseTo(result.rows / result.engine.seconds, 3);
        // A node process holds tens of MB before it reads anything: zero would mean the wrong process was measured.
        expect(result.engine.peakRssMb).toBeGreaterThan(20);
        expect(result.engine.peakTreeRssMb).toBeGreaterThanOrEqual(result.engine.peakRssMb);
        // Node's start-up alone takes CPU time: zero would mean the wrong process, or none, was read.
        expect(result.engine.cpuSeconds).toBeGreaterThan(0);
        expect(result.engine.cpuSeconds).toBeLessThanOrEqual(result.engine.seconds * result.machine.cpus);
        // The machine's CPU during the run holds the engine's own and PostgreSQL's work (whose share is not zero);
        // /proc/stat counts in 10 ms ticks per core, hence the margin on the upper bound.
        expect(result.engine.machineCpuSeconds).toBeGreaterThan(result.engine.cpuSeconds * 1.05);
        expect(result.engine.machineCpuSeconds).toBeLessThanOrEqual(
            result.engine.seconds * result.machine.cpus + 0.02 * result.machine.cpus,
        );
        expect(result.engine.phasesMissing).toBeUndefined();
        for (const phase of ["read", "load", "keys", "verify"] as const) {
            expect(result.engine.phases?.[phase]).toBeGreaterThanOrEqual(0);
        }

        // CI installs pgloader (scripts/setup.sh), so the runbook must have run and moved every row.
        expect("skipped" in result.runbook).toBe(false);
        if (!("skipped" in result.runbook)) {
            expect(result.runbook.problems).toEqual([]);
            expect(result.runbook.rowsArrived).toBe(result.rows);
            expect(result.runbook.peakRssMb).toBeGreaterThan(20);
            expect(result.ratio).toBeCloseTo(result.engine.rowsPerSecond / result.runbook.rowsPerSecond, 6);
        }

        // Every shape: migrated beside the plain-COPY limit, then a dry run and a re-run decided by the fingerprint.
        expect(result.shapes.map((shape) => shape.shape)).toEqual([
            "baseline",
            "long-stats",
            "wide-history",
            "many-tables",
        ]);
        expect(result.shapes[0].engine).toEqual(result.engine);
        for (const shape of result.shapes) {
            expect(shape.rows, shape.shape).toBeGreaterThan(15_000);
            expect(shape.engine.status).toBe("migrated");
            expect(shape.limit.error, shape.shape).toBeUndefined();
            expect(shape.limitRatio).toBeCloseTo(shape.engine.rowsPerSecond / shape.limit.rowsPerSecond, 6);
            expect(shape.limit.machineCpuSeconds, shape.shape).toBeGreaterThan(0);
            expect(shape.ratioCeiling).toBeCloseTo(
                shape.limit.seconds / (shape.engine.machineCpuSeconds / result.machine.cpus),
                6,
            );
            expect(shape.noop.dryRun).toMatchObject({ status: "dry-run", checkedBy: "fingerprint" });
            expect(shape.noop.rerun).toMatchObject({ status: "unchanged", checkedBy: "fingerprint" });
            expect(shape.noop.dryRunCompared).toMatchObject({ status: "dry-run", checkedBy: "content" });
        }
        const tables = (shape: string) => result.shapes.find((run) => run.shape === shape)!.catalog.tables;
        expect(tables("wide-history").ducklake_snapshot).toBeGreaterThan(result.rows / 3);
        const manyTables = tables("many-tables");
        expect(manyTables.ducklake_column + manyTables.ducklake_table_column_stats).toBeGreaterThan(result.rows / 2);
        expect(manyTables.ducklake_table).toBeGreaterThan(result.rows / 50);
        expect(result.startupSeconds.best).toBeGreaterThan(0);
        expect(result.startupSeconds.median).toBeGreaterThanOrEqual(result.startupSeconds.best);

        expect(result.stack.map((evaluation) => [evaluation.catalogs, evaluation.error])).toEqual([
            [4, undefined],
            [40, undefined],
        ]);
        for (const evaluation of result.stack) {
            expect(evaluation.programSeconds).toBeGreaterThan(0);
            expect(evaluation.resources).toBeGreaterThan(evaluation.catalogs);
        }
        expect(result.stack[1].resources).toBeGreaterThan(result.stack[0].resources ?? 0);
    }, 300_000);

    it("refuses a missing or non-positive size with exit code 2 and the usage", () => {
        const run = runBenchCommand(["--rows-millions", "0"]);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("--rows-millions must be a number of millions of catalog rows above 0");
        expect(run.stderr).toContain("usage: npm run --silent bench -- --rows-millions <N>");
    });
});

describe("parseBenchArgs", () => {
    it("turns millions into a row count", () => {
        expect(parseBenchArgs(["--rows-millions", "0.02"])).toEqual({
            rows: 20_000,
            keep: false,
            json: false,
            shapes: ["baseline", "long-stats", "wide-history", "many-tables"],
        });
        expect(parseBenchArgs(["--rows-millions", "11", "--keep", "--json", "--shapes", "wide-history"])).toEqual({
            rows: 11_000_000,
            keep: true,
            json: true,
            shapes: ["wide-history"],
        });
        expect(() => parseBenchArgs(["--rows-millions", "2", "--shapes", "baseline,huge"])).toThrow(
            /--shapes takes .* got huge/,
        );
    });

    it("rejects unknown flags", () => {
        expect(() => parseBenchArgs(["--rows-millions", "2", "--fast"])).toThrow(/Unknown option '--fast'/);
    });
});

describe("readPhases", () => {
    it("reads the engine's phases object and its read time", () => {
        expect(
            readPhases({ phases: { check: 0.1, load: 2, keys: 0.5, verify: 1, commit: 0 }, readSeconds: 1.5 }),
        ).toEqual({
            phases: { read: 1.5, load: 2, keys: 0.5, verify: 1 },
            all: { check: 0.1, load: 2, keys: 0.5, verify: 1, commit: 0 },
        });
    });

    it("names what is missing instead of reporting zeros", () => {
        expect(readPhases({ status: "migrated", seconds: 3 })).toEqual({
            missing: 'the engine\'s --json output has no "phases" object (keys: status, seconds)',
        });
        expect(readPhases({ phases: { load: 2, keys: 1 } })).toEqual({
            missing:
                "the engine's --json output lacks numeric readSeconds, phases.verify " +
                '(phases: {"load":2,"keys":1}, readSeconds: undefined)',
        });
    });
});
