import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
    ClientCatalog,
    ClientConfig,
    ClientConfigSettings,
    REMOVE_FILE_COMMAND,
    WRITE_FILE_COMMAND,
    renderClientConfig,
} from "../../components/clientConfig";
import { byType, installMocks, promiseOf, type Registration } from "../support/pulumiMocks";

const DEV_CATALOGS: ClientCatalog[] = [
    { name: "stage", schema: "stage", s3Prefix: "stage", encrypted: false },
    { name: "secure_stage", schema: "secure_stage", s3Prefix: "secure-stage", encrypted: true },
    { name: "graphs", schema: "graphs", s3Prefix: "marts/graphs", encrypted: false },
    { name: "analytics", schema: "analytics", s3Prefix: "marts/analytics", encrypted: false },
];

const DEV_SETTINGS: ClientConfigSettings = {
    postgresHost: "docker-shared",
    postgresPort: 5432,
    postgresDatabase: "lakehouse",
    postgresUser: "lakehouse",
    s3Endpoint: "minio:9000",
    s3Bucket: "lakehouse",
    s3Region: "eu-west-1",
    s3UseSsl: false,
    s3UrlStyle: "path",
    catalogs: DEV_CATALOGS,
};

function expected(fileName: string): string {
    return fs.readFileSync(path.join(__dirname, "expected", fileName), "utf8");
}

interface DbtAttachment {
    path: string;
    alias: string;
    options: { metadata_schema: string; data_path: string; encrypted?: number };
}

function dbtAttachments(profilesYml: string): DbtAttachment[] {
    return parse(profilesYml).transform.outputs.lakehouse.attach;
}

describe("renderClientConfig", () => {
    it("pins init.sql and profiles.yml for the dev stack's four catalogs", () => {
        const rendered = renderClientConfig(DEV_SETTINGS);

        expect(rendered.initSql).toBe(expected("dev-init.sql"));
        expect(rendered.profilesYml).toBe(expected("dev-profiles.yml"));
    });

    it("renders profiles.yml as the structure dbt-duckdb reads: extensions, the three secrets, one attach per catalog", () => {
        const attach = (alias: string, prefix: string, encrypted = false) => ({
            path: "ducklake:",
            alias,
            options: {
                metadata_schema: alias,
                data_path: `s3://lakehouse/${prefix}`,
                ...(encrypted ? { encrypted: 1 } : {}),
            },
        });

        expect(parse(renderClientConfig(DEV_SETTINGS).profilesYml)).toEqual({
            transform: {
                target: "lakehouse",
                outputs: {
                    lakehouse: {
                        type: "duckdb",
                        path: "{{ env_var('LOCAL_DIR') }}/{{ env_var('ENGINE_DB') }}",
                        extensions: ["httpfs", "ducklake", "postgres"],
                        secrets: [
                            {
                                type: "s3",
                                name: "minio",
                                key_id: "{{ env_var('S3_ACCESS_KEY_ID') }}",
                                secret: "{{ env_var('S3_SECRET_ACCESS_KEY') }}",
                                endpoint: "minio:9000",
                                use_ssl: "false",
                                url_style: "path",
                                region: "eu-west-1",
                            },
                            {
                                type: "postgres",
                                name: "postgres",
                                host: "docker-shared",
                                port: "5432",
                                database: "lakehouse",
                                user: "lakehouse",
                                password: "{{ env_var('PSQL_CATALOG_PASSWORD') }}",
                            },
                            {
                                type: "ducklake",
                                name: "__default_ducklake",
                                metadata_path: "",
                                metadata_parameters: { type: "postgres", secret: "postgres" },
                            },
                        ],
                        attach: [
                            attach("stage", "stage"),
                            attach("secure_stage", "secure-stage", true),
                            attach("graphs", "marts/graphs"),
                            attach("analytics", "marts/analytics"),
                        ],
                    },
                },
            },
        });
    });

    it("keeps values that look like YAML numbers, booleans or nulls as text", () => {
        const rendered = renderClientConfig({
            ...DEV_SETTINGS,
            postgresHost: "1e3",
            postgresUser: "null",
            s3Region: "no",
            catalogs: [{ name: "true", schema: "0x10", s3Prefix: "~", encrypted: false }],
        });
        const lakehouse = parse(rendered.profilesYml).transform.outputs.lakehouse;

        expect([lakehouse.secrets[0].region, lakehouse.secrets[1].host, lakehouse.secrets[1].user]).toEqual([
            "no",
            "1e3",
            "null",
        ]);
        expect(lakehouse.attach[0].alias).toBe("true");
        expect(lakehouse.attach[0].options.metadata_schema).toBe("0x10");
    });

    it("attaches an added fifth catalog with no other change", () => {
        const rendered = renderClientConfig({
            ...DEV_SETTINGS,
            catalogs: [
                ...DEV_CATALOGS,
                { name: "silver", schema: "silver", s3Prefix: "marts/silver", encrypted: false },
            ],
        });

        expect(rendered.initSql).toBe(expected("five-init.sql"));
        expect(rendered.profilesYml).toBe(expected("five-profiles.yml"));
    });

    it("takes schema names from the catalogs instead of hard-coding them", () => {
        const rendered = renderClientConfig({
            ...DEV_SETTINGS,
            catalogs: [{ name: "graphs", schema: "graphs_mart", s3Prefix: "marts/graphs", encrypted: false }],
        });

        expect(rendered.initSql).toContain(
            `ATTACH 'ducklake:' AS "graphs" (METADATA_SCHEMA 'graphs_mart', DATA_PATH 's3://lakehouse/marts/graphs');\n`,
        );
        expect(dbtAttachments(rendered.profilesYml)).toEqual([
            {
                path: "ducklake:",
                alias: "graphs",
                options: { metadata_schema: "graphs_mart", data_path: "s3://lakehouse/marts/graphs" },
            },
        ]);
    });

    it("gives every data_path without the trailing newline the original folded scalars left", () => {
        const attachments = dbtAttachments(renderClientConfig(DEV_SETTINGS).profilesYml);

        expect(attachments.map((attachment) => attachment.options.data_path)).toEqual([
            "s3://lakehouse/stage",
            "s3://lakehouse/secure-stage",
            "s3://lakehouse/marts/graphs",
            "s3://lakehouse/marts/analytics",
        ]);
        expect(attachments.map((attachment) => attachment.options.encrypted)).toEqual([
            undefined,
            1,
            undefined,
            undefined,
        ]);
    });

    it("escapes quotes in schema, alias and prefix for SQL and for YAML", () => {
        const rendered = renderClientConfig({
            ...DEV_SETTINGS,
            catalogs: [{ name: 'o"neil', schema: "o'neil", s3Prefix: `it's "x": #1`, encrypted: true }],
        });

        expect(rendered.initSql).toContain(
            `ATTACH 'ducklake:' AS "o""neil" (METADATA_SCHEMA 'o''neil', DATA_PATH 's3://lakehouse/it''s "x": #1', ENCRYPTED);\n`,
        );
        expect(dbtAttachments(rendered.profilesYml)).toEqual([
            {
                path: "ducklake:",
                alias: 'o"neil',
                options: { metadata_schema: "o'neil", data_path: `s3://lakehouse/it's "x": #1`, encrypted: 1 },
            },
        ]);
    });

    it("refuses a value dbt would evaluate as Jinja", () => {
        expect(() =>
            renderClientConfig({
                ...DEV_SETTINGS,
                catalogs: [{ name: "stage", schema: "stage", s3Prefix: "{{ env_var('HOME') }}", encrypted: false }],
            }),
        ).toThrow(
            "catalog `stage` data path must not contain `{{`, `{%` or `{#` (dbt would evaluate it as Jinja in profiles.yml); " +
                `got "s3://lakehouse/{{ env_var('HOME') }}"`,
        );
    });

    it("never renders a password or key, only references to the environment", () => {
        const rendered = renderClientConfig(DEV_SETTINGS);

        expect(rendered.initSql).toContain("PASSWORD getenv('PSQL_CATALOG_PASSWORD')");
        expect(rendered.initSql).toContain("KEY_ID getenv('S3_ACCESS_KEY_ID')");
        expect(rendered.initSql).toContain("SECRET getenv('S3_SECRET_ACCESS_KEY')");
        const secrets = parse(rendered.profilesYml).transform.outputs.lakehouse.secrets;
        expect(secrets[0].key_id).toBe("{{ env_var('S3_ACCESS_KEY_ID') }}");
        expect(secrets[0].secret).toBe("{{ env_var('S3_SECRET_ACCESS_KEY') }}");
        expect(secrets[1].password).toBe("{{ env_var('PSQL_CATALOG_PASSWORD') }}");
    });
});

describe("ClientConfig component", () => {
    let registrations: Registration[];

    beforeAll(async () => {
        ({ registrations } = await installMocks());
    });

    beforeEach(() => {
        registrations.length = 0;
    });

    function devArgs() {
        return {
            postgresHost: DEV_SETTINGS.postgresHost,
            postgresPort: DEV_SETTINGS.postgresPort,
            postgresDatabase: DEV_SETTINGS.postgresDatabase,
            postgresUser: DEV_SETTINGS.postgresUser,
            s3Endpoint: DEV_SETTINGS.s3Endpoint,
            s3Bucket: DEV_SETTINGS.s3Bucket,
            s3Region: DEV_SETTINGS.s3Region,
            s3UseSsl: DEV_SETTINGS.s3UseSsl,
            s3UrlStyle: DEV_SETTINGS.s3UrlStyle,
            catalogs: DEV_CATALOGS,
        };
    }

    it("exposes the rendered texts as plain outputs, since they hold no secret", async () => {
        const clientConfig = new ClientConfig("clients", devArgs());

        expect(await promiseOf(clientConfig.initSql)).toBe(expected("dev-init.sql"));
        expect(await promiseOf(clientConfig.profilesYml)).toBe(expected("dev-profiles.yml"));
        expect(await pulumi.isSecret(clientConfig.initSql)).toBe(false);
        expect(await pulumi.isSecret(clientConfig.profilesYml)).toBe(false);
        expect(clientConfig.initSqlFile).toBeUndefined();
        expect(clientConfig.profilesYmlFile).toBeUndefined();
        await promiseOf(clientConfig.urn);
        expect(byType(registrations, "command:local:Command")).toEqual([]);
    });

    it("writes both files through local commands when an output directory is set", async () => {
        const clientConfig = new ClientConfig("clients", { ...devArgs(), outputDir: "local" });
        await promiseOf(clientConfig.initSqlFile!.urn);
        await promiseOf(clientConfig.profilesYmlFile!.urn);

        const commands = byType(registrations, "command:local:Command");
        expect(commands.map((registration) => [registration.name, registration.inputs])).toEqual([
            [
                "clients-init-sql",
                {
                    create: WRITE_FILE_COMMAND,
                    update: WRITE_FILE_COMMAND,
                    delete: REMOVE_FILE_COMMAND,
                    environment: { TARGET_FILE: "local/init.sql" },
                    stdin: expected("dev-init.sql"),
                },
            ],
            [
                "clients-profiles-yml",
                {
                    create: WRITE_FILE_COMMAND,
                    update: WRITE_FILE_COMMAND,
                    delete: REMOVE_FILE_COMMAND,
                    environment: { TARGET_FILE: "local/profiles.yml" },
                    stdin: expected("dev-profiles.yml"),
                },
            ],
        ]);
        expect(String(await promiseOf(clientConfig.initSqlFile!.urn))).toContain(
            "lakehouse-catalog:consumers:ClientConfig$command:local:Command::clients-init-sql",
        );
    });
});

describe("file commands", () => {
    function run(commandLine: string, targetFile: string, stdin: string, cwd: string): void {
        execFileSync("/bin/sh", ["-c", commandLine], {
            cwd,
            input: stdin,
            env: { PATH: process.env.PATH, TARGET_FILE: targetFile },
        });
    }

    it("write, rewrite and remove the file relative to the project directory", () => {
        const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "client-config-"));
        try {
            const rendered = renderClientConfig(DEV_SETTINGS);
            const file = path.join(projectDir, "local", "clients", "init.sql");

            run(WRITE_FILE_COMMAND, "local/clients/init.sql", rendered.initSql, projectDir);
            expect(fs.readFileSync(file, "utf8")).toBe(rendered.initSql);

            run(WRITE_FILE_COMMAND, "local/clients/init.sql", "-- changed\n", projectDir);
            expect(fs.readFileSync(file, "utf8")).toBe("-- changed\n");
            expect(fs.readdirSync(path.dirname(file))).toEqual(["init.sql"]);

            run(REMOVE_FILE_COMMAND, "local/clients/init.sql", "", projectDir);
            expect(fs.existsSync(file)).toBe(false);
        } finally {
            fs.rmSync(projectDir, { recursive: true, force: true });
        }
    });
});
