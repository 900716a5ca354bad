/**
 * The PostgreSQL server restarts (pg_ctl restart -m fast) in the middle of a load. This file runs its own cluster:
 * restarting the suite's shared one would break every other test file's connections.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLargeCatalog, LARGEST_TABLE } from "./support/catalogs";
import { expectMigrated, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { pollUntil, runMigrate, startMigrate } from "./support/migrateProcess";
import { startPrivateCluster, type PrivateCluster } from "./support/privateCluster";
import { copyPast, schemaState, waitUntilReaped } from "./support/targetState";

let cluster: PrivateCluster;
let target: FaultTarget;
let catalog: string;
let largestRows: number;

beforeAll(async () => {
    cluster = await startPrivateCluster();
    // This file's worker process talks only to its own cluster, so its test database is made there too.
    Object.assign(process.env, cluster.env);
    target = await openFaultTarget("restart");
    catalog = path.join(target.dir, "large.sqlite");
    largestRows = buildLargeCatalog(catalog).rows[LARGEST_TABLE];
});

afterAll(async () => {
    await target?.close().catch(() => undefined);
    cluster?.stop();
});

describe("a server restart during a migration", () => {
    it("fails the run with exit 1 and a clear message; the target is unchanged and a re-run succeeds", async () => {
        const schema = "restarted";
        await target.createSchema(schema);
        const before = await schemaState(target.observer, schema);

        const run = startMigrate({ sqlite: catalog, schema, env: target.env });
        await pollUntil(
            () => copyPast(target.observer, target.role, target.database, LARGEST_TABLE, largestRows / 2),
            60_000,
            `COPY into ${LARGEST_TABLE} to pass half its rows`,
        );
        // The observer's own connection dies with the restart; reconnect to look at the aftermath.
        target.observer.on("error", () => undefined);
        cluster.restart();
        const result = await run.done;
        await target.reconnectObserver();

        expectRefused(result, 1, /terminat|connection|shut/i);
        await waitUntilReaped(target.observer, target.role, target.database);
        expect(await schemaState(target.observer, schema)).toEqual(before);
        expectMigrated(await runMigrate({ sqlite: catalog, schema, env: target.env }), "migrated");
        expectMigrated(await runMigrate({ sqlite: catalog, schema, env: target.env }), "unchanged");
    });
});
