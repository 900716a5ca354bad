/**
 * The server side fails while a migration runs: its backend is terminated, a statement timeout fires, a lock it
 * needs is held by someone else. Each must end in exit 1 with a clear message, the target exactly as before, and a
 * re-run that succeeds once the fault is gone. (The server restart is in restart.test.ts, on its own cluster.)
 */
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { quoteIdentifier } from "../../migrate/sqlText";
import { buildLargeCatalog, LARGEST_TABLE } from "./support/catalogs";
import { expectMigrated, expectOnlyStates, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { pollUntil, runMigrate, startMigrate } from "./support/migrateProcess";
import { copyPast, observeTarget, schemaState, startReader, waitUntilReaped } from "./support/targetState";

let target: FaultTarget;
let catalog: string;
let largestRows: number;

beforeAll(async () => {
    target = await openFaultTarget("server");
    catalog = path.join(target.dir, "large.sqlite");
    largestRows = buildLargeCatalog(catalog).rows[LARGEST_TABLE];
});

afterAll(async () => {
    await target?.close();
});

async function expectRerunSucceeds(schema: string, status: "migrated" | "unchanged"): Promise<void> {
    expectMigrated(await runMigrate({ sqlite: catalog, schema, env: target.env }), status);
    await waitUntilReaped(target.observer, target.role, target.database);
}

describe("server-side faults during a migration", () => {
    it("pg_terminate_backend of the migrating backend mid-load: exit 1, target unchanged, re-run succeeds", async () => {
        const schema = "terminated";
        await target.createSchema(schema);
        const before = await schemaState(target.observer, schema);
        const seenBefore = await observeTarget(target.observer, schema);
        const reader = await startReader(target.observerConfig, schema);
        onTestFinished(async () => {
            await reader.stop();
        });

        const run = startMigrate({ sqlite: catalog, schema, env: target.env });
        const victim = await pollUntil(
            () => copyPast(target.observer, target.role, target.database, LARGEST_TABLE, largestRows / 2),
            60_000,
            `COPY into ${LARGEST_TABLE} to pass half its rows`,
        );
        await target.observer.query("SELECT pg_terminate_backend($1)", [victim]);
        const result = await run.done;

        expectRefused(result, 1, /terminat|connection/i);
        const seen = await reader.stop();
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
        expectOnlyStates(seen, [seenBefore]);
        await expectRerunSucceeds(schema, "migrated");
    });

    it("a statement_timeout that fires mid-load (PGOPTIONS): exit 1, target unchanged, re-run succeeds", async () => {
        const schema = "timed_out";
        await target.createSchema(schema);
        const before = await schemaState(target.observer, schema);
        const result = await runMigrate({
            sqlite: catalog,
            schema,
            env: { ...target.env, PGOPTIONS: "-c statement_timeout=50ms" },
        });

        expectRefused(result, 1, /statement timeout|canceling statement/i);
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
        await expectRerunSucceeds(schema, "migrated");
    });

    it("a DuckLake client holding ACCESS EXCLUSIVE on a catalog table: lock timeout, exit 1, unchanged", async () => {
        const schema = "locked_table";
        await target.createSchema(schema);
        await expectRerunSucceeds(schema, "migrated");
        const before = await schemaState(target.observer, schema);

        const holder = new Client(target.observerConfig);
        await holder.connect();
        try {
            await holder.query("BEGIN");
            await holder.query(`LOCK TABLE ${quoteIdentifier(schema)}.ducklake_snapshot IN ACCESS EXCLUSIVE MODE`);
            const started = Date.now();
            const result = await runMigrate({ sqlite: catalog, schema, env: target.env });
            expectRefused(result, 1, /lock/i);
            // The engine must give up on its own (lock_timeout) rather than wait for the holder indefinitely.
            expect(Date.now() - started).toBeLessThan(60_000);
        } finally {
            await holder.query("ROLLBACK");
            await holder.end();
        }
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
        await expectRerunSucceeds(schema, "unchanged");
    });

    it("another session holding ACCESS EXCLUSIVE on the empty schema itself: lock timeout, exit 1, unchanged", async () => {
        const schema = "locked_schema";
        await target.createSchema(schema);
        const before = await schemaState(target.observer, schema);

        const holder = new Client(target.observerConfig);
        await holder.connect();
        try {
            // An uncommitted DROP SCHEMA holds the schema's object lock in ACCESS EXCLUSIVE mode; creating any
            // table in it must wait for that lock.
            await holder.query("BEGIN");
            await holder.query(`DROP SCHEMA ${quoteIdentifier(schema)}`);
            const result = await runMigrate({ sqlite: catalog, schema, env: target.env });
            expectRefused(result, 1, /lock/i);
        } finally {
            await holder.query("ROLLBACK");
            await holder.end();
        }
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
        await expectRerunSucceeds(schema, "migrated");
    });
});
