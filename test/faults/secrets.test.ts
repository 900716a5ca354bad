/**
 * The catalog role's password reaches the migration only through PGPASSWORD: it is never in any process's
 * arguments (what `ps` shows every user), never in stdout or stderr, success or failure, and never written anywhere.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../migrate/sqlText";
import { buildLargeCatalog } from "./support/catalogs";
import { expectMigrated, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { projectDir, readCmdline, runMigrate, startMigrate } from "./support/migrateProcess";
import { schemaState } from "./support/targetState";

let target: FaultTarget;
let catalog: string;
let corruptSource: string;

beforeAll(async () => {
    target = await openFaultTarget("secrets");
    catalog = path.join(target.dir, "large.sqlite");
    buildLargeCatalog(catalog);
    corruptSource = path.join(target.dir, "corrupt.sqlite");
});

afterAll(async () => {
    await target?.close();
});

/** Files under `dir` modified since `since`, skipping installed dependencies and git's store. */
function filesModifiedSince(dir: string, since: number): string[] {
    const skip = new Set(["node_modules", ".git", ".tools"]);
    const found: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && !skip.has(entry.name)) {
            found.push(...filesModifiedSince(full, since));
        } else if (entry.isFile() && fs.statSync(full).mtimeMs >= since) {
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
        void run.done.then(() => {
            finished = true;
        });
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
        expectMigrated(result, "migrated");

        const commandLines = [...argvSeen.values()].map((argv) => argv.join(" "));
        // Not vacuous: the tree was really read, down to the node process that did the work.
        expect(commandLines.some((line) => line.includes("scripts/migrate.cjs"))).toBe(true);
        expect(commandLines.some((line) => line.includes(target.password))).toBe(false);
        expect(result.stdout + result.stderr).not.toContain(target.password);
    });

    it("is not echoed by a failing run (refused target, corrupt source, server-side error)", async () => {
        await target.observer.query(`CREATE SCHEMA stray_secrets AUTHORIZATION ${quoteIdentifier(target.role)}`);
        await target.observer.query("CREATE TABLE stray_secrets.notes (body text)");
        fs.writeFileSync(corruptSource, `SQLite format 3\0${target.password}`.padEnd(4096, "\0"));
        const failures = await Promise.all([
            runMigrate({ sqlite: catalog, schema: "stray_secrets", env: target.env }),
            runMigrate({ sqlite: corruptSource, schema: "never", env: target.env }),
            runMigrate({
                sqlite: catalog,
                schema: "timeout_secrets",
                env: { ...target.env, PGOPTIONS: "-c statement_timeout=1ms" },
            }),
        ]);
        for (const result of failures) {
            expectRefused(result, 1);
            // The corrupt file embeds the password in its bytes; even quoting the file's content must not leak it.
            expect(result.stdout + result.stderr).not.toContain(target.password);
        }
    });

    it("is written nowhere: not in the project tree, the source's directory, or the migrated catalog", async () => {
        // Filesystem timestamps may be coarser than Date.now(); a second of slack only widens the search.
        const since = Date.now() - 1000;
        expectMigrated(await runMigrate({ sqlite: catalog, schema: "written", env: target.env }), "migrated");
        expectRefused(
            await runMigrate({
                sqlite: catalog,
                schema: "written",
                env: { ...target.env, PGOPTIONS: "-c statement_timeout=1ms" },
            }),
            1,
        );

        const written = [...filesModifiedSince(projectDir, since), ...filesModifiedSince(target.dir, since)]
            .filter((file) => file !== corruptSource) // the previous test put the password there on purpose
            .filter((file) => fs.readFileSync(file).includes(target.password));
        expect(written).toEqual([]);
        const state = await schemaState(target.observer, "written");
        expect(Object.keys(state.rows).length).toBeGreaterThan(0);
        for (const table of Object.keys(state.rows)) {
            const hits = await target.observer.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM written.${quoteIdentifier(table)} t WHERE strpos(t::text, $1) > 0`,
                [target.password],
            );
            expect(hits.rows[0].n, table).toBe(0);
        }
    });
});
