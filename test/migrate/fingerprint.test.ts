/**
 * The fingerprint the migration records lets a dry run or re-run of an unchanged file answer without reading it,
 * and never stands in for a source that changed: a one-row change in any table (rollback journal or WAL writer),
 * a same-size copy with one changed value put in place with its mtime kept, or a target that went on in
 * PostgreSQL all lead to the full comparison and its refusal.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MigrationResult } from "../../migrate/engine";
import { buildCatalog } from "../fixtures";
import { type TestDatabase, createTestDatabase } from "../support/postgres";
import { runMigrateInProcess, runStackMigration } from "./support";

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("fingerprint");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-fingerprint-"));
});

afterAll(async () => {
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
});

// Longer than the engine's margin for a file written just before it is read (0.2 s on these filesystems).
const SETTLE_MS = 400;

type Outcome = MigrationResult | { status: "refused"; reason: string; message: string };

async function dryRun(file: string, schema: string): Promise<Outcome> {
    const result = await runMigrateInProcess(["--sqlite", file, "--schema", schema, "--dry-run", "--json"], db.env);
    expect([0, 1]).toContain(result.code);
    return JSON.parse(result.stdout) as Outcome;
}

async function rerun(file: string, schema: string): Promise<Outcome> {
    const result = await runMigrateInProcess(["--sqlite", file, "--schema", schema, "--json"], db.env);
    return JSON.parse(result.stdout) as Outcome;
}

/** A catalog migrated with the stack's command, its file old enough for the migration to record a fingerprint. */
async function migrated(name: string): Promise<string> {
    const file = path.join(dir, `${name}.sqlite`);
    buildCatalog(file, { version: "1.0", layout: "fresh" });
    await sleep(SETTLE_MS);
    const result = await runStackMigration(file, name, db.env);
    expect(result.stderr).not.toMatch(/refus|failed/);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: "migrated" });
    return file;
}

function expectUnchangedBy(outcome: Outcome, checkedBy: "fingerprint" | "content"): void {
    expect(outcome).toMatchObject({ status: "dry-run", plan: "unchanged", checkedBy });
}

function expectRefused(outcome: Outcome): void {
    expect(outcome.status).toBe("refused");
}

/** Changes one value of the table's first row (a column that may hold NULL, set to NULL or to 7); returns the undo. */
function changeOneRow(file: string, table: string): (() => void) | undefined {
    const sqlite = new DatabaseSync(file);
    try {
        const columns = sqlite
            .prepare(`SELECT name, "notnull" FROM pragma_table_info('${table}') ORDER BY cid DESC`)
            .all();
        const first = sqlite.prepare(`SELECT rowid AS r, * FROM "${table}" ORDER BY rowid LIMIT 1`);
        first.setReadBigInts(true);
        const row = first.get();
        if (row === undefined) {
            return undefined;
        }
        const column = columns.find((candidate) => candidate.notnull === 0) ?? columns[0];
        const name = String(column.name);
        const before = row[name] as SQLInputValue;
        const after = before === null ? 7 : null;
        sqlite.prepare(`UPDATE "${table}" SET "${name}" = ? WHERE rowid = ?`).run(after, row.r as bigint);
        return () => {
            const undo = new DatabaseSync(file);
            undo.prepare(`UPDATE "${table}" SET "${name}" = ? WHERE rowid = ?`).run(before, row.r as bigint);
            undo.close();
        };
    } finally {
        sqlite.close();
    }
}

describe("the migration's fingerprint", () => {
    it("answers a dry run and a re-run of the unchanged file without reading it, through the stack's command", async () => {
        const file = await migrated("fp_same");
        const viaStack = await runStackMigration(file, "fp_same", db.env, true);
        expect(viaStack.code).toBe(0);
        const plan = JSON.parse(viaStack.stdout) as MigrationResult;
        expectUnchangedBy(plan, "fingerprint");
        expect(plan.totalRows).toBeGreaterThan(0);
        expect(await rerun(file, "fp_same")).toMatchObject({
            status: "unchanged",
            checkedBy: "fingerprint",
            totalRows: plan.totalRows,
            rows: plan.rows,
        });
    });

    it("never stands in for a one-row change in any table; the full comparison refuses it", async () => {
        const file = await migrated("fp_rows");
        const sqlite = new DatabaseSync(file, { readOnly: true });
        const tables = sqlite
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .all()
            .map((row) => String(row.name));
        sqlite.close();
        let changed = 0;
        for (const table of tables) {
            const undo = changeOneRow(file, table);
            if (undo === undefined) {
                continue;
            }
            changed += 1;
            const outcome = await dryRun(file, "fp_rows");
            expect(outcome.status, `a changed row in ${table}`).toBe("refused");
            undo();
        }
        expect(changed).toBeGreaterThan(10);
        // Back to the migrated content: the file's times changed, so only the full comparison can tell, and it does.
        expectUnchangedBy(await dryRun(file, "fp_rows"), "content");
        // A re-run that compared every row records the fingerprint again once the file has settled.
        await sleep(SETTLE_MS);
        expect(await rerun(file, "fp_rows")).toMatchObject({ status: "unchanged", checkedBy: "content" });
        expectUnchangedBy(await dryRun(file, "fp_rows"), "fingerprint");
    });

    it("never stands in for a change a WAL-mode writer holds in the -wal file, with the database file untouched", async () => {
        const file = await migrated("fp_wal");
        const toWal = new DatabaseSync(file);
        toWal.exec("PRAGMA journal_mode = WAL");
        toWal.close();
        await sleep(SETTLE_MS);
        expect(await rerun(file, "fp_wal")).toMatchObject({ status: "unchanged", checkedBy: "content" });
        expectUnchangedBy(await dryRun(file, "fp_wal"), "fingerprint");

        const before = fs.statSync(file, { bigint: true });
        const writer = new DatabaseSync(file);
        try {
            writer.exec("PRAGMA wal_autocheckpoint = 0");
            writer.exec(
                "UPDATE ducklake_data_file SET record_count = record_count + 1 " +
                    "WHERE rowid = (SELECT min(rowid) FROM ducklake_data_file)",
            );
            const after = fs.statSync(file, { bigint: true });
            // The change is only in the -wal file: the database file's size and times are as they were.
            expect([after.size, after.mtimeNs, after.ctimeNs]).toEqual([before.size, before.mtimeNs, before.ctimeNs]);
            expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
            expectRefused(await dryRun(file, "fp_wal"));
        } finally {
            writer.close();
        }
    });

    it.each([
        ["renamed over it", "fp_rename"],
        ["copied into the same inode", "fp_inplace"],
    ])("never stands in for a same-size copy with one changed value, %s, with the mtime kept", async (how, schema) => {
        const file = await migrated(schema);
        const copy = `${file}.copy`;
        fs.copyFileSync(file, copy);
        const writer = new DatabaseSync(copy);
        writer.exec(
            "UPDATE ducklake_data_file SET path = substr(path, 1, length(path) - 1) || " +
                "CASE WHEN substr(path, -1) = 'Z' THEN 'Y' ELSE 'Z' END WHERE rowid = (SELECT min(rowid) FROM ducklake_data_file)",
        );
        writer.close();
        const original = fs.statSync(file, { bigint: true });
        // `touch -r` copies the times to the nanosecond, as `cp -p` and `rsync -t` do.
        const reference = `${file}.times`;
        execFileSync("touch", ["-r", file, reference]);
        if (how === "renamed over it") {
            execFileSync("touch", ["-r", reference, copy]);
            fs.renameSync(copy, file);
        } else {
            fs.copyFileSync(copy, file);
            fs.rmSync(copy);
            execFileSync("touch", ["-r", reference, file]);
            expect(fs.statSync(file, { bigint: true }).ino).toBe(original.ino);
        }
        const replaced = fs.statSync(file, { bigint: true });
        expect([replaced.size, replaced.mtimeNs]).toEqual([original.size, original.mtimeNs]);
        expectRefused(await dryRun(file, schema));
        expect(await rerun(file, schema)).toMatchObject({ status: "refused" });
    });

    it("never stands in for a target that went on in PostgreSQL: a new snapshot is refused as newer", async () => {
        const file = await migrated("fp_newer");
        expectUnchangedBy(await dryRun(file, "fp_newer"), "fingerprint");
        await db.admin.query(
            "INSERT INTO fp_newer.ducklake_snapshot (snapshot_id, snapshot_time, schema_version, " +
                "next_catalog_id, next_file_id) SELECT max(snapshot_id) + 1, now(), 0, 0, 0 FROM fp_newer.ducklake_snapshot",
        );
        expect(await dryRun(file, "fp_newer")).toMatchObject({ status: "refused", reason: "target-newer" });
    });
});
