/**
 * The stack's whole life under the real Pulumi engine, its real command and postgresql providers, a real
 * PostgreSQL (scripts/with-postgres.sh) and SQLite catalogs written by the real DuckLake: preview, up, the no-op
 * second run, a catalog added and one removed, a password rotation, a catalog that went on living in PostgreSQL,
 * a corrupt file, refresh, the state's secrets, and destroy. The steps build on each other, in order.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
    copyFileSync,
    existsSync,
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    statSync,
    truncateSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { superuserClient, superuserEnvironment } from "../support/postgres";
import { attachPostgresSql, attachSqliteSql, NEWEST_LINE, runDuckLake } from "../support/ducklake";
import { PROJECT_DIR, schemaState, type SchemaState } from "../migrate/support";
import { E2eStack, previewSteps, requirePulumi } from "./support";

const suffix = randomBytes(3).toString("hex");
const DATABASE = `e2e_lake_${suffix}`;
const ROLE = `e2e_role_${suffix}`;
const CATALOGS = ["alpha", "beta", "gamma", "delta"];
const FIFTH = "epsilon";
const TABLES = ["customers", "orders", "products"];

let dir: string;
let stack: E2eStack;
let admin: Client;
const secrets = {
    postgresAdminPassword: "",
    rolePassword: randomBytes(18).toString("base64url"),
    s3AccessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    s3SecretAccessKey: randomBytes(30).toString("base64url"),
};
/** Every secret value the stack has ever had, to search the state for. */
const everySecret: string[] = [];

const sqliteFile = (name: string) => path.join(dir, "lake", `${name}.sqlite`);
const dataPath = (name: string) => path.join(dir, "lake", name) + path.sep;

function catalogEntry(name: string) {
    return { name, sqlite: sqliteFile(name), schema: name, s3Prefix: `lake/${name}` };
}

function plainConfig(catalogs: string[]) {
    const superuser = superuserEnvironment();
    return {
        postgresHost: superuser.PGHOST,
        postgresPort: Number(superuser.PGPORT),
        postgresAdminUser: superuser.PGUSER,
        postgresAdminDatabase: "postgres",
        postgresSslMode: "disable",
        database: DATABASE,
        role: ROLE,
        catalogs: catalogs.map(catalogEntry),
        s3: { endpoint: "localhost:9000", bucket: "lake", region: "us-east-1", useSsl: false, urlStyle: "path" },
        clientConfigDir: path.join(dir, "clients"),
    };
}

/** Writes sample catalogs with the script the main job uses (the real DuckLake, DuckDB 1.5.5). */
function writeCatalogs(names: string[]): void {
    const result = spawnSync(
        process.execPath,
        [
            "--disable-warning=ExperimentalWarning",
            "--import",
            "tsx",
            "scripts/sample-lakehouse.ts",
            ...names.map(sqliteFile),
        ],
        { cwd: PROJECT_DIR, encoding: "utf8" },
    );
    if (result.status !== 0) {
        throw new Error(`sample-lakehouse.ts failed: ${result.stderr}`);
    }
}

/** Every row's xmin per table of a schema: a migration that re-ran would have rewritten them. */
async function xmins(schema: string): Promise<Record<string, string>> {
    const tables = await admin.query<{ relname: string }>(
        "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r' ORDER BY 1",
        [schema],
    );
    const result: Record<string, string> = {};
    for (const { relname } of tables.rows) {
        const rows = await admin.query<{ x: string }>(
            `SELECT coalesce(string_agg(xmin::text, ',' ORDER BY xmin::text), '') AS x FROM "${schema}"."${relname}"`,
        );
        result[relname] = rows.rows[0].x;
    }
    return result;
}

async function allXmins(schemas: string[]): Promise<Record<string, Record<string, string>>> {
    return Object.fromEntries(await Promise.all(schemas.map(async (schema) => [schema, await xmins(schema)])));
}

async function allStates(schemas: string[]): Promise<Record<string, SchemaState | null>> {
    return Object.fromEntries(
        await Promise.all(schemas.map(async (schema) => [schema, await schemaState(admin, schema)])),
    );
}

function roleEnv(password: string): NodeJS.ProcessEnv {
    const superuser = superuserEnvironment();
    return {
        PGHOST: superuser.PGHOST,
        PGPORT: superuser.PGPORT,
        PGDATABASE: DATABASE,
        PGUSER: ROLE,
        PGPASSWORD: password,
    };
}

/**
 * The catalog as the real DuckLake reads it from PostgreSQL (as the role, with `password`) and from its SQLite file:
 * the snapshots and every table at every snapshot that has it.
 */
async function readBothWays(
    name: string,
    password: string,
): Promise<{ postgres: unknown[][][]; sqlite: unknown[][][] }> {
    const db = new DatabaseSync(sqliteFile(name), { readOnly: true });
    let last: number;
    let tables: { table_name: string; begin_snapshot: number }[];
    try {
        last = Number(db.prepare("SELECT max(snapshot_id) AS last FROM ducklake_snapshot").get()!.last);
        tables = db.prepare("SELECT table_name, begin_snapshot FROM ducklake_table ORDER BY table_id").all() as {
            table_name: string;
            begin_snapshot: number;
        }[];
    } finally {
        db.close();
    }
    expect(tables.map((table) => table.table_name).sort()).toEqual([...TABLES].sort());
    const queries = [
        "SELECT snapshot_id, schema_version, changes FROM ducklake_snapshots('lake') ORDER BY snapshot_id",
    ];
    for (const { table_name: table, begin_snapshot: begin } of tables) {
        for (let version = Number(begin); version <= last; version++) {
            queries.push(`SELECT * FROM lake.${table} AT (VERSION => ${version}) ORDER BY ALL`);
        }
    }
    const read = async (attach: string) =>
        (await runDuckLake(NEWEST_LINE, [attach, ...queries])).slice(1).map((result) => result.rows);
    const sqlite = await read(attachSqliteSql("lake", sqliteFile(name), dataPath(name), ["READ_ONLY"]));
    const postgres = await read(attachPostgresSql("lake", roleEnv(password), name, dataPath(name), ["READ_ONLY"]));
    return { postgres, sqlite };
}

/** The row count of every DuckLake table in the SQLite file. */
function sqliteCounts(name: string): Record<string, number> {
    const db = new DatabaseSync(sqliteFile(name), { readOnly: true });
    try {
        const tables = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ducklake_%'")
            .all();
        return Object.fromEntries(
            tables.map(({ name: table }) => [
                String(table),
                Number(db.prepare(`SELECT count(*) AS n FROM "${String(table)}"`).get()!.n),
            ]),
        );
    } finally {
        db.close();
    }
}

function stateCounts(state: SchemaState | null): Record<string, number> {
    return Object.fromEntries(Object.entries(state?.tables ?? {}).map(([table, { rows }]) => [table, rows]));
}

beforeAll(async () => {
    requirePulumi();
    secrets.postgresAdminPassword = superuserEnvironment().PGPASSWORD;
    everySecret.push(...Object.values(secrets));
    dir = mkdtempSync(path.join(tmpdir(), "e2e-stack-"));
    writeCatalogs([...CATALOGS, FIFTH]);
    admin = await superuserClient();
    stack = new E2eStack(dir, `e2e${suffix}`);
    everySecret.push(stack.passphrase);
    await stack.init();
    await stack.configure({ plain: plainConfig(CATALOGS), secrets });
}, 300_000);

afterAll(async () => {
    await admin?.end();
    if (dir !== undefined) {
        rmSync(dir, { recursive: true, force: true });
    }
    const cluster = await superuserClient();
    try {
        await cluster.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
        await cluster.query(`DROP ROLE IF EXISTS ${ROLE}`);
    } finally {
        await cluster.end();
    }
});

async function databaseAdmin(): Promise<Client> {
    return superuserClient(DATABASE);
}

describe("the stack's life under the real engine", { timeout: 600_000 }, () => {
    let catalogAdmin: Client;
    let migrated: Record<string, Record<string, string>>;

    afterAll(async () => {
        await catalogAdmin?.end();
    });

    it("1. preview on a new stack lists the role, the database, the schemas and one migration per catalog, and writes nothing", async () => {
        const preview = await stack.ok(["preview", "--json"]);
        const steps = previewSteps(preview.stdout);
        const created = steps.filter((step) => step.op === "create").map((step) => `${step.type} ${step.name}`);
        expect(created).toEqual(
            expect.arrayContaining([
                `postgresql:index/role:Role lakehouse-role`,
                `postgresql:index/database:Database lakehouse-database`,
                ...CATALOGS.map((name) => `postgresql:index/schema:Schema lakehouse-schema-${name}`),
                ...CATALOGS.map((name) => `command:local:Command ${name}-migrate`),
            ]),
        );
        expect(created.filter((step) => step.endsWith("-migrate"))).toHaveLength(CATALOGS.length);
        expect(steps.filter((step) => step.op !== "create" && step.op !== "same")).toEqual([]);

        const roles = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ROLE]);
        const databases = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
        expect(roles.rowCount).toBe(0);
        expect(databases.rowCount).toBe(0);
        expect(existsSync(path.join(dir, "clients"))).toBe(false);
        const state = JSON.parse(await stack.exportState()) as { deployment: { resources?: unknown[] } };
        expect(state.deployment.resources ?? []).toEqual([]);
    });

    it("2. up migrates every catalog exactly, exports the right outputs and writes the client files", async () => {
        await stack.ok(["up", "--yes"]);
        catalogAdmin = await databaseAdmin();
        for (const name of CATALOGS) {
            expect(stateCounts(await schemaState(catalogAdmin, name))).toEqual(sqliteCounts(name));
            const { postgres, sqlite } = await readBothWays(name, secrets.rolePassword);
            expect(postgres).toEqual(sqlite);
        }
        const owner = await catalogAdmin.query<{ nspname: string; owner: string }>(
            "SELECT nspname, nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1",
            [CATALOGS],
        );
        expect(owner.rows).toEqual([...CATALOGS].sort().map((nspname) => ({ nspname, owner: ROLE })));

        const outputs = await stack.outputs();
        expect(outputs).toMatchObject({
            host: superuserEnvironment().PGHOST,
            port: Number(superuserEnvironment().PGPORT),
            database: DATABASE,
            role: ROLE,
            password: secrets.rolePassword,
            schemas: Object.fromEntries(CATALOGS.map((name) => [name, name])),
            migrationStatus: Object.fromEntries(CATALOGS.map((name) => [name, "migrated"])),
        });
        expect(readFileSync(path.join(dir, "clients", "init.sql"), "utf8")).toBe(outputs.duckdbInitSql);
        expect(readFileSync(path.join(dir, "clients", "profiles.yml"), "utf8")).toBe(outputs.dbtProfilesYml);
        for (const name of CATALOGS) {
            expect(outputs.duckdbInitSql).toContain(`METADATA_SCHEMA '${name}'`);
        }
    });

    it("3. preview --expect-no-changes and a second up change nothing and re-run no migration", async () => {
        const before = await allXmins(CATALOGS);
        await stack.ok(["preview", "--expect-no-changes"]);
        const up = await stack.ok(["up", "--yes", "--expect-no-changes"]);
        expect(up.stdout).toMatch(/unchanged/);
        expect(await allXmins(CATALOGS)).toEqual(before);
        migrated = before;
    });

    it("4. a fifth catalog added: only its resources are created; one removed: its schema and rows stay", async () => {
        await stack.configure({ plain: plainConfig([...CATALOGS, FIFTH]), secrets: {} });
        const steps = previewSteps((await stack.ok(["preview", "--json"])).stdout);
        const changed = steps.filter((step) => step.op !== "same");
        expect(
            changed
                .filter((step) => step.op === "create")
                .map((step) => `${step.type} ${step.name}`)
                .sort(),
        ).toEqual([
            `command:local:Command ${FIFTH}-migrate`,
            `lakehouse-catalog:migration:CatalogMigration ${FIFTH}`,
            `postgresql:index/schema:Schema lakehouse-schema-${FIFTH}`,
        ]);
        // The client files list the catalogs, so they are rewritten in place; nothing else changes.
        expect(
            changed
                .filter((step) => step.op !== "create")
                .map((step) => `${step.op} ${step.name}`)
                .sort(),
        ).toEqual(["update clients-init-sql", "update clients-profiles-yml"]);
        await stack.ok(["up", "--yes"]);
        expect(stateCounts(await schemaState(catalogAdmin, FIFTH))).toEqual(sqliteCounts(FIFTH));
        expect(await allXmins(CATALOGS)).toEqual(migrated);
        expect(readFileSync(path.join(dir, "clients", "init.sql"), "utf8")).toContain(`METADATA_SCHEMA '${FIFTH}'`);

        const removed = CATALOGS[0];
        const kept = await schemaState(catalogAdmin, removed);
        await stack.configure({ plain: plainConfig([...CATALOGS.slice(1), FIFTH]), secrets: {} });
        await stack.ok(["up", "--yes"]);
        expect(await schemaState(catalogAdmin, removed)).toEqual(kept);
        expect(await xmins(removed)).toEqual(migrated[removed]);
        const outputs = await stack.outputs();
        expect(Object.keys(outputs.schemas as object).sort()).toEqual([...CATALOGS.slice(1), FIFTH].sort());
    });

    it("5. a rotated role password changes the role, re-runs no migration, and the catalogs read with the new one", async () => {
        const live = [...CATALOGS.slice(1), FIFTH];
        const before = await allXmins(live);
        const rotated = randomBytes(18).toString("base64url");
        everySecret.push(rotated);
        await stack.setSecret("rolePassword", rotated);
        const steps = previewSteps((await stack.ok(["preview", "--json"])).stdout).filter((step) => step.op !== "same");
        expect(steps.map((step) => `${step.op} ${step.name}`)).toEqual(["update lakehouse-role"]);
        await stack.ok(["up", "--yes"]);
        expect(await allXmins(live)).toEqual(before);
        const { postgres, sqlite } = await readBothWays(CATALOGS[1], rotated);
        expect(postgres).toEqual(sqlite);
        await expect(
            runDuckLake(NEWEST_LINE, [
                attachPostgresSql("lake", roleEnv(secrets.rolePassword), CATALOGS[1], dataPath(CATALOGS[1])),
            ]),
        ).rejects.toThrow(/password authentication failed/);
        secrets.rolePassword = rotated;
        expect((await stack.outputs()).password).toBe(rotated);
    });

    it("6. a catalog that went on living in PostgreSQL: the preview warns and up leaves it alone", async () => {
        const name = CATALOGS[1];
        await runDuckLake(NEWEST_LINE, [
            attachPostgresSql("lake", roleEnv(secrets.rolePassword), name, dataPath(name)),
            "INSERT INTO lake.customers VALUES (9, 'Katherine', 'US', DATE '2024-09-09')",
        ]);
        const living = await schemaState(catalogAdmin, name);
        const preview = await stack.ok(["preview"]);
        expect(preview.stdout).toMatch(
            new RegExp(
                `warning: catalog \`${name}\`: schema ${name} already holds a DuckLake ` +
                    "catalog with \\d+ snapshots[^]*went on living in PostgreSQL",
            ),
        );
        const up = await stack.ok(["up", "--yes"]);
        expect(up.stdout).toMatch(/went on living in PostgreSQL/);
        expect(await schemaState(catalogAdmin, name)).toEqual(living);
    });

    it("7. a corrupt SQLite file: the preview fails with the engine's message naming the file, and nothing changes", async () => {
        const name = CATALOGS[2];
        const file = sqliteFile(name);
        const live = [...CATALOGS.slice(1), FIFTH];
        const states = await allStates(live);
        const checkpoint = await stack.exportState();
        copyFileSync(file, `${file}.good`);
        try {
            truncateSync(file, Math.floor(statSync(file).size / 2));
            const preview = await stack.attempt(["preview"]);
            expect(preview.code).not.toBe(0);
            expect(`${preview.stdout}\n${preview.stderr}`).toContain(
                `catalog \`${name}\`: the migration's dry run refused: ` + `source ${file} is `,
            );
        } finally {
            copyFileSync(`${file}.good`, file);
            rmSync(`${file}.good`);
        }
        expect(await allStates(live)).toEqual(states);
        expect(await stack.exportState()).toBe(checkpoint);
    });

    it("8. refresh after up finds no drift", async () => {
        await stack.ok(["refresh", "--yes", "--expect-no-changes"]);
    });

    it("10. the state never holds a secret in plain text", async () => {
        const exported = await stack.exportState();
        expect(exported).toContain("ciphertext");
        for (const secret of everySecret) {
            expect(exported.includes(secret), "a secret value in `pulumi stack export`").toBe(false);
        }
    });

    it("9. destroy leaves the role, the database, the schemas and every row on the server", async () => {
        const schemas = [...CATALOGS, FIFTH];
        const states = await allStates(schemas);
        await stack.ok(["destroy", "--yes"]);
        expect(await allStates(schemas)).toEqual(states);
        const role = await admin.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [ROLE]);
        expect(role.rows).toEqual([{ rolcanlogin: true }]);
        const { postgres, sqlite } = await readBothWays(FIFTH, secrets.rolePassword);
        expect(postgres).toEqual(sqlite);

        // Every checkpoint the backend ever wrote (history and backups included) keeps the secrets encrypted too.
        const files = readdirSync(stack.backendDir, { recursive: true, encoding: "utf8" })
            .map((file) => path.join(stack.backendDir, file))
            .filter((file) => statSync(file).isFile());
        expect(files.length).toBeGreaterThan(3);
        for (const file of files) {
            const text = readFileSync(file, "utf8");
            for (const secret of everySecret) {
                expect(text.includes(secret), `a secret value in ${file}`).toBe(false);
            }
        }
    });
});
