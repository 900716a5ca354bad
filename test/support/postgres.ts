/**
 * An isolated PostgreSQL database per test file, owned by its own non-superuser login role, on the private cluster
 * that `scripts/with-postgres.sh` starts. The migration runs as that role, as it does in the stack.
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";

export interface TestDatabase {
    database: string;
    role: string;
    /** The environment for a migration command: the role's libpq variables (password included). */
    env: NodeJS.ProcessEnv;
    /** A superuser connection to the test database, for setting up and asserting. */
    admin: Client;
    drop(): Promise<void>;
}

const REQUIRED = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] as const;

/** The superuser connection variables; fails loudly (never skips) when they are missing. */
export function superuserEnvironment(): Record<(typeof REQUIRED)[number], string> {
    const missing = REQUIRED.filter((name) => !process.env[name]);
    if (missing.length > 0) {
        throw new Error(
            `integration tests need a PostgreSQL superuser in ${missing.join(", ")}; run them as ` +
                "`bash scripts/with-postgres.sh npx vitest run <path>` (CI does).",
        );
    }
    return {
        PGHOST: process.env.PGHOST!,
        PGPORT: process.env.PGPORT!,
        PGUSER: process.env.PGUSER!,
        PGPASSWORD: process.env.PGPASSWORD!,
    };
}

export async function superuserClient(database = process.env.PGDATABASE ?? "postgres"): Promise<Client> {
    const env = superuserEnvironment();
    const client = new Client({
        host: env.PGHOST,
        port: Number(env.PGPORT),
        user: env.PGUSER,
        password: env.PGPASSWORD,
        database,
        ssl: false,
    });
    await client.connect();
    return client;
}

/** Creates a database and a login role owning it; `label` makes leftovers recognisable. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
    const superuser = superuserEnvironment();
    const suffix = randomBytes(4).toString("hex");
    const database = `test_${label}_${suffix}`;
    const role = `catalog_${label}_${suffix}`;
    const password = randomBytes(18).toString("base64url");
    const cluster = await superuserClient();
    try {
        await cluster.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
        await cluster.query(`CREATE DATABASE ${database} OWNER ${role}`);
    } finally {
        await cluster.end();
    }
    const admin = await superuserClient(database);
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PGHOST: superuser.PGHOST,
        PGPORT: superuser.PGPORT,
        PGDATABASE: database,
        PGUSER: role,
        PGPASSWORD: password,
        PGSSLMODE: "prefer",
    };
    return {
        database,
        role,
        env,
        admin,
        async drop() {
            await admin.end();
            const client = await superuserClient();
            try {
                await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
                await client.query(`DROP ROLE IF EXISTS ${role}`);
            } finally {
                await client.end();
            }
        },
    };
}
