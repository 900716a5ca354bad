/**
 * Inlined data of every type the engine treats specially, settled with the real DuckLake of every line: DuckLake
 * writes the rows into SQLite, the stack's migrate command moves them (or refuses), and the same DuckLake reads the
 * migrated rows back from PostgreSQL at every snapshot, exactly as it reads them from SQLite. Beside that, the same
 * DuckLake writes the same rows into PostgreSQL itself: its raw rows are what the migrated ones must equal, and
 * where they cannot, it shows why a refusal is needed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
    attachPostgresSql,
    attachSqliteSql,
    DUCKLAKE_LINES,
    type DuckLakeLine,
    runDuckLake,
} from "../support/ducklake";
import { type CommandResult, errorLines, runStackMigration } from "../migrate/support";

interface Case {
    table: string;
    type: string;
    values: string[];
}

const NUL_TEXT = "'a' || chr(0) || 'b'";
const BINARY = "'\\xAA\\x00\\x5C'::BLOB";

/** Values DuckLake inlines and the migration carries over, on every line that inlines. */
const MIGRATED: readonly Case[] = [
    { table: "list_int", type: "INTEGER[]", values: ["[1, 2, NULL]", "[]", "NULL"] },
    {
        table: "list_text",
        type: "VARCHAR[]",
        values: ["['a', 'b,c', 'it''s', 'q\"x', NULL, '', ' sp ', '[x]', 'NULL']"],
    },
    { table: "list_nested", type: "INTEGER[][]", values: ["[[1], [], NULL, [2, 3]]"] },
    { table: "list_double", type: "DOUBLE[]", values: ["[0.1, 1e300, 'nan'::DOUBLE, '-inf'::DOUBLE]"] },
    { table: "map_simple", type: "MAP(VARCHAR, INTEGER)", values: ["MAP {'k': 1, 'x y': NULL}", "MAP {}"] },
    {
        table: "struct_simple",
        type: "STRUCT(a INTEGER, b VARCHAR)",
        values: ["{'a': 1, 'b': 'x'}", "{'a': NULL, 'b': 'it''s, {y}'}", "NULL"],
    },
    {
        table: "struct_nested",
        type: "STRUCT(l VARCHAR[], s STRUCT(x DOUBLE, y BOOLEAN))",
        values: ["{'l': ['a b', NULL], 's': {'x': 0.5, 'y': true}}"],
    },
    { table: "hugeint", type: "HUGEINT", values: ["-170141183460469231731687303715884105728"] },
    { table: "uhugeint", type: "UHUGEINT", values: ["340282366920938463463374607431768211455"] },
    { table: "timestamp_ns", type: "TIMESTAMP_NS", values: ["'2024-01-02 03:04:05.123456789'"] },
    { table: "blob", type: "BLOB", values: [BINARY, "'abc'::BLOB"] },
];

/** Per line: further cases it migrates, and the cases where DuckLake's own PostgreSQL text differs from the SQLite
 * text that the migration carries over (DuckLake 1.4 writes SQL literals on PostgreSQL, DuckDB's cast text on
 * SQLite), or where DuckLake itself cannot write the value to PostgreSQL. */
const LINE_CASES: Record<string, { migrated: Case[]; rawDiffers: string[]; duckLakeFailsOnPostgres: string[] }> = {
    "1.5.5": {
        migrated: [
            { table: "text_nul", type: "VARCHAR", values: [NUL_TEXT] },
            { table: "map_nested", type: "MAP(INTEGER, VARCHAR[])", values: ["MAP {1: ['a', 'b'], 2: []}"] },
            {
                table: "struct_map",
                type: "STRUCT(m MAP(VARCHAR, BIGINT), t TIMESTAMPTZ)",
                values: ["{'m': MAP {'k': 9000000000}, 't': NULL}"],
            },
        ],
        rawDiffers: [],
        duckLakeFailsOnPostgres: [],
    },
    "1.4.4": {
        migrated: [{ table: "struct_cast", type: "STRUCT(d DATE, b BLOB)", values: ["{'d': '2024-01-02', 'b': 'x'}"] }],
        rawDiffers: ["list_text", "struct_simple", "struct_nested", "struct_cast", "list_double"],
        // DuckLake 1.4 sends a blob as DuckDB's escaped text ('\xAA\x00\'), which PostgreSQL's bytea input
        // rejects.
        duckLakeFailsOnPostgres: ["blob"],
    },
};
LINE_CASES["1.5.0"] = LINE_CASES["1.5.5"];

const INLINING_LINES = DUCKLAKE_LINES.filter((line) => line.spec !== "0.2");

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
    db = await createTestDatabase("inlined");
    dir = mkdtempSync(path.join(tmpdir(), "ducklake-inlined-"));
});

afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
});

/** Each case's history: its rows inserted, the first one deleted, the rows inserted again. */
function caseHistory(alias: string, cases: readonly Case[]): string[] {
    return cases.flatMap(({ table, type, values }) => [
        `CREATE TABLE ${alias}.${table} (id INTEGER, c ${type})`,
        `INSERT INTO ${alias}.${table} VALUES ${values.map((value, i) => `(${i}, ${value})`).join(", ")}`,
        `DELETE FROM ${alias}.${table} WHERE id = 0`,
        `INSERT INTO ${alias}.${table} VALUES ${values.map((value, i) => `(${10 + i}, ${value})`).join(", ")}`,
    ]);
}

const INLINING = ["DATA_INLINING_ROW_LIMIT 100"];

/** The raw inlined rows of a table in a PostgreSQL catalog schema, oldest version first. */
async function postgresRaw(schema: string, table: string): Promise<string[]> {
    const tables = await db.admin.query<{ name: string }>(
        `SELECT i.table_name AS name FROM ${schema}.ducklake_inlined_data_tables i ` +
            `JOIN ${schema}.ducklake_table t USING (table_id) WHERE t.table_name = $1 ORDER BY i.schema_version`,
        [table],
    );
    const rows: string[] = [];
    for (const { name } of tables.rows) {
        const result = await db.admin.query<{ row: string }>(
            `SELECT concat_ws(' ', row_id, begin_snapshot, coalesce(end_snapshot::text, '-'), id, ` +
                `coalesce(c::text, 'NULL')) AS row FROM ${schema}.${name} ORDER BY row_id, begin_snapshot`,
        );
        rows.push(...result.rows.map((row) => row.row));
    }
    return rows;
}

/** The raw text of a column of a table's inlined rows in a SQLite catalog. */
function sqliteRaw(file: string, table: string, column = "c"): string[] {
    const sqlite = new DatabaseSync(file, { readOnly: true });
    try {
        const names = sqlite
            .prepare(
                "SELECT i.table_name FROM ducklake_inlined_data_tables i JOIN ducklake_table t " +
                    "USING (table_id) WHERE t.table_name = ? ORDER BY i.schema_version",
            )
            .all(table) as { table_name: string }[];
        return names.flatMap(({ table_name }) =>
            (
                sqlite
                    .prepare(
                        `SELECT CAST("${column}" AS BLOB) AS c FROM "${table_name}" ORDER BY row_id, begin_snapshot`,
                    )
                    .all() as { c: Uint8Array | null }[]
            ).map((row) => (row.c === null ? "NULL" : Buffer.from(row.c).toString())),
        );
    } finally {
        sqlite.close();
    }
}

/** Reads of every case table at every snapshot from its creation (snapshot 4k + 1 for the k-th case) on. */
async function readEverySnapshot(line: DuckLakeLine, attach: string, cases: readonly Case[]): Promise<unknown[]> {
    const statements = [attach];
    cases.forEach(({ table }, index) => {
        for (let snapshot = 4 * index + 1; snapshot <= 4 * cases.length; snapshot++) {
            statements.push(
                `SELECT '${table}@${snapshot}' AS at, id, c::VARCHAR AS text, c FROM lake.${table} ` +
                    `AT (VERSION => ${snapshot}) ORDER BY id`,
            );
        }
    });
    return (await runDuckLake(line, statements)).map((result) => result.rows);
}

describe.each(INLINING_LINES)("DuckDB $duckdb (spec $spec)", (line) => {
    const tag = line.duckdb.replaceAll(".", "_");
    const extra = LINE_CASES[line.duckdb];
    // The cases DuckLake cannot write to PostgreSQL come last, so the others get the same snapshot ids there.
    const fails = (c: Case) => extra.duckLakeFailsOnPostgres.includes(c.table);
    const cases = [...MIGRATED, ...extra.migrated].sort((a, b) => Number(fails(a)) - Number(fails(b)));
    const truthCases = cases.filter((c) => !fails(c));
    const data = () => path.join(dir, `data-${tag}`) + "/";
    const sqlite = () => path.join(dir, `lake-${tag}.sqlite`);
    const truth = `truth_${tag}`;
    const migrated = `migrated_${tag}`;
    let migration: CommandResult;

    beforeAll(async () => {
        await db.admin.query(`CREATE SCHEMA ${truth} AUTHORIZATION ${db.role}`);
        await runDuckLake(line, [
            attachPostgresSql("lake", db.env, truth, data(), INLINING),
            ...caseHistory("lake", truthCases),
        ]);
        await runDuckLake(line, [attachSqliteSql("lake", sqlite(), data(), INLINING), ...caseHistory("lake", cases)]);
        migration = await runStackMigration(sqlite(), migrated, db.env);
    });

    it("DuckLake inlines every case on SQLite, none in Parquet files", async () => {
        const [, files] = await runDuckLake(line, [
            attachSqliteSql("lake", sqlite(), data()),
            "SELECT count(*) FROM __ducklake_metadata_lake.ducklake_data_file",
        ]);
        expect(files.rows).toEqual([["0"]]);
    });

    it("migrates every case, and DuckLake on PostgreSQL reads it back at every snapshot exactly as from SQLite", async () => {
        expect(errorLines(migration.stderr)).toEqual([]);
        expect(migration.code).toBe(0);
        const fromSqlite = await readEverySnapshot(line, attachSqliteSql("lake", sqlite(), data()), cases);
        const fromPostgres = await readEverySnapshot(line, attachPostgresSql("lake", db.env, migrated, data()), cases);
        expect(fromPostgres).toEqual(fromSqlite);
    });

    it.runIf(line.spec === "0.3")(
        "why DuckLake 0.3's own PostgreSQL text is not copied: it reads back wrong",
        async () => {
            const read = (attach: string) =>
                runDuckLake(line, [
                    attach,
                    "SELECT c::VARCHAR FROM lake.list_text ORDER BY id",
                    "SELECT c.b FROM lake.struct_simple ORDER BY id",
                ]);
            const own = await read(attachPostgresSql("lake", db.env, truth, data()));
            const source = await read(attachSqliteSql("lake", sqlite(), data()));
            expect(source[1].rows[0]).toEqual(["[a, 'b,c', 'it\\'s', 'q\"x', NULL, '', ' sp ', '[x]', 'NULL']"]);
            expect(own[1].rows[0]).toEqual(["[a, 'b,c', its, 'q\"x', NULL, '', ' sp ', '[x]', 'NULL']"]);
            expect(source[2].rows.map(([b]) => b)).toEqual(["it's, {y}", null, "x", "it's, {y}", null]);
            expect(own[2].rows.map(([b]) => b)).toEqual(["its, {y}", null, "x", "its, {y}", null]);
        },
    );

    it.each(cases)("$table: the migrated raw rows against DuckLake's own on PostgreSQL", async (c) => {
        const actual = await postgresRaw(migrated, c.table);
        expect(actual.length).toBeGreaterThan(0);
        if (fails(c)) {
            await db.admin.query(`CREATE SCHEMA ${truth}_${c.table} AUTHORIZATION ${db.role}`);
            await expect(
                runDuckLake(line, [
                    attachPostgresSql("lake", db.env, `${truth}_${c.table}`, data(), INLINING),
                    ...caseHistory("lake", [c]),
                ]),
            ).rejects.toThrow(/Failed to commit/);
            return;
        }
        const expected = await postgresRaw(truth, c.table);
        if (extra.rawDiffers.includes(c.table)) {
            // The SQLite text, carried over as it is, where DuckLake itself would have written other text.
            const values = (rows: string[]) => rows.map((row) => row.split(" ").slice(4).join(" "));
            expect(values(actual)).toEqual(sqliteRaw(sqlite(), c.table));
            expect(values(actual)).not.toEqual(values(expected));
        } else {
            expect(actual).toEqual(expected);
        }
    });
});

const FLUSH =
    "Fix: run `CALL ducklake_flush_inlined_data('<catalog alias>')` on the source with DuckDB, so the rows " +
    "move to Parquet files, then migrate again.";
const LONG_NAME = "c_" + "x".repeat(62);

interface Refused extends Case {
    column: string;
    problem: string;
}

function typeRefusal(spec: string, column: string, type: string, problem: string): string {
    return (
        `inlined data table ducklake_inlined_data_1_1, column "${column}" (${type}): DuckLake ${spec} on PostgreSQL ` +
        `cannot hold this type faithfully: ${problem}. ${FLUSH}`
    );
}

function structFieldProblem(spec: string, field: string, type: string, cast: string): string {
    return (
        `its field "${field}" (${type}) is written inside the struct text as a cast to ${cast} on SQLite but as a ` +
        "cast to VARCHAR on PostgreSQL, so the SQLite text is not what DuckLake would hold on PostgreSQL" +
        (spec === "1.0" && type !== "blob"
            ? "; DuckLake 1.0 cannot read such a field back from SQLite either " +
              '("Failed to read inlined data"), so the flush below fails as well until DuckLake reads its own struct ' +
              "text"
            : "")
    );
}

const LONG_NAME_PROBLEM =
    `inlined data table ducklake_inlined_data_1_1, column "${LONG_NAME}" (int32): the name is ` +
    "longer than PostgreSQL's 63-byte identifier limit, so PostgreSQL would truncate it (DuckLake writes such a " +
    "column's rows to Parquet files on PostgreSQL, or, before DuckDB 1.5.5, inlines them under the truncated name " +
    `and cannot read them back). ${FLUSH}`;

/** Per line: inlined values the migration refuses, each in a catalog of its own, with the exact message. */
function refusedCases(line: DuckLakeLine): Refused[] {
    const longName: Refused = {
        table: "long_name",
        type: "INTEGER",
        values: ["1"],
        column: LONG_NAME,
        problem: LONG_NAME_PROBLEM,
    };
    if (line.spec === "0.3") {
        return [
            longName,
            {
                table: "text_nul",
                type: "VARCHAR",
                values: [NUL_TEXT],
                column: "c",
                problem:
                    'inlined data table ducklake_inlined_data_1_1, column "c" (varchar): cannot encode a value: the ' +
                    `text contains a NUL character, which a PostgreSQL text column cannot store. ${FLUSH}`,
            },
        ];
    }
    return [
        longName,
        {
            table: "struct_date",
            type: "STRUCT(d DATE)",
            values: ["{'d': '2024-01-02'}"],
            column: "c",
            problem: typeRefusal(line.spec, "c", "struct", structFieldProblem(line.spec, "d", "date", "DATE")),
        },
        {
            table: "struct_blob",
            type: "STRUCT(s STRUCT(b BLOB))",
            values: ["{'s': {'b': 'x'}}"],
            column: "c",
            problem: typeRefusal(line.spec, "c", "struct", structFieldProblem(line.spec, "s.b", "blob", "BLOB")),
        },
        {
            table: "time_ns",
            type: "TIME_NS",
            values: ["'03:04:05.123456789'"],
            column: "c",
            problem: typeRefusal(
                line.spec,
                "c",
                "time_ns",
                "DuckLake's PostgreSQL backend creates it as TIME_NS, which is not a PostgreSQL type",
            ),
        },
    ];
}

describe.each(INLINING_LINES)("DuckDB $duckdb (spec $spec): refusals", (line) => {
    const tag = line.duckdb.replaceAll(".", "_");
    const refused = refusedCases(line);
    const file = (table: string) => path.join(dir, `refused-${tag}-${table}.sqlite`);
    const data = () => path.join(dir, `refused-data-${tag}`) + "/";
    const pgSchema = `refused_truth_${tag}`;
    const pgAttach = () => attachPostgresSql("lake", db.env, pgSchema, data(), INLINING);
    const write = (table: string, c: Refused) => [
        `CREATE TABLE ${table} (id INTEGER, "${c.column}" ${c.type})`,
        `INSERT INTO ${table} VALUES ${c.values.map((value, i) => `(${i}, ${value})`).join(", ")}`,
    ];

    beforeAll(async () => {
        await db.admin.query(`CREATE SCHEMA ${pgSchema} AUTHORIZATION ${db.role}`);
        await runDuckLake(
            line,
            refused.flatMap((c) => [
                attachSqliteSql(`lake_${c.table}`, file(c.table), data(), INLINING),
                ...write(`lake_${c.table}.t`, c),
            ]),
        );
    });

    it.each(refused.map((c) => [c.table, c] as const))(
        "%s: refused with the exact message, nothing written",
        async (_table, c) => {
            expect(sqliteRaw(file(c.table), "t", c.column)).toHaveLength(c.values.length);
            const schema = `refused_${tag}_${c.table}`;
            const result = await runStackMigration(file(c.table), schema, db.env);
            expect(result.code).not.toBe(0);
            expect(errorLines(result.stderr)).toEqual([`migrate: ${c.problem}`]);
            const left = await db.admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
            expect(left.rowCount).toBe(0);
        },
    );

    it.runIf(line.spec !== "0.3")(
        "why structs with date or blob fields: DuckLake's PostgreSQL text differs from SQLite's by the cast alone",
        async () => {
            const cases = refused.filter((c) => c.table.startsWith("struct_"));
            await runDuckLake(line, [pgAttach(), ...cases.flatMap((c) => write(`lake.${c.table}`, c))]);
            for (const [c, cast] of [
                [cases[0], "DATE"],
                [cases[1], "BLOB"],
            ] as const) {
                const [pgRow] = await postgresRaw(pgSchema, c.table);
                const pgText = pgRow.split(" ").slice(4).join(" ");
                expect(pgText).toMatch(/VARCHAR/);
                expect(sqliteRaw(file(c.table), "t")).toEqual([pgText.replace("VARCHAR", cast)]);
            }
        },
    );

    it.runIf(line.spec !== "0.3")(
        `the flush the message suggests for a struct's date field ${
            line.spec === "1.0" ? "fails: DuckLake 1.0 cannot read its own inlined struct" : "works"
        }`,
        async () => {
            const flush = runDuckLake(line, [
                attachSqliteSql("lake", file("struct_date"), data()),
                "CALL ducklake_flush_inlined_data('lake')",
            ]);
            if (line.spec === "1.0") {
                await expect(flush).rejects.toThrow(/Failed to read inlined data[\s\S]*CAST\('2024-01-02' AS DATE\)/);
            } else {
                await expect(flush).resolves.toHaveLength(2);
            }
        },
    );

    it.runIf(line.spec !== "0.3")(
        "why time_ns: DuckLake on PostgreSQL cannot commit an inlined time_ns row",
        async () => {
            await expect(
                runDuckLake(line, [
                    pgAttach(),
                    "CREATE TABLE lake.tn (c TIME_NS)",
                    "INSERT INTO lake.tn VALUES ('03:04:05.123456789')",
                ]),
            ).rejects.toThrow(/Failed to commit[\s\S]*time_ns/i);
        },
    );

    it.runIf(line.spec === "0.3")("why NUL in text: DuckLake 0.3 on PostgreSQL cannot commit it", async () => {
        await expect(
            runDuckLake(line, [
                pgAttach(),
                "CREATE TABLE lake.tz (c VARCHAR)",
                `INSERT INTO lake.tz VALUES (${NUL_TEXT})`,
            ]),
        ).rejects.toThrow(/Failed to commit/);
    });

    it("why long names: DuckLake on PostgreSQL writes Parquet (1.5.5) or cannot read its own inlined rows", async () => {
        const statements = [
            pgAttach(),
            `CREATE TABLE lake.tl (${LONG_NAME} INTEGER)`,
            "INSERT INTO lake.tl VALUES (1)",
            `SELECT count(*) FROM __ducklake_metadata_lake.${pgSchema}.ducklake_data_file f ` +
                `JOIN __ducklake_metadata_lake.${pgSchema}.ducklake_table t USING (table_id) WHERE t.table_name = 'tl'`,
            "SELECT * FROM lake.tl",
        ];
        if (line.duckdb === "1.5.5") {
            const results = await runDuckLake(line, statements);
            expect(results.slice(-2).map((result) => result.rows)).toEqual([[["1"]], [[1]]]);
        } else {
            await expect(runDuckLake(line, statements)).rejects.toThrow(/Referenced column "c_x+" not found/);
        }
    });
});

describe.each(INLINING_LINES.filter((line) => line.spec !== "0.3"))(
    "DuckDB $duckdb: a struct with a uuid field",
    (line) => {
        it("migrates byte for byte as DuckLake writes it on PostgreSQL, and neither backend reads it back", async () => {
            const tag = line.duckdb.replaceAll(".", "_");
            const write = [
                "CREATE TABLE lake.s (id INTEGER, c STRUCT(u UUID))",
                "INSERT INTO lake.s VALUES (1, {'u': 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'})",
            ];
            const sqlite = path.join(dir, `uuid-${tag}.sqlite`);
            const data = path.join(dir, `uuid-${tag}`);
            await db.admin.query(`CREATE SCHEMA uuid_truth_${tag} AUTHORIZATION ${db.role}`);
            await runDuckLake(line, [attachPostgresSql("lake", db.env, `uuid_truth_${tag}`, data, INLINING), ...write]);
            await runDuckLake(line, [attachSqliteSql("lake", sqlite, data, INLINING), ...write]);
            const result = await runStackMigration(sqlite, `uuid_${tag}`, db.env);
            expect(errorLines(result.stderr)).toEqual([]);
            expect(await postgresRaw(`uuid_${tag}`, "s")).toEqual(await postgresRaw(`uuid_truth_${tag}`, "s"));
            for (const attach of [
                attachSqliteSql("lake", sqlite, data),
                attachPostgresSql("lake", db.env, `uuid_${tag}`, data),
                attachPostgresSql("lake", db.env, `uuid_truth_${tag}`, data),
            ]) {
                // DuckDB 1.5.5 on PostgreSQL even fails internally ("Attempted to access index 0 within vector").
                await expect(runDuckLake(line, [attach, "SELECT c FROM lake.s"])).rejects.toThrow(
                    /Failed to read inlined data|INTERNAL Error/,
                );
            }
        });
    },
);

describe("types DuckLake never inlines", () => {
    it.each(INLINING_LINES.filter((line) => line.spec !== "0.3"))(
        "DuckDB $duckdb writes variant and geometry to " +
            "Parquet even with inlining on, so the migration never meets them inlined",
        async (line) => {
            const tag = line.duckdb.replaceAll(".", "_");
            const sqlite = path.join(dir, `never-${tag}.sqlite`);
            const results = await runDuckLake(line, [
                attachSqliteSql("lake", sqlite, path.join(dir, `never-${tag}`), INLINING),
                "CREATE TABLE lake.v (c VARIANT)",
                "INSERT INTO lake.v VALUES (1::VARIANT)",
                "CREATE TABLE lake.g (c GEOMETRY)",
                "INSERT INTO lake.g VALUES ('POINT(1 2)'::GEOMETRY)",
                "SELECT t.table_name, count(f.data_file_id) FROM __ducklake_metadata_lake.ducklake_table t " +
                    "JOIN __ducklake_metadata_lake.ducklake_data_file f USING (table_id) GROUP BY 1 ORDER BY 1",
            ]);
            expect(results.at(-1)?.rows).toEqual([
                ["g", "1"],
                ["v", "1"],
            ]);
            const result = await runStackMigration(sqlite, `never_${tag}`, db.env);
            expect(errorLines(result.stderr)).toEqual([]);
            expect(result.code).toBe(0);
        },
    );

    it("DuckDB 1.4.4 has no time_ns or variant columns at all", async () => {
        const line = INLINING_LINES.find((candidate) => candidate.spec === "0.3")!;
        for (const type of ["TIME_NS", "VARIANT"]) {
            await expect(
                runDuckLake(line, [
                    attachSqliteSql("lake", path.join(dir, "no-types.sqlite"), dir),
                    `CREATE TABLE lake.t (c ${type})`,
                ]),
            ).rejects.toThrow(`unsupported type ${type}`);
        }
    });

    it(
        "why int128 is refused at 0.2: DuckDB 1.3.2 inlining on PostgreSQL through set_option stores a double and " +
            "does not read 5 back",
        async () => {
            const line = DUCKLAKE_LINES.find((candidate) => candidate.spec === "0.2")!;
            await db.admin.query(`CREATE SCHEMA set_option_0_2 AUTHORIZATION ${db.role}`);
            const results = await runDuckLake(line, [
                attachPostgresSql("lake", db.env, "set_option_0_2", dir),
                "CALL lake.set_option('data_inlining_row_limit', 10)",
                "CREATE TABLE lake.h (c HUGEINT)",
                "INSERT INTO lake.h VALUES (5)",
                "SELECT c FROM lake.h",
            ]);
            // Seen: NULL, or 4617315517961601024 (0x4014000000000000, the IEEE bits of 5.0), from run to run.
            expect(results.at(-1)?.rows).not.toEqual([["5"]]);
            const column = await db.admin.query<{ type: string }>(
                "SELECT format_type(atttypid, atttypmod) AS type " +
                    "FROM pg_attribute WHERE attrelid = 'set_option_0_2.ducklake_inlined_data_1_1'::regclass " +
                    "AND attname = 'c'",
            );
            expect(column.rows).toEqual([{ type: "double precision" }]);
        },
    );

    it("DuckDB 1.3.2 (spec 0.2) refuses data inlining on SQLite and on PostgreSQL", async () => {
        const line = DUCKLAKE_LINES.find((candidate) => candidate.spec === "0.2")!;
        await db.admin.query(`CREATE SCHEMA inlining_0_2 AUTHORIZATION ${db.role}`);
        for (const attach of [
            attachSqliteSql("lake", path.join(dir, "inlining-0.2.sqlite"), dir, INLINING),
            attachPostgresSql("lake", db.env, "inlining_0_2", dir, INLINING),
        ]) {
            await expect(runDuckLake(line, [attach])).rejects.toThrow(
                "Data inlining is currently only supported on DuckDB catalogs",
            );
        }
    });
});
