/**
 * SIGKILL of the migrate process at each point of its work. The server must abort the open transaction, leaving the
 * target exactly as before, with nothing left running or locked, and a re-run must then succeed. A reader polling the
 * target throughout must only ever see the state before.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildLargeCatalog, LARGEST_TABLE } from "./support/catalogs";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { kill, openFiles, pollUntil, runMigrate, startMigrate, type MigrateRun } from "./support/migrateProcess";
import { expectMigrated, expectOnlyStates } from "./support/expectations";
import {
    backendsOf,
    copyPast,
    isVerificationQuery,
    observeTarget,
    schemaState,
    startReader,
    waitUntilReaped,
} from "./support/targetState";

let target: FaultTarget;
let catalog: string;
let largestRows: number;

beforeAll(async () => {
    target = await openFaultTarget("kill");
    catalog = path.join(target.dir, "large.sqlite");
    largestRows = buildLargeCatalog(catalog).rows[LARGEST_TABLE];
});

afterAll(async () => {
    await target?.close();
});

interface KillOptions {
    /** Extra environment for the killed run (a pause hook). */
    env?: NodeJS.ProcessEnv;
    /**
     * Migrate the catalog into the schema first, so the killed run is a re-run that compares the source with an
     * identical copy; otherwise the schema starts empty, as the stack creates it.
     */
    alreadyMigrated?: boolean;
}

/**
 * Runs a migration into `schema`, waits for `reach` to see the run arrive at the fault point, SIGKILLs the engine
 * there, and checks the aftermath: the target exactly as before, a reader that saw nothing else, nothing left on the
 * server, and a re-run that succeeds.
 */
async function killAt(
    schema: string,
    reach: (run: MigrateRun, pid: number) => Promise<void>,
    options: KillOptions = {},
): Promise<void> {
    await target.createSchema(schema);
    if (options.alreadyMigrated) {
        expectMigrated(await runMigrate({ sqlite: catalog, schema, env: target.env }), "migrated");
        // A touched file no longer matches the fingerprint the migration recorded, so the re-run compares every row.
        const now = new Date();
        fs.utimesSync(catalog, now, now);
    }
    const before = await schemaState(target.observer, schema);
    const seenBefore = await observeTarget(target.observer, schema);
    const reader = await startReader(target.observerConfig, schema);
    onTestFinished(async () => {
        await reader.stop();
    });

    const run = startMigrate({ sqlite: catalog, schema, env: { ...target.env, ...options.env } });
    const pid = await run.engineProcess();
    await reach(run, pid);
    kill(pid);
    const killed = await run.done;

    const seen = await reader.stop();
    await waitUntilReaped(target.observer, target.role, target.database);
    expect(killed.code, killed.stderr).not.toBe(0);
    expect(await schemaState(target.observer, schema)).toEqual(before);
    expect(seen.errors).toEqual([]);
    expect(seen.states).toEqual([seenBefore]);

    const rerunReader = await startReader(target.observerConfig, schema);
    onTestFinished(async () => {
        await rerunReader.stop();
    });
    const rerun = await runMigrate({ sqlite: catalog, schema, env: target.env });
    const rerunSeen = await rerunReader.stop();
    expectMigrated(rerun, options.alreadyMigrated ? "unchanged" : "migrated");
    const seenAfter = await observeTarget(target.observer, schema);
    expect(seenAfter.snapshots).toBeGreaterThan(0);
    expectOnlyStates(rerunSeen, [seenBefore, seenAfter]);
    await waitUntilReaped(target.observer, target.role, target.database);
}

/**
 * The environment that makes the engine stop at `point` (see support/pauseAt.cjs), and the file whose appearance
 * says it got there.
 */
function pauseAt(point: "source-check" | "commit"): { env: NodeJS.ProcessEnv; marker: string } {
    const marker = path.join(target.dir, `paused-at-${point}`);
    const hook = path.join(__dirname, "support", "pauseAt.cjs");
    return {
        marker,
        env: {
            FAULTS_PAUSE_AT: point,
            FAULTS_PAUSE_MARKER: marker,
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require "${hook}"`.trim(),
        },
    };
}

/** Polls `probe` while the run lives; fails clearly if the run ends before the fault point was reached. */
function whileRunning<T>(
    run: MigrateRun,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    what: string,
): Promise<T> {
    let exited = false;
    void run.done.then(() => {
        exited = true;
    });
    return pollUntil(
        async () => {
            if (exited) {
                throw new Error(`the migration ended before ${what}: ${run.output.stderr}`);
            }
            return probe();
        },
        60_000,
        what,
    );
}

describe("SIGKILL of the migrate process", () => {
    it("while it checks the source, with no session open on PostgreSQL", async () => {
        const source = fs.realpathSync(catalog);
        const pause = pauseAt("source-check");
        await killAt(
            "kill_reading",
            async (run, pid) => {
                await whileRunning(run, () => fs.existsSync(pause.marker), "the engine to start checking the source");
                expect(openFiles(pid)).toContain(source);
                expect(await backendsOf(target.observer, target.role, target.database)).toEqual([]);
            },
            { env: pause.env },
        );
    });

    it(`in the middle of the largest table's load (${LARGEST_TABLE})`, async () => {
        await killAt("kill_copy", async (run) => {
            await whileRunning(
                run,
                () => copyPast(target.observer, target.role, target.database, LARGEST_TABLE, largestRows / 2),
                `COPY into ${LARGEST_TABLE} to pass half its rows`,
            );
        });
    });

    it("during verification", async () => {
        await killAt("kill_verify", async (run) => {
            await whileRunning(
                run,
                async () => {
                    const backends = await backendsOf(target.observer, target.role, target.database);
                    return backends.some((backend) => backend.state === "active" && isVerificationQuery(backend.query));
                },
                "a verification query to run",
            );
        });
    });

    it("while a re-run compares the source with the identical copy already in the schema", async () => {
        await killAt(
            "kill_compare",
            async (run) => {
                await whileRunning(
                    run,
                    async () => {
                        const backends = await backendsOf(target.observer, target.role, target.database);
                        return backends.some(
                            (backend) => backend.state === "active" && isVerificationQuery(backend.query),
                        );
                    },
                    "the comparison with the existing copy to run",
                );
            },
            { alreadyMigrated: true },
        );
    });

    it("just before COMMIT, with everything loaded and verified", async () => {
        const pause = pauseAt("commit");
        await killAt(
            "kill_commit",
            async (run) => {
                await whileRunning(run, () => fs.existsSync(pause.marker), "the engine to reach COMMIT");
                const backends = await backendsOf(target.observer, target.role, target.database);
                // The whole catalog sits in an open transaction on the server: exactly what the kill must throw away.
                expect(backends.map((backend) => backend.state)).toEqual(["idle in transaction"]);
            },
            { env: pause.env },
        );
    });
});
