import { beforeAll, describe, expect, it, vi } from "vitest";

import {
    byType,
    DEPLOY_ENV,
    fullStackConfig,
    type Harness,
    installMocks,
    type Program,
    promiseOf,
    runProgram,
    SECRETS,
} from "../support/pulumiMocks";

// The graph, its dependencies and the secrecy of every input are tested through index.ts in test/stack; this file
// pins what the consumers receive from it: the mlserver's environment and the client files.
describe("consumers as index.ts wires them, on the full test stack", () => {
    let harness: Harness;
    let program: Program;

    beforeAll(async () => {
        harness = await installMocks();
        vi.resetModules();
        program = await runProgram(fullStackConfig(), DEPLOY_ENV);
    });

    it("gives the mlserver the stack's values under the names the original application reads, at the client addresses", () => {
        const [container] = byType(harness.registrations, "docker:index/container:Container");
        expect(container.inputs.image).toBe("sha256:mlserver-image");
        expect(container.inputs.envs).toEqual([
            "MLFLOW_TRACKING_URI=http://localhost:5000",
            "KAFKA_BROKER_ENDPOINT=localhost:9092",
            "S3_ENDPOINT=minio:9000",
            "S3_USE_SSL=false",
            "S3_URL_STYLE=path",
            `S3_ACCESS_KEY_ID=${SECRETS["lakehouse-catalog:s3AccessKeyId"]}`,
            `S3_SECRET_ACCESS_KEY=${SECRETS["lakehouse-catalog:s3SecretAccessKey"]}`,
            "S3_REGION=eu-west-1",
            "S3_BUCKET=lakehouse",
            "S3_STAGE_PREFIX=stage",
            "S3_SECURE_STAGE_PREFIX=secure-stage",
            "S3_GRAPHS_MART_PREFIX=marts/graphs",
            "S3_ANALYTICS_MART_PREFIX=marts/analytics",
            "S3_EXPORTS_PREFIX=exports",
            "S3_BACKUPS_PREFIX=backups",
            "PSQL_CATALOG_HOST=docker-shared",
            "PSQL_CATALOG_PORT=6432",
            "PSQL_CATALOG_DB=lakehouse",
            "PSQL_CATALOG_USER=lakehouse",
            `PSQL_CATALOG_PASSWORD=${SECRETS["lakehouse-catalog:rolePassword"]}`,
            "PSQL_CATALOG_STAGE_SCHEMA=stage",
            "PSQL_CATALOG_SECURE_STAGE_SCHEMA=secure_stage",
            "PSQL_CATALOG_GRAPHS_MART_SCHEMA=graphs",
            "PSQL_CATALOG_ANALYTICS_MART_SCHEMA=analytics",
        ]);
        const secretNames = (container.wireInputs.envs as unknown[])
            .filter((line) => typeof line !== "string")
            .map((line) => String((line as { value: string }).value).split("=")[0]);
        expect(secretNames).toEqual(["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "PSQL_CATALOG_PASSWORD"]);
    });

    it("renders the client files for the stack's catalogs at the client addresses, and writes them into clientConfigDir", async () => {
        const initSql = await promiseOf(program.duckdbInitSql);
        const profilesYml = await promiseOf(program.dbtProfilesYml);
        expect(initSql.split("\n").filter((line) => line.startsWith("ATTACH"))).toEqual([
            `ATTACH 'ducklake:' AS "stage" (METADATA_SCHEMA 'stage', DATA_PATH 's3://lakehouse/stage');`,
            `ATTACH 'ducklake:' AS "secure_stage" (METADATA_SCHEMA 'secure_stage', DATA_PATH 's3://lakehouse/secure-stage', ENCRYPTED);`,
            `ATTACH 'ducklake:' AS "graphs" (METADATA_SCHEMA 'graphs', DATA_PATH 's3://lakehouse/marts/graphs');`,
            `ATTACH 'ducklake:' AS "analytics" (METADATA_SCHEMA 'analytics', DATA_PATH 's3://lakehouse/marts/analytics');`,
        ]);
        expect(initSql).toContain("    HOST 'docker-shared',\n    PORT 6432,");
        expect(initSql).toContain("    ENDPOINT 'minio:9000',");

        const files = byType(harness.registrations, "command:local:Command")
            .filter((command) => command.name.startsWith("clients-"))
            .map((command) => [command.inputs.environment, command.inputs.stdin]);
        expect(files).toEqual([
            [{ TARGET_FILE: "local/clients/init.sql" }, initSql],
            [{ TARGET_FILE: "local/clients/profiles.yml" }, profilesYml],
        ]);
        for (const secret of Object.values(SECRETS)) {
            expect(initSql).not.toContain(secret);
            expect(profilesYml).not.toContain(secret);
        }
    });
});
