/**
 * The SQLite side: checks a catalog file before anything opens it, opens it read-only, checks its integrity, and
 * reads it inside one read transaction, so that a DuckLake writer working on the file meanwhile cannot make the
 * copy inconsistent.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { MigrationError } from "./errors";
import { quoteIdentifier } from "./sqlText";

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");
const HEADER_BYTES = 100;

/** Refuses, before opening it, anything at `file` that cannot be a SQLite catalog. Never creates a file. */
export function checkSourceFile(file: string): void {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(file);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
            const directory = path.dirname(path.resolve(file));
            const missingDirectory = !fs.existsSync(directory);
            throw new MigrationError(
                `source ${file} does not exist${missingDirectory ? ` (nor does its directory ${directory})` : ""}. ` +
                    "Fix: pass the path of the DuckLake SQLite catalog file with --sqlite.",
            );
        }
        throw new MigrationError(
            `source ${file} cannot be read: ${(error as Error).message}. Fix: check the path and ` + "its permissions.",
        );
    }
    if (stat.isDirectory()) {
        throw new MigrationError(
            `source ${file} is a directory, not a SQLite file. Fix: pass the catalog file inside ` +
                "it (the one DuckDB attaches as ducklake:sqlite:<file>).",
        );
    }
    if (!stat.isFile()) {
        throw new MigrationError(`source ${file} is not a regular file. Fix: pass the DuckLake SQLite catalog file.`);
    }
    if (stat.size === 0) {
        throw new MigrationError(
            `source ${file} is empty (0 bytes), so it holds no catalog; a mistyped path once ` +
                "created such a file. Fix: pass the real catalog file, and delete this one if it is a leftover.",
        );
    }
    const header = readHead(file, HEADER_BYTES);
    if (header.length < HEADER_BYTES || !header.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER)) {
        throw new MigrationError(
            `source ${file} is not a SQLite database (it does not start with the SQLite header). ` +
                "Fix: pass the DuckLake SQLite catalog file.",
        );
    }
    // The header's page count is trustworthy when the "version-valid-for" number equals the change counter.
    const pageSizeField = header.readUInt16BE(16);
    const pageSize = pageSizeField === 1 ? 65_536 : pageSizeField;
    const pageCount = header.readUInt32BE(28);
    if (header.readUInt32BE(92) === header.readUInt32BE(24) && stat.size < pageSize * pageCount) {
        throw new MigrationError(
            `source ${file} is truncated: its header says ${pageCount} pages of ${pageSize} bytes ` +
                `(${pageSize * pageCount} bytes), the file has ${stat.size}. Nothing was written. Fix: restore the ` +
                "complete file from a backup.",
        );
    }
}

/** The first `length` bytes of `file`, fewer if the file is shorter. */
export function readHead(file: string, length: number): Buffer {
    const head = Buffer.alloc(length);
    const descriptor = fs.openSync(file, "r");
    try {
        return head.subarray(0, fs.readSync(descriptor, head, 0, length, 0));
    } finally {
        fs.closeSync(descriptor);
    }
}

export interface SourceTable {
    name: string;
    /** Column names in SQLite's declared order. */
    columns: string[];
}

/** A DuckLake catalog in a SQLite file, opened read-only. */
export class SourceCatalog {
    private readonly db: DatabaseSync;

    private constructor(
        readonly file: string,
        db: DatabaseSync,
    ) {
        this.db = db;
    }

    /** Checks and opens the file, then runs SQLite's quick check; refuses a corrupt file. */
    static open(file: string): SourceCatalog {
        checkSourceFile(file);
        let db: DatabaseSync | undefined;
        try {
            // An absolute path can never be read as a SQLite URI ("file:…").
            db = new DatabaseSync(path.resolve(file), { readOnly: true, timeout: BUSY_TIMEOUT_MS });
            // quick_check reads every page of every table and checks its structure (not whether indexes match
            // their tables, which the copy never reads; PostgreSQL's primary keys re-check uniqueness). It costs
            // about 60% of integrity_check: ~0.9 s of CPU on an 11 M-row catalog.
            const problems = db
                .prepare("PRAGMA quick_check(20)")
                .all()
                .map((row) => String(row.quick_check));
            if (problems.length !== 1 || problems[0] !== "ok") {
                throw new MigrationError(corruptMessage(file, problems.join("; ")));
            }
        } catch (error) {
            db?.close();
            if (error instanceof MigrationError) {
                throw error;
            }
            if (isBusy(error)) {
                throw new MigrationError(lockedMessage(file));
            }
            throw new MigrationError(corruptMessage(file, (error as Error).message));
        }
        // Text columns must hold text: a blob would reach PostgreSQL as raw bytes. The COPY expression calls this
        // only for such a value.
        db.function("lakehouse_refuse_blob", (table, column) => {
            throw new MigrationError(
                `source ${file}: ${String(table)}.${String(column)} holds a binary value (a BLOB) ` +
                    "where DuckLake stores text, so the file was not written by DuckLake. Fix: repair the value with " +
                    "DuckDB, or restore the file from a backup.",
            );
        });
        return new SourceCatalog(file, db);
    }

    /** Starts the one read transaction everything is read in; the first read fixes the snapshot. */
    beginRead(): void {
        try {
            this.db.exec("BEGIN");
            this.db.prepare("SELECT count(*) FROM sqlite_schema").get();
        } catch (error) {
            throw isBusy(error) ? new MigrationError(lockedMessage(this.file)) : error;
        }
    }

    endRead(): void {
        if (this.db.isTransaction) {
            this.db.exec("COMMIT");
        }
    }

    close(): void {
        if (this.db.isOpen) {
            this.endRead();
            this.db.close();
        }
    }

    tables(): SourceTable[] {
        const names = this.db
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .all()
            .map((row) => String(row.name));
        return names.map((name) => ({
            name,
            columns: this.db
                .prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .all(name)
                .map((row) => String(row.name)),
        }));
    }

    /** The distinct values of ducklake_metadata's `version` key. */
    versionValues(): string[] {
        return this.db
            .prepare("SELECT DISTINCT value FROM ducklake_metadata WHERE key = 'version'")
            .all()
            .map((row) => String(row.value));
    }

    /** The newest snapshot's id, or -1 for a catalog without snapshots. */
    lastSnapshotId(): bigint {
        const [last] = this.query("SELECT coalesce(max(snapshot_id), -1) FROM ducklake_snapshot").get() as unknown as [
            bigint,
        ];
        return last;
    }

    /** A query whose rows the caller reads, with bigints exact and rows as arrays. */
    query(sql: string): StatementSync {
        const statement = this.db.prepare(sql);
        statement.setReadBigInts(true);
        statement.setReturnArrays(true);
        return statement;
    }

    /**
     * Batches of a table, in rowid order: `lineSql` evaluated per row, lines joined by newlines (and one at the end),
     * with the sum of `countSql` over the batch's rows. Building the text in SQLite keeps the per-row work in C and
     * crosses into JavaScript once per batch. The number of rows per batch adapts so that each batch stays near
     * `batchChars` characters.
     */
    *lineBatches(
        table: string,
        lineSql: string,
        batchChars: number,
        countSql: string,
    ): Generator<{ text: string; counted: number }> {
        const batch = (condition: string) => {
            const statement = this.db.prepare(
                `SELECT group_concat(line, char(10)) || char(10) AS text, max(r) AS last, ` +
                    `count(*) AS n, sum(counted) AS counted FROM (SELECT rowid AS r, ${lineSql} AS line, ` +
                    `${countSql} AS counted FROM ${quoteIdentifier(table)} ${condition} ORDER BY rowid ` +
                    "LIMIT :batch_rows)",
            );
            statement.setReadBigInts(true);
            return statement;
        };
        // Two statements, because no rowid bound below the smallest rowid (which may be -2^63) exists.
        const first = batch("");
        const next = batch("WHERE rowid > :after");
        let rows = FIRST_BATCH_ROWS;
        let row = first.get({ batch_rows: rows });
        while (row && row.n !== 0n) {
            const text = String(row.text);
            yield { text, counted: Number(row.counted) };
            rows = Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor((batchChars * Number(row.n)) / text.length)));
            row = next.get({ batch_rows: rows, after: row.last as bigint });
        }
    }
}

// The first batch measures the row width; later batches are sized from it.
const FIRST_BATCH_ROWS = 100;
const MAX_BATCH_ROWS = 20_000;

// How long to wait for a DuckLake writer to finish its commit before giving up (also the backup's SQLite copy).
export const BUSY_TIMEOUT_MS = 10_000;

function isBusy(error: unknown): boolean {
    return (
        /database is locked|SQLITE_BUSY/i.test((error as Error).message) ||
        (error as { errcode?: number }).errcode === 5
    );
}

function lockedMessage(file: string): string {
    return (
        `source ${file} stayed locked by a writer for ${BUSY_TIMEOUT_MS / 1000} s, so it cannot be read ` +
        "consistently. Nothing was written. Fix: stop the DuckDB clients writing to this catalog (writers must " +
        "stop during a migration), then run again."
    );
}

function corruptMessage(file: string, detail: string): string {
    return (
        `source ${file} is damaged: SQLite reports "${detail}". Nothing was written. Fix: restore the file from a ` +
        "backup (or recover it with the sqlite3 shell's .recover and check the result with DuckDB)."
    );
}
