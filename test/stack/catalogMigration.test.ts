import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import {
    backupStoreEnvironment,
    CatalogMigration,
    commandPath,
    describePlan,
    dryRunCommand,
    MIGRATE_PROGRAM,
    migrateCommand,
    migrationEnvironment,
    parseDryRun,
    parseMigrationResult,
    shellQuote,
    sqliteCopyCommand,
} from "../../components/catalogMigration";
import { byType, type Harness, installMocks, plainStrings, PROJECT_DIR, promiseOf } from "../support/pulumiMocks";

const PASSWORD = "pw with 'quotes' and $dollar";
const CONNECTION = {
    postgresHost: "db.example",
    postgresPort: 6543,
    postgresDatabase: "lakehouse",
    postgresUser: "lakehouse",
    postgresPassword: pulumi.secret(PASSWORD),
    postgresSslMode: "require" as const,
};
/** {@link CONNECTION} as the migrate command's libpq environment, the password revealed. */
const CONNECTION_ENVIRONMENT = {
    PGHOST: "db.example",
    PGPORT: "6543",
    PGDATABASE: "lakehouse",
    PGUSER: "lakehouse",
    PGPASSWORD: PASSWORD,
    PGSSLMODE: "require",
};
const DRY_RUN_SUMMARY = {
    status: "dry-run",
    plan: "migrate",
    ducklakeVersion: "0.3",
    rows: { ducklake_snapshot: 10, ducklake_table: 4, ducklake_data_file: 100 },
    totalRows: 114,
    seconds: 0.2,
};

describe("shellQuote", () => {
    const words = [
        "/work/main/local/stage.sqlite",
        "/data/my catalogs/stage.sqlite",
        "/data/it's/stage.sqlite",
        '/data/"double"/x.sqlite',
        "/data/$HOME/`id`/x;rm -rf ~.sqlite",
        "/data/new\nline.sqlite",
        "",
    ];

    it.each(words)("passes %j through /bin/sh unchanged", (word) => {
        const echoed = execFileSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
        expect(echoed).toBe(word);
    });

    it("leaves plain paths bare and quotes the rest", () => {
        expect(shellQuote("/work/main/local/marts/graphs.sqlite")).toBe("/work/main/local/marts/graphs.sqlite");
        expect(shellQuote("/data/my catalogs/stage.sqlite")).toBe("'/data/my catalogs/stage.sqlite'");
        expect(shellQuote("/data/it's.sqlite")).toBe("'/data/it'\\''s.sqlite'");
    });
});

describe("migrateCommand", () => {
    it("is exactly the contract's command line", () => {
        expect(migrateCommand("/work/main/local/stage.sqlite", "stage", { dryRun: false })).toBe(
            "node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts/migrate.cjs --sqlite /work/main/local/stage.sqlite --schema stage --json",
        );
        expect(migrateCommand("/data/my catalogs/graphs.sqlite", "graphs", { dryRun: true })).toBe(
            "node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts/migrate.cjs --sqlite '/data/my catalogs/graphs.sqlite' --schema graphs --dry-run --json",
        );
    });

    it("starts node exactly as the package's migrate script does", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
            scripts: Record<string, string>;
        };
        expect(MIGRATE_PROGRAM).toBe(manifest.scripts.migrate);
    });

    it("delivers the path and schema to the program as single arguments", () => {
        const sqlite = '/data/it\'s a "catalog"/$x.sqlite';
        // Run the same string with the program swapped for a printer of its arguments.
        const line = migrateCommand(sqlite, "stage", { dryRun: true }).replace(
            MIGRATE_PROGRAM,
            `${JSON.stringify(process.execPath)} -e 'console.log(JSON.stringify(process.argv.slice(1)))' --`,
        );
        const argv = JSON.parse(execFileSync("/bin/sh", ["-c", line], { encoding: "utf8" })) as string[];
        expect(argv).toEqual(["--sqlite", sqlite, "--schema", "stage", "--dry-run", "--json"]);
    });
});

describe("commandPath", () => {
    it("is relative inside the project, so every checkout runs the same command, and absolute outside it", () => {
        expect(commandPath("/work/main", "/work/main/local/marts/graphs.sqlite")).toBe("local/marts/graphs.sqlite");
        expect(commandPath("/builds/lake/catalog", "/builds/lake/catalog/local/stage.sqlite")).toBe(
            "local/stage.sqlite",
        );
        expect(commandPath("/work/main", "/data/lake/stage.sqlite")).toBe("/data/lake/stage.sqlite");
        expect(commandPath("/work/main", "/work/mainline/stage.sqlite")).toBe("/work/mainline/stage.sqlite");
    });
});

describe("migrationEnvironment", () => {
    it("carries the libpq connection, with only the password secret", async () => {
        const environment = migrationEnvironment(CONNECTION);
        const values = Object.fromEntries(
            await Promise.all(
                Object.entries(environment).map(async ([k, v]) => [k, await promiseOf(pulumi.output(v))]),
            ),
        );
        expect(values).toEqual(CONNECTION_ENVIRONMENT);
        for (const [key, value] of Object.entries(environment)) {
            expect(await pulumi.isSecret(pulumi.output(value)), key).toBe(key === "PGPASSWORD");
        }
    });

    it("makes a plain password secret too", async () => {
        expect(
            await pulumi.isSecret(
                pulumi.output(migrationEnvironment({ ...CONNECTION, postgresPassword: "plain" }).PGPASSWORD),
            ),
        ).toBe(true);
    });
});

describe("backupStoreEnvironment", () => {
    it("gives the backup command the endpoint as a URL whose scheme follows s3UseSsl, and only the keys secret", async () => {
        const store = {
            s3Endpoint: "s3.example:443",
            s3UseSsl: true,
            s3Bucket: "lakehouse",
            s3Region: "eu-west-1",
            s3UrlStyle: "vhost" as const,
            s3AccessKeyId: "AKIA-plain",
            s3SecretAccessKey: "secret-plain",
            s3BackupsPrefix: "backups",
        };
        const environment = backupStoreEnvironment(store);
        const values = Object.fromEntries(
            await Promise.all(Object.entries(environment).map(async ([k, v]) => [k, await promiseOf(v)])),
        );
        expect(values).toEqual({
            S3_ENDPOINT: "https://s3.example:443",
            S3_BUCKET: "lakehouse",
            S3_BACKUPS_PREFIX: "backups",
            AWS_REGION: "eu-west-1",
            S3_URL_STYLE: "vhost",
            AWS_ACCESS_KEY_ID: "AKIA-plain",
            AWS_SECRET_ACCESS_KEY: "secret-plain",
        });
        for (const [key, value] of Object.entries(environment)) {
            expect(await pulumi.isSecret(pulumi.output(value)), key).toBe(
                key.startsWith("AWS_") && key !== "AWS_REGION",
            );
        }
        expect(await promiseOf(backupStoreEnvironment({ ...store, s3UseSsl: false }).S3_ENDPOINT)).toBe(
            "http://s3.example:443",
        );
    });
});

describe("parseMigrationResult", () => {
    it("reads the --json summary", () => {
        expect(parseMigrationResult(JSON.stringify(DRY_RUN_SUMMARY), "stage")).toEqual(DRY_RUN_SUMMARY);
    });

    it("names the catalog when stdout is not a summary", () => {
        expect(() => parseMigrationResult("Migrated 5 rows", "graphs")).toThrow(
            'The migration of catalog `graphs` printed no valid JSON summary on stdout; got "Migrated 5 rows". ' +
                "Run its command by hand to see the full output.",
        );
        expect(() =>
            parseMigrationResult(JSON.stringify({ status: "done", totalRows: 1, ducklakeVersion: "0.3" }), "graphs"),
        ).toThrow("The migration of catalog `graphs` printed no valid JSON summary");
    });

    it("describes a plan in one line", () => {
        expect(
            describePlan(
                "stage",
                "/l/stage.sqlite",
                "stage",
                parseMigrationResult(JSON.stringify(DRY_RUN_SUMMARY), "stage"),
            ),
        ).toBe(
            "catalog `stage`: dry run passed; will migrate /l/stage.sqlite (DuckLake 0.3, 114 rows in 3 tables) into schema `stage`",
        );
        const unchanged = parseMigrationResult(JSON.stringify({ ...DRY_RUN_SUMMARY, plan: "unchanged" }), "stage");
        expect(describePlan("stage", "/l/stage.sqlite", "stage", unchanged)).toBe(
            "catalog `stage`: schema `stage` already holds exactly /l/stage.sqlite (DuckLake 0.3, 114 rows in 3 tables); " +
                "nothing to migrate",
        );
    });
});

describe("parseDryRun", () => {
    it("reads a plan, or the refusal the migrate command reported with --json", () => {
        expect(parseDryRun(JSON.stringify(DRY_RUN_SUMMARY), "stage")).toEqual(DRY_RUN_SUMMARY);
        const refusal = { status: "refused", reason: "target-newer", message: "schema stage already holds …" };
        expect(parseDryRun(JSON.stringify(refusal), "stage")).toEqual(refusal);
        expect(() => parseDryRun("", "stage")).toThrow(
            "The migration of catalog `stage` printed no valid JSON summary",
        );
    });
});

describe("dryRunCommand", () => {
    it("is the migrate command, with a refusal (exit 1) left to the JSON it prints", () => {
        expect(dryRunCommand("/work/main/local/stage.sqlite", "stage")).toBe(
            "node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts/migrate.cjs --sqlite /work/main/local/stage.sqlite --schema stage --dry-run --json || test $? -eq 1",
        );
        const exitCode = (code: number) =>
            spawnSync("/bin/sh", ["-c", dryRunCommand("x", "s").replace(/^.* \|\|/, `(exit ${code}) ||`)]).status;
        expect([0, 1, 2, 3].map(exitCode)).toEqual([0, 0, 1, 1]);
    });
});

describe("CatalogMigration under mocks", () => {
    let harness: Harness;
    let workDir: string;
    let sqlitePath: string;
    const runs: Record<string, unknown>[] = [];

    beforeAll(async () => {
        harness = await installMocks();
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "catalog migration "));
        sqlitePath = path.join(workDir, "stage's catalog.sqlite");
        fs.writeFileSync(sqlitePath, "");
    });
    afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));
    beforeEach(() => {
        harness.registrations.length = 0;
        runs.length = 0;
        harness.onRun = (inputs) => {
            runs.push(inputs);
            return { stdout: JSON.stringify(DRY_RUN_SUMMARY), stderr: "" };
        };
    });

    function migration(name: string, file: string): CatalogMigration {
        return new CatalogMigration(name, { ...CONNECTION, sqlitePath: file, schema: name, projectDir: PROJECT_DIR });
    }

    it("dry-runs an existing SQLite file with the exact command and logs the plan", async () => {
        const info = vi.spyOn(pulumi.log, "info");
        const component = migration("stage", sqlitePath);
        expect(await promiseOf(component.plan!)).toEqual(DRY_RUN_SUMMARY);
        expect(await pulumi.isSecret(component.plan!)).toBe(false);
        expect(runs).toEqual([
            {
                command: dryRunCommand(sqlitePath, "stage"),
                dir: PROJECT_DIR,
                environment: CONNECTION_ENVIRONMENT,
                logging: "none",
            },
        ]);
        expect(runs[0].command).not.toContain(PASSWORD);
        expect(info).toHaveBeenCalledWith(
            `catalog \`stage\`: dry run passed; will migrate ${sqlitePath} (DuckLake 0.3, 114 rows in 3 tables) into schema \`stage\``,
            component,
        );
        info.mockRestore();
    });

    it("runs the migration only after its dry run: both take the schema's migration lock", async () => {
        const commandsAtDryRun: number[] = [];
        const commands = () =>
            byType(harness.registrations, "command:local:Command").filter((r) => r.name === "ordered-migrate");
        // A slow dry run: a migration that did not wait for it would be registered meanwhile.
        harness.onRun = async () => {
            await new Promise((resolve) => setTimeout(resolve, 200));
            commandsAtDryRun.push(commands().length);
            return { stdout: JSON.stringify(DRY_RUN_SUMMARY), stderr: "" };
        };
        const component = migration("ordered", sqlitePath);
        await promiseOf(component.result);
        expect(commandsAtDryRun).toEqual([0]);
        expect(commands()).toHaveLength(1);
    });

    it("only warns when the schema went on living in PostgreSQL after its migration, and keeps the Command", async () => {
        const message = "schema stage already holds a DuckLake catalog with 24 snapshots up to snapshot 23 (…)";
        harness.onRun = () => ({
            stdout: JSON.stringify({ status: "refused", reason: "target-newer", message }),
            stderr: "",
        });
        const warn = vi.spyOn(pulumi.log, "warn");
        const component = migration("lived_on", sqlitePath);
        expect(await promiseOf(component.plan!)).toBeUndefined();
        expect(await promiseOf(component.result)).toMatchObject({ status: "migrated" });
        expect(warn).toHaveBeenCalledWith(`catalog \`lived_on\`: ${message}`, component);
        expect(
            byType(harness.registrations, "command:local:Command").filter((r) => r.name === "lived_on-migrate"),
        ).toHaveLength(1);
        warn.mockRestore();
    });

    it("registers one Command with no delete and no triggers, the password only in its secret environment", async () => {
        const component = migration("graphs", sqlitePath);
        expect(await promiseOf(component.result)).toMatchObject({ status: "migrated", totalRows: 5 });
        const commands = byType(harness.registrations, "command:local:Command");
        expect(commands).toHaveLength(1);
        expect(Object.keys(commands[0].inputs).sort()).toEqual(["create", "dir", "environment"]);
        expect(commands[0].inputs.create).toBe(migrateCommand(sqlitePath, "graphs", { dryRun: false }));
        expect(JSON.stringify(commands[0].wireInputs.create)).not.toContain(PASSWORD);
        expect(plainStrings(commands[0].wireInputs).filter((s) => s.value.includes(PASSWORD))).toEqual([]);
        expect((commands[0].inputs.environment as Record<string, string>).PGPASSWORD).toBe(PASSWORD);
    });

    it("does not re-run a migration when only the role password or the checkout's directory changes", async () => {
        const component = migration("secure_stage", sqlitePath);
        await promiseOf(component.result);
        const [command] = byType(harness.registrations, "command:local:Command");
        expect(command.ignoreChanges).toEqual(["environment.PGPASSWORD", "dir"]);
    });

    // A rejected Output fails the program through an unhandled rejection, so these run in their own process.
    function dryRunFailure(kind: "refused" | "login-refused" | "invoke-error", message: string, mode = "up") {
        const script = path.join(__dirname, "support", "dryRunRefusal.ts");
        return spawnSync(process.execPath, ["--import", "tsx", script, sqlitePath, kind, message, mode], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        });
    }

    it("fails the program with the command's own message when the dry run refuses", () => {
        const run = dryRunFailure(
            "refused",
            "schema stage holds a different catalog. Fix: migrate into an empty schema.",
        );
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain(
            "catalog `stage`: the migration's dry run refused: schema stage holds a different catalog. Fix: migrate into an empty schema.",
        );
    });

    const LOGIN_REFUSED =
        "PostgreSQL at db:5432 refused user lakehouse: password authentication failed for user " +
        '"lakehouse". The target is unchanged. Fix: set PGUSER and PGPASSWORD to the catalog role\'s credentials.';

    it("only warns when a preview's dry run cannot log in: a password rotation reaches the role only in the update", () => {
        const run = dryRunFailure("login-refused", LOGIN_REFUSED, "preview");
        expect(run.stderr).not.toContain("the migration's dry run refused");
        expect(run.status).toBe(0);
        expect(run.stderr).toContain(
            `catalog \`stage\`: the dry run could not log in (${LOGIN_REFUSED}) Expected when ` +
                "this update changes the role's password; otherwise `pulumi up` stops here.",
        );
    });

    it("fails an update whose dry run cannot log in: by then the role has its password", () => {
        const run = dryRunFailure("login-refused", LOGIN_REFUSED);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain(`catalog \`stage\`: the migration's dry run refused: ${LOGIN_REFUSED}`);
    });

    it("fails the program when the dry run itself fails (a usage error, a crash)", () => {
        const run = dryRunFailure(
            "invoke-error",
            'exit status 2: running "npm run --silent migrate -- ...":\nmigrate: --schema must be …',
        );
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain("migrate: --schema must be …");
    });

    it("skips the dry run, and still registers the migration, when the SQLite file is gone", async () => {
        const component = migration("analytics", path.join(workDir, "deleted.sqlite"));
        expect(component.plan).toBeUndefined();
        expect(await promiseOf(component.result)).toMatchObject({ status: "migrated" });
        expect(runs).toEqual([]);
        expect(byType(harness.registrations, "command:local:Command")).toHaveLength(1);
    });

    describe("with a backups prefix", () => {
        const KEY = "backup key with 'quotes'";
        const STORE = {
            s3Endpoint: "minio:9000",
            s3UseSsl: false,
            s3Bucket: "lakehouse",
            s3BackupsPrefix: "backups/lake",
            s3Region: "eu-west-1",
            s3UrlStyle: "path" as const,
            s3AccessKeyId: pulumi.secret("AKIA-backups"),
            s3SecretAccessKey: pulumi.secret(KEY),
        };
        const COPY = "s3://lakehouse/backups/lake/sqlite/stage/2026_01_02/03_04_05_678/stage's catalog.sqlite";

        function backedUp(name: string, file: string): CatalogMigration {
            harness.commandStdout[`${name}-sqlite-copy`] = `${COPY}\n`;
            return new CatalogMigration(name, {
                ...CONNECTION,
                sqlitePath: file,
                schema: name,
                projectDir: PROJECT_DIR,
                backups: STORE,
            });
        }

        it("copies the SQLite file first, once, and starts the migration only after the copy", async () => {
            const component = backedUp("copied", sqlitePath);
            expect(await promiseOf(component.sqliteCopy!)).toBe(COPY);
            expect(await pulumi.isSecret(component.sqliteCopy!)).toBe(false);
            await promiseOf(component.result);
            const commands = byType(harness.registrations, "command:local:Command");
            const copy = commands.find((r) => r.name === "copied-sqlite-copy")!;
            const migrate = commands.find((r) => r.name === "copied-migrate")!;
            expect(copy.inputs.create).toBe(sqliteCopyCommand(sqlitePath, "copied"));
            expect(copy.inputs.create).toBe(
                `npm run --silent backup -- sqlite --sqlite ${shellQuote(sqlitePath)} --catalog copied`,
            );
            expect(migrate.dependencies).toContain(copy.urn);
            // Runs again only where the migration itself would: another file or another schema.
            expect(copy.inputs.triggers).toEqual([sqlitePath, "copied"]);
            expect(Object.keys(copy.inputs).sort()).toEqual(["create", "dir", "environment", "triggers"]);
            expect(copy.ignoreChanges).toEqual([
                "environment.AWS_ACCESS_KEY_ID",
                "environment.AWS_SECRET_ACCESS_KEY",
                "dir",
            ]);
            expect(copy.inputs.environment).toEqual({
                S3_ENDPOINT: "http://minio:9000",
                S3_BUCKET: "lakehouse",
                S3_BACKUPS_PREFIX: "backups/lake",
                AWS_REGION: "eu-west-1",
                S3_URL_STYLE: "path",
                AWS_ACCESS_KEY_ID: "AKIA-backups",
                AWS_SECRET_ACCESS_KEY: KEY,
            });
            expect(plainStrings(copy.wireInputs).filter((s) => s.value.includes(KEY))).toEqual([]);
        });

        it("takes no copy when the SQLite file is gone: the migration is done or fails on its own", async () => {
            const component = backedUp("gone", path.join(workDir, "deleted.sqlite"));
            expect(component.sqliteCopy).toBeUndefined();
            await promiseOf(component.result);
            expect(byType(harness.registrations, "command:local:Command").map((r) => r.name)).toEqual(["gone-migrate"]);
        });
    });
});
