import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { StackConfig, parseStackConfig } from "../../config";
import { ClientConfig } from "../../components/clientConfig";
import { Mlserver } from "../../components/mlserver";
import { Registration, SECRET_SIGNATURE, installRecordingMocks, registrationsOfType, valueOf } from "./mocks";

const PROJECT_DIR = path.join(__dirname, "..", "..");

/** The dev stack's config as Pulumi hands it to the program: objects as JSON text, secrets as secret Outputs. */
function devStackConfig(): StackConfig {
    const values: Record<string, unknown> = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")).config;
    const plain: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
        plain[key.replace("lakehouse-catalog:", "")] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return parseStackConfig(
        {
            plain,
            secrets: {
                postgresAdminPassword: pulumi.secret("admin-password"),
                rolePassword: pulumi.secret("role-password"),
                s3AccessKeyId: pulumi.secret("minio-user"),
                s3SecretAccessKey: pulumi.secret("minio-password"),
            },
        },
        PROJECT_DIR,
    );
}

/** The consumer keys this helper proposes for config.ts, with the values a dev stack would set. */
const consumerKeys = {
    clientPostgresHost: "docker-shared",
    clientPostgresPort: 5432,
    clientS3Endpoint: "minio:9000",
    clientConfigDir: "local",
    mlserverDockerHost: "tcp://docker-apps:2375",
    mlserverImage: "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137",
    mlserverComposeProject: "datalab",
    mlserverHostPort: 8000,
};

class StandInStep extends pulumi.CustomResource {
    constructor(name: string, opts: pulumi.CustomResourceOptions) {
        super("lakehouse-catalog:test:MigrationStep", name, {}, opts);
    }
}

/** Stands in for a CatalogMigration component, which index.ts passes in `dependsOn`; its work is its child. */
class StandInMigration extends pulumi.ComponentResource {
    public readonly step: StandInStep;

    constructor(name: string) {
        super("lakehouse-catalog:test:CatalogMigration", name, {});
        this.step = new StandInStep(`${name}-migrate`, { parent: this });
        this.registerOutputs({ step: this.step });
    }
}

/** Mirrors the wiring proposed for index.ts, line for line. */
function wireConsumers(config: StackConfig, migrations: pulumi.Resource[]) {
    const clientConfig = new ClientConfig("clients", {
        postgresHost: consumerKeys.clientPostgresHost,
        postgresPort: consumerKeys.clientPostgresPort,
        postgresDatabase: config.database,
        postgresUser: config.role,
        s3Endpoint: consumerKeys.clientS3Endpoint,
        s3Bucket: config.s3.bucket,
        s3Region: config.s3.region,
        s3UseSsl: config.s3.useSsl,
        s3UrlStyle: config.s3.urlStyle,
        catalogs: config.catalogs.map(({ name, schema, s3Prefix, encrypted }) => ({ name, schema, s3Prefix, encrypted })),
        outputDir: consumerKeys.clientConfigDir,
    });
    const mlserver = new Mlserver(
        "mlserver",
        {
            dockerHost: consumerKeys.mlserverDockerHost,
            image: consumerKeys.mlserverImage,
            composeProject: consumerKeys.mlserverComposeProject,
            hostPort: consumerKeys.mlserverHostPort,
            postgresHost: consumerKeys.clientPostgresHost,
            postgresPort: consumerKeys.clientPostgresPort,
            postgresDatabase: config.database,
            postgresUser: config.role,
            postgresPassword: config.rolePassword,
            s3Endpoint: consumerKeys.clientS3Endpoint,
            s3UseSsl: config.s3.useSsl,
            s3UrlStyle: config.s3.urlStyle,
            s3AccessKeyId: config.s3AccessKeyId,
            s3SecretAccessKey: config.s3SecretAccessKey,
            s3Region: config.s3.region,
            s3Bucket: config.s3.bucket,
            s3ExportsPrefix: config.s3.exportsPrefix ?? "exports",
            s3BackupsPrefix: config.s3.backupsPrefix ?? "backups",
            mlflowTrackingUri: config.mlflowTrackingUri,
            kafkaBrokerEndpoint: config.kafkaBrokerEndpoint,
            catalogs: config.catalogs.map(({ envName, schema, s3Prefix }) => ({ envName, schema, s3Prefix })),
        },
        { dependsOn: migrations },
    );
    return { clientConfig, mlserver };
}

describe("consumers wired from the dev stack config", () => {
    const registrations: Registration[] = [];
    let wired: ReturnType<typeof wireConsumers>;
    let migrationUrns: string[];

    beforeAll(async () => {
        await installRecordingMocks(registrations);
        const config = devStackConfig();
        const migrations = config.catalogs.map((catalog) => new StandInMigration(catalog.name));
        wired = wireConsumers(config, migrations);
        await valueOf(wired.mlserver.container.urn);
        await valueOf(wired.clientConfig.profilesYmlFile!.urn);
        migrationUrns = await Promise.all(migrations.map((migration) => valueOf(migration.step.urn)));
    });

    it("gives the mlserver the variable names the original application reads", async () => {
        const [container] = registrationsOfType(registrations, "docker:index/container:Container");
        const envs = container.request.object.envs as (string | { value: string })[];
        const names = envs.map((line) => (typeof line === "string" ? line : line.value).split("=")[0]);

        expect(names).toEqual([
            "MLFLOW_TRACKING_URI",
            "KAFKA_BROKER_ENDPOINT",
            "S3_ENDPOINT",
            "S3_USE_SSL",
            "S3_URL_STYLE",
            "S3_ACCESS_KEY_ID",
            "S3_SECRET_ACCESS_KEY",
            "S3_REGION",
            "S3_BUCKET",
            "S3_STAGE_PREFIX",
            "S3_SECURE_STAGE_PREFIX",
            "S3_GRAPHS_MART_PREFIX",
            "S3_ANALYTICS_MART_PREFIX",
            "S3_EXPORTS_PREFIX",
            "S3_BACKUPS_PREFIX",
            "PSQL_CATALOG_HOST",
            "PSQL_CATALOG_PORT",
            "PSQL_CATALOG_DB",
            "PSQL_CATALOG_USER",
            "PSQL_CATALOG_PASSWORD",
            "PSQL_CATALOG_STAGE_SCHEMA",
            "PSQL_CATALOG_SECURE_STAGE_SCHEMA",
            "PSQL_CATALOG_GRAPHS_MART_SCHEMA",
            "PSQL_CATALOG_ANALYTICS_MART_SCHEMA",
        ]);
        expect(envs.filter((line) => typeof line !== "string")).toEqual([
            { ...SECRET_SIGNATURE, value: "S3_ACCESS_KEY_ID=minio-user" },
            { ...SECRET_SIGNATURE, value: "S3_SECRET_ACCESS_KEY=minio-password" },
            { ...SECRET_SIGNATURE, value: "PSQL_CATALOG_PASSWORD=role-password" },
        ]);
    });

    it("deploys the mlserver only after the resources of every migration", () => {
        const [container] = registrationsOfType(registrations, "docker:index/container:Container");

        expect(migrationUrns).toHaveLength(4);
        expect(container.request.dependencies).toEqual(expect.arrayContaining(migrationUrns));
    });

    it("renders the client files for the dev stack's catalogs as plain outputs", async () => {
        const initSql = await valueOf(wired.clientConfig.initSql);

        expect(await pulumi.isSecret(wired.clientConfig.initSql)).toBe(false);
        expect(await pulumi.isSecret(wired.clientConfig.profilesYml)).toBe(false);
        expect(initSql.split("\n").filter((line) => line.startsWith("ATTACH"))).toEqual([
            `ATTACH 'ducklake:' AS "stage" (METADATA_SCHEMA 'stage', DATA_PATH 's3://lakehouse/stage');`,
            `ATTACH 'ducklake:' AS "secure_stage" (METADATA_SCHEMA 'secure_stage', DATA_PATH 's3://lakehouse/secure-stage', ENCRYPTED);`,
            `ATTACH 'ducklake:' AS "graphs" (METADATA_SCHEMA 'graphs', DATA_PATH 's3://lakehouse/marts/graphs');`,
            `ATTACH 'ducklake:' AS "analytics" (METADATA_SCHEMA 'analytics', DATA_PATH 's3://lakehouse/marts/analytics');`,
        ]);
        expect(initSql).not.toContain("role-password");
        expect(await valueOf(wired.clientConfig.profilesYml)).not.toContain("role-password");
    });
});
