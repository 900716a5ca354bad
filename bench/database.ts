import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** A fresh database owned by a fresh non-superuser login role, the way the stack sets up a catalog's database. */
export interface BenchDatabase {
    host: string;
    port: string;
    database: string;
    user: string;
    password: string;
}

/** The libpq environment that connects a client (the migration, psql, pgloader) to the run's database as its owner. */
export function benchDatabaseEnvironment(database: BenchDatabase): NodeJS.ProcessEnv {
    return {
        PGHOST: database.host,
        PGPORT: database.port,
        PGDATABASE: database.database,
        PGUSER: database.user,
        PGPASSWORD: database.password,
    };
}

/** The libpq environment of the bench's own administrative connection, taken from PG* variables. */
export function adminEnvironment(env: NodeJS.ProcessEnv): { host: string; port: string; user: string } {
    const missing = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].filter((key) => !env[key]);
    if (missing.length > 0) {
        throw new Error(
            `bench needs an administrative PostgreSQL connection in ${missing.join(", ")} (it creates a role and a ` +
                "database per run); run it under the project's private cluster: " +
                "`bash scripts/with-postgres.sh npm run bench -- --rows-millions 2`",
        );
    }
    return { host: env.PGHOST as string, port: env.PGPORT as string, user: env.PGUSER as string };
}

/** Connects with the PG* environment, as the administrator, to `database` (default: PGDATABASE). */
export async function connectAdmin(database?: string): Promise<Client> {
    const client = new Client(database === undefined ? {} : { database });
    await client.connect();
    return client;
}

export async function createBenchDatabase(admin: Client, name: string): Promise<BenchDatabase> {
    const { host, port } = adminEnvironment(process.env);
    const password = randomBytes(18).toString("base64url");
    // CREATE ROLE takes no bind parameters; the password is random base64url, so quoting it literally is safe.
    await admin.query(`CREATE ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
    return { host, port, database: name, user: name, password };
}

export async function dropBenchDatabase(admin: Client, name: string): Promise<void> {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${name}`);
}

/** Rows per table in `schema` of the connected database, counted exactly. */
export async function countRows(client: Client, schema: string): Promise<Record<string, number>> {
    const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' " +
            "ORDER BY table_name",
        [schema],
    );
    const counts: Record<string, number> = {};
    for (const { table_name: table } of tables.rows) {
        const result = await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`,
        );
        counts[table] = Number(result.rows[0].n);
    }
    return counts;
}
