/**
 * A stand-in for a DuckLake client writing to the SQLite catalog while it is migrated. Run as its own process:
 *
 *   node --import tsx test/faults/support/sourceWriter.ts <catalog.sqlite> <wal|delete>
 *
 * It switches the file to the given journal mode, prints "ready", then commits transactions until it is sent
 * SIGTERM. Each transaction adds one snapshot and the one data file that snapshot wrote, like a DuckLake insert,
 * so a copy taken at one point in time has exactly as many writer snapshots as writer files. After each commit it
 * prints the id of the snapshot it added.
 */
import { DatabaseSync } from "node:sqlite";

const [file, journalMode] = process.argv.slice(2);
if (file === undefined || (journalMode !== "wal" && journalMode !== "delete")) {
    console.error("usage: sourceWriter.ts <catalog.sqlite> <wal|delete>");
    process.exit(2);
}

// A migration's read transaction blocks this writer in rollback-journal mode, so it waits rather than fails.
const db = new DatabaseSync(file, { timeout: 60_000 });
db.exec(`PRAGMA journal_mode = ${journalMode}`);

/** Copies the newest row of `table`, giving it new values for `overrides`: every other column keeps its value. */
function copyNewestRow(table: string, orderBy: string, overrides: Record<string, string>): string {
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map(
        (column) => column.name,
    );
    const values = columns.map((column) => overrides[column] ?? `"${column}"`);
    return `INSERT INTO ${table} (${columns.map((column) => `"${column}"`).join(", ")})
            SELECT ${values.join(", ")} FROM ${table} ORDER BY ${orderBy} DESC LIMIT 1`;
}

const addSnapshot = db.prepare(
    copyNewestRow("ducklake_snapshot", "snapshot_id", {
        snapshot_id: "snapshot_id + 1",
    }),
);
const addFile = db.prepare(
    copyNewestRow("ducklake_data_file", "data_file_id", {
        data_file_id: "data_file_id + 1",
        begin_snapshot: "(SELECT max(snapshot_id) FROM ducklake_snapshot)",
        end_snapshot: "NULL",
        path: "'writer-' || (data_file_id + 1) || '.parquet'",
    }),
);
const newestSnapshot = db.prepare("SELECT max(snapshot_id) AS id FROM ducklake_snapshot");

let stopping = false;
process.on("SIGTERM", () => {
    stopping = true;
});
console.log("ready");

function commitOne(): void {
    db.exec("BEGIN IMMEDIATE");
    addSnapshot.run();
    addFile.run();
    db.exec("COMMIT");
    console.log(String((newestSnapshot.get() as { id: number }).id));
    if (stopping) {
        db.close();
        return;
    }
    // Yield to the event loop so SIGTERM is seen; the pause is far shorter than a migration's read.
    setTimeout(commitOne, 1);
}
commitOne();
