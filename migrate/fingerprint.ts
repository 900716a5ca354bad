/**
 * The fingerprint that lets a dry run or re-run against an unchanged catalog finish without reading it: at
 * migration the engine records, in the same transaction as the copy, what identifies the SQLite file it read and
 * the tables it wrote, as the comment of the target schema (no object is added to the schema). A later run that
 * finds both sides exactly as recorded reports "unchanged"; anything else falls back to the full comparison.
 *
 * Source side: device, inode, size, mtime and ctime (nanoseconds) and the header bytes of the database file and of
 * its -wal and -journal files (or their absence). Every write to a file sets its ctime to the current time, and no
 * system call sets ctime to a chosen value, so a rewrite in place, a copy over it or a WAL append all change it,
 * whatever a tool does to mtime; a file renamed over it has another inode. Timestamps are only as fine as the
 * filesystem's clock tick, so a file written within MARGIN of the read (a second write in the same tick would keep
 * its ctime) gets no fingerprint.
 *
 * Target side: the schema's tables, columns and types, each table's oid and relfilenode (a table dropped and
 * recreated, truncated or rewritten changes them), and ducklake_snapshot's row count and newest snapshot id (every
 * DuckLake commit adds a snapshot with a higher id, and expiring snapshots removes some). A count, not a digest,
 * so that a catalog with a long history of snapshots is still checked in a fraction of a second.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { Client } from "pg";
import { readHead } from "./source";
import type { TargetInspection } from "./target";

const PREFIX = "lakehouse-catalog migration fingerprint v1 ";

// Linux filesystems stamp times at the kernel's clock tick (a few ms); a whole-second stamp means a filesystem
// with one- or two-second resolution.
const MARGIN_NS = 200_000_000n;
const COARSE_MARGIN_NS = 3_000_000_000n;

interface FileIdentity {
    dev: string;
    ino: string;
    size: string;
    mtimeNs: string;
    ctimeNs: string;
    /** SHA-256 of the first 100 bytes (the SQLite header; for a -wal file its header and first frame header). */
    head: string;
}

/** The database file and its -wal and -journal companions (null when absent or empty). */
export interface SourceIdentity {
    db: FileIdentity | null;
    wal: FileIdentity | null;
    journal: FileIdentity | null;
}

export interface TargetIdentity {
    /** SHA-256 of the schema's tables, columns and types and of its other objects. */
    structure: string;
    /** table → "oid/relfilenode". */
    tables: Record<string, string>;
    /** ducklake_snapshot's row count and newest snapshot id, as "rows/id" (-1 without snapshots). */
    snapshots: string;
}

export interface FingerprintRecord {
    source: SourceIdentity;
    target: TargetIdentity;
    ducklakeVersion: string;
    rows: Record<string, number>;
}

function fileIdentity(file: string): FileIdentity | null {
    let stat: fs.BigIntStats;
    try {
        stat = fs.statSync(file, { bigint: true });
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            return null;
        }
        throw error;
    }
    // An empty -wal or -journal file adds nothing to the database's content; a read-only reader of a WAL-mode file
    // leaves an empty -wal behind, which must not make every later run differ from the one before it.
    if (stat.size === 0n) {
        return null;
    }
    return {
        dev: String(stat.dev),
        ino: String(stat.ino),
        size: String(stat.size),
        mtimeNs: String(stat.mtimeNs),
        ctimeNs: String(stat.ctimeNs),
        head: createHash("sha256").update(readHead(file, 100)).digest("hex"),
    };
}

export function sourceIdentity(file: string): SourceIdentity {
    return { db: fileIdentity(file), wal: fileIdentity(`${file}-wal`), journal: fileIdentity(`${file}-journal`) };
}

/**
 * Whether `identity`, taken at wall-clock time `takenAtNs`, can be trusted to change with the next write: every
 * file's ctime lies far enough before it that a later write cannot get the same timestamp.
 */
export function settled(identity: SourceIdentity, takenAtNs: bigint): boolean {
    return [identity.db, identity.wal, identity.journal].every((file) => {
        if (file === null) {
            return true;
        }
        const ctime = BigInt(file.ctimeNs);
        const margin = ctime % 1_000_000_000n === 0n ? COARSE_MARGIN_NS : MARGIN_NS;
        return takenAtNs - ctime > margin;
    });
}

export function sameSource(a: SourceIdentity, b: SourceIdentity): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

export function wallClockNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
}

export function encodeRecord(record: FingerprintRecord): string {
    return PREFIX + JSON.stringify(record);
}

/** The record in a schema comment; undefined for no comment, another comment, or an unreadable record. */
export function decodeRecord(comment: string | null): FingerprintRecord | undefined {
    if (comment === null || !comment.startsWith(PREFIX)) {
        return undefined;
    }
    try {
        return JSON.parse(comment.slice(PREFIX.length)) as FingerprintRecord;
    } catch {
        return undefined;
    }
}

/** Whether a comment may be replaced: none yet, or one this engine wrote. */
export function ownComment(comment: string | null): boolean {
    return comment === null || comment.startsWith(PREFIX);
}

export async function schemaComment(
    client: Client,
    schema: string,
): Promise<{ comment: string | null; owner: boolean } | undefined> {
    const result = await client.query<{ comment: string | null; owner: boolean }>(
        "SELECT obj_description(oid, 'pg_namespace') AS comment, pg_has_role(nspowner, 'MEMBER') AS owner " +
            "FROM pg_namespace WHERE nspname = $1",
        [schema],
    );
    return result.rows[0];
}

/** The target's tables as they stand; the snapshot count is added by the caller once the layout matched. */
export async function targetLayout(
    client: Client,
    schema: string,
    inspection: TargetInspection,
): Promise<Omit<TargetIdentity, "snapshots">> {
    const structure = createHash("sha256")
        .update(JSON.stringify([[...inspection.tables.entries()], inspection.otherObjects]))
        .digest("hex");
    const relations = await client.query<{ relname: string; identity: string }>(
        "SELECT relname, oid::text || '/' || relfilenode::text AS identity FROM pg_class " +
            "WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND relkind = 'r' ORDER BY relname",
        [schema],
    );
    return { structure, tables: Object.fromEntries(relations.rows.map((row) => [row.relname, row.identity])) };
}

export function sameLayout(recorded: TargetIdentity, layout: Omit<TargetIdentity, "snapshots">): boolean {
    return JSON.stringify([recorded.structure, recorded.tables]) === JSON.stringify([layout.structure, layout.tables]);
}

/** How the fingerprint holds ducklake_snapshot: its row count and newest snapshot id. */
export function snapshotsText(rows: number, last: bigint): string {
    return `${rows}/${last}`;
}
