/**
 * The migration of one DuckLake catalog from a SQLite file into a PostgreSQL schema, in one PostgreSQL transaction:
 * create the tables, COPY every row, build the primary keys, verify every table against the source, then commit.
 * Readers see the schema as it was or the complete, verified catalog; a failure or a killed process leaves it as
 * it was. A target that already holds the same catalog is left untouched, and anything else in it is refused.
 */
import type { Client, DatabaseError } from "pg";
import { type Digest, DigestAccumulator } from "./digest";
import { MigrationError, UsageError } from "./errors";
import {
    type FingerprintRecord,
    type SourceIdentity,
    decodeRecord,
    encodeRecord,
    ownComment,
    sameLayout,
    sameSource,
    schemaComment,
    settled,
    snapshotsText,
    sourceIdentity,
    targetLayout,
    wallClockNs,
} from "./fingerprint";
import { postgresNameProblem } from "./names";
import { type CatalogPlan, type TablePlan, planCatalog } from "./plan";
import { SourceCatalog, checkSourceFile } from "./source";
import { quoteIdentifier, sqlString } from "./sqlText";
import { type TargetInspection, connect, copyInto, inspectTarget, targetDigest, targetSnapshots } from "./target";

export interface MigrateOptions {
    /** Path of the SQLite catalog file. */
    sqlite: string;
    /** Target PostgreSQL schema. */
    schema: string;
    /** Read and check source and target, write nothing. */
    dryRun?: boolean;
    /** Where the PG* connection variables come from. */
    env?: NodeJS.ProcessEnv;
    /** Progress lines for a human, a few per second at most. */
    onProgress?: (line: string) => void;
}

export type MigrationStatus = "migrated" | "unchanged" | "dry-run";

export interface MigrationResult {
    status: MigrationStatus;
    /** For a dry run: what a real run would do. */
    plan?: "migrate" | "unchanged";
    ducklakeVersion: string;
    source: string;
    schema: string;
    rows: Record<string, number>;
    totalRows: number;
    seconds: number;
    /** Wall seconds per phase: check (source integrity), load (read + COPY, overlapped), keys, verify, commit. */
    phases: Record<string, number>;
    /** Seconds spent reading and encoding the source (part of load, overlapping PostgreSQL's work). */
    readSeconds: number;
    /**
     * For "unchanged" and a dry run's "unchanged" plan: how that was established: "fingerprint" (the file and the
     * schema are exactly as the migration recorded them, nothing read) or "content" (every row compared).
     */
    checkedBy?: "fingerprint" | "content";
}

/** The stack's rule for schema names, so that a catalog migrated by hand is one every consumer can name too. */
function validateSchemaName(schema: string): void {
    const problem = postgresNameProblem("schema", schema);
    if (problem !== undefined) {
        throw new UsageError(`--schema must ${problem.constraint} (${problem.why}); got ${JSON.stringify(schema)}`);
    }
}

// How long to wait for a lock held by another session before failing clearly instead of hanging.
const LOCK_TIMEOUT = "10s";
const PROGRESS_INTERVAL_MS = 500;

export async function migrateCatalog(options: MigrateOptions): Promise<MigrationResult> {
    validateSchemaName(options.schema);
    const run = new Run(options);
    return run.execute();
}

class Run {
    private readonly started = performance.now();
    private readonly phases: Record<string, number> = {};
    private readonly rows: Record<string, number> = {};
    private readSeconds = 0;
    private lastProgress = 0;
    /** The source files' identity before anything read them, and when it was taken. */
    private sourceBefore: SourceIdentity | undefined;
    private sourceBeforeAt = 0n;

    constructor(private readonly options: MigrateOptions) {}

    async execute(): Promise<MigrationResult> {
        const { sqlite } = this.options;
        checkSourceFile(sqlite);
        this.sourceBeforeAt = wallClockNs();
        this.sourceBefore = sourceIdentity(sqlite);
        const recorded = await this.fromFingerprint(this.sourceBefore);
        if (recorded !== undefined) {
            return recorded;
        }
        this.progress(`checking ${sqlite}`);
        const source = await this.timed("check", async () => SourceCatalog.open(sqlite));
        try {
            source.beginRead();
            const plan = this.planSource(source);
            const client = await connect(this.options.env);
            try {
                return await this.inTransaction(client, source, plan);
            } finally {
                await client.end().catch(() => undefined);
            }
        } finally {
            source.close();
        }
    }

    private planSource(source: SourceCatalog): CatalogPlan {
        try {
            return planCatalog(source);
        } catch (error) {
            if (error instanceof MigrationError) {
                throw error;
            }
            throw new MigrationError(
                `reading the catalog layout of ${this.options.sqlite} failed: ` +
                    `${(error as Error).message}. Nothing was written. Fix: check the file with ` +
                    "`sqlite3 <file> 'PRAGMA integrity_check'`, or restore it from a backup.",
            );
        }
    }

    /**
     * The quick answer for a schema that holds exactly what an earlier migration of this very file recorded: the
     * result, without opening the file. Undefined whenever the fingerprint cannot decide; the full run follows.
     */
    private async fromFingerprint(identity: SourceIdentity): Promise<MigrationResult | undefined> {
        const { schema } = this.options;
        const client = await connect(this.options.env);
        try {
            await this.begin(client, true);
            const comment = await this.step("read the schema's comment", () => schemaComment(client, schema));
            const record = decodeRecord(comment?.comment ?? null);
            if (record === undefined || !sameSource(record.source, identity)) {
                return undefined;
            }
            if (!(await this.lock(client))) {
                return undefined;
            }
            const layout = await this.step("inspect the target", async () =>
                targetLayout(client, schema, await inspectTarget(client, schema)),
            );
            if (!sameLayout(record.target, layout)) {
                return undefined;
            }
            const snapshots = await this.step("count the snapshots", () => targetSnapshots(client, schema));
            if (snapshotsText(snapshots.rows, snapshots.last) !== record.target.snapshots) {
                return undefined;
            }
            Object.assign(this.rows, record.rows);
            this.progress(`schema ${schema} holds exactly what the migration of this unchanged file recorded`);
            return this.result(
                this.options.dryRun ? "dry-run" : "unchanged",
                record.ducklakeVersion,
                Object.keys(record.rows),
                "unchanged",
                "fingerprint",
            );
        } finally {
            await client.query("ROLLBACK").catch(() => undefined);
            await client.end().catch(() => undefined);
        }
    }

    /** Starts the run's transaction, configured for canonical text output. */
    private async begin(client: Client, readOnly: boolean): Promise<void> {
        await this.step("start the transaction", () => client.query(readOnly ? "BEGIN READ ONLY" : "BEGIN"));
        // Canonical text output depends on these; LOCAL keeps them inside this transaction.
        await this.step("configure the session", () =>
            client.query(
                "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; " +
                    "SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; " +
                    `SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`,
            ),
        );
    }

    private async lock(client: Client): Promise<boolean> {
        const locked = await this.step("take the migration lock", () =>
            client.query<{ locked: boolean }>(
                "SELECT pg_try_advisory_xact_lock(hashtext('lakehouse-catalog migrate'), hashtext($1)) AS locked",
                [this.options.schema],
            ),
        );
        return locked.rows[0].locked;
    }

    /**
     * Records the fingerprint of what this run read and the schema now holds, as the schema's comment, inside the
     * run's transaction. Nothing is recorded (and an older record is cleared) when the file changed while it was
     * read or too recently for its timestamps to tell the next change; a comment someone else wrote is kept.
     */
    private async recordFingerprint(client: Client, plan: CatalogPlan, source: SourceCatalog): Promise<void> {
        const { schema, sqlite } = this.options;
        const comment = await this.step("read the schema's comment", () => schemaComment(client, schema));
        if (comment === undefined || !comment.owner || !ownComment(comment.comment)) {
            return;
        }
        const after = sourceIdentity(sqlite);
        // The rows of ducklake_snapshot this run read from the source (reading() counts every table it reads).
        const snapshotRows = this.rows.ducklake_snapshot;
        let text: string | null = null;
        if (
            snapshotRows !== undefined &&
            sameSource(this.sourceBefore!, after) &&
            settled(after, this.sourceBeforeAt)
        ) {
            const layout = await this.step("inspect the target", async () =>
                targetLayout(client, schema, await inspectTarget(client, schema)),
            );
            const record: FingerprintRecord = {
                source: after,
                target: { ...layout, snapshots: snapshotsText(snapshotRows, source.lastSnapshotId()) },
                ducklakeVersion: plan.version,
                rows: Object.fromEntries(plan.tables.map((table) => [table.name, this.rows[table.name] ?? 0])),
            };
            text = encodeRecord(record);
        }
        if (text !== comment.comment) {
            await this.step("record the fingerprint", () =>
                client.query(
                    `COMMENT ON SCHEMA ${quoteIdentifier(schema)} IS ${text === null ? "NULL" : sqlString(text)}`,
                ),
            );
        }
    }

    private async inTransaction(client: Client, source: SourceCatalog, plan: CatalogPlan): Promise<MigrationResult> {
        const { schema, dryRun } = this.options;
        let committed = false;
        try {
            await this.begin(client, dryRun === true);
            if (!(await this.lock(client))) {
                throw new MigrationError(
                    `another migration of schema ${schema} is running (it holds the advisory ` +
                        "lock), so this one stops without touching it. Fix: wait for it to finish, then run again; a " +
                        're-run of a finished migration reports "unchanged".',
                );
            }
            const target = await this.step("inspect the target", () => inspectTarget(client, schema));
            const state = classifyTarget(plan, target, schema);
            if (state instanceof MigrationError) {
                // Tables DuckLake added while the catalog lived on in PostgreSQL are no reason to doubt that it did.
                await this.refuseIfTargetWentOn(client, source);
                throw state;
            }
            if (state === "populated") {
                await this.compareWithTarget(client, source, plan);
                if (!dryRun) {
                    // A schema migrated before fingerprints existed, or whose record no longer matched: record the
                    // fingerprint now, so that the next dry run need not read the file.
                    await this.recordFingerprint(client, plan, source);
                    await this.step("commit", () => client.query("COMMIT"));
                    committed = true;
                }
                return this.result(
                    dryRun ? "dry-run" : "unchanged",
                    plan.version,
                    tableNames(plan),
                    "unchanged",
                    "content",
                );
            }
            if (dryRun) {
                this.progress("dry run: reading the source as a migration would");
                await this.timed("load", async () => this.digestSource(source, plan));
                return this.result("dry-run", plan.version, tableNames(plan), "migrate");
            }
            await this.load(client, source, plan);
            await this.recordFingerprint(client, plan, source);
            await this.timed("commit", () => this.step("commit", () => client.query("COMMIT")));
            committed = true;
            return this.result("migrated", plan.version, tableNames(plan));
        } finally {
            if (!committed) {
                await client.query("ROLLBACK").catch(() => undefined);
            }
        }
    }

    private async load(client: Client, source: SourceCatalog, plan: CatalogPlan): Promise<void> {
        const { schema } = this.options;
        await this.step(`create schema ${schema}`, () =>
            client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`),
        );
        for (const table of plan.tables) {
            await this.step(`create table ${table.name}`, () => client.query(table.createSql(schema)));
        }
        const sourceDigests = new Map<string, Digest>();
        await this.timed("load", async () => {
            for (const table of plan.tables) {
                const digest = new DigestAccumulator();
                const columns = table.columns.map((column) => column.name);
                await this.step(`load table ${table.name}`, () =>
                    copyInto(client, schema, table.name, columns, this.reading(table, source, digest)),
                );
                sourceDigests.set(table.name, digest.digest());
            }
        });
        await this.timed("keys", async () => {
            for (const table of plan.tables) {
                if (table.primaryKeySql) {
                    this.progress(`building the primary key of ${table.name}`);
                    await this.step(`build the primary key of ${table.name}`, () =>
                        client.query(table.primaryKeySql!(schema)),
                    );
                }
            }
        });
        await this.timed("verify", () => this.verify(client, plan, sourceDigests));
    }

    /** The source rows of a table as COPY chunks, timed and reported as they go. */
    private *reading(table: TablePlan, source: SourceCatalog, digest: DigestAccumulator): Generator<Buffer> {
        const iterator = table.read(source, digest)[Symbol.iterator]();
        const tableStarted = performance.now();
        for (;;) {
            const before = performance.now();
            let next: IteratorResult<Buffer>;
            try {
                next = iterator.next();
            } catch (error) {
                if (error instanceof MigrationError) {
                    throw error;
                }
                throw new MigrationError(
                    `reading table ${table.name} from ${this.options.sqlite} failed: ` +
                        `${(error as Error).message}. Nothing was written; schema ${this.options.schema} is unchanged. ` +
                        "Fix: check the file with `sqlite3 <file> 'PRAGMA integrity_check'`, or restore it from a backup.",
                );
            }
            this.readSeconds += (performance.now() - before) / 1000;
            if (next.done) {
                break;
            }
            this.progressRows(table.name, digest, tableStarted);
            yield next.value;
        }
        this.rows[table.name] = digest.digest().rows;
    }

    private digestSource(source: SourceCatalog, plan: CatalogPlan): Map<string, Digest> {
        const digests = new Map<string, Digest>();
        for (const table of plan.tables) {
            const digest = new DigestAccumulator();
            for (const chunk of this.reading(table, source, digest)) {
                void chunk;
            }
            digests.set(table.name, digest.digest());
        }
        return digests;
    }

    /** The tables whose rows in the target differ from the source's, with both digests. */
    private async differingTables(
        client: Client,
        plan: CatalogPlan,
        sourceDigests: Map<string, Digest>,
        action: "verify" | "compare",
    ): Promise<{ table: string; expected: Digest; actual: Digest }[]> {
        const differing: { table: string; expected: Digest; actual: Digest }[] = [];
        for (const table of plan.tables) {
            const expected = sourceDigests.get(table.name)!;
            const actual = await this.step(`${action} table ${table.name}`, () =>
                targetDigest(client, this.options.schema, table.name, table.canonicalFields),
            );
            if (actual.rows !== expected.rows || actual.sum !== expected.sum) {
                differing.push({ table: table.name, expected, actual });
            }
        }
        return differing;
    }

    private async verify(client: Client, plan: CatalogPlan, sourceDigests: Map<string, Digest>): Promise<void> {
        const { schema, sqlite } = this.options;
        this.progress("verifying every table against the source");
        const [first] = await this.differingTables(client, plan, sourceDigests, "verify");
        if (first !== undefined) {
            const { table, expected, actual } = first;
            throw new MigrationError(
                `verification failed for table ${table}: the source ${sqlite} has ` +
                    `${expected.rows} rows (digest ${expected.sum}), PostgreSQL read back ${actual.rows} rows ` +
                    `(digest ${actual.sum}). Nothing was committed; schema ${schema} is unchanged. A source value ` +
                    "does not convert exactly to its PostgreSQL type (for example text where DuckLake writes a " +
                    "number or a boolean). Fix: correct that value in the source with DuckDB, then migrate again.",
            );
        }
    }

    /** The target already holds the catalog's tables: it must hold exactly the source's rows. */
    private async compareWithTarget(client: Client, source: SourceCatalog, plan: CatalogPlan): Promise<void> {
        const { schema } = this.options;
        this.progress(
            `schema ${schema} already holds a DuckLake ${plan.version} catalog; comparing it with the source`,
        );
        const sourceDigests = await this.timed("load", async () => this.digestSource(source, plan));
        const differing = await this.timed("verify", () =>
            this.differingTables(client, plan, sourceDigests, "compare"),
        );
        if (differing.length === 0) {
            return;
        }
        const found = await this.refuseIfTargetWentOn(client, source);
        throw new MigrationError(
            `${found} and different content in ${differing
                .map(
                    ({ table, expected, actual }) =>
                        `${table} (${actual.rows} rows here, ${expected.rows} in the source)`,
                )
                .join(", ")}; refusing to overwrite ` +
                "it. Nothing was changed. Fix: migrate into another, empty schema, or check that --sqlite and --schema " +
                "name the same catalog.",
        );
    }

    /**
     * Refuses with `target-newer` when the target's snapshots went beyond the source's; otherwise returns what was
     * found, for the caller's own refusal.
     */
    private async refuseIfTargetWentOn(client: Client, source: SourceCatalog): Promise<string> {
        const { schema, sqlite } = this.options;
        const { rows: targetCount, last: targetLast } = await targetSnapshots(client, schema);
        const [sourceSnapshots] = source.query("SELECT count(*) FROM ducklake_snapshot").get() as unknown as [bigint];
        // Snapshot ids only grow, and expiring snapshots lowers the count: the last id tells whether the target
        // went on from where the source stopped.
        const sourceLast = source.lastSnapshotId();
        const found =
            `schema ${schema} already holds a DuckLake catalog with ${targetCount} snapshots up to ` +
            `snapshot ${targetLast} (the source ${sqlite} has ${sourceSnapshots}, up to snapshot ${sourceLast})`;
        if (targetLast > sourceLast) {
            throw new MigrationError(
                `${found}: it went on living in PostgreSQL after an earlier migration; refusing ` +
                    "to overwrite newer data. Nothing was changed. Fix: keep using the PostgreSQL catalog (the SQLite " +
                    "file is outdated and may be deleted), or migrate into another, empty schema.",
                "target-newer",
            );
        }
        return found;
    }

    private result(
        status: MigrationStatus,
        version: string,
        tables: readonly string[],
        dryRunPlan?: "migrate" | "unchanged",
        checkedBy?: "fingerprint" | "content",
    ): MigrationResult {
        const rows = Object.fromEntries(tables.map((table) => [table, this.rows[table] ?? 0]));
        return {
            status,
            ...(status === "dry-run" ? { plan: dryRunPlan } : {}),
            ducklakeVersion: version,
            source: this.options.sqlite,
            schema: this.options.schema,
            rows,
            totalRows: Object.values(rows).reduce((sum, count) => sum + count, 0),
            seconds: round((performance.now() - this.started) / 1000),
            phases: Object.fromEntries(Object.entries(this.phases).map(([phase, seconds]) => [phase, round(seconds)])),
            readSeconds: round(this.readSeconds),
            ...(checkedBy !== undefined ? { checkedBy } : {}),
        };
    }

    private progressRows(table: string, digest: DigestAccumulator, tableStarted: number): void {
        const now = performance.now();
        if (now - this.lastProgress < PROGRESS_INTERVAL_MS) {
            return;
        }
        const rows = digest.rowCount;
        const perSecond = Math.round(rows / Math.max((now - tableStarted) / 1000, 0.001));
        this.progress(`${table}: ${rows.toLocaleString("en-US")} rows (${perSecond.toLocaleString("en-US")} rows/s)`);
    }

    private progress(line: string): void {
        this.lastProgress = performance.now();
        this.options.onProgress?.(line);
    }

    private async timed<T>(phase: string, action: () => Promise<T>): Promise<T> {
        const before = performance.now();
        try {
            return await action();
        } finally {
            this.phases[phase] = (this.phases[phase] ?? 0) + (performance.now() - before) / 1000;
        }
    }

    /** Runs one PostgreSQL step, turning a server or connection error into one clear message. */
    private async step<T>(what: string, action: () => Promise<T>): Promise<T> {
        try {
            return await action();
        } catch (error) {
            if (error instanceof MigrationError) {
                throw error;
            }
            throw new MigrationError(stepFailure(what, error as DatabaseError & { code?: string }, this.options));
        }
    }
}

type TargetState = "empty" | "populated";

/**
 * Empty, or exactly the catalog's tables with DuckLake's columns and types; anything else is refused. The refusal
 * is returned rather than thrown when the only difference is inlined tables the source does not have: DuckLake adds
 * those as it writes, so such a target may be this catalog gone on in PostgreSQL, which the caller checks.
 */
function classifyTarget(plan: CatalogPlan, target: TargetInspection, schema: string): TargetState | MigrationError {
    if (target.tables.size === 0 && target.otherObjects.length === 0) {
        return "empty";
    }
    const expected = new Map(plan.tables.map((table) => [table.name, table]));
    const strays = [
        ...[...target.tables.keys()].filter((name) => !expected.has(name)).map((name) => `table ${name}`),
        ...target.otherObjects,
    ];
    const missing = [...expected.keys()].filter((name) => !target.tables.has(name));
    const mistyped = plan.tables.flatMap((table) => {
        const actual = target.tables.get(table.name);
        if (!actual) {
            return [];
        }
        const want = table.columns.map((column) => `${column.name} ${column.pgType}`).join(", ");
        const have = actual.map((column) => `${column.name} ${column.type}`).join(", ");
        return want === have ? [] : [`${table.name} (${have}; DuckLake has ${want})`];
    });
    const problems = [
        strays.length > 0 ? `objects that are not part of this catalog: ${list(strays)}` : "",
        missing.length > 0 ? `no ${list(missing)}` : "",
        mistyped.length > 0 ? `tables not laid out as DuckLake ${plan.version} creates them: ${list(mistyped)}` : "",
    ].filter((problem) => problem !== "");
    if (problems.length > 0) {
        const refusal = new MigrationError(
            `schema ${schema} is neither empty nor a copy of this DuckLake ` +
                `${plan.version} catalog: it has ${problems.join("; ")}. The migration never drops or overwrites ` +
                "anything, so nothing was changed. Fix: migrate into an empty schema, or move those objects out of this one.",
        );
        const onlyNewInlinedTables =
            missing.length === 0 &&
            mistyped.length === 0 &&
            target.otherObjects.length === 0 &&
            strays.every((stray) => DUCKLAKE_INLINED_TABLE.test(stray.replace(/^table /, "")));
        if (onlyNewInlinedTables) {
            return refusal;
        }
        throw refusal;
    }
    return "populated";
}

/** The tables DuckLake creates for inlined rows and deletes as it writes. */
const DUCKLAKE_INLINED_TABLE = /^ducklake_inlined_(data_\d+_\d+|delete_\d+)$/;

function tableNames(plan: CatalogPlan): string[] {
    return plan.tables.map((table) => table.name);
}

function list(items: readonly string[]): string {
    const shown = items.slice(0, 8).join(", ");
    return items.length > 8 ? `${shown} and ${items.length - 8} more` : shown;
}

function stepFailure(what: string, error: DatabaseError & { code?: string }, options: MigrateOptions): string {
    const unchanged = `Nothing was committed; schema ${options.schema} is unchanged.`;
    const detail = [error.message, error.detail, error.where].filter((part) => part).join("; ");
    switch (error.code) {
        case "55P03":
            return (
                `could not ${what}: another session held a lock for more than ${LOCK_TIMEOUT} (${detail}). ` +
                `${unchanged} Fix: stop the sessions using schema ${options.schema}, then run again.`
            );
        case "57014":
            return (
                `could not ${what}: PostgreSQL cancelled the statement (${detail}), for example because of a ` +
                `statement_timeout. ${unchanged} Fix: raise statement_timeout for this role, then run again.`
            );
        case "42501":
            return (
                `could not ${what}: permission denied (${detail}). ${unchanged} Fix: run the migration as the ` +
                "catalog role that owns the database (it needs CREATE there)."
            );
        case "23505":
            return (
                `could not ${what}: the source has duplicate values where DuckLake's PostgreSQL catalog has a ` +
                `primary key (${detail}). ${unchanged} Fix: the source ${options.sqlite} is damaged; restore it ` +
                "from a backup."
            );
        case "22P02":
        case "22003":
        case "22007":
        case "22008":
        case "22021":
        case "22P04":
            return (
                `could not ${what}: PostgreSQL rejected a source value (${detail}). ${unchanged} Fix: correct ` +
                `that value in ${options.sqlite} with DuckDB, then migrate again.`
            );
        case "57P01":
        case "57P02":
        case "57P03":
            return (
                `could not ${what}: the PostgreSQL server ended the session (${detail}). ${unchanged} ` +
                "Fix: run again once the server is available."
            );
    }
    if (error.code === undefined || /connection|terminat|ECONNRESET|EPIPE/i.test(error.message)) {
        return (
            `could not ${what}: the connection to PostgreSQL was lost (${error.message}). The server rolls back ` +
            `the unfinished transaction, so schema ${options.schema} is unchanged. Fix: run again.`
        );
    }
    return `could not ${what}: ${detail}. ${unchanged} Fix: correct the cause named above, then run again.`;
}

function round(seconds: number): number {
    return Math.round(seconds * 1000) / 1000;
}
