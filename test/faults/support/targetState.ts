/**
 * What a fault test observes on the PostgreSQL side: a digest of everything in the target schema (so "exactly as
 * before" can be asserted with one toEqual), the migrating backend, and the server having reaped it.
 */
import { Client, type ClientConfig } from "pg";
import { quoteIdentifier } from "../../../migrate/sqlText";
import { pollUntil } from "./migrateProcess";

export interface SchemaState {
    exists: boolean;
    owner: string | null;
    /** `name kind` for every relation (table, index, sequence, view, …) in the schema. */
    relations: string[];
    /** `table.column type nullable` in column order. */
    columns: string[];
    /** `table constraint type`. */
    constraints: string[];
    functions: string[];
    /** Per table: row count and an order-independent sum of 64-bit row hashes. */
    rows: Record<string, { count: string; hashSum: string }>;
}

export async function schemaState(client: Client, schema: string): Promise<SchemaState> {
    const owner = await client.query<{ owner: string }>(
        "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1",
        [schema],
    );
    const relations = await client.query<{ relname: string; relkind: string }>(
        `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 ORDER BY c.relname COLLATE "C"`,
        [schema],
    );
    const columns = await client.query<{ line: string }>(
        `SELECT format('%s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                       CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END) AS line
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY c.relname COLLATE "C", a.attnum`,
        [schema],
    );
    const constraints = await client.query<{ line: string }>(
        `SELECT line FROM (SELECT format('%s %s %s', c.conrelid::regclass::text, c.conname, c.contype) AS line
                           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                           WHERE n.nspname = $1) constraints
         ORDER BY line COLLATE "C"`,
        [schema],
    );
    const functions = await client.query<{ line: string }>(
        `SELECT line FROM (SELECT p.oid::regprocedure::text AS line
                           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                           WHERE n.nspname = $1) functions
         ORDER BY line COLLATE "C"`,
        [schema],
    );
    const rows: SchemaState["rows"] = {};
    for (const { relname } of relations.rows.filter((relation) => relation.relkind === "r")) {
        const digest = await client.query<{ count: string; hash_sum: string }>(
            `SELECT count(*)::text AS count, coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS hash_sum
             FROM ${quoteIdentifier(schema)}.${quoteIdentifier(relname)} t`,
        );
        rows[relname] = { count: digest.rows[0].count, hashSum: digest.rows[0].hash_sum };
    }
    return {
        exists: owner.rows.length === 1,
        owner: owner.rows[0]?.owner ?? null,
        relations: relations.rows.map((relation) => `${relation.relname} ${relation.relkind}`),
        columns: columns.rows.map((row) => row.line),
        constraints: constraints.rows.map((row) => row.line),
        functions: functions.rows.map((row) => row.line),
        rows,
    };
}

export interface Backend {
    pid: number;
    state: string | null;
    query: string;
}

/** Backends of `role` in `database`: the migration's connection(s). */
export async function backendsOf(client: Client, role: string, database: string): Promise<Backend[]> {
    const result = await client.query<Backend>(
        `SELECT pid, state, query FROM pg_stat_activity
         WHERE usename = $1 AND datname = $2 AND pid <> pg_backend_pid()`,
        [role, database],
    );
    return result.rows;
}

/**
 * The pid of the role's backend once its COPY into `table` has passed `rows` rows (pg_stat_progress_copy), or
 * undefined before that.
 */
export async function copyPast(
    client: Client,
    role: string,
    database: string,
    table: string,
    rows: number,
): Promise<number | undefined> {
    const result = await client.query<{ pid: number }>(
        `SELECT a.pid FROM pg_stat_activity a JOIN pg_stat_progress_copy p ON p.pid = a.pid
         WHERE a.usename = $1 AND a.datname = $2 AND a.query ~* '^\\s*COPY\\M' AND strpos(a.query, $3) > 0
           AND p.tuples_processed > $4`,
        [role, database, table, rows],
    );
    return result.rows[0]?.pid;
}

/**
 * Waits until the server has ended every backend of the role and released everything they held. A backend whose
 * client died notices only when it next talks to the socket, so this polls rather than checking once. Any client's
 * lock in the database counts as left behind (autovacuum's do not), so stop readers and lock holders first.
 */
export async function waitUntilReaped(client: Client, role: string, database: string): Promise<void> {
    await pollUntil(
        async () => (await backendsOf(client, role, database)).length === 0,
        30_000,
        `the server to end every backend of role ${role}`,
        20,
    );
    const leftovers = await client.query<{ what: string }>(
        `SELECT format('lock %s %s by pid %s', locktype, mode, pid) AS what FROM pg_locks
         WHERE pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = $1)
               AND pid IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend')
         UNION ALL SELECT format('prepared transaction %s', gid) FROM pg_prepared_xacts WHERE database = $1`,
        [database],
    );
    if (leftovers.rows.length > 0) {
        throw new Error(`left behind after the backends ended: ${leftovers.rows.map((row) => row.what).join(", ")}`);
    }
}

export interface ReaderObservation {
    tables: number;
    /** md5 of every `table.column type` in the schema, so a table still typed as in SQLite shows up. */
    columnTypes: string;
    snapshots: number | null;
}

export interface Reader {
    /** Stops polling and returns the distinct states seen, in the order first seen, and the number of polls. */
    stop(): Promise<{ states: ReaderObservation[]; polls: number; errors: string[] }>;
}

/**
 * A separate connection polling the target as a DuckLake client would see it: the tables in the schema, their column
 * types and the rows in ducklake_snapshot. Each poll is one REPEATABLE READ transaction, so what it reports is one
 * consistent state of the server.
 */
/** One consistent view of the target (one REPEATABLE READ transaction), as a DuckLake client would see it. */
export async function observeTarget(client: Client, schema: string): Promise<ReaderObservation> {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        const shape = await client.query<{ tables: number; column_types: string; has_snapshot: boolean }>(
            `SELECT (SELECT count(*)::int FROM pg_tables WHERE schemaname = $1) AS tables,
                    (SELECT md5(coalesce(string_agg(format('%s.%s %s', table_name, column_name, data_type),
                                                    ',' ORDER BY table_name, ordinal_position), ''))
                     FROM information_schema.columns WHERE table_schema = $1) AS column_types,
                    EXISTS (SELECT FROM pg_tables WHERE schemaname = $1
                            AND tablename = 'ducklake_snapshot') AS has_snapshot`,
            [schema],
        );
        const { tables, column_types: columnTypes, has_snapshot: hasSnapshot } = shape.rows[0];
        let snapshots: number | null = null;
        if (hasSnapshot) {
            const count = await client.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM ${quoteIdentifier(schema)}.ducklake_snapshot`,
            );
            snapshots = count.rows[0].n;
        }
        return { tables, columnTypes, snapshots };
    } finally {
        await client.query("COMMIT");
    }
}

/**
 * A separate connection polling the target throughout a run (see observeTarget), recording each distinct state.
 * It connects with `config`; use a role other than the migration's so it is not taken for the migrating backend.
 */
export async function startReader(config: ClientConfig, schema: string): Promise<Reader> {
    const client = new Client(config);
    const errors: string[] = [];
    client.on("error", (error) => {
        errors.push(error.message);
    });
    await client.connect();
    await client.query("SET lock_timeout = '5s'");
    const seen = new Map<string, ReaderObservation>();
    let polls = 0;
    let running = true;
    const loop = (async () => {
        while (running) {
            try {
                const observation = await observeTarget(client, schema);
                polls++;
                seen.set(JSON.stringify(observation), observation);
            } catch (error) {
                errors.push((error as Error).message);
                await client.query("ROLLBACK").catch(() => undefined);
            }
            await new Promise((resolve) => setTimeout(resolve, 1));
        }
    })();
    let stopped: Promise<{ states: ReaderObservation[]; polls: number; errors: string[] }> | undefined;
    // Idempotent, so a test can also register it to run when the test ends, however it ends.
    return {
        stop: () => {
            stopped ??= (async () => {
                running = false;
                await loop;
                await client.end();
                return { states: [...seen.values()], polls, errors };
            })();
            return stopped;
        },
    };
}

/**
 * Whether a backend's query is the engine's verification: per table, one aggregate of 64-bit row hashes
 * (hashtextextended) over the typed columns, compared with the digest computed from the source.
 */
export function isVerificationQuery(query: string): boolean {
    return /\bhashtextextended\s*\(/i.test(query);
}
