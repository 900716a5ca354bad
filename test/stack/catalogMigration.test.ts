import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import {
    CatalogMigration,
    describePlan,
    migrateCommand,
    migrationEnvironment,
    parseMigrationResult,
    shellQuote,
} from "../../components/catalogMigration";
import { byType, type Harness, installMocks, plainStrings, PROJECT_DIR, promiseOf } from "../support/pulumiMocks";

const PASSWORD = "pw with 'quotes' and $dollar";
const CONNECTION = {
    host: "db.example",
    port: 6543,
    database: "lakehouse",
    user: "lakehouse",
    password: pulumi.secret(PASSWORD),
    sslMode: "require" as const,
};
const DRY_RUN_SUMMARY = {
    status: "dry-run",
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
            "npm run --silent migrate -- --sqlite /work/main/local/stage.sqlite --schema stage --json",
        );
        expect(migrateCommand("/data/my catalogs/graphs.sqlite", "graphs", { dryRun: true })).toBe(
            "npm run --silent migrate -- --sqlite '/data/my catalogs/graphs.sqlite' --schema graphs --dry-run --json",
        );
    });

    it("delivers the path and schema to the program as single arguments", () => {
        const sqlite = "/data/it's a \"catalog\"/$x.sqlite";
        // Run the same string with `npm run --silent migrate --` swapped for a printer of its arguments.
        const line = migrateCommand(sqlite, "stage", { dryRun: true }).replace(
            "npm run --silent migrate --",
            `${JSON.stringify(process.execPath)} -e 'console.log(JSON.stringify(process.argv.slice(1)))' --`,
        );
        const argv = JSON.parse(execFileSync("/bin/sh", ["-c", line], { encoding: "utf8" })) as string[];
        expect(argv).toEqual(["--sqlite", sqlite, "--schema", "stage", "--dry-run", "--json"]);
    });
});

describe("migrationEnvironment", () => {
    it("carries the libpq connection, with only the password secret", async () => {
        const environment = migrationEnvironment(CONNECTION);
        const values = Object.fromEntries(
            await Promise.all(Object.entries(environment).map(async ([k, v]) => [k, await promiseOf(pulumi.output(v))])),
        );
        expect(values).toEqual({
            PGHOST: "db.example",
            PGPORT: "6543",
            PGDATABASE: "lakehouse",
            PGUSER: "lakehouse",
            PGPASSWORD: PASSWORD,
            PGSSLMODE: "require",
        });
        for (const [key, value] of Object.entries(environment)) {
            expect(await pulumi.isSecret(pulumi.output(value)), key).toBe(key === "PGPASSWORD");
        }
    });

    it("makes a plain password secret too", async () => {
        expect(await pulumi.isSecret(pulumi.output(migrationEnvironment({ ...CONNECTION, password: "plain" }).PGPASSWORD))).toBe(true);
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
        expect(() => parseMigrationResult(JSON.stringify({ status: "done", totalRows: 1, ducklakeVersion: "0.3" }), "graphs")).toThrow(
            "The migration of catalog `graphs` printed no valid JSON summary",
        );
    });

    it("describes a plan in one line", () => {
        expect(describePlan("stage", "/l/stage.sqlite", "stage", parseMigrationResult(JSON.stringify(DRY_RUN_SUMMARY), "stage"))).toBe(
            "catalog `stage`: dry run passed for /l/stage.sqlite (DuckLake 0.3, 114 rows in 3 tables) into schema `stage`",
        );
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
        return new CatalogMigration(name, { ...CONNECTION, catalog: name, sqlitePath: file, schema: name, projectDir: PROJECT_DIR });
    }

    it("dry-runs an existing SQLite file with the exact command and logs the plan", async () => {
        const info = vi.spyOn(pulumi.log, "info");
        const component = migration("stage", sqlitePath);
        expect(await promiseOf(component.plan!)).toEqual(DRY_RUN_SUMMARY);
        expect(await pulumi.isSecret(component.plan!)).toBe(false);
        expect(runs).toEqual([
            {
                command: `npm run --silent migrate -- --sqlite ${shellQuote(sqlitePath)} --schema stage --dry-run --json`,
                dir: PROJECT_DIR,
                environment: {
                    PGHOST: "db.example", PGPORT: "6543", PGDATABASE: "lakehouse", PGUSER: "lakehouse",
                    PGPASSWORD: PASSWORD, PGSSLMODE: "require",
                },
                logging: "none",
            },
        ]);
        expect(runs[0].command).not.toContain(PASSWORD);
        expect(info).toHaveBeenCalledWith(
            `catalog \`stage\`: dry run passed for ${sqlitePath} (DuckLake 0.3, 114 rows in 3 tables) into schema \`stage\``,
            component,
        );
        info.mockRestore();
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

    it("does not re-run a migration when only the role password changes", async () => {
        const component = migration("secure_stage", sqlitePath);
        await promiseOf(component.result);
        const [command] = byType(harness.registrations, "command:local:Command");
        expect(command.ignoreChanges).toEqual(["environment.PGPASSWORD"]);
    });

    it("fails the program with the command's own message when the dry run refuses", () => {
        // A rejected Output fails the program through an unhandled rejection, so this runs in its own process.
        const refusal = 'exit status 1: running "npm run --silent migrate -- ...":\nmigrate: schema stage holds a diverged catalog';
        const script = path.join(__dirname, "support", "dryRunRefusal.ts");
        const run = spawnSync(process.execPath, ["--import", "tsx", script, sqlitePath, refusal], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        });
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain("migrate: schema stage holds a diverged catalog");
    });

    it("skips the dry run, and still registers the migration, when the SQLite file is gone", async () => {
        const component = migration("analytics", path.join(workDir, "deleted.sqlite"));
        expect(component.plan).toBeUndefined();
        expect(await promiseOf(component.result)).toMatchObject({ status: "migrated" });
        expect(runs).toEqual([]);
        expect(byType(harness.registrations, "command:local:Command")).toHaveLength(1);
    });
});
