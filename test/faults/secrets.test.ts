/**
 * The catalog role's password reaches the migration only through PGPASSWORD: it is never in any process's
 * arguments (what `ps` shows every user), never in stdout or stderr, success or failure, and never written anywhere.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLargeCatalog } from "./support/catalogs";
import { expectMigrated, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { projectDir, readCmdline, runMigrate, startMigrate, type MigrateResult } from "./support/migrateProcess";
import { quoteIdent, schemaState } from "./support/targetState";

let target: FaultTarget;
let catalog: string;
const startedAt = Date.now();
const outputs: MigrateResult[] = [];

beforeAll(async () => {
    target = await openFaultTarget("secrets");
    catalog = path.join(target.dir, "large.sqlite");
    buildLargeCatalog(catalog);
});

afterAll(async () => {
    await target?.close();
});

/** Files under `dir` modified since the test file started, skipping installed dependencies and git's store. */
function recentFiles(dir: string): string[] {
    const skip = new Set(["node_modules", ".git", ".tools"]);
    const found: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && !skip.has(entry.name)) {
            found.push(...recentFiles(full));
        } else if (entry.isFile() && fs.statSync(full).mtimeMs >= startedAt - 1000) {
            found.push(full);
        }
    }
    return found;
}

describe("the password", () => {
    it("is in no process's arguments while the migration runs, nor in its output", async () => {
        const run = startMigrate({ sqlite: catalog, schema: "watched", env: target.env });
        const argvSeen = new Map<number, string[]>();
        let finished = false;
        void run.done.then(() => { finished = true; });
        while (!finished) {
            for (const pid of run.tree()) {
                const argv = readCmdline(pid);
                if (argv.length > 0) {
                    argvSeen.set(pid, argv);
                }
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const result = await run.done;
        outputs.push(result);
        expectMigrated(result, "migrated");

        const commandLines = [...argvSeen.values()].map((argv) => argv.join(" "));
        // Not vacuous: the tree was really read, down to the node process that did the work.
        expect(commandLines.some((line) => line.includes("migrate/cli.ts"))).toBe(true);
        expect(commandLines.some((line) => line.includes(target.password))).toBe(false);
        expect(result.stdout + result.stderr).not.toContain(target.password);
    });

    it("is not echoed by a failing run (refused target, corrupt source, server-side error)", async () => {
        await target.observer.query(`CREATE SCHEMA stray_secrets AUTHORIZATION ${quoteIdent(target.role)}`);
        await target.observer.query("CREATE TABLE stray_secrets.notes (body text)");
        const corrupt = path.join(target.dir, "corrupt.sqlite");
        fs.writeFileSync(corrupt, `SQLite format 3\0${target.password}`.padEnd(4096, "\0"));
        const failures = await Promise.all([
            runMigrate({ sqlite: catalog, schema: "stray_secrets", env: target.env }),
            runMigrate({ sqlite: corrupt, schema: "never", env: target.env }),
            runMigrate({ sqlite: catalog, schema: "timeout_secrets",
                env: { ...target.env, PGOPTIONS: "-c statement_timeout=1ms" } }),
        ]);
        for (const result of failures) {
            expectRefused(result, 1);
            // The corrupt file embeds the password in its bytes; even quoting the file's content must not leak it.
            expect(result.stdout + result.stderr).not.toContain(target.password);
            outputs.push(result);
        }
    });

    it("is written nowhere: not in the project tree, the scratch files, or the migrated catalog", async () => {
        const written = [...recentFiles(projectDir), ...recentFiles(target.dir)]
            .filter((file) => !file.endsWith("corrupt.sqlite"))
            .filter((file) => fs.readFileSync(file).includes(target.password));
        expect(written).toEqual([]);
        const state = await schemaState(target.observer, "watched");
        expect(Object.keys(state.rows).length).toBeGreaterThan(0);
        for (const table of Object.keys(state.rows)) {
            const hits = await target.observer.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM watched.${quoteIdent(table)} t WHERE strpos(t::text, $1) > 0`,
                [target.password]);
            expect(hits.rows[0].n, table).toBe(0);
        }
        expect(outputs.length).toBe(4);
    });
});
