/**
 * Damaged and wrong SQLite sources for the bad-input tests, each made from a real fixture catalog the way the
 * damage happens in practice (a copy cut short, pages lost on disk, the wrong file picked).
 */
import * as fs from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { buildCatalog } from "../../fixtures";
import { buildLargeCatalog, LARGEST_TABLE } from "./catalogs";

/** Keeps the first half of a large catalog, as an interrupted copy leaves it. */
export function truncatedCatalog(file: string): void {
    buildLargeCatalog(file, 50_000);
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
}

/**
 * Zeroes `pages` consecutive leaf pages in the middle of the largest table: the header and schema stay intact, so
 * only a check of the b-tree (or a full read) can notice. baseline.md's corrupt source had 16 such pages.
 */
export function zeroedPagesCatalog(file: string, pages = 16): void {
    buildLargeCatalog(file, 50_000);
    const db = new DatabaseSync(file, { readOnly: true });
    let pageSize: number;
    let leaves: number[];
    try {
        pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
        leaves = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno`)
            .all(LARGEST_TABLE).map((row) => Number(row.pageno));
    } finally {
        db.close();
    }
    const first = leaves[Math.floor(leaves.length / 2)];
    const descriptor = fs.openSync(file, "r+");
    try {
        fs.writeSync(descriptor, Buffer.alloc(pageSize * pages), 0, pageSize * pages, (first - 1) * pageSize);
    } finally {
        fs.closeSync(descriptor);
    }
}

export function notSqliteFile(file: string): void {
    fs.writeFileSync(file, "key,value\nversion,1.0\n");
}

/** A healthy SQLite database that some other application wrote. */
export function notDucklakeCatalog(file: string): void {
    const db = new DatabaseSync(file);
    try {
        db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')");
    } finally {
        db.close();
    }
}

/** A spec 1.0 catalog edited after the fact, so the tests do not depend on how the builder names versions. */
function editedCatalog(file: string, edit: string): void {
    buildCatalog(file, { version: "1.0" });
    const db = new DatabaseSync(file);
    try {
        db.exec(edit);
    } finally {
        db.close();
    }
}

export function versionCatalog(file: string, version: string): void {
    editedCatalog(file, `UPDATE ducklake_metadata SET value = '${version}' WHERE key = 'version'`);
}

export function missingTableCatalog(file: string, table: string): void {
    editedCatalog(file, `DROP TABLE ${table}`);
}
