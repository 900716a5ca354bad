/** The catalogs the fault tests migrate. */
import { DatabaseSync } from "node:sqlite";
import { buildCatalog, countRows } from "../../fixtures";

/** The table that dominates a real catalog (baseline.md: 2 M of 2.26 M rows), where a load spends its time. */
export const LARGEST_TABLE = "ducklake_file_column_stats";

/**
 * A spec 1.0 catalog whose column stats make the load last long enough (about a second) for a test to observe and
 * interrupt it mid-way. Returns the rows per table.
 */
export function buildLargeCatalog(file: string, statsRows = 300_000): { rows: Record<string, number> } {
    buildCatalog(file, { version: "1.0" });
    const db = new DatabaseSync(file);
    try {
        // More stats rows for the files the history already has, the way DuckLake writes one row per column per file.
        db.exec(`INSERT INTO ${LARGEST_TABLE}
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${statsRows})
                 SELECT s.data_file_id, s.table_id, 1000 + n.i, s.column_size_bytes, s.value_count, s.null_count,
                        'min ' || n.i, 'max ' || n.i, s.contains_nan, s.extra_stats
                 FROM n, (SELECT * FROM ${LARGEST_TABLE} LIMIT 1) s`);
        return { rows: countRows(db) };
    } finally {
        db.close();
    }
}
