/**
 * The rendered client configuration, run by the real clients: DuckLake writes two catalogs (one encrypted) on SQLite
 * with their data on a local S3 endpoint, the stack's migrate command moves them to PostgreSQL, and the DuckDB CLI
 * (`duckdb -init init.sql`) and dbt-duckdb (`profiles.yml`) then read and write them with the secrets only in their
 * environment, as the README tells users to run them.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientConfigSettings, renderClientConfig } from "../../components/clientConfig";
import { sqlString } from "../../migrate/sqlText";
import { runStackMigration } from "../migrate/support";
import { duckdbHome, pythonTool, type S3Endpoint, signedWith, startS3, startSignatureProbe } from "../support/clients";
import { runProcess } from "../../migrate/process";
import { attachPostgresSql, attachSqliteSql, extensionPath, NEWEST_LINE, runDuckLake } from "../support/ducklake";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

const BUCKET = "lakehouse";
const REGION = "us-east-1";
const CATALOGS = [
    { name: "stage", schema: "stage", s3Prefix: "stage", encrypted: false },
    { name: "secure_stage", schema: "secure_stage", s3Prefix: "secure-stage", encrypted: true },
];

let db: TestDatabase;
let s3: S3Endpoint;
let home: string;
let dir: string;
let settings: ClientConfigSettings;

/** The S3 secret as the DuckLake that wrote the user's SQLite catalogs had it. */
function writerS3Secret(): string {
    return (
        `CREATE SECRET writer (TYPE s3, KEY_ID ${sqlString(s3.accessKeyId)}, SECRET ${sqlString(s3.secretAccessKey)}, ` +
        `ENDPOINT ${sqlString(s3.endpoint)}, USE_SSL false, URL_STYLE 'path', REGION '${REGION}')`
    );
}

/** Exactly the environment the README tells a user to export, and nothing else that could carry a secret. */
function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        PATH: process.env.PATH,
        HOME: home,
        LANG: "C.UTF-8",
        PSQL_CATALOG_PASSWORD: db.env.PGPASSWORD!,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        ...extra,
    };
}

/** The dbt environment the README gives: the secrets plus where the engine database lives. */
function dbtEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return clientEnv({ LOCAL_DIR: dir, ENGINE_DB: "engine.duckdb", ...extra });
}

/** `dbt <command>` on the test's project with the profiles.yml rendered into `profilesDir`. */
function dbt(command: string | string[], env: NodeJS.ProcessEnv, profilesDir = dir) {
    const project = path.join(dir, "transform");
    return runProcess(
        pythonTool("dbt"),
        [...[command].flat(), "--profiles-dir", profilesDir, "--project-dir", project, "--no-use-colors"],
        { env, cwd: project },
    );
}

function filesUnder(root: string): string[] {
    return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * `duckdb -init init.sql` with the statements on stdin, as CSV. `errors` is stderr without the CLI's notice that it
 * read the init file.
 */
async function duckdbCli(initSql: string, sql: string, env: NodeJS.ProcessEnv) {
    const result = await runProcess(pythonTool("duckdb"), ["-init", initSql, "-csv", "-bail"], { env, stdin: sql });
    // The notice is printed in grey (ESC[90m); the colour reset (ESC[00m) starts the next line.
    const errors = result.stderr.replace(/^\x1b\[90m-- Loading resources from .*\n(\x1b\[00m)?/, "");
    // Each CREATE SECRET of init.sql prints a "Success" box before the CSV mode applies.
    const rows = result.stdout.replace(/^(┌─+┐\n│ Success │\n│ boolean │\n├─+┤\n│ true +│\n└─+┘\n)*/, "");
    return { ...result, errors, rows };
}

beforeAll(async () => {
    db = await createTestDatabase("clients");
    s3 = await startS3(BUCKET);
    home = duckdbHome();
    dir = mkdtempSync(path.join(tmpdir(), "clients-"));

    // The user's lakehouse as DuckLake wrote it: SQLite catalogs, data files on S3, one catalog encrypted.
    await runDuckLake(NEWEST_LINE, [
        `LOAD ${sqlString(extensionPath(NEWEST_LINE, "httpfs"))}`,
        writerS3Secret(),
        attachSqliteSql("stage", path.join(dir, "stage.sqlite"), `s3://${BUCKET}/stage/`),
        attachSqliteSql("secure_stage", path.join(dir, "secure_stage.sqlite"), `s3://${BUCKET}/secure-stage/`, [
            "ENCRYPTED",
        ]),
        // Rows in data files on S3, not inlined into the catalog: what the clients must reach through httpfs.
        "CALL stage.set_option('data_inlining_row_limit', 0)",
        "CALL secure_stage.set_option('data_inlining_row_limit', 0)",
        "CREATE TABLE stage.events (id INTEGER, kind VARCHAR, happened_at TIMESTAMPTZ)",
        "INSERT INTO stage.events VALUES (1, 'click', '2026-01-01 10:00:00+00'), (2, 'view', '2026-01-02 11:00:00+00'), " +
            "(3, 'click', '2026-01-03 12:00:00+00')",
        "CREATE TABLE secure_stage.people (id INTEGER, name VARCHAR)",
        "INSERT INTO secure_stage.people VALUES (1, 'Zoë'), (2, 'O''Brien')",
    ]);
    for (const catalog of CATALOGS) {
        const result = await runStackMigration(path.join(dir, `${catalog.name}.sqlite`), catalog.schema, db.env);
        expect(result.code, result.stderr).toBe(0);
    }

    settings = {
        postgresHost: db.env.PGHOST!,
        postgresPort: Number(db.env.PGPORT),
        postgresDatabase: db.database,
        postgresUser: db.role,
        s3Endpoint: s3.endpoint,
        s3Bucket: BUCKET,
        s3Region: REGION,
        s3UseSsl: false,
        s3UrlStyle: "path",
        catalogs: CATALOGS,
    };
    const rendered = renderClientConfig(settings);
    writeFileSync(path.join(dir, "init.sql"), rendered.initSql);
    writeFileSync(path.join(dir, "profiles.yml"), rendered.profilesYml);

    // A dbt project with one model that reads one catalog and writes a table into another.
    const project = path.join(dir, "transform");
    mkdirSync(path.join(project, "models"), { recursive: true });
    writeFileSync(
        path.join(project, "dbt_project.yml"),
        [
            "name: transform",
            "version: '1.0'",
            "config-version: 2",
            "profile: transform",
            "flags:",
            "  send_anonymous_usage_stats: false",
            "",
        ].join("\n"),
    );
    writeFileSync(
        path.join(project, "models", "clicks.sql"),
        [
            "{{ config(materialized='table', database='secure_stage') }}",
            "select id, happened_at from stage.main.events where kind = 'click'",
            "",
        ].join("\n"),
    );
});

afterAll(async () => {
    await s3?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
});

describe("the DuckDB CLI with the rendered init.sql", () => {
    it("attaches every catalog, reads the rows DuckLake wrote, and writes through the PostgreSQL catalog", async () => {
        const result = await duckdbCli(
            path.join(dir, "init.sql"),
            [
                "SELECT database_name FROM duckdb_databases() WHERE type = 'ducklake' ORDER BY 1;",
                "SELECT id, kind FROM stage.events ORDER BY id;",
                "SELECT id, name FROM secure_stage.people ORDER BY id;",
                "INSERT INTO stage.events VALUES (4, 'buy', '2026-01-04 13:00:00+00');",
            ].join("\n"),
            clientEnv(),
        );
        expect(result.errors).toBe("");
        expect(result.code).toBe(0);
        expect(result.rows.split("\n")).toEqual([
            "database_name",
            "secure_stage",
            "stage",
            "id,kind",
            "1,click",
            "2,view",
            "3,click",
            "id,name",
            '1,"Zoë"',
            '2,"O\'Brien"',
            "",
        ]);

        // The new row is in the catalog's PostgreSQL schema, and its data file on S3.
        const read = await runDuckLake(NEWEST_LINE, [
            `LOAD ${sqlString(extensionPath(NEWEST_LINE, "httpfs"))}`,
            writerS3Secret(),
            attachPostgresSql("stage", db.env, "stage", `s3://${BUCKET}/stage/`),
            "SELECT id, kind FROM stage.events WHERE id = 4",
        ]);
        expect(read.at(-1)?.rows).toEqual([[4, "buy"]]);
        const files = await db.admin.query<{ path: string }>(
            "SELECT path FROM stage.ducklake_data_file ORDER BY data_file_id",
        );
        expect(files.rows, s3.requests().join("\n")).toHaveLength(2);
        expect(s3.requests()).toContainEqual(
            expect.stringMatching(
                new RegExp(`^PUT /${BUCKET}/stage/main/events/${files.rows[1].path.replace(/^.*\//, "")} 200$`),
            ),
        );
    });

    it("fails to read the data files with a wrong S3 secret: the endpoint checks signatures, as MinIO does", async () => {
        const result = await duckdbCli(
            path.join(dir, "init.sql"),
            "SELECT kind FROM stage.events;",
            clientEnv({ S3_SECRET_ACCESS_KEY: "not-the-secret" }),
        );
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(/SignatureDoesNotMatch/);
    });
});

describe("dbt-duckdb with the rendered profiles.yml", () => {
    it("runs dbt debug, then a model that reads one catalog and writes a table into another", async () => {
        const debug = await dbt("debug", dbtEnv());
        expect(debug.stdout).toMatch(/All checks passed!/);
        expect(debug.code, debug.stdout).toBe(0);
        const runResult = await dbt("run", dbtEnv());
        expect(runResult.code, runResult.stdout).toBe(0);
        expect(runResult.stdout).toMatch(/Completed successfully/);

        const check = await duckdbCli(
            path.join(dir, "init.sql"),
            "SELECT id FROM secure_stage.main.clicks ORDER BY id;",
            clientEnv(),
        );
        expect(check.errors).toBe("");
        expect(check.rows).toBe("id\n1\n3\n");

        // Every data file of the encrypted catalog, the one dbt wrote included, has its key; the other's have none.
        const keys = await db.admin.query<{ schema: string; files: string; keyed: string }>(
            "SELECT 'secure_stage' AS schema, count(*) AS files, count(encryption_key) AS keyed " +
                "FROM secure_stage.ducklake_data_file UNION ALL " +
                "SELECT 'stage', count(*), count(encryption_key) FROM stage.ducklake_data_file ORDER BY 1",
        );
        expect(keys.rows).toEqual([
            { schema: "secure_stage", files: "2", keyed: "2" },
            { schema: "stage", files: expect.any(String), keyed: "0" },
        ]);
    });
});

describe("secrets", () => {
    it("are in neither rendered file, nor in anything the clients wrote", () => {
        const secrets = [db.env.PGPASSWORD!, s3.accessKeyId, s3.secretAccessKey];
        // The rendered files, dbt's logs and compiled SQL, the engine database both clients opened.
        const written = filesUnder(dir);
        expect(written).toEqual(
            expect.arrayContaining([
                path.join(dir, "init.sql"),
                path.join(dir, "profiles.yml"),
                path.join(dir, "engine.duckdb"),
                path.join(dir, "transform", "logs", "dbt.log"),
            ]),
        );
        for (const file of written) {
            const text = readFileSync(file, "latin1");
            for (const secret of secrets) {
                expect(text.includes(secret), `${file} holds a secret`).toBe(false);
            }
        }
    });

    // Each character class separately, then all at once; the role's real password changes for each.
    const AWKWARD = [
        "it's",
        'say "hi"',
        "$HOME $(id) `id` $$",
        "with  two spaces ",
        "ünï€ode 日本",
        "a'b\"c $d e ü {{ x }}",
    ];

    it.each(AWKWARD)("a role password %j reaches PostgreSQL through both files", async (password) => {
        await db.admin.query(`ALTER ROLE ${db.role} PASSWORD ${sqlString(password)}`);
        try {
            const cli = await duckdbCli(
                path.join(dir, "init.sql"),
                "SELECT count(*) AS n FROM secure_stage.people;",
                clientEnv({ PSQL_CATALOG_PASSWORD: password }),
            );
            expect(cli.errors).toBe("");
            expect(cli.rows).toBe("n\n2\n");

            const debug = await dbt("debug", dbtEnv({ PSQL_CATALOG_PASSWORD: password }));
            expect(debug.code, debug.stdout).toBe(0);
            expect(debug.stdout).toMatch(/Connection test: \[OK connection ok\]/);
        } finally {
            await db.admin.query(`ALTER ROLE ${db.role} PASSWORD ${sqlString(db.env.PGPASSWORD!)}`);
        }
    });

    it("fails on a wrong role password, so the cases above prove the password arrives", async () => {
        const cli = await duckdbCli(
            path.join(dir, "init.sql"),
            "SELECT 1;",
            clientEnv({ PSQL_CATALOG_PASSWORD: "wrong" }),
        );
        expect(cli.errors).toMatch(/password authentication failed/);
        const debug = await dbt("debug", dbtEnv({ PSQL_CATALOG_PASSWORD: "wrong" }));
        expect(debug.code).not.toBe(0);
        expect(debug.stdout).toMatch(/password authentication failed/);
    });

    // One client run per case takes seconds (each retries the refused request), so two cases: the quote, and all.
    it.each([AWKWARD[0], AWKWARD.at(-1)!])(
        "an S3 secret %j signs the clients' requests unchanged through both files",
        async (secret) => {
            const probe = await startSignatureProbe();
            try {
                // The same files, pointing at an endpoint that keeps what it receives.
                const probeDir = path.join(dir, "probe");
                mkdirSync(probeDir, { recursive: true });
                const rendered = renderClientConfig({ ...settings, s3Endpoint: probe.endpoint });
                writeFileSync(path.join(probeDir, "init.sql"), rendered.initSql);
                writeFileSync(path.join(probeDir, "profiles.yml"), rendered.profilesYml);
                const env = { S3_SECRET_ACCESS_KEY: secret };
                const read = `SELECT * FROM 's3://${BUCKET}/probe.parquet'`;

                const cli = await duckdbCli(path.join(probeDir, "init.sql"), `${read};`, clientEnv(env));
                expect(cli.errors).toMatch(/403/);
                const shown = await dbt(["show", "--inline", read], dbtEnv(env), probeDir);
                expect(shown.stdout).toMatch(/403/);
                expect(shown.code).not.toBe(0);

                expect(probe.requests.length).toBeGreaterThanOrEqual(2);
                for (const request of probe.requests) {
                    expect(request.headers.authorization).toContain(`Credential=${s3.accessKeyId}/`);
                    expect(signedWith(request, secret), JSON.stringify(request)).toBe(true);
                    expect(signedWith(request, s3.secretAccessKey)).toBe(false);
                }
            } finally {
                await probe.stop();
            }
        },
    );
});
