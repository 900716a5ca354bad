/**
 * The PostgreSQL side: the connection (libpq environment variables only), the inspection of the target schema,
 * the COPY load and the per-table digest over the typed columns.
 */
import * as fs from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ConnectionOptions } from "node:tls";
import { Client, type ClientConfig } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type Digest, sumModulo64 } from "./digest";
import { MigrationError } from "./errors";
import { quoteIdentifier } from "./sqlText";

/** PGSSLMODE as libpq understands it; node-postgres alone would treat `prefer` and `require` as `verify-full`. */
export function sslFromEnvironment(env: NodeJS.ProcessEnv): { ssl: false | ConnectionOptions; fallback: boolean } {
    const mode = env.PGSSLMODE ?? "prefer";
    switch (mode) {
        case "disable":
            return { ssl: false, fallback: false };
        case "allow":
        case "prefer":
            return { ssl: { rejectUnauthorized: false }, fallback: true };
        case "require":
            return { ssl: { rejectUnauthorized: false }, fallback: false };
        case "verify-ca":
            return {
                ssl: { rejectUnauthorized: true, ca: rootCertificate(env), checkServerIdentity: () => undefined },
                fallback: false,
            };
        case "verify-full":
            return { ssl: { rejectUnauthorized: true, ca: rootCertificate(env) }, fallback: false };
        default:
            throw new MigrationError(
                `PGSSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full ` +
                    `(libpq's modes); got ${JSON.stringify(mode)}. Fix: set PGSSLMODE to one of them.`,
            );
    }
}

/** The certificates PGSSLROOTCERT names, read only by the modes that verify the server. */
function rootCertificate(env: NodeJS.ProcessEnv): string | undefined {
    const file = env.PGSSLROOTCERT;
    if (!file) {
        return undefined;
    }
    try {
        return fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new MigrationError(
            `PGSSLROOTCERT names ${file}, which cannot be read (${(error as Error).message}), ` +
                `and PGSSLMODE=${env.PGSSLMODE} verifies the server against it. The target is unchanged. Fix: point ` +
                "PGSSLROOTCERT at the CA certificate file of the server.",
        );
    }
}

/** Connects with the libpq environment variables; the password never leaves the environment. */
export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
    const { ssl, fallback } = sslFromEnvironment(env);
    const host = env.PGHOST || "localhost";
    const port = Number(env.PGPORT || "5432");
    const user = env.PGUSER || env.USER;
    const database = env.PGDATABASE || user;
    const where = `${host}:${port}`;
    const attempt = async (config: ClientConfig): Promise<Client> => {
        const client = new Client({
            ...config,
            host,
            port,
            user,
            password: env.PGPASSWORD,
            database,
            options: env.PGOPTIONS,
            connectionTimeoutMillis: connectTimeoutSeconds(env) * 1000,
            application_name: "lakehouse-catalog migrate",
        });
        // A dropped connection surfaces as the running query's error; without a listener Node would also
        // throw it as an unhandled 'error' event and crash with a stack trace.
        client.on("error", () => undefined);
        try {
            await client.connect();
            return client;
        } catch (error) {
            await client.end().catch(() => undefined);
            throw error;
        }
    };
    try {
        try {
            return await attempt({ ssl });
        } catch (error) {
            if (fallback && /does not support SSL/i.test((error as Error).message)) {
                return await attempt({ ssl: false });
            }
            throw error;
        }
    } catch (error) {
        const code = (error as { code?: string }).code;
        throw new MigrationError(
            connectionMessage(error as Error & { code?: string }, {
                where,
                user,
                database,
                timeoutSeconds: connectTimeoutSeconds(env),
            }),
            code === "28P01" || code === "28000" ? "login-refused" : "refused",
        );
    }
}

// libpq waits forever by default; an unreachable host should fail with a clear message instead.
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

function connectTimeoutSeconds(env: NodeJS.ProcessEnv): number {
    const seconds = Number(env.PGCONNECT_TIMEOUT);
    return Number.isInteger(seconds) && seconds > 0 ? seconds : DEFAULT_CONNECT_TIMEOUT_SECONDS;
}

/** What the connection was attempted with, as the messages name it (never the password). */
interface ConnectionAttempt {
    where: string;
    user: string | undefined;
    database: string | undefined;
    timeoutSeconds: number;
}

function connectionMessage(error: Error & { code?: string }, attempt: ConnectionAttempt): string {
    const { where, timeoutSeconds } = attempt;
    const user = attempt.user ?? "(unset)";
    const database = attempt.database ?? user;
    switch (error.code) {
        case "28P01":
        case "28000":
            return (
                `PostgreSQL at ${where} refused user ${user}: ${error.message}. The target is unchanged. Fix: set ` +
                "PGUSER and PGPASSWORD to the catalog role's credentials."
            );
        case "3D000":
            return (
                `database ${database} does not exist on PostgreSQL at ${where}. The target is unchanged. Fix: set ` +
                "PGDATABASE to the lakehouse database (the stack creates it)."
            );
        case "ECONNREFUSED":
        case "ENOTFOUND":
        case "EAI_AGAIN":
        case "ETIMEDOUT":
        case "EHOSTUNREACH":
        case "ENETUNREACH":
            return (
                `cannot reach PostgreSQL at ${where} (${error.code}). The target is unchanged. Fix: check PGHOST ` +
                "and PGPORT, and that the server is running and reachable from here."
            );
        default:
            if (/timeout expired/i.test(error.message)) {
                return (
                    `cannot reach PostgreSQL at ${where} (no answer within ${timeoutSeconds} s). The ` +
                    "target is unchanged. Fix: check PGHOST and PGPORT, and that the server is running and reachable " +
                    "from here (PGCONNECT_TIMEOUT sets the wait)."
                );
            }
            return (
                `cannot connect to PostgreSQL at ${where} as ${user}: ${error.message}. The target is unchanged. ` +
                "Fix: check the PG* environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE)."
            );
    }
}

export interface TargetColumn {
    name: string;
    type: string;
}

export interface TargetInspection {
    /** Ordinary tables and their columns in attribute order. */
    tables: Map<string, TargetColumn[]>;
    /** Everything else in the schema, as "view x", "sequence y", "function f", ... */
    otherObjects: string[];
}

export async function inspectTarget(client: Client, schema: string): Promise<TargetInspection> {
    const namespace = await client.query<{ oid: string }>("SELECT oid FROM pg_namespace WHERE nspname = $1", [schema]);
    if (namespace.rowCount === 0) {
        return { tables: new Map(), otherObjects: [] };
    }
    const oid = namespace.rows[0].oid;
    const relations = await client.query<{ relname: string; relkind: string }>(
        "SELECT relname, relkind FROM pg_class WHERE relnamespace = $1 AND relkind NOT IN ('i', 'I', 't') " +
            "ORDER BY relname",
        [oid],
    );
    const columns = await client.query<{ relname: string; attname: string; type: string }>(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a " +
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p') " +
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        [oid],
    );
    const routines = await client.query<{ name: string }>(
        "SELECT proname AS name FROM pg_proc WHERE pronamespace = $1 ORDER BY proname",
        [oid],
    );
    // Types other than the row types of the schema's relations and their array types.
    const types = await client.query<{ name: string }>(
        "SELECT t.typname AS name FROM pg_type t WHERE t.typnamespace = $1 " +
            "AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype IN (t.oid, t.typelem)) ORDER BY t.typname",
        [oid],
    );
    const tables = new Map<string, TargetColumn[]>();
    const otherObjects: string[] = [];
    const kinds: Record<string, string> = {
        v: "view",
        m: "materialized view",
        S: "sequence",
        f: "foreign table",
        c: "composite type",
        p: "partitioned table",
    };
    for (const relation of relations.rows) {
        if (relation.relkind === "r") {
            tables.set(relation.relname, []);
        } else {
            otherObjects.push(`${kinds[relation.relkind] ?? "relation"} ${relation.relname}`);
        }
    }
    for (const column of columns.rows) {
        tables.get(column.relname)?.push({ name: column.attname, type: column.type });
    }
    otherObjects.push(...routines.rows.map((row) => `function ${row.name}`));
    otherObjects.push(...types.rows.map((row) => `type ${row.name}`));
    return { tables, otherObjects };
}

/**
 * Streams COPY text-format data into a table that this transaction created; `chunks` are whole lines. FREEZE writes
 * the rows already frozen and their pages all-visible (allowed because the table is new in this transaction), so
 * the verification and the primary keys scan them without visibility checks, and neither DuckLake's first reads nor
 * a later VACUUM have to rewrite every page to set hint bits or freeze the rows.
 */
export async function copyInto(
    client: Client,
    schema: string,
    table: string,
    columns: readonly string[],
    chunks: Iterable<Buffer>,
): Promise<void> {
    const columnList = columns.map(quoteIdentifier).join(", ");
    const stream = client.query(
        copyFrom(`COPY ${quoteIdentifier(schema)}.${quoteIdentifier(table)} (${columnList}) FROM STDIN WITH (FREEZE)`),
    );
    await pipeline(Readable.from(chunks, { objectMode: false, highWaterMark: 4 }), stream);
}

/** The digest of a table over its typed columns, `canonicalFields` being one canonical-text expression per column. */
export async function targetDigest(
    client: Client,
    schema: string,
    table: string,
    canonicalFields: readonly string[],
): Promise<Digest> {
    const line = canonicalFields.join(" || E'\\t' || ");
    const result = await client.query<{ rows: string; sum: string | null }>(
        `SELECT count(*) AS rows, sum(hashtextextended(${line}, 0))::text AS sum ` +
            `FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
    );
    return { rows: Number(result.rows[0].rows), sum: sumModulo64(result.rows[0].sum) };
}

/** ducklake_snapshot's row count and newest snapshot id (-1 without snapshots). */
export async function targetSnapshots(client: Client, schema: string): Promise<{ rows: number; last: bigint }> {
    const result = await client.query<{ rows: string; last: string }>(
        "SELECT count(*) AS rows, coalesce(max(snapshot_id), -1)::text AS last " +
            `FROM ${quoteIdentifier(schema)}.ducklake_snapshot`,
    );
    return { rows: Number(result.rows[0].rows), last: BigInt(result.rows[0].last) };
}
