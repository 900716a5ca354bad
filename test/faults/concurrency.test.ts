/**
 * Two migrations at once. Of the same schema: one of them does the work and the other is refused or, having
 * waited, finds the finished copy; their writes never interleave. Of different schemas: both proceed side by side.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildLargeCatalog, LARGEST_TABLE } from "./support/catalogs";
import { expectMigrated, expectOnlyStates, expectRefused } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { pollUntil, startMigrate, type MigrateResult } from "./support/migrateProcess";
import {
    backendsOf,
    observeTarget,
    schemaState,
    startReader,
    waitUntilReaped,
    type SchemaState,
} from "./support/targetState";

let target: FaultTarget;
let catalog: string;
let reference: SchemaState;

beforeAll(async () => {
    target = await openFaultTarget("concurrency");
    catalog = path.join(target.dir, "large.sqlite");
    buildLargeCatalog(catalog);
    await target.createSchema("reference");
    expectMigrated(await startMigrate({ sqlite: catalog, schema: "reference", env: target.env }).done, "migrated");
    reference = await schemaState(target.observer, "reference");
});

afterAll(async () => {
    await target?.close();
});

/** Tables, columns and rows: what must be identical between two copies of one catalog in different schemas. */
function content(state: SchemaState): Pick<SchemaState, "relations" | "columns" | "rows"> {
    return { relations: state.relations, columns: state.columns, rows: state.rows };
}

/** The loser of a race for one schema: refused because the other run holds the schema, or it waited and found
 * the finished copy. Never a second "migrated". */
function expectLoser(result: MigrateResult): void {
    if (result.code === 0) {
        expectMigrated(result, "unchanged");
    } else {
        expectRefused(result, 1, /another migration/i);
    }
}

async function copyingInto(schemaCount: number): Promise<boolean> {
    const backends = await backendsOf(target.observer, target.role, target.database);
    return (
        backends.filter((backend) => /^\s*COPY\b/i.test(backend.query) && backend.state === "active").length >=
        schemaCount
    );
}

describe("two migrations at once", () => {
    it("of the same schema, the second starting mid-load: it is refused or waits; the copy is one migration's", async () => {
        const schema = "same_staggered";
        await target.createSchema(schema);
        const seenBefore = await observeTarget(target.observer, schema);
        const reader = await startReader(target.observerConfig, schema);
        onTestFinished(async () => {
            await reader.stop();
        });

        const first = startMigrate({ sqlite: catalog, schema, env: target.env });
        await pollUntil(
            async () => {
                const backends = await backendsOf(target.observer, target.role, target.database);
                return backends.some((backend) => backend.query.includes(LARGEST_TABLE));
            },
            60_000,
            `the first run to load ${LARGEST_TABLE}`,
        );
        const second = startMigrate({ sqlite: catalog, schema, env: target.env });
        const [firstResult, secondResult] = await Promise.all([first.done, second.done]);

        expectMigrated(firstResult, "migrated");
        expectLoser(secondResult);
        const seen = await reader.stop();
        expectOnlyStates(seen, [seenBefore, await observeTarget(target.observer, schema)]);
        expect(content(await schemaState(target.observer, schema))).toEqual(content(reference));
        await waitUntilReaped(target.observer, target.role, target.database);
    });

    it("of the same schema, started at the same instant: exactly one migrates", async () => {
        const schema = "same_race";
        await target.createSchema(schema);
        const runs = [0, 1].map(() => startMigrate({ sqlite: catalog, schema, env: target.env }));
        const results = await Promise.all(runs.map((run) => run.done));

        const winners = results.filter((result) => result.code === 0 && result.stdout.includes('"migrated"'));
        expect(winners, results.map((result) => result.stderr).join("\n")).toHaveLength(1);
        expectLoser(results.find((result) => result !== winners[0]) as MigrateResult);
        expect(content(await schemaState(target.observer, schema))).toEqual(content(reference));
        await waitUntilReaped(target.observer, target.role, target.database);
    });

    it("of different schemas: both load at the same time and both succeed", async () => {
        const schemas = ["side_a", "side_b"];
        for (const schema of schemas) {
            await target.createSchema(schema);
        }
        const runs = schemas.map((schema) => startMigrate({ sqlite: catalog, schema, env: target.env }));
        let finished = false;
        const done = Promise.all(runs.map((run) => run.done)).finally(() => {
            finished = true;
        });
        let overlapped = false;
        while (!finished && !overlapped) {
            overlapped = await copyingInto(2);
        }
        const results = await done;

        for (const result of results) {
            expectMigrated(result, "migrated");
        }
        expect(overlapped, "the two runs should have been loading at the same moment, not one after the other").toBe(
            true,
        );
        for (const schema of schemas) {
            expect(content(await schemaState(target.observer, schema))).toEqual(content(reference));
        }
        await waitUntilReaped(target.observer, target.role, target.database);
    });
});
