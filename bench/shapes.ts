/**
 * Catalog shapes beyond the baseline's proportions, because the engine's speed depends on the shape: the scale
 * fixture builds part of the rows, and the rest are added in SQLite in the shape's own tables.
 */
import { DatabaseSync } from "node:sqlite";
import { buildScaleCatalog } from "../test/fixtures";

/**
 * - baseline: the baseline's proportions, most rows in ducklake_file_column_stats;
 * - long-stats: the baseline with min/max strings of about 150 characters in every file column stat;
 * - wide-history: 70% of the rows are snapshots and their changes (a long history of small commits);
 * - many-tables: 70% of the rows describe small tables: tables, columns and their stats.
 */
export const SHAPES = ["baseline", "long-stats", "wide-history", "many-tables"] as const;
export type Shape = (typeof SHAPES)[number];

/** Builds a catalog of about `rows` rows in `shape` at `sqlite`. */
export function buildShapedCatalog(sqlite: string, shape: Shape, rows: number): void {
    const scaled = shape === "baseline" || shape === "long-stats" ? rows : Math.max(2_000, Math.round(rows * 0.3));
    buildScaleCatalog(sqlite, { rows: scaled });
    const extra = rows - scaled;
    const db = new DatabaseSync(sqlite);
    try {
        db.exec("PRAGMA journal_mode = OFF");
        db.exec("PRAGMA synchronous = OFF");
        db.exec("BEGIN");
        const counter = (count: number) =>
            `WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < ${count - 1})`;
        if (shape === "long-stats") {
            const prefix =
                "'s3://lake-bucket/marts/graphs/customer_segment_' || replace(hex(zeroblob(48)), '00', 'ab') || '_'";
            db.exec(
                `UPDATE ducklake_file_column_stats SET min_value = ${prefix} || coalesce(min_value, ''), ` +
                    `max_value = ${prefix} || coalesce(max_value, '') || '_zz'`,
            );
        } else if (shape === "wide-history" && extra > 1) {
            const pairs = Math.floor(extra / 2);
            db.exec(
                `${counter(pairs)}, last AS (SELECT max(snapshot_id) AS id FROM ducklake_snapshot) ` +
                    "INSERT INTO ducklake_snapshot (snapshot_id, snapshot_time, schema_version, next_catalog_id, next_file_id) " +
                    "SELECT last.id + 1 + i, datetime(1767225600 + i * 60, 'unixepoch') || '+00', " +
                    "(SELECT max(schema_version) FROM ducklake_snapshot), (SELECT max(next_catalog_id) FROM ducklake_snapshot), " +
                    "(SELECT max(next_file_id) FROM ducklake_snapshot) FROM counter, last",
            );
            db.exec(
                `${counter(pairs)}, last AS (SELECT max(snapshot_id) - ${pairs} AS id FROM ducklake_snapshot) ` +
                    "INSERT INTO ducklake_snapshot_changes (snapshot_id, changes_made, author, commit_message, commit_extra_info) " +
                    "SELECT last.id + 1 + i, 'inserted_into_table:' || (1 + i % 50), 'etl', " +
                    "CASE WHEN i % 10 = 0 THEN 'nightly load ' || i END, NULL FROM counter, last",
            );
        } else if (shape === "many-tables" && extra > 22) {
            // Per table: its row, 10 columns, its stats and 10 column stats.
            const tables = Math.floor(extra / 22);
            const first = `(SELECT max(table_id) FROM ducklake_table) + 1`;
            db.exec(`CREATE TEMP TABLE base AS SELECT ${first} AS id`);
            db.exec(
                `${counter(tables)} INSERT INTO ducklake_table (table_id, table_uuid, begin_snapshot, end_snapshot, ` +
                    "schema_id, table_name, path, path_is_relative) SELECT base.id + i, " +
                    "printf('%08x-0000-7000-8000-%012x', 500000000, base.id + i), 1, NULL, 0, 'small_' || i, " +
                    "'small_' || i || '/', 1 FROM counter, base",
            );
            db.exec(
                `${counter(tables * 10)} INSERT INTO ducklake_column (column_id, begin_snapshot, end_snapshot, table_id, ` +
                    "column_order, column_name, column_type, initial_default, default_value, nulls_allowed, parent_column, " +
                    "default_value_type, default_value_dialect) SELECT 1 + i % 10, 1, NULL, base.id + i / 10, i % 10, " +
                    "'c' || (i % 10), CASE i % 3 WHEN 0 THEN 'int64' WHEN 1 THEN 'varchar' ELSE 'timestamptz' END, NULL, " +
                    "NULL, 1, NULL, 'literal', NULL FROM counter, base",
            );
            db.exec(
                `${counter(tables)} INSERT INTO ducklake_table_stats (table_id, record_count, next_row_id, ` +
                    "file_size_bytes) SELECT base.id + i, 100 + i, 100 + i, 4096 + i FROM counter, base",
            );
            db.exec(
                `${counter(tables * 10)} INSERT INTO ducklake_table_column_stats (table_id, column_id, contains_null, ` +
                    "contains_nan, min_value, max_value, extra_stats) SELECT base.id + i / 10, 1 + i % 10, 0, NULL, '0', " +
                    "CAST(i AS TEXT), NULL FROM counter, base",
            );
            db.exec("DROP TABLE base");
        }
        db.exec("COMMIT");
    } finally {
        db.close();
    }
}
