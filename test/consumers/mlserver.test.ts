import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
    Mlserver,
    MlserverArgs,
    MlserverCatalog,
    buildMlserverEnv,
    builtImageArgs,
    mlserverArgsProblems,
    mlserverBuildArgs,
} from "../../components/mlserver";
import { byType, installMocks, promiseOf, type Registration, SECRET_SIGNATURE } from "../support/pulumiMocks";

const DEV_CATALOGS: MlserverCatalog[] = [
    { envName: "STAGE", schema: "stage", s3Prefix: "stage" },
    { envName: "SECURE_STAGE", schema: "secure_stage", s3Prefix: "secure-stage" },
    { envName: "GRAPHS_MART", schema: "graphs", s3Prefix: "marts/graphs" },
    { envName: "ANALYTICS_MART", schema: "analytics", s3Prefix: "marts/analytics" },
];

function devArgs(): MlserverArgs {
    return {
        dockerHost: "tcp://docker-apps:2375",
        composeProject: "datalab",
        hostPort: 8000,
        image: "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137",
        postgresHost: "docker-shared",
        postgresPort: 5432,
        postgresDatabase: "lakehouse",
        postgresUser: "lakehouse",
        postgresPassword: pulumi.secret("role-password"),
        s3Endpoint: "minio:9000",
        s3UseSsl: false,
        s3UrlStyle: "path",
        s3AccessKeyId: pulumi.secret("minio-user"),
        s3SecretAccessKey: pulumi.secret("minio-password"),
        s3Region: "eu-west-1",
        s3Bucket: "lakehouse",
        s3ExportsPrefix: "exports",
        s3BackupsPrefix: "backups",
        mlflowTrackingUri: "http://docker-shared:5000",
        kafkaBrokerEndpoint: "docker-shared:9092",
        catalogs: DEV_CATALOGS,
    };
}

/** The dev mlserver built from a checkout of the DataLab repository instead of pulled from the registry. */
function buildArgs(): MlserverArgs {
    return {
        ...devArgs(),
        image: undefined,
        build: { context: "/srv/datalab", dockerfile: "infra/apps/docker/mlserver/Dockerfile" },
    };
}

const DEV_ENV = [
    "MLFLOW_TRACKING_URI=http://docker-shared:5000",
    "KAFKA_BROKER_ENDPOINT=docker-shared:9092",
    "S3_ENDPOINT=minio:9000",
    "S3_USE_SSL=false",
    "S3_URL_STYLE=path",
    "S3_ACCESS_KEY_ID=minio-user",
    "S3_SECRET_ACCESS_KEY=minio-password",
    "S3_REGION=eu-west-1",
    "S3_BUCKET=lakehouse",
    "S3_STAGE_PREFIX=stage",
    "S3_SECURE_STAGE_PREFIX=secure-stage",
    "S3_GRAPHS_MART_PREFIX=marts/graphs",
    "S3_ANALYTICS_MART_PREFIX=marts/analytics",
    "S3_EXPORTS_PREFIX=exports",
    "S3_BACKUPS_PREFIX=backups",
    "PSQL_CATALOG_HOST=docker-shared",
    "PSQL_CATALOG_PORT=5432",
    "PSQL_CATALOG_DB=lakehouse",
    "PSQL_CATALOG_USER=lakehouse",
    "PSQL_CATALOG_PASSWORD=role-password",
    "PSQL_CATALOG_STAGE_SCHEMA=stage",
    "PSQL_CATALOG_SECURE_STAGE_SCHEMA=secure_stage",
    "PSQL_CATALOG_GRAPHS_MART_SCHEMA=graphs",
    "PSQL_CATALOG_ANALYTICS_MART_SCHEMA=analytics",
];

/** Stands in for a catalog migration resource, which index.ts passes in `dependsOn`. */
class StandInMigration extends pulumi.CustomResource {
    constructor(name: string) {
        super("lakehouse-catalog:test:Migration", name, {});
    }
}

const SECRET_VARIABLES = ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "PSQL_CATALOG_PASSWORD"];

describe("buildMlserverEnv", () => {
    it("derives the full environment of the original compose service from the stack values", async () => {
        const env = buildMlserverEnv(devArgs());

        expect(await Promise.all(env.map((variable) => promiseOf(variable)))).toEqual(DEV_ENV);
    });

    it("keeps exactly the password and the S3 keys secret, one variable at a time", async () => {
        const env = buildMlserverEnv(devArgs());

        const secrecy = await Promise.all(env.map((variable) => pulumi.isSecret(variable)));
        const secretVariables = DEV_ENV.filter((_, index) => secrecy[index]).map((line) => line.split("=")[0]);
        expect(secretVariables).toEqual(SECRET_VARIABLES);
    });

    it("keeps the secrets secret even when they arrive as plain values", async () => {
        const env = buildMlserverEnv({
            ...devArgs(),
            postgresPassword: "plain",
            s3AccessKeyId: "a",
            s3SecretAccessKey: "b",
        });

        const secrecy = await Promise.all(env.map((variable) => pulumi.isSecret(variable)));
        expect(secrecy.filter(Boolean)).toHaveLength(SECRET_VARIABLES.length);
    });

    it("adds a fifth catalog's variables with no code change", async () => {
        const env = buildMlserverEnv({
            ...devArgs(),
            catalogs: [...DEV_CATALOGS, { envName: "SILVER", schema: "silver", s3Prefix: "marts/silver" }],
        });

        const lines = await Promise.all(env.map((variable) => promiseOf(variable)));
        expect(lines).toHaveLength(DEV_ENV.length + 2);
        expect(lines.slice(9, 14)).toEqual([
            "S3_STAGE_PREFIX=stage",
            "S3_SECURE_STAGE_PREFIX=secure-stage",
            "S3_GRAPHS_MART_PREFIX=marts/graphs",
            "S3_ANALYTICS_MART_PREFIX=marts/analytics",
            "S3_SILVER_PREFIX=marts/silver",
        ]);
        expect(lines.slice(-5)).toEqual([
            "PSQL_CATALOG_STAGE_SCHEMA=stage",
            "PSQL_CATALOG_SECURE_STAGE_SCHEMA=secure_stage",
            "PSQL_CATALOG_GRAPHS_MART_SCHEMA=graphs",
            "PSQL_CATALOG_ANALYTICS_MART_SCHEMA=analytics",
            "PSQL_CATALOG_SILVER_SCHEMA=silver",
        ]);
    });
});

describe("mlserverArgsProblems", () => {
    const build = { context: "/srv/datalab", dockerfile: "Dockerfile" };
    const problems = (args: { image?: string; build?: typeof build; catalogs?: MlserverCatalog[] }): string[] =>
        mlserverArgsProblems({ catalogs: DEV_CATALOGS, ...args });

    it("accepts a registry image or a build, and catalogs whose variables are their own", () => {
        expect(problems({ image: "registry/mlserver:1" })).toEqual([]);
        expect(problems({ build })).toEqual([]);
        expect(
            problems({ image: "registry/mlserver:1", catalogs: [{ envName: "_TMP", schema: "t", s3Prefix: "t" }] }),
        ).toEqual([]);
    });

    it("names the args' own keys, the rule and the value for each refusal", () => {
        expect(problems({})).toEqual([
            "`image` or `build` must be set (the mlserver runs a registry image or a build of its Dockerfile); got neither",
        ]);
        expect(problems({ image: "registry/mlserver:1", build })).toEqual([
            "`image` and `build` must not both be set (the mlserver runs a registry image or a build of its " +
                "Dockerfile, not both); got both",
        ]);
        expect(problems({ build: { context: "../datalab", dockerfile: "/srv/datalab/Dockerfile" } })).toEqual([
            '`build.context` must be an absolute path (the build provider has its own working directory); got "../datalab"',
            "`build.dockerfile` must be a path relative to `build.context` (the Dockerfile is part of the checkout); " +
                'got "/srv/datalab/Dockerfile"',
        ]);
    });

    it("refuses a catalog whose prefix variable the mlserver or another catalog already sets", () => {
        const catalogs = [
            { envName: "EXPORTS", schema: "e", s3Prefix: "e" },
            { envName: "GRAPHS", schema: "g", s3Prefix: "g" },
            { envName: "GRAPHS", schema: "g2", s3Prefix: "g2" },
        ];
        expect(problems({ image: "registry/mlserver:1", catalogs })).toEqual([
            "`catalogs[0].envName` must give variable names no other value gives (S3_EXPORTS_PREFIX is already the " +
                'mlserver\'s own); got "EXPORTS"',
            "`catalogs[2].envName` must give variable names no other value gives (S3_GRAPHS_PREFIX is already " +
                '`catalogs[1].envName`\'s); got "GRAPHS"',
        ]);
    });
});

describe("Mlserver component", () => {
    let registrations: Registration[];

    beforeAll(async () => {
        ({ registrations } = await installMocks());
    });

    beforeEach(() => {
        registrations.length = 0;
    });

    async function deploy(args: MlserverArgs, opts?: pulumi.ComponentResourceOptions) {
        const mlserver = new Mlserver("mlserver", args, opts);
        await promiseOf(mlserver.container.urn);
        const [container] = byType(registrations, "docker:index/container:Container");
        return { mlserver, container };
    }

    it("talks to the configured Docker host through its own provider", async () => {
        await deploy(devArgs());

        const providers = byType(registrations, "pulumi:providers:docker");
        expect(providers.map((provider) => [provider.name, provider.inputs.host])).toEqual([
            ["mlserver-docker", "tcp://docker-apps:2375"],
        ]);
        const [image] = byType(registrations, "docker:index/remoteImage:RemoteImage");
        const [container] = byType(registrations, "docker:index/container:Container");
        for (const resource of [image, container]) {
            expect(resource.provider).toBe(
                "urn:pulumi:dev::lakehouse-catalog::lakehouse-catalog:consumers:Mlserver$pulumi:providers:docker" +
                    "::mlserver-docker::mlserver-docker-id",
            );
        }
    });

    it("runs the registry image from config, kept on the host for rollbacks", async () => {
        const { container } = await deploy(devArgs());

        const [image] = byType(registrations, "docker:index/remoteImage:RemoteImage");
        expect(image.name).toBe("mlserver-image");
        expect(image.inputs).toEqual({ name: "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137", keepLocally: true });
        expect(container.inputs.image).toBe("sha256:mlserver-image");
    });

    it("publishes port 8000, restarts unless stopped and waits for a healthy /health", async () => {
        const { container } = await deploy(devArgs());

        expect(container.name).toBe("mlserver-container");
        expect(container.inputs.name).toBe("datalab-mlserver-1");
        expect(container.inputs.ports).toEqual([{ internal: 8000, external: 8000 }]);
        expect(container.inputs.restart).toBe("unless-stopped");
        expect(container.inputs.healthcheck).toEqual({
            tests: ["CMD", "curl", "-f", "http://localhost:8000/health"],
            interval: "10s",
            retries: 5,
        });
        expect(container.inputs.wait).toBe(true);
        expect(container.inputs.waitTimeout).toBe(120);
        expect(container.deleteBeforeReplace).toBe(true);
    });

    it("carries the compose labels docker compose ps selects by", async () => {
        const { container } = await deploy({ ...devArgs(), composeProject: "apps", hostPort: 18000 });

        expect(container.inputs.name).toBe("apps-mlserver-1");
        expect(container.inputs.ports).toEqual([{ internal: 8000, external: 18000 }]);
        expect(container.inputs.labels).toEqual([
            { label: "com.docker.compose.project", value: "apps" },
            { label: "com.docker.compose.service", value: "mlserver" },
            { label: "com.docker.compose.oneoff", value: "False" },
            { label: "com.docker.compose.container-number", value: "1" },
        ]);
    });

    it("hands the engine the full environment with only the secret variables marked secret", async () => {
        const { container } = await deploy(devArgs());

        expect(container.wireInputs.envs).toEqual(
            DEV_ENV.map((line) =>
                SECRET_VARIABLES.includes(line.split("=")[0]) ? { ...SECRET_SIGNATURE, value: line } : line,
            ),
        );
        expect(container.additionalSecretOutputs).toEqual(["envs"]);
    });

    it("waits for every catalog migration passed in dependsOn", async () => {
        const migrations = ["stage", "secure_stage", "graphs", "analytics"].map(
            (catalog) => new StandInMigration(`migrate-${catalog}`),
        );
        const migrationUrns = await Promise.all(migrations.map((migration) => promiseOf(migration.urn)));

        const { mlserver, container } = await deploy(devArgs(), { dependsOn: migrations });

        expect(container.dependencies).toEqual(expect.arrayContaining(migrationUrns));
        expect(String(await promiseOf(mlserver.container.urn))).toContain(
            "lakehouse-catalog:consumers:Mlserver$docker:index/container:Container::mlserver-container",
        );
    });

    it("refuses a relative build context before creating anything, naming the args' own key", () => {
        const relative: MlserverArgs = {
            ...devArgs(),
            image: undefined,
            build: { context: "../datalab", dockerfile: "Dockerfile" },
        };
        expect(() => new Mlserver("mlserver", relative)).toThrow(
            '`build.context` must be an absolute path (the build provider has its own working directory); got "../datalab"',
        );
        expect(registrations).toEqual([]);
    });
});

describe("the mlserver image built from the repository", () => {
    it("builds the repository's Dockerfile into the daemon that runs the container, without a registry or a preview build", () => {
        expect(
            mlserverBuildArgs(
                { context: "/srv/datalab", dockerfile: "infra/apps/docker/mlserver/Dockerfile" },
                "datalab",
            ),
        ).toEqual({
            context: { location: "/srv/datalab" },
            dockerfile: { location: "/srv/datalab/infra/apps/docker/mlserver/Dockerfile" },
            tags: ["datalab-mlserver:pulumi"],
            load: true,
            push: false,
            buildOnPreview: false,
        });
    });

    it("finds the build on the daemon by its tag, and reads it again whenever the digest changes", () => {
        expect(builtImageArgs("apps", "sha256:abc")).toEqual({
            name: "apps-mlserver:pulumi",
            keepLocally: true,
            triggers: { digest: "sha256:abc" },
        });
    });
});

describe("Mlserver component with a build", () => {
    let registrations: Registration[];

    beforeAll(async () => {
        ({ registrations } = await installMocks());
    });

    beforeEach(() => {
        registrations.length = 0;
    });

    const COMPONENT = "urn:pulumi:dev::lakehouse-catalog::lakehouse-catalog:consumers:Mlserver";

    async function deploy(args: MlserverArgs, opts?: pulumi.ComponentResourceOptions) {
        const mlserver = new Mlserver("mlserver", args, opts);
        await promiseOf(mlserver.container.urn);
        const [build] = byType(registrations, "docker-build:index:Image");
        const [image] = byType(registrations, "docker:index/remoteImage:RemoteImage");
        const [container] = byType(registrations, "docker:index/container:Container");
        return { mlserver, build, image, container };
    }

    it("builds on the mlserver's Docker host through a docker-build provider of its own", async () => {
        const { build } = await deploy(buildArgs());

        const providers = byType(registrations, "pulumi:providers:docker-build");
        expect(providers.map((provider) => [provider.name, provider.inputs.host, provider.parent])).toEqual([
            ["mlserver-docker-build", "tcp://docker-apps:2375", `${COMPONENT}::mlserver`],
        ]);
        expect(build.name).toBe("mlserver-build");
        expect(build.parent).toBe(`${COMPONENT}::mlserver`);
        expect(build.provider).toBe(
            `${COMPONENT}$pulumi:providers:docker-build::mlserver-docker-build::mlserver-docker-build-id`,
        );
        expect(build.inputs).toEqual({
            context: { location: "/srv/datalab" },
            dockerfile: { location: "/srv/datalab/infra/apps/docker/mlserver/Dockerfile" },
            tags: ["datalab-mlserver:pulumi"],
            load: true,
            push: false,
            buildOnPreview: false,
            // The SDK's own default, sent with every Image.
            network: "default",
        });
    });

    it("runs the container on the built image, read on the host after the build and again for every new digest", async () => {
        const { mlserver, build, image, container } = await deploy(buildArgs());

        expect(image.inputs).toEqual({
            name: "datalab-mlserver:pulumi",
            keepLocally: true,
            triggers: { digest: "sha256:mlserver-build-digest" },
        });
        expect(image.dependencies).toContain(build.urn);
        expect(image.provider).toBe(`${COMPONENT}$pulumi:providers:docker::mlserver-docker::mlserver-docker-id`);
        expect(container.inputs.image).toBe("sha256:mlserver-image");
        expect(container.dependencies).toContain(image.urn);
        expect(await promiseOf(mlserver.build!.digest)).toBe("sha256:mlserver-build-digest");
    });

    it("keeps the container's settings and its wait for the migrations", async () => {
        const migration = new StandInMigration("migrate-stage");
        const migrationUrn = await promiseOf(migration.urn);

        const { build, container } = await deploy(buildArgs(), { dependsOn: [migration] });

        expect(container.dependencies).toContain(migrationUrn);
        // The build itself need not wait: it only reads the repository checkout.
        expect(build.dependencies).not.toContain(migrationUrn);
        expect(container.inputs.name).toBe("datalab-mlserver-1");
        expect(container.inputs.restart).toBe("unless-stopped");
        expect(container.deleteBeforeReplace).toBe(true);
        expect(container.inputs.envs).toEqual(DEV_ENV);
    });

    it("creates no build and no docker-build provider for a registry image", async () => {
        await deploy(devArgs());

        expect(byType(registrations, "docker-build:index:Image")).toEqual([]);
        expect(byType(registrations, "pulumi:providers:docker-build")).toEqual([]);
    });

    it("refuses both a registry image and a build before creating anything", () => {
        const both = { ...devArgs(), build: buildArgs().build } as unknown as MlserverArgs;

        expect(() => new Mlserver("mlserver", both)).toThrow(
            "`image` and `build` must not both be set (the mlserver runs a registry image or a build of its " +
                "Dockerfile, not both); got both",
        );
        expect(registrations).toEqual([]);
    });
});
