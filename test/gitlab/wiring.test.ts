import { beforeAll, describe, expect, it, vi } from "vitest";

import {
    byType,
    DEPLOY_ENV,
    fullStackConfig,
    type Harness,
    installMocks,
    runProgram,
    SECRETS,
} from "../support/pulumiMocks";

const VARIABLE = "gitlab:index/projectVariable:ProjectVariable";

// The graph and the secrecy of every input are tested through index.ts in test/stack; this file pins the values
// the pipeline's jobs receive, and that missing deploy credentials stop the program before any resource.
describe("GitlabVariables as index.ts wires them, on the full test stack", () => {
    let harness: Harness;

    beforeAll(async () => {
        harness = await installMocks();
    });

    async function runFullStack(env: Record<string, string>): Promise<void> {
        harness.registrations.length = 0;
        vi.resetModules();
        await runProgram(fullStackConfig(), env);
    }

    it("creates every variable with the values the consumers read, at the consumers' addresses", async () => {
        await runFullStack(DEPLOY_ENV);

        const variables = byType(harness.registrations, VARIABLE);
        expect(Object.fromEntries(variables.map((r) => [r.inputs.key, r.inputs.value]))).toEqual({
            PULUMI_STACK: "dev",
            PULUMI_BACKEND_URL: DEPLOY_ENV.PULUMI_BACKEND_URL,
            PULUMI_CONFIG_PASSPHRASE: DEPLOY_ENV.PULUMI_CONFIG_PASSPHRASE,
            GITLAB_TOKEN: DEPLOY_ENV.GITLAB_TOKEN,
            PSQL_CATALOG_HOST: "docker-shared",
            PSQL_CATALOG_PORT: "6432",
            PSQL_CATALOG_DB: "lakehouse",
            PSQL_CATALOG_USER: "lakehouse",
            PSQL_CATALOG_PASSWORD: SECRETS["lakehouse-catalog:rolePassword"],
            S3_ENDPOINT: "minio:9000",
            S3_BUCKET: "lakehouse",
            S3_REGION: "eu-west-1",
            S3_USE_SSL: "false",
            S3_URL_STYLE: "path",
            S3_ACCESS_KEY_ID: SECRETS["lakehouse-catalog:s3AccessKeyId"],
            S3_SECRET_ACCESS_KEY: SECRETS["lakehouse-catalog:s3SecretAccessKey"],
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
        expect(new Set(variables.map((r) => `${r.inputs.project} ${r.inputs.environmentScope}`))).toEqual(
            new Set(["datalabtechtv/datalab *"]),
        );
        const [provider] = byType(harness.registrations, "pulumi:providers:gitlab");
        expect(provider.inputs.baseUrl).toBe("http://gitlab/api/v4/");
    });

    it("stops before any resource when a deploy credential is missing from the environment", async () => {
        const run = runFullStack({ ...DEPLOY_ENV, GITLAB_TOKEN: "" });

        await expect(run).rejects.toThrow(
            "`GITLAB_TOKEN` must be set in the environment of `pulumi up` (the GitLab provider authenticates with it; " +
                "use a project access token with the `api` scope and the Maintainer role).\n" +
                "Export it, or unset `lakehouse-catalog:gitlabProject` to leave GitLab alone.",
        );
        expect(harness.registrations).toEqual([]);
    });
});
