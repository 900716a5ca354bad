/** The catalogs the fault tests migrate. */
import { buildScaleCatalog } from "../../fixtures";

/** The table that dominates a real catalog (in the baseline's proportions: 2 M of 2.26 M rows), where a load spends its time. */
export const LARGEST_TABLE = "ducklake_file_column_stats";

/**
 * A spec 1.0 catalog in the baseline's proportions, large enough that its load lasts long enough for a test to
 * observe and interrupt it mid-way, small enough that a file of such tests stays fast. Returns the rows per table.
 */
export function buildLargeCatalog(file: string, rows = 400_000): { rows: Record<string, number> } {
    return { rows: buildScaleCatalog(file, { rows }).rowCounts };
}
