import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GITLAB_PROVIDER_VERSION } from "../../components/gitlabProjectVariable";
import {
    CiVariableSettings,
    GitlabVariables,
    deployCredentialsFromEnv,
    listCiVariables,
} from "../../components/gitlabVariables";
import { allRegistered, installMocks, promiseOf, type Registration, SECRET_SIGNATURE } from "../support/pulumiMocks";

let registrations: Registration[];

beforeAll(async () => {
    ({ registrations } = await installMocks());
});

beforeEach(() => {
    registrations.length = 0;
});

/** The dev stack's values, as index.ts hands them over. */
function devSettings(): CiVariableSettings {
    return {
        pulumiStack: "dev",
        pulumiBackendUrl: pulumi.secret("s3://pulumi-state?endpoint=minio:9000&s3ForcePathStyle=true"),
        pulumiConfigPassphrase: pulumi.secret("correct-horse-battery-staple"),
        gitlabToken: pulumi.secret("glpat-0123456789abcdefghij"),
        postgresHost: "docker-shared",
        postgresPort: 5432,
        postgresDatabase: "lakehouse",
        postgresUser: "lakehouse",
        postgresPassword: pulumi.secret("Zq7$w9+x/Lk2"),
        catalogs: [
            { envName: "STAGE", schema: "stage", s3Prefix: "stage" },
            { envName: "SECURE_STAGE", schema: "secure_stage", s3Prefix: "secure-stage" },
            { envName: "GRAPHS_MART", schema: "graphs", s3Prefix: "marts/graphs" },
            { envName: "ANALYTICS_MART", schema: "analytics", s3Prefix: "marts/analytics" },
        ],
        s3Endpoint: "minio:9000",
        s3Bucket: "lakehouse",
        s3Region: "eu-west-1",
        s3UseSsl: false,
        s3UrlStyle: "path",
        s3AccessKeyId: pulumi.secret("minio_username"),
        s3SecretAccessKey: pulumi.secret("minio_password"),
        s3ExportsPrefix: "exports",
        s3BackupsPrefix: "backups",
        mlflowTrackingUri: "http://mlflow:5000",
        kafkaBrokerEndpoint: "kafka:9092",
    };
}

/** The provider is a child of the component, so its URN carries the component's type. */
const PROVIDER_URN =
    "urn:pulumi:dev::lakehouse-catalog::lakehouse-catalog:gitlab:GitlabVariables$pulumi:providers:gitlab::" +
    "gitlab-provider";

const SECRET_KEYS = [
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "GITLAB_TOKEN",
    "PSQL_CATALOG_PASSWORD",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
];

const EXPECTED: Record<string, string> = {
    PULUMI_STACK: "dev",
    PULUMI_BACKEND_URL: "s3://pulumi-state?endpoint=minio:9000&s3ForcePathStyle=true",
    PULUMI_CONFIG_PASSPHRASE: "correct-horse-battery-staple",
    GITLAB_TOKEN: "glpat-0123456789abcdefghij",
    PSQL_CATALOG_HOST: "docker-shared",
    PSQL_CATALOG_PORT: "5432",
    PSQL_CATALOG_DB: "lakehouse",
    PSQL_CATALOG_USER: "lakehouse",
    PSQL_CATALOG_PASSWORD: "Zq7$w9+x/Lk2",
    S3_ENDPOINT: "minio:9000",
    S3_BUCKET: "lakehouse",
    S3_REGION: "eu-west-1",
    S3_USE_SSL: "false",
    S3_URL_STYLE: "path",
    S3_ACCESS_KEY_ID: "minio_username",
    S3_SECRET_ACCESS_KEY: "minio_password",
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
    MLFLOW_TRACKING_URI: "http://mlflow:5000",
    KAFKA_BROKER_ENDPOINT: "kafka:9092",
};

describe("listCiVariables", () => {
    it("lists every variable the pipeline and the deployed jobs read, with its value", async () => {
        const variables = listCiVariables(devSettings());
        expect(variables.map((variable) => variable.key)).toEqual(Object.keys(EXPECTED));
        const values = await Promise.all(variables.map((variable) => promiseOf(variable.value)));
        expect(Object.fromEntries(variables.map((variable, i) => [variable.key, values[i]]))).toEqual(EXPECTED);
    });

    it("marks exactly the credentials as secrets, and their values are Pulumi secrets", async () => {
        const variables = listCiVariables(devSettings());
        expect(variables.filter((variable) => variable.secret).map((variable) => variable.key)).toEqual(SECRET_KEYS);
        for (const variable of variables) {
            expect(await pulumi.isSecret(pulumi.output(variable.value)), variable.key).toBe(variable.secret);
        }
    });

    it("makes a secret of a credential even when it is handed over as plain text", async () => {
        const settings = { ...devSettings(), postgresPassword: "plain-text-password" };
        const password = listCiVariables(settings).find((variable) => variable.key === "PSQL_CATALOG_PASSWORD");
        expect(await pulumi.isSecret(pulumi.output(password?.value ?? ""))).toBe(true);
    });

    it("adds a catalog's two variables when a catalog is added, and none for unset optional prefixes", () => {
        const settings = devSettings();
        settings.catalogs.push({ envName: "SILVER", schema: "silver", s3Prefix: "silver" });
        delete settings.s3ExportsPrefix;
        delete settings.s3BackupsPrefix;
        const keys = listCiVariables(settings).map((variable) => variable.key);
        expect(keys).toContain("PSQL_CATALOG_SILVER_SCHEMA");
        expect(keys).toContain("S3_SILVER_PREFIX");
        expect(keys).not.toContain("S3_EXPORTS_PREFIX");
        expect(keys).not.toContain("S3_BACKUPS_PREFIX");
        expect(keys).toHaveLength(Object.keys(EXPECTED).length);
    });
});

describe("GitlabVariables", () => {
    const component = (environmentScope?: string): GitlabVariables =>
        new GitlabVariables("gitlab", {
            ...devSettings(),
            project: "datalabtechtv/datalab",
            baseUrl: "https://gitlab.example.com/api/v4/",
            environmentScope,
        });

    it("registers one ProjectVariable per variable, child of the component, with the pinned provider", async () => {
        const gitlab = component();
        await allRegistered();

        const providers = registrations.filter((r) => r.type === "pulumi:providers:gitlab");
        expect(providers).toHaveLength(1);
        expect(providers[0].name).toBe("gitlab-provider");
        expect(providers[0].inputs).toEqual({ baseUrl: "https://gitlab.example.com/api/v4/" });
        // The engine downloads the plugin named by this option when it is missing (see the README).
        expect(providers[0].version).toBe("10.1.1");
        expect(GITLAB_PROVIDER_VERSION).toBe("10.1.1");

        const variables = registrations.filter((r) => r.type === "gitlab:index/projectVariable:ProjectVariable");
        // Secrets register a tick later than plain values (their masking check runs first), so compare as sets.
        expect(variables.map((r) => r.name).sort()).toEqual(
            Object.keys(EXPECTED)
                .map((key) => `gitlab-${key}`)
                .sort(),
        );
        for (const variable of variables) {
            expect(variable.version).toBe(GITLAB_PROVIDER_VERSION);
            expect(variable.provider).toBe(`${PROVIDER_URN}::gitlab-provider-id`);
        }
        const urn = await promiseOf(gitlab.urn);
        expect(urn).toBe("urn:pulumi:dev::lakehouse-catalog::lakehouse-catalog:gitlab:GitlabVariables::gitlab");
        expect(gitlab.variableKeys).toEqual(Object.keys(EXPECTED));
    });

    it("sends each variable's key, value and flags; secrets masked, hidden, protected and secret", async () => {
        component();
        await allRegistered();
        const variables = registrations.filter((r) => r.type === "gitlab:index/projectVariable:ProjectVariable");
        for (const variable of variables) {
            const key = variable.name.replace(/^gitlab-/, "");
            const secret = SECRET_KEYS.includes(key);
            expect(variable.wireInputs, key).toEqual({
                project: "datalabtechtv/datalab",
                key,
                value: secret ? { ...SECRET_SIGNATURE, value: EXPECTED[key] } : EXPECTED[key],
                description: expect.stringMatching(
                    /^Managed by Pulumi stack lakehouse-catalog\/dev from .+; change it there, not here\.$/,
                ),
                environmentScope: "*",
                masked: secret,
                hidden: secret,
                protected: secret,
                raw: true,
            });
            expect(variable.additionalSecretOutputs, key).toEqual(secret ? ["value"] : []);
        }
        const password = variables.find((r) => r.name === "gitlab-PSQL_CATALOG_PASSWORD");
        expect(password?.inputs.description).toBe(
            "Managed by Pulumi stack lakehouse-catalog/dev from config `lakehouse-catalog:rolePassword`; " +
                "change it there, not here.",
        );
    });

    it("applies the configured environment scope to every variable", async () => {
        component("production");
        await allRegistered();
        const variables = registrations.filter((r) => r.type === "gitlab:index/projectVariable:ProjectVariable");
        expect(variables).toHaveLength(Object.keys(EXPECTED).length);
        expect(new Set(variables.map((r) => r.inputs.environmentScope))).toEqual(new Set(["production"]));
    });
});

describe("deployCredentialsFromEnv", () => {
    it("reads the three credentials as Pulumi secrets", async () => {
        const credentials = deployCredentialsFromEnv({
            PULUMI_BACKEND_URL: "postgres://state:pw@db/state",
            PULUMI_CONFIG_PASSPHRASE: "passphrase-1234",
            GITLAB_TOKEN: "glpat-abcdefgh",
        });
        expect(await promiseOf(credentials.pulumiBackendUrl)).toBe("postgres://state:pw@db/state");
        expect(await promiseOf(credentials.pulumiConfigPassphrase)).toBe("passphrase-1234");
        expect(await promiseOf(credentials.gitlabToken)).toBe("glpat-abcdefgh");
        for (const output of Object.values(credentials)) {
            expect(await pulumi.isSecret(output)).toBe(true);
        }
    });

    it("names every missing variable, why the pipeline needs it and the way out", () => {
        expect(() =>
            deployCredentialsFromEnv({ PULUMI_CONFIG_PASSPHRASE: "passphrase-1234", GITLAB_TOKEN: "" }),
        ).toThrow(
            "`PULUMI_BACKEND_URL` must be set in the environment of `pulumi up` (the pipeline reads and writes " +
                "the stack's state there; `pulumi login` alone is not enough).\n" +
                "`GITLAB_TOKEN` must be set in the environment of `pulumi up` (the GitLab provider " +
                "authenticates with it; use a project access token with the `api` scope and the Maintainer " +
                "role).\n" +
                "Export it, or unset `lakehouse-catalog:gitlabProject` to leave GitLab alone.",
        );
    });
});
