/**
 * Real catalogs with a lakehouse's history, proven by DuckLake itself. For every release line: its DuckLake writes
 * the history into SQLite (what it rejects is recorded and must stay as recorded), the stack's migrate command moves
 * it, and the same line reads every table at every snapshot, the snapshot list, table info, file lists, views and
 * comments from PostgreSQL exactly as from SQLite (typed). Then DuckLake writes on the migrated catalog, and a second
 * migrate of the now older SQLite file is refused with the PostgreSQL catalog untouched. Older lines' catalogs are
 * also upgraded by the newest line (AUTOMATIC_MIGRATION) and migrated from there.
 *
 * Every DuckDB line runs in processes of its own (runSteps), never two lines in one process.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
    attachPostgresSql,
    attachSqliteSql,
    DUCKLAKE_LINES,
    type DuckLakeLine,
    NEWEST_LINE,
} from "../support/ducklake";
import { runStackMigration, schemaState } from "../migrate/support";
import {
    attachOptions,
    encryptionSetup,
    historyPaths,
    historySteps,
    leftOut,
    roundTripProbes,
    writeSteps,
} from "./history";
import { runSteps, type Step, type StepResult } from "./steps";

/**
 * What each line's DuckLake rejects of the history, feature → a part of its error. Everything else it accepted.
 * DuckLake 1.4.4 fails to commit an insert into a renamed table whose earlier rows are inlined, and to flush them.
 */
const REJECTED: Record<string, Record<string, string>> = {
    "1.5.5": {},
    "1.5.0": {},
    "1.4.4": {
        "rename a table": "ducklake_inlined_data_2_10 has 3 columns but 7 values were supplied",
        "flush inlined data": "Failed to read inlined data from DuckLake",
        "writes after maintenance": "ducklake_inlined_data_2_10 has 3 columns but 7 values were supplied",
    },
    "1.3.2": {
        "data inlining": "Data inlining is currently only supported on DuckDB catalogs",
        "flush inlined data": "Table Function with name ducklake_flush_inlined_data does not exist",
    },
};

/**
 * The lines whose DuckLake cannot read back its own SQLite catalog at some snapshots: after columns were added,
 * dropped, renamed or promoted, reading the rows inlined before fails ("Failed to read inlined data from DuckLake:
 * Referenced column … not found"). DuckDB 1.5.5 reads the same catalogs after upgrading them.
 */
const READS_OWN_HISTORY_PARTLY = new Set(["1.5.0", "1.4.4"]);

let db: TestDatabase;
let root: string;

beforeAll(async () => {
    db = await createTestDatabase("history");
    root = mkdtempSync(path.join(tmpdir(), "ducklake-history-"));
});

afterAll(async () => {
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
});

function schemaName(line: DuckLakeLine, catalog: string): string {
    return `${catalog}_${line.duckdb.replaceAll(".", "_")}`;
}

/** The command's JSON summary says migrated at `spec` (a refusal's message shows in the failure). */
function expectMigrated(stdout: string, spec: string): void {
    const { status, message, ducklakeVersion } = JSON.parse(stdout) as Record<string, unknown>;
    expect({ status, message, ducklakeVersion }).toEqual({
        status: "migrated",
        message: undefined,
        ducklakeVersion: spec,
    });
}

/** The steps' errors by step name. */
function errors(results: StepResult[]): Record<string, string> {
    return Object.fromEntries(results.filter((step) => step.error).map((step) => [step.name, step.error!]));
}

/**
 * Reads every probe through the SQLite source and through the migrated PostgreSQL catalog, each in a process of
 * `line`, and returns the probes whose answers differ (types, rows or error) and the probes the source itself could
 * not answer (which the target must fail alike).
 */
async function roundTrip(line: DuckLakeLine, source: Step, target: Step, sqlite: string) {
    const probes = roundTripProbes("lake", sqlite);
    const [fromSource, fromTarget] = await Promise.all([
        runSteps(line, [source, ...probes], true),
        runSteps(line, [target, ...probes], true),
    ]);
    expect(errors(fromSource.slice(0, 1))).toEqual({});
    expect(errors(fromTarget.slice(0, 1))).toEqual({});
    // What the source cannot read, the target must not answer either; everything else must be equal.
    const differing = fromSource.slice(1).flatMap((expected, index) => {
        const actual = fromTarget[index + 1];
        const same = expected.error ? actual.error !== undefined : JSON.stringify(actual) === JSON.stringify(expected);
        return same ? [] : [{ probe: expected.name, expected, actual }];
    });
    const unreadable = fromSource
        .slice(1)
        .filter((step) => step.error)
        .map((step) => step.name);
    return { probes: probes.length, differing, unreadable };
}

describe.each(DUCKLAKE_LINES)("DuckDB $duckdb (spec $spec)", (line) => {
    const dir = () => path.join(root, line.duckdb);
    const paths = () => historyPaths(dir());
    let inlining = false;

    it("writes a lakehouse's history into SQLite, rejecting only what it is known to reject", async () => {
        mkdirSync(dir());
        const written = await runSteps(line, historySteps(line, paths()));
        const rejected = errors(written);
        expect(Object.keys(rejected)).toEqual(Object.keys(REJECTED[line.duckdb]));
        for (const [feature, message] of Object.entries(REJECTED[line.duckdb])) {
            expect(rejected[feature]).toContain(message);
        }
        inlining = !("data inlining" in rejected);
        console.log(
            `DuckDB ${line.duckdb} accepted: ${written
                .filter((step) => !step.error)
                .map((step) => step.name)
                .join("; ")}; left out: ${Object.entries(leftOut(line))
                .map(([feature, why]) => `${feature} (${why})`)
                .join("; ")}`,
        );
    });

    it("migrates with the stack's command, and reads back the same at every snapshot from PostgreSQL", async () => {
        for (const catalog of ["lake", "vault"] as const) {
            const { sqlite, data } = paths()[catalog];
            const migrated = await runStackMigration(sqlite, schemaName(line, catalog), db.env);
            expectMigrated(migrated.stdout, line.spec);

            const setup = catalog === "vault" ? encryptionSetup(line) : [];
            const options = attachOptions(catalog, inlining);
            const { probes, differing, unreadable } = await roundTrip(
                line,
                { name: "attach", statements: [...setup, attachSqliteSql("lake", sqlite, data, options)] },
                {
                    name: "attach",
                    statements: [...setup, attachPostgresSql("lake", db.env, schemaName(line, catalog), data, options)],
                },
                sqlite,
            );
            expect(differing.slice(0, 3)).toEqual([]);
            expect(unreadable.length > 0).toBe(catalog === "lake" && READS_OWN_HISTORY_PARTLY.has(line.duckdb));
            console.log(
                `DuckDB ${line.duckdb} ${catalog}: ${probes} probes equal; the source itself could not ` +
                    `read ${unreadable.length}${unreadable.length ? `, e.g. ${unreadable[0]}` : ""}`,
            );
        }
    });

    it("writes on the migrated catalog, and every write reads back right", async () => {
        const { data } = paths().lake;
        const attach: Step = {
            name: "attach",
            statements: [
                attachPostgresSql("lake", db.env, schemaName(line, "lake"), data, attachOptions("lake", inlining)),
            ],
        };
        const steps = writeSteps(line);
        const results = await runSteps(line, [attach, ...steps]);
        expect(errors(results)).toEqual({});
        for (const [index, { name, reads }] of steps.entries()) {
            const answers = results[index + 1].results;
            for (let pair = answers.length - 2 * reads; pair < answers.length; pair += 2) {
                expect({ step: name, ...answers[pair] }).toEqual({ step: name, ...answers[pair + 1] });
            }
        }
        expect(results.at(-1)!.results[0].rows).toEqual([["1"]]);

        // What was written persists: a fresh process reads the same.
        const reread = await runSteps(line, [
            attach,
            { name: "read", statements: ["SELECT * FROM lake.main.after ORDER BY ALL"] },
        ]);
        expect(errors(reread)).toEqual({});
        expect(reread[1].results[0]).toEqual(results.at(-2)!.results.at(-1));
    });

    it("refuses a second migrate of the now older SQLite file, and leaves PostgreSQL untouched", async () => {
        const schema = schemaName(line, "lake");
        const before = await schemaState(db.admin, schema);
        const again = await runStackMigration(paths().lake.sqlite, schema, db.env);
        expect(again.code).toBe(1);
        expect(JSON.parse(again.stdout)).toMatchObject({
            status: "refused",
            reason: "target-newer",
            message: expect.stringMatching(/went on living in PostgreSQL/),
        });
        expect(await schemaState(db.admin, schema)).toEqual(before);
    });
});

/**
 * DuckDB 1.5's DuckLake cannot upgrade a spec 0.2 SQLite catalog: its 0.2 to 0.3 step runs an ALTER TABLE that
 * SQLite does not have. DuckDB 1.4.4 upgrades it on attach (it has no AUTOMATIC_MIGRATION option), and 1.5.5 takes
 * it from there.
 */
const UPGRADE_FIRST_BY: Record<string, { line: DuckLakeLine; newestRefuses: string }> = {
    "1.3.2": {
        line: DUCKLAKE_LINES.find((line) => line.duckdb === "1.4.4")!,
        newestRefuses: "Failed to migrate DuckLake from v0.2 to v0.3",
    },
};

describe.each(DUCKLAKE_LINES.filter((line) => line !== NEWEST_LINE))(
    "a catalog DuckDB $duckdb wrote (spec $spec), upgraded by the newest line",
    (line) => {
        it(`is upgraded by DuckDB ${NEWEST_LINE.duckdb} (AUTOMATIC_MIGRATION), migrates and reads back the same`, async () => {
            const dir = path.join(root, `upgrade-${line.duckdb}`);
            mkdirSync(dir);
            const paths = historyPaths(dir).lake;
            // The history without what this line rejects: a failed commit of DuckLake 1.4.4 leaves an inlined
            // table that no line reads back, which would only repeat that line's own test.
            const written = await runSteps(
                line,
                historySteps(line, historyPaths(dir)).filter(
                    (step) => step.name !== "encrypted catalog" && !(step.name in REJECTED[line.duckdb]),
                ),
            );
            expect(errors(written)).toEqual({});

            const options = attachOptions("lake", true);
            const upgrade = (extra: string[]): Step => ({
                name: "upgrade",
                statements: [
                    attachSqliteSql("lake", paths.sqlite, paths.data, [...options, ...extra]),
                    "SELECT value FROM __ducklake_metadata_lake.ducklake_metadata WHERE key = 'version'",
                ],
            });
            const first = UPGRADE_FIRST_BY[line.duckdb];
            if (first) {
                const refused = await runSteps(NEWEST_LINE, [upgrade(["AUTOMATIC_MIGRATION TRUE"])]);
                expect(refused[0].error).toContain(first.newestRefuses);
                const midway = await runSteps(first.line, [upgrade([])]);
                expect(errors(midway)).toEqual({});
                expect(midway[0].results.at(-1)!.rows).toEqual([[first.line.spec]]);
            }
            const upgraded = await runSteps(NEWEST_LINE, [
                upgrade(["AUTOMATIC_MIGRATION TRUE"]),
                { name: "write", statements: ["INSERT INTO lake.main.inlined (id, v) VALUES (99, 'upgraded')"] },
            ]);
            expect(errors(upgraded)).toEqual({});
            expect(upgraded[0].results.at(-1)!.rows).toEqual([[NEWEST_LINE.spec]]);

            const schema = `upgraded_${line.duckdb.replaceAll(".", "_")}`;
            const migrated = await runStackMigration(paths.sqlite, schema, db.env);
            expectMigrated(migrated.stdout, NEWEST_LINE.spec);
            const { probes, differing, unreadable } = await roundTrip(
                NEWEST_LINE,
                { name: "attach", statements: [attachSqliteSql("lake", paths.sqlite, paths.data, options)] },
                { name: "attach", statements: [attachPostgresSql("lake", db.env, schema, paths.data, options)] },
                paths.sqlite,
            );
            expect(differing.slice(0, 3)).toEqual([]);
            expect(unreadable).toEqual([]);
            console.log(
                `DuckDB ${line.duckdb}'s catalog upgraded${first ? ` via ${first.line.duckdb}` : ""}: ` +
                    `${probes} probes equal`,
            );
        });
    },
);

describe(`DuckDB ${NEWEST_LINE.duckdb}: an inlined table whose schema version has no snapshot left`, () => {
    it("migrates, its column types taken from when ducklake_schema_versions says that version began", async () => {
        const paths = historyPaths(path.join(root, "expired-version")).lake;
        mkdirSync(path.dirname(paths.sqlite));
        const options = attachOptions("lake", true);
        // Snapshot 1 creates the table (schema version 1) and 2 inlines a row into ducklake_inlined_data_1_1; the
        // promotion gives `id` a second type, and expiring 1 and 2 leaves no snapshot of schema version 1.
        const written = await runSteps(NEWEST_LINE, [
            {
                name: "write",
                statements: [
                    attachSqliteSql("lake", paths.sqlite, paths.data, options),
                    "CREATE TABLE lake.t (id INTEGER, label VARCHAR)",
                    "INSERT INTO lake.t VALUES (1, 'one')",
                    "ALTER TABLE lake.t ALTER COLUMN id SET DATA TYPE BIGINT",
                    "INSERT INTO lake.t VALUES (5000000000, 'big')",
                    "CALL ducklake_expire_snapshots('lake', versions => [1, 2])",
                    "SELECT count(*) FROM __ducklake_metadata_lake.ducklake_snapshot WHERE schema_version = 1",
                ],
            },
        ]);
        expect(errors(written)).toEqual({});
        expect(written[0].results.at(-1)!.rows).toEqual([["0"]]);

        const migrated = await runStackMigration(paths.sqlite, "expired_version", db.env);
        expectMigrated(migrated.stdout, NEWEST_LINE.spec);
        const read = await runSteps(NEWEST_LINE, [
            {
                name: "read",
                statements: [
                    attachPostgresSql("lake", db.env, "expired_version", paths.data, options),
                    "SELECT * FROM lake.t ORDER BY id",
                ],
            },
        ]);
        expect(errors(read)).toEqual({});
        expect(read[0].results[1]).toEqual({
            types: ["BIGINT", "VARCHAR"],
            rows: [
                ["1", "one"],
                ["5000000000", "big"],
            ],
        });
    });
});
