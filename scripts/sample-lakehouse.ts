/**
 * Writes sample DuckLake catalogs with the real DuckLake (DuckDB 1.5.5, spec 1.0): one SQLite catalog per file
 * named, `<dir>/<name>.sqlite`, with its data files in `<dir>/<name>/`. Each has three tables and eight snapshots: rows
 * inlined in the catalog (small inserts, a delete) and rows in Parquet files (one larger insert).
 *
 * A catalog that exists already is left exactly as it is, so running this again changes nothing and a stack that
 * migrated it sees no difference.
 *
 * Usage: node --import tsx scripts/sample-lakehouse.ts <dir>/<name>.sqlite...
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
// The newest DuckDB line the tests use, with the extension binaries setup installed (nothing autoloads here).
import { DuckLakeSession, attachSqliteSql } from "../test/support/ducklake";

/** The statements that build one sample catalog, attached as `lake`; each write is one snapshot. */
function sampleStatements(sqlite: string, dataPath: string): string[] {
    return [
        // Up to 10 rows per insert stay inlined in the catalog; the 200-row insert goes to a Parquet file.
        attachSqliteSql("lake", sqlite, dataPath, ["DATA_INLINING_ROW_LIMIT 10"]),
        "CREATE TABLE lake.customers (id INTEGER, name VARCHAR, country VARCHAR, signed_up DATE)",
        "INSERT INTO lake.customers VALUES (1, 'Ada', 'GB', DATE '2024-01-03'), (2, 'Grace', 'US', DATE '2024-02-11'), " +
            "(3, 'Edsger', 'NL', DATE '2024-03-20'), (4, 'Barbara', 'US', DATE '2024-04-02')",
        "CREATE TABLE lake.orders (id BIGINT, customer_id INTEGER, amount DOUBLE, paid BOOLEAN, placed_at TIMESTAMP)",
        "INSERT INTO lake.orders SELECT i, 1 + i % 4, i * 1.25, i % 3 <> 0, " +
            "TIMESTAMP '2024-05-01 08:00:00' + to_hours(i) FROM range(1, 201) AS t(i)",
        "INSERT INTO lake.orders VALUES (201, 2, 99.5, true, TIMESTAMP '2024-06-01 12:30:00'), " +
            "(202, 4, 12.0, false, TIMESTAMP '2024-06-02 09:15:00')",
        "DELETE FROM lake.customers WHERE id = 3",
        "CREATE TABLE lake.products (sku VARCHAR, title VARCHAR, price DOUBLE, in_stock BOOLEAN)",
        "INSERT INTO lake.products VALUES ('A-1', 'Notebook', 3.5, true), ('B-2', 'Pencil', 0.8, true), " +
            "('C-3', 'Eraser', 1.1, false)",
        "DETACH lake",
    ];
}

/** Writes the sample catalog `sqlite` unless it exists. */
async function writeSampleCatalog(duckdb: DuckLakeSession, sqlite: string): Promise<boolean> {
    if (existsSync(sqlite)) {
        return false;
    }
    // Written under a temporary name first, so an interrupted run never leaves a half-built catalog behind that a
    // later run would take as finished.
    const partial = `${sqlite}.partial`;
    const dataPath = sqlite.replace(/\.sqlite$/, "") + path.sep;
    rmSync(partial, { force: true });
    rmSync(dataPath, { recursive: true, force: true });
    mkdirSync(dataPath, { recursive: true });
    for (const statement of sampleStatements(partial, dataPath)) {
        await duckdb.run(statement);
    }
    renameSync(partial, sqlite);
    return true;
}

async function main(files: string[]): Promise<void> {
    if (files.length === 0 || files.some((file) => !file.endsWith(".sqlite"))) {
        process.stderr.write("usage: sample-lakehouse.ts <dir>/<name>.sqlite...\n");
        process.exitCode = 2;
        return;
    }
    const duckdb = await DuckLakeSession.open();
    try {
        for (const file of files) {
            const sqlite = path.resolve(file);
            mkdirSync(path.dirname(sqlite), { recursive: true });
            if (await writeSampleCatalog(duckdb, sqlite)) {
                process.stderr.write(`sample-lakehouse: wrote ${sqlite}\n`);
            }
        }
    } finally {
        duckdb.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((error: unknown) => {
        process.stderr.write(`sample-lakehouse: ${(error as Error).message}\n`);
        process.exitCode = 1;
    });
}
