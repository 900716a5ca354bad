import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { RawStackConfig, parseStackConfig } from "../../config";
import { GitlabVariables, deployCredentialsFromEnv, gitlabVariablesArgs } from "../../components/gitlabVariables";
import { Registration, installRecordingMocks, settled } from "./mocks";

const root = path.join(__dirname, "..", "..");

/** Pulumi.dev.yaml as the program receives it: plain values as text, objects as JSON text, secrets as Outputs. */
function devStackConfig(): RawStackConfig {
    const file = parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as {
        config: Record<string, unknown>;
    };
    const plain: Record<string, string> = {};
    for (const [key, value] of Object.entries(file.config)) {
        plain[key.replace(/^lakehouse-catalog:/, "")] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return {
        plain,
        secrets: {
            postgresAdminPassword: pulumi.secret("admin-password"),
            rolePassword: pulumi.secret("role-password-123"),
            s3AccessKeyId: pulumi.secret("minioadmin"),
            s3SecretAccessKey: pulumi.secret("minio-secret-key"),
        },
    };
}

describe("GitlabVariables wired from the dev stack config, as index.ts does", () => {
    const registrations: Registration[] = [];

    beforeAll(async () => {
        await installRecordingMocks(registrations);
    });

    it("creates every variable of the dev stack's four catalogs with the values consumers read", async () => {
        const config = parseStackConfig(devStackConfig(), root);
        const credentials = deployCredentialsFromEnv({
            PULUMI_BACKEND_URL: "s3://pulumi-state?endpoint=localhost:9000&s3ForcePathStyle=true",
            PULUMI_CONFIG_PASSPHRASE: "dev-passphrase",
            GITLAB_TOKEN: "glpat-0123456789",
        });
        const gitlab = new GitlabVariables(
            "gitlab",
            gitlabVariablesArgs(config, { project: "datalabtechtv/datalab", baseUrl: "http://gitlab" }, credentials),
        );
        await settled(gitlab);

        const variables = registrations.filter((r) => r.type === "gitlab:index/projectVariable:ProjectVariable");
        const values = Object.fromEntries(variables.map((r) => [r.inputs.key, r.inputs.value]));
        expect(values).toEqual({
            PULUMI_STACK: "dev",
            PULUMI_BACKEND_URL: { secret: "s3://pulumi-state?endpoint=localhost:9000&s3ForcePathStyle=true" },
            PULUMI_CONFIG_PASSPHRASE: { secret: "dev-passphrase" },
            GITLAB_TOKEN: { secret: "glpat-0123456789" },
            PSQL_CATALOG_HOST: "localhost",
            PSQL_CATALOG_PORT: "5432",
            PSQL_CATALOG_DB: "lakehouse",
            PSQL_CATALOG_USER: "lakehouse",
            PSQL_CATALOG_PASSWORD: { secret: "role-password-123" },
            S3_ENDPOINT: "localhost:9000",
            S3_BUCKET: "lakehouse",
            S3_REGION: "eu-west-1",
            S3_USE_SSL: "false",
            S3_URL_STYLE: "path",
            S3_ACCESS_KEY_ID: { secret: "minioadmin" },
            S3_SECRET_ACCESS_KEY: { secret: "minio-secret-key" },
            PSQL_CATALOG_STAGE_SCHEMA: "stage",
            S3_STAGE_PREFIX: "stage",
            PSQL_CATALOG_SECURE_STAGE_SCHEMA: "secure_stage",
            S3_SECURE_STAGE_PREFIX: "secure-stage",
            PSQL_CATALOG_GRAPHS_MART_SCHEMA: "graphs",
            S3_GRAPHS_MART_PREFIX: "marts/graphs",
            PSQL_CATALOG_ANALYTICS_MART_SCHEMA: "analytics",
            S3_ANALYTICS_MART_PREFIX: "marts/analytics",
            S3_EXPORTS_PREFIX: "exports",
            S3_BACKUPS_PREFIX: "backups",
            MLFLOW_TRACKING_URI: "http://localhost:5000",
            KAFKA_BROKER_ENDPOINT: "localhost:9092",
        });
        expect(new Set(variables.map((r) => r.inputs.project))).toEqual(new Set(["datalabtechtv/datalab"]));
        const provider = registrations.find((r) => r.type === "pulumi:providers:gitlab");
        expect(provider?.inputs).toEqual({ baseUrl: "http://gitlab/api/v4/" });
    });
});
