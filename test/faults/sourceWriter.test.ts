/**
 * A DuckLake client keeps committing to the SQLite source while it is migrated, in WAL and in rollback-journal
 * mode. The copy must be the source at one point in time (one read transaction), and verification must agree.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../migrate/sqlText";
import { buildLargeCatalog } from "./support/catalogs";
import { expectMigrated, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { pollUntil, projectDir, startMigrate } from "./support/migrateProcess";
import { schemaState, waitUntilReaped } from "./support/targetState";

let target: FaultTarget;

beforeAll(async () => {
    target = await openFaultTarget("writer");
});

afterAll(async () => {
    await target?.close();
});

interface Counts {
    snapshots: number;
    files: number;
    maxSnapshot: number;
}

function sourceCounts(file: string): Counts {
    const db = new DatabaseSync(file, { readOnly: true, timeout: 60_000 });
    try {
        return db
            .prepare(
                `SELECT (SELECT count(*) FROM ducklake_snapshot) AS snapshots,
                                  (SELECT count(*) FROM ducklake_data_file) AS files,
                                  (SELECT max(snapshot_id) FROM ducklake_snapshot) AS maxSnapshot`,
            )
            .get() as unknown as Counts;
    } finally {
        db.close();
    }
}

/** Starts the writer process; resolves once it has committed its first transaction. */
async function startWriter(file: string, mode: "wal" | "delete") {
    const writer = spawn(
        process.execPath,
        [
            "--disable-warning=ExperimentalWarning",
            "--import",
            "tsx",
            path.join(__dirname, "support", "sourceWriter.ts"),
            file,
            mode,
        ],
        { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    const commits: { at: number; snapshot: number }[] = [];
    let stderr = "";
    let pending = "";
    writer.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines.filter((text) => /^\d+$/.test(text))) {
            commits.push({ at: Date.now(), snapshot: Number(line) });
        }
    });
    writer.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => writer.on("close", resolve));
    await pollUntil(() => commits.length > 0, 30_000, "the writer's first commit").catch((error: Error) => {
        throw new Error(`${error.message}: ${stderr}`);
    });
    return {
        commits,
        stop: async () => {
            writer.kill("SIGTERM");
            expect(await exited, stderr).toBe(0);
        },
    };
}

describe.each(["wal", "delete"] as const)("a DuckLake client writing to the source (journal_mode=%s)", (mode) => {
    it("migrates the source as of one point in time, and verification agrees", async () => {
        const file = path.join(target.dir, `written-${mode}.sqlite`);
        buildLargeCatalog(file);
        const initial = sourceCounts(file);
        const schema = `written_${mode}`;
        await target.createSchema(schema);

        const writer = await startWriter(file, mode);
        const started = Date.now();
        const result = await startMigrate({ sqlite: file, schema, env: target.env }).done;
        const ended = Date.now();
        await pollUntil(
            () => writer.commits.some((commit) => commit.at > ended),
            30_000,
            "the writer to commit after the migration",
        );
        await writer.stop();
        await waitUntilReaped(target.observer, target.role, target.database);

        expectMigrated(result, "migrated");
        const copied = await target.observer.query<{
            snapshots: number;
            files: number;
            orphans: number;
            maxsnapshot: number;
        }>(
            `SELECT (SELECT count(*)::int FROM ${quoteIdentifier(schema)}.ducklake_snapshot) AS snapshots,
                    (SELECT count(*)::int FROM ${quoteIdentifier(schema)}.ducklake_data_file) AS files,
                    (SELECT max(snapshot_id)::int FROM ${quoteIdentifier(schema)}.ducklake_snapshot) AS maxsnapshot,
                    (SELECT count(*)::int FROM ${quoteIdentifier(schema)}.ducklake_snapshot s
                     WHERE s.snapshot_id > $1 AND NOT EXISTS (
                         SELECT FROM ${quoteIdentifier(schema)}.ducklake_data_file f
                         WHERE f.begin_snapshot = s.snapshot_id)) AS orphans`,
            [initial.maxSnapshot],
        );
        const { snapshots, files, orphans, maxsnapshot: maxSnapshot } = copied.rows[0];
        const writerSnapshots = snapshots - initial.snapshots;

        // Every writer transaction is in the copy whole or not at all, and they form a prefix of the writer's history.
        expect(writerSnapshots).toBeGreaterThan(0);
        expect(files - initial.files).toBe(writerSnapshots);
        expect(orphans).toBe(0);
        expect(maxSnapshot).toBe(initial.maxSnapshot + writerSnapshots);
        // The source moved on after the point the copy was taken.
        expect(sourceCounts(file).snapshots).toBeGreaterThan(snapshots);
        if (mode === "wal") {
            // In WAL mode the writer is never blocked by the reader: it must have committed during the run.
            expect(writer.commits.filter((commit) => commit.at > started && commit.at < ended).length).toBeGreaterThan(
                0,
            );
        }
    });
});

describe("a source a writer keeps locked (rollback journal, an EXCLUSIVE transaction left open)", () => {
    it("is refused as locked, not as damaged, once the engine has waited; nothing is written", async () => {
        const file = path.join(target.dir, "held.sqlite");
        buildLargeCatalog(file, 20_000);
        const schema = "held";
        await target.createSchema(schema);
        const before = await schemaState(target.observer, schema);
        const holder = new DatabaseSync(file);
        try {
            holder.exec("PRAGMA journal_mode = DELETE");
            holder.exec("BEGIN EXCLUSIVE");
            const result = await startMigrate({ sqlite: file, schema, env: target.env }).done;
            // "Damaged: restore from a backup" would send the operator to overwrite a healthy, live catalog.
            const message = expectRefused(result, 1, /locked/i, /held\.sqlite/);
            expect(message).not.toMatch(/damaged|corrupt|backup/i);
        } finally {
            holder.exec("ROLLBACK");
            holder.close();
        }
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
    });
});
