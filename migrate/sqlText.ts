/**
 * Values written into SQL text: a string literal and a quoted identifier, each with its quote character doubled
 * inside. Both forms are standard SQL and mean the same to PostgreSQL (with its default
 * standard_conforming_strings), SQLite and DuckDB, so the engine, the backup, the stack's rendered `init.sql` and
 * the scripts share them. Nothing here imports Pulumi, so components can use it too.
 */

/** A string literal: `it's` → `'it''s'`. */
export function sqlString(text: string): string {
    return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted identifier, which keeps its case and any character: `o"neil` → `"o""neil"`. */
export function quoteIdentifier(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
}
