/**
 * A lakehouse's history written by a real DuckLake into SQLite catalogs: schemas, tables and views; inserts,
 * deletes and updates over many snapshots; schema evolution; a partitioned table; comments; inlined rows of many
 * types; nested columns in Parquet; compaction, snapshot expiry and file cleanup; and an encrypted catalog beside
 * it. Each feature is one step: a line that rejects a feature records the error, and the history goes on.
 */
import { DatabaseSync } from "node:sqlite";
import path from "node:path";
import { quoteIdentifier, sqlString } from "../../migrate/sqlText";
import { attachSqliteSql, type DuckLakeLine, extensionPath } from "../support/ducklake";
import type { Step } from "./steps";

/** Small inserts stay in the catalog (inlined), larger ones become Parquet files. */
const INLINING_LIMIT = 10;

/** Where a line's catalogs live: the history (`lake`) and the encrypted one (`vault`), each with its own data. */
export interface HistoryPaths {
    lake: { sqlite: string; data: string };
    vault: { sqlite: string; data: string };
}

export function historyPaths(dir: string): HistoryPaths {
    return {
        lake: { sqlite: path.join(dir, "lake.sqlite"), data: path.join(dir, "lake-data") + "/" },
        vault: { sqlite: path.join(dir, "vault.sqlite"), data: path.join(dir, "vault-data") + "/" },
    };
}

const INLINING = [`DATA_INLINING_ROW_LIMIT ${INLINING_LIMIT}`];

/**
 * The attach options a catalog needs on every side of the round trip: the inlining limit where the line took it,
 * and encryption for the vault.
 */
export function attachOptions(catalog: "lake" | "vault", inlining: boolean): string[] {
    return [...(catalog === "vault" ? ["ENCRYPTED"] : []), ...(inlining ? INLINING : [])];
}

/** Inlined columns of types the migration carries over at every spec version (HUGEINT and TIMESTAMP_NS: `leftOut`). */
const INLINED_COLUMNS =
    "d DECIMAL(18,4), b BLOB, j JSON, u UUID, tz TIMESTAMPTZ, ts TIMESTAMP, dt DATE, t TIME, " +
    "ttz TIMETZ, iv INTERVAL, v VARCHAR, f DOUBLE, r REAL, bo BOOLEAN, i8 TINYINT, big BIGINT, ub UBIGINT";
const INLINED_ROWS = [
    "(12345.6789, '\\x00\\xFFab'::BLOB, '{\"a\": [1, 2, null]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', " +
        "TIMESTAMPTZ '2024-03-01 12:34:56.789+02', TIMESTAMP '2024-03-01 01:02:03.456789', DATE '2024-02-29', " +
        "TIME '23:59:59.999999', TIMETZ '10:11:12+05:30', INTERVAL '1 year 2 months 3 days 04:05:06.789', " +
        "'héllo ''quoted''', 3.141592653589793, 1.5, true, -128, -9223372036854775808, 18446744073709551615)",
    "(-0.0001, ''::BLOB, '[]', '00000000-0000-0000-0000-000000000000', TIMESTAMPTZ '1970-01-01 00:00:00+00', " +
        "TIMESTAMP '1999-12-31 23:59:59', DATE '0001-01-01', TIME '00:00:00', TIMETZ '00:00:00-03', " +
        "INTERVAL '36 hours', '', -0.0, -3.25, false, 127, 9223372036854775807, 0)",
    "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
];

/**
 * What a session of the line runs before it writes an encrypted catalog: from DuckDB 1.4 on, only httpfs brings the
 * secure random engine that writing encrypted Parquet needs (nothing autoloads it here).
 */
export function encryptionSetup(line: DuckLakeLine): string[] {
    return line.spec === "0.2" ? [] : [`LOAD '${extensionPath(line, "httpfs")}'`];
}

/** What the history leaves out for a line, and why. */
export function leftOut(line: DuckLakeLine): Record<string, string> {
    return line.spec === "0.2"
        ? {
              "inlined HUGEINT and TIMESTAMP_NS":
                  "DuckDB 1.3.2 inlines nothing into SQLite, writes a HUGEINT to Parquet " +
                  "as DOUBLE and cannot read the extreme values back; inlined, the migration refuses both at spec 0.2",
          }
        : {};
}

/**
 * The nested columns of the table whose rows all go to Parquet, as [column, value of row i]. Its inlined table still
 * carries their types, so the migration plans them at every spec version.
 */
const NESTED_COLUMNS: [string, string][] = [
    ["tags VARCHAR[]", "['t' || i, NULL]"],
    ["attrs MAP(VARCHAR, INTEGER)", "MAP {'k' || i: i::INTEGER}"],
    ["point STRUCT(x DOUBLE, y DOUBLE)", "{'x': i / 2, 'y': -i}"],
];

/** The steps that write a line's history into `paths`, in order. */
export function historySteps(line: DuckLakeLine, paths: HistoryPaths): Step[] {
    const spec02 = line.spec === "0.2";
    return [
        // Inlining is an attach option; a line that rejects it attaches without, and writes everything to Parquet.
        { name: "data inlining", statements: [attachSqliteSql("lake", paths.lake.sqlite, paths.lake.data, INLINING)] },
        {
            name: "attach",
            statements: [
                attachSqliteSql("lake", paths.lake.sqlite, paths.lake.data).replace(
                    /^ATTACH /,
                    "ATTACH IF NOT EXISTS ",
                ),
            ],
        },
        {
            name: "schemas, tables and views",
            statements: [
                "CREATE SCHEMA lake.sales",
                "CREATE TABLE lake.main.customers (id INTEGER, name VARCHAR, tier VARCHAR)",
                "CREATE TABLE lake.sales.orders (id INTEGER, customer_id INTEGER, region VARCHAR, " +
                    "amount DECIMAL(12,2), placed DATE)",
                "CREATE VIEW lake.sales.order_totals AS " +
                    "SELECT customer_id, sum(amount) AS total FROM lake.sales.orders GROUP BY customer_id",
            ],
        },
        {
            name: "inserts, deletes and updates",
            statements: [
                "INSERT INTO lake.main.customers SELECT i, 'customer ' || i, " +
                    "CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'basic' END FROM range(1, 41) t(i)",
                "INSERT INTO lake.main.customers VALUES (41, 'late', 'basic'), (42, 'later', 'gold')",
                "INSERT INTO lake.sales.orders SELECT i, 1 + i % 40, ['north', 'south', 'east'][1 + i % 3], " +
                    "(i * 7.25)::DECIMAL(12,2), DATE '2024-01-01' + i::INTEGER FROM range(1, 101) t(i)",
                "DELETE FROM lake.main.customers WHERE id % 10 = 0",
                "UPDATE lake.main.customers SET tier = 'platinum' WHERE id IN (3, 6, 41)",
                "DELETE FROM lake.sales.orders WHERE amount > 700",
                "UPDATE lake.sales.orders SET amount = amount + 1 WHERE id <= 5",
                "INSERT INTO lake.sales.orders VALUES (101, 41, 'west', 12.50, DATE '2024-06-01')",
            ],
        },
        {
            name: "add a column",
            statements: [
                "ALTER TABLE lake.main.customers ADD COLUMN email VARCHAR",
                "INSERT INTO lake.main.customers VALUES (43, 'newest', 'basic', 'n@example.com')",
                "UPDATE lake.main.customers SET email = 'c' || id || '@example.com' WHERE id < 5",
            ],
        },
        {
            name: "add a column with a default",
            statements: [
                "ALTER TABLE lake.sales.orders ADD COLUMN channel VARCHAR DEFAULT 'web'",
                "INSERT INTO lake.sales.orders (id, customer_id, region, amount, placed) " +
                    "VALUES (102, 2, 'north', 1.00, DATE '2024-07-01')",
            ],
        },
        {
            name: "rename a column",
            statements: [
                "ALTER TABLE lake.main.customers RENAME COLUMN tier TO level",
                "INSERT INTO lake.main.customers VALUES (44, 'renamed', 'gold', NULL)",
            ],
        },
        {
            name: "drop a column",
            statements: [
                "ALTER TABLE lake.sales.orders DROP COLUMN placed",
                "INSERT INTO lake.sales.orders (id, customer_id, region, amount) VALUES (103, 3, 'south', 2.00)",
            ],
        },
        {
            name: "type promotion (INTEGER to BIGINT)",
            statements: [
                "ALTER TABLE lake.sales.orders ALTER COLUMN id SET DATA TYPE BIGINT",
                "INSERT INTO lake.sales.orders (id, customer_id, region, amount) VALUES (5000000000, 4, 'east', 3.00)",
            ],
        },
        {
            name: "rename a table",
            statements: [
                "ALTER TABLE lake.main.customers RENAME TO clients",
                "INSERT INTO lake.main.clients VALUES (45, 'moved', 'basic', NULL)",
            ],
        },
        {
            name: "partitioned table",
            statements: [
                "ALTER TABLE lake.sales.orders SET PARTITIONED BY (region)",
                "INSERT INTO lake.sales.orders (id, customer_id, region, amount) " +
                    "SELECT 200 + i, 1 + i % 7, ['north', 'west'][1 + i % 2], i FROM range(30) t(i)",
            ],
        },
        {
            name: "comments",
            statements: [
                "COMMENT ON TABLE lake.sales.orders IS 'every order, one row each'",
                "COMMENT ON COLUMN lake.sales.orders.amount IS 'gross, in euros'",
                "COMMENT ON VIEW lake.sales.order_totals IS 'per customer'",
            ],
        },
        {
            name: "inlined rows of many types",
            statements: [
                `CREATE TABLE lake.main.inlined (id INTEGER, ${INLINED_COLUMNS})`,
                ...INLINED_ROWS.map(
                    (row, index) => `INSERT INTO lake.main.inlined VALUES (${index + 1}, ${row.slice(1)}`,
                ),
                "DELETE FROM lake.main.inlined WHERE id = 2",
                "UPDATE lake.main.inlined SET v = 'updated', d = 1.5 WHERE id = 1",
            ],
        },
        ...(spec02
            ? []
            : [
                  {
                      name: "inlined HUGEINT and TIMESTAMP_NS",
                      statements: [
                          "CREATE TABLE lake.main.inlined_wide (h HUGEINT, uh UHUGEINT, tns TIMESTAMP_NS)",
                          "INSERT INTO lake.main.inlined_wide VALUES (-170141183460469231731687303715884105728, " +
                              "340282366920938463463374607431768211455, TIMESTAMP_NS '2024-01-01 00:00:00.123456789')",
                      ],
                  },
              ]),
        {
            name: "nested columns in Parquet",
            statements: [
                `CREATE TABLE lake.main.nested (id INTEGER, ${NESTED_COLUMNS.map(([column]) => column).join(", ")})`,
                `INSERT INTO lake.main.nested SELECT i, ${NESTED_COLUMNS.map(([, value]) => value).join(", ")} ` +
                    `FROM range(${INLINING_LIMIT * 2}) t(i)`,
            ],
        },
        {
            name: "flush inlined data",
            statements: ["CALL ducklake_flush_inlined_data('lake', table_name => 'clients')"],
        },
        {
            name: "compaction",
            statements: [
                "INSERT INTO lake.sales.orders (id, customer_id, region, amount) " +
                    "SELECT 300 + i, 1, 'west', i FROM range(20) t(i)",
                "CALL ducklake_merge_adjacent_files('lake')",
            ],
        },
        {
            name: "snapshot expiry",
            statements: ["CALL ducklake_expire_snapshots('lake', versions => [2, 3])"],
        },
        {
            name: "file cleanup",
            statements: ["CALL ducklake_cleanup_old_files('lake', cleanup_all => true)"],
        },
        {
            name: "writes after maintenance",
            statements: ["INSERT INTO lake.main.clients VALUES (46, 'after', 'gold', 'a@example.com')"],
        },
        {
            name: "encrypted catalog",
            statements: [
                ...encryptionSetup(line),
                attachSqliteSql("vault", paths.vault.sqlite, paths.vault.data, attachOptions("vault", !spec02)),
                "CREATE TABLE vault.secrets (id INTEGER, secret VARCHAR)",
                `INSERT INTO vault.secrets SELECT i, 'secret ' || i FROM range(${INLINING_LIMIT * 3}) t(i)`,
                "INSERT INTO vault.secrets VALUES (100, 'inlined secret')",
                "DELETE FROM vault.secrets WHERE id % 4 = 0",
            ],
        },
    ];
}

/**
 * Everything a round trip compares, read by DuckLake through `alias`: the snapshot list and table info; every table
 * alive at every snapshot the catalog still holds (`AT (VERSION => n)`, in full, ordered), with its file list at
 * that snapshot; every view; and the comments. The tables and snapshots come from the source's own metadata.
 */
export function roundTripProbes(alias: string, sqliteFile: string): Step[] {
    const db = new DatabaseSync(sqliteFile, { readOnly: true });
    try {
        const snapshots = db
            .prepare("SELECT snapshot_id FROM ducklake_snapshot ORDER BY snapshot_id")
            .all()
            .map((row) => Number(row.snapshot_id));
        const alive = (table: string) =>
            `${table}.begin_snapshot <= ? AND (${table}.end_snapshot IS NULL OR ${table}.end_snapshot > ?)`;
        const tablesAt = db.prepare(
            `SELECT s.schema_name, t.table_name FROM ducklake_table t JOIN ducklake_schema s ` +
                `ON s.schema_id = t.schema_id WHERE ${alive("t")} AND ${alive("s")} ORDER BY 1, 2`,
        );
        const viewsNow = db.prepare(
            `SELECT s.schema_name, v.view_name FROM ducklake_view v JOIN ducklake_schema s ` +
                `ON s.schema_id = v.schema_id WHERE v.end_snapshot IS NULL AND s.end_snapshot IS NULL ORDER BY 1, 2`,
        );
        const probe = (sql: string): Step => ({ name: sql, statements: [sql] });
        const steps = [
            probe(`SELECT * FROM ducklake_snapshots(${sqlString(alias)}) ORDER BY snapshot_id`),
            probe(`SELECT * FROM ducklake_table_info(${sqlString(alias)}) ORDER BY ALL`),
        ];
        for (const snapshot of snapshots) {
            for (const row of tablesAt.all(snapshot, snapshot, snapshot, snapshot)) {
                const [schema, table] = [String(row.schema_name), String(row.table_name)];
                steps.push(
                    probe(
                        `SELECT * FROM ${alias}.${quoteIdentifier(schema)}.${quoteIdentifier(table)} ` +
                            `AT (VERSION => ${snapshot}) ORDER BY ALL`,
                    ),
                );
                steps.push(
                    probe(
                        `SELECT * FROM ducklake_list_files(${sqlString(alias)}, ${sqlString(table)}, ` +
                            `schema => ${sqlString(schema)}, snapshot_version => ${snapshot}) ORDER BY ALL`,
                    ),
                );
            }
        }
        for (const row of viewsNow.all()) {
            steps.push(
                probe(
                    `SELECT * FROM ${alias}.${quoteIdentifier(String(row.schema_name))}.${quoteIdentifier(String(row.view_name))} ` +
                        "ORDER BY ALL",
                ),
            );
        }
        steps.push(
            probe(
                "SELECT schema_name, table_name, comment FROM duckdb_tables() " +
                    `WHERE database_name = ${sqlString(alias)} ORDER BY ALL`,
            ),
        );
        steps.push(
            probe(
                "SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() " +
                    `WHERE database_name = ${sqlString(alias)} ORDER BY ALL`,
            ),
        );
        steps.push(
            probe(
                "SELECT schema_name, view_name, comment, sql FROM duckdb_views() " +
                    `WHERE database_name = ${sqlString(alias)} ORDER BY ALL`,
            ),
        );
        return steps;
    } finally {
        db.close();
    }
}

/** A write and what it reads back: its last `reads` pairs of statements read a lake table, then its mirror. */
export interface WriteStep extends Step {
    reads: number;
}

/**
 * DuckLake's writes on a migrated catalog (attached as `lake`), each mirrored on a plain DuckDB table in memory:
 * after every write, the lake table and its mirror are read back in full (the test compares them). The writes go
 * to the migrated table of inlined types and to a new table: inserts both inlined (small) and to Parquet (large),
 * deletes, updates, ALTER, compaction, flushing inlined rows (from spec 0.3 on; spec 0.2 has no such function) and
 * snapshot expiry with file cleanup.
 */
export function writeSteps(line: DuckLakeLine): WriteStep[] {
    const read = (table: string) => [
        `SELECT * FROM lake.main.${table} ORDER BY ALL`,
        `SELECT * FROM memory.main.${table} ORDER BY ALL`,
    ];
    /** `sql` names its table `$T`; it runs on the lake table and on its mirror. */
    const mirrored = (name: string, table: string, sql: string): WriteStep => ({
        name,
        statements: [
            sql.replaceAll("$T", `lake.main.${table}`),
            sql.replaceAll("$T", `memory.main.${table}`),
            ...read(table),
        ],
        reads: 1,
    });
    const maintenance = (name: string, ...calls: string[]): WriteStep => ({
        name,
        statements: [...calls, ...read("inlined"), ...read("after")],
        reads: 2,
    });
    return [
        {
            name: "mirror the migrated table",
            statements: ["CREATE TABLE memory.main.inlined AS SELECT * FROM lake.main.inlined", ...read("inlined")],
            reads: 1,
        },
        // DuckLake 1.4.4 on PostgreSQL cannot insert an inlined BLOB that is not printable text, even into a
        // catalog it created itself ("invalid hexadecimal digit"), so its copy of the row carries a printable one.
        mirrored(
            "insert an inlined row into a migrated table",
            "inlined",
            "INSERT INTO $T SELECT id + 10, * EXCLUDE (id)" +
                `${line.spec === "0.3" ? " REPLACE ('printable'::BLOB AS b)" : ""} FROM $T WHERE id = 1`,
        ),
        mirrored("delete from a migrated table", "inlined", "DELETE FROM $T WHERE id = 3"),
        mirrored("update a migrated table", "inlined", "UPDATE $T SET v = 'again', ub = 7 WHERE id = 11"),
        mirrored(
            "create a table",
            "after",
            "CREATE TABLE $T (id INTEGER, label VARCHAR, amount DECIMAL(10,2), placed_at TIMESTAMPTZ)",
        ),
        mirrored(
            "insert inlined rows",
            "after",
            "INSERT INTO $T VALUES (1, 'one', 1.10, TIMESTAMPTZ '2025-01-01 10:00:00+01'), (2, NULL, -2.20, NULL)",
        ),
        mirrored(
            "insert to Parquet",
            "after",
            "INSERT INTO $T SELECT 10 + i, 'bulk ' || i, i / 4, " +
                `TIMESTAMPTZ '2025-02-01 00:00:00+00' + to_hours(i::BIGINT) FROM range(${INLINING_LIMIT * 5}) t(i)`,
        ),
        mirrored("delete", "after", "DELETE FROM $T WHERE id % 5 = 0"),
        mirrored("update", "after", "UPDATE $T SET label = label || ' (updated)', amount = amount * 2 WHERE id < 14"),
        mirrored("ALTER: add a column", "after", "ALTER TABLE $T ADD COLUMN note VARCHAR"),
        mirrored("insert after ALTER", "after", "INSERT INTO $T VALUES (100, 'late', 9.99, NULL, 'noted')"),
        // DuckDB's Parquet writer keeps a TIMETZ as its UTC time (offset +00), so flushed rows read back that way.
        ...(line.spec === "0.2"
            ? []
            : [
                  maintenance(
                      "flush inlined data",
                      "CALL ducklake_flush_inlined_data('lake', table_name => 'inlined')",
                      "CALL ducklake_flush_inlined_data('lake', table_name => 'after')",
                      "UPDATE memory.main.inlined SET ttz = timezone('UTC', ttz)",
                  ),
              ]),
        maintenance("compaction", "CALL ducklake_merge_adjacent_files('lake')"),
        maintenance("snapshot expiry", "CALL ducklake_expire_snapshots('lake', older_than => now())"),
        maintenance("file cleanup", "CALL ducklake_cleanup_old_files('lake', cleanup_all => true)"),
        { name: "snapshots left", statements: ["SELECT count(*) FROM ducklake_snapshots('lake')"], reads: 0 },
    ];
}
