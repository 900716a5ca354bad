import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

import { gitlabVariablesArgs, listCiVariables } from "../../components/gitlabVariables";
import { mlserverArgsProblems } from "../../components/mlserver";
import { CONFIG_KEYS, gitlabApiUrl, parseStackConfig, RawStackConfig, StackConfigError } from "../../config";
import { renderedConfigDocs } from "../../scripts/config-docs";
import { devStackConfig, FULL_STACK_KEYS, PROJECT_DIR, SECRETS } from "../support/pulumiMocks";

/** The dev stack's raw config, with the given plain keys overridden or (undefined) removed. */
function rawConfig(plain: Record<string, string | undefined> = {}, without: string[] = []): RawStackConfig {
    const raw: RawStackConfig = { plain: {}, secrets: {} };
    for (const [key, value] of Object.entries({ ...devStackConfig(), ...prefixed(plain) })) {
        const short = key.replace(/^lakehouse-catalog:/, "");
        if (value === undefined || without.includes(short)) {
            continue;
        }
        if (key in SECRETS) {
            (raw.secrets as Record<string, pulumi.Output<string>>)[short] = pulumi.secret(value);
        } else {
            (raw.plain as Record<string, string>)[short] = value;
        }
    }
    return raw;
}

function prefixed(plain: Record<string, string | undefined>): Record<string, string | undefined> {
    return Object.fromEntries(Object.entries(plain).map(([k, v]) => [`lakehouse-catalog:${k}`, v]));
}

/** The full test stack's plain keys (mlserver and GitLab on), without the project prefix, as rawConfig takes them. */
const FULL = Object.fromEntries(
    Object.entries(FULL_STACK_KEYS).map(([key, value]) => [key.replace("lakehouse-catalog:", ""), value]),
);

const DEV_CATALOGS = [
    { name: "stage", sqlite: "local/stage.sqlite", schema: "stage", s3Prefix: "stage" },
    {
        name: "secure_stage",
        sqlite: "local/secure_stage.sqlite",
        schema: "secure_stage",
        s3Prefix: "secure-stage",
        encrypted: true,
    },
    {
        name: "graphs",
        sqlite: "local/marts/graphs.sqlite",
        schema: "graphs",
        s3Prefix: "marts/graphs",
        envName: "GRAPHS_MART",
    },
    {
        name: "analytics",
        sqlite: "local/marts/analytics.sqlite",
        schema: "analytics",
        s3Prefix: "marts/analytics",
        envName: "ANALYTICS_MART",
    },
];

/** Dev catalogs with catalog `index` changed by `change`. */
function catalogsWith(index: number, change: Record<string, unknown>): string {
    return JSON.stringify(DEV_CATALOGS.map((catalog, i) => (i === index ? { ...catalog, ...change } : catalog)));
}

function problemsOf(raw: RawStackConfig): string[] {
    try {
        parseStackConfig(raw, PROJECT_DIR);
    } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as StackConfigError).problems;
    }
    throw new Error("parseStackConfig accepted an invalid config");
}

describe("parseStackConfig on the dev stack", () => {
    const config = parseStackConfig(rawConfig(), PROJECT_DIR);

    it("reads the four catalogs with absolute SQLite paths and default env names", () => {
        expect(config.catalogs).toEqual([
            {
                name: "stage",
                sqlite: path.join(PROJECT_DIR, "local/stage.sqlite"),
                schema: "stage",
                s3Prefix: "stage",
                encrypted: false,
                envName: "STAGE",
            },
            {
                name: "secure_stage",
                sqlite: path.join(PROJECT_DIR, "local/secure_stage.sqlite"),
                schema: "secure_stage",
                s3Prefix: "secure-stage",
                encrypted: true,
                envName: "SECURE_STAGE",
            },
            {
                name: "graphs",
                sqlite: path.join(PROJECT_DIR, "local/marts/graphs.sqlite"),
                schema: "graphs",
                s3Prefix: "marts/graphs",
                encrypted: false,
                envName: "GRAPHS_MART",
            },
            {
                name: "analytics",
                sqlite: path.join(PROJECT_DIR, "local/marts/analytics.sqlite"),
                schema: "analytics",
                s3Prefix: "marts/analytics",
                encrypted: false,
                envName: "ANALYTICS_MART",
            },
        ]);
    });

    it("reads the connection, names and S3 settings", () => {
        expect({ ...config.postgres, adminPassword: undefined }).toEqual({
            host: "localhost",
            port: 5432,
            adminUser: "postgres",
            adminPassword: undefined,
            adminDatabase: "postgres",
            sslMode: "prefer",
        });
        expect([config.database, config.role]).toEqual(["lakehouse", "lakehouse"]);
        expect(config.s3).toEqual({
            endpoint: "localhost:9000",
            bucket: "lakehouse",
            region: "eu-west-1",
            useSsl: false,
            urlStyle: "path",
            exportsPrefix: "exports",
            backupsPrefix: "backups",
        });
    });

    it("keeps every secret an Output marked secret", async () => {
        for (const secret of [
            config.postgres.adminPassword,
            config.rolePassword,
            config.s3AccessKeyId,
            config.s3SecretAccessKey,
        ]) {
            expect(await pulumi.isSecret(secret)).toBe(true);
        }
    });

    it("applies the defaults Pulumi.yaml declares when keys are unset", () => {
        const unset = [
            "postgresHost",
            "postgresPort",
            "postgresAdminUser",
            "postgresAdminDatabase",
            "postgresSslMode",
            "database",
            "role",
        ];
        const defaulted = parseStackConfig(rawConfig({}, unset), PROJECT_DIR);
        expect(defaulted.postgres.host).toBe("localhost");
        expect(defaulted.postgres.port).toBe(5432);
        expect(defaulted.role).toBe("lakehouse");

        const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { default?: unknown }>;
        };
        const declared = Object.fromEntries(
            Object.entries(project.config)
                .filter(([, decl]) => decl.default !== undefined)
                .map(([key, decl]) => [key, decl.default]),
        );
        const defaults = Object.fromEntries(
            Object.entries(CONFIG_KEYS).flatMap(([key, decl]) => ("default" in decl ? [[key, decl.default]] : [])),
        );
        expect(declared).toEqual(defaults);
    });

    it("has Pulumi.yaml's config block and the README's table exactly as `npm run config:docs` renders them", () => {
        for (const [file, rendered] of Object.entries(renderedConfigDocs())) {
            // On a difference: run `npm run config:docs` and commit both files with the change to CONFIG_KEYS.
            expect(fs.readFileSync(path.join(PROJECT_DIR, file), "utf8"), file).toBe(rendered);
        }
    });

    it("declares in Pulumi.yaml every key it reads that has a default, and every secret", () => {
        const text = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
        const project = parse(text) as {
            config: Record<string, { type: string; secret?: boolean; description?: string; default?: unknown }>;
        };
        const secretKeys = Object.keys(SECRETS).map((key) => key.replace("lakehouse-catalog:", ""));
        for (const [key, decl] of Object.entries(project.config)) {
            expect(decl.description, key).toBeTruthy();
            expect(decl.secret === true, key).toBe(secretKeys.includes(key));
            // The Pulumi CLI refuses a stack that leaves a declared key without a default unset ("Stack 'dev' is
            // missing configuration values ..."): only the secrets, which every stack must set, may lack one.
            expect(decl.default !== undefined || decl.secret === true, key).toBe(true);
        }
        // catalogs and s3 are objects, which project config cannot declare; the optional keys without a default
        // are listed in a comment instead.
        const devKeys = Object.keys(devStackConfig()).map((key) => key.replace("lakehouse-catalog:", ""));
        const undeclared = [
            "clientConfigDir",
            "clientPostgresHost",
            "clientPostgresPort",
            "clientS3Endpoint",
            "kafkaBrokerEndpoint",
            "mlflowTrackingUri",
        ];
        expect(devKeys.filter((key) => !(key in project.config)).sort()).toEqual(
            ["catalogs", "s3", ...undeclared].sort(),
        );
        for (const key of [
            ...undeclared,
            "mlserverDockerHost",
            "mlserverImage",
            "mlserverBuildContext",
            "gitlabProject",
        ]) {
            expect(text, key).toMatch(new RegExp(`^#   ${key} \\((string|integer)\\): `, "m"));
        }
    });
});

describe("parseStackConfig on the consumers' and GitLab's keys", () => {
    it("leaves the mlserver and GitLab out of the dev stack, and reads its client addresses", () => {
        const config = parseStackConfig(rawConfig(), PROJECT_DIR);
        expect(config.consumers).toEqual({
            postgresHost: "localhost",
            postgresPort: 5432,
            s3Endpoint: "localhost:9000",
            configDir: "local/clients",
        });
        expect(config.mlserver).toBeUndefined();
        expect(config.gitlab).toBeUndefined();
    });

    it("hands GitLab's args the API URL as config.ts normalized it, and no args when gitlabProject is unset", () => {
        const credentials = {
            PULUMI_BACKEND_URL: "s3://state",
            PULUMI_CONFIG_PASSPHRASE: "passphrase",
            GITLAB_TOKEN: "glpat-token",
        };
        expect(gitlabVariablesArgs(parseStackConfig(rawConfig(FULL), PROJECT_DIR), credentials)?.baseUrl).toBe(
            "http://gitlab/api/v4/",
        );
        expect(gitlabVariablesArgs(parseStackConfig(rawConfig(), PROJECT_DIR), {})).toBeUndefined();
    });

    it("falls back to the stack's own PostgreSQL and S3 addresses, and writes no files, when the client keys are unset", () => {
        const config = parseStackConfig(
            rawConfig({ postgresHost: "db.internal", postgresPort: "6543" }, [
                "clientPostgresHost",
                "clientPostgresPort",
                "clientS3Endpoint",
                "clientConfigDir",
            ]),
            PROJECT_DIR,
        );
        expect(config.consumers).toEqual({
            postgresHost: "db.internal",
            postgresPort: 6543,
            s3Endpoint: "localhost:9000",
            configDir: undefined,
        });
    });

    it("reads the full test stack's mlserver and GitLab settings, with defaults and the normalized API URL", () => {
        const config = parseStackConfig(rawConfig(FULL), PROJECT_DIR);
        expect(config.consumers).toEqual({
            postgresHost: "docker-shared",
            postgresPort: 6432,
            s3Endpoint: "minio:9000",
            configDir: "local/clients",
        });
        expect(config.mlserver).toEqual({
            dockerHost: "tcp://docker-apps:2375",
            image: "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137",
            composeProject: "datalab",
            hostPort: 8000,
            s3ExportsPrefix: "exports",
            s3BackupsPrefix: "backups",
            mlflowTrackingUri: "http://localhost:5000",
            kafkaBrokerEndpoint: "localhost:9092",
        });
        expect(config.gitlab).toEqual({
            project: "datalabtechtv/datalab",
            baseUrl: "http://gitlab/api/v4/",
            environmentScope: "*",
            mlflowTrackingUri: "http://localhost:5000",
            kafkaBrokerEndpoint: "localhost:9092",
        });
    });

    it("accepts the three kinds of Docker host", () => {
        for (const host of ["ssh://deploy@docker-apps", "tcp://docker-apps:2375", "unix:///var/run/docker.sock"]) {
            expect(
                parseStackConfig(rawConfig({ ...FULL, mlserverDockerHost: host }), PROJECT_DIR).mlserver?.dockerHost,
            ).toBe(host);
        }
    });

    it("reads a build of the repository instead of a registry image, the context resolved against the project", () => {
        const config = parseStackConfig(
            rawConfig({ ...FULL, mlserverBuildContext: "../datalab" }, ["mlserverImage"]),
            PROJECT_DIR,
        );
        expect(config.mlserver).toEqual({
            dockerHost: "tcp://docker-apps:2375",
            build: {
                context: path.resolve(PROJECT_DIR, "../datalab"),
                dockerfile: "infra/apps/docker/mlserver/Dockerfile",
            },
            composeProject: "datalab",
            hostPort: 8000,
            s3ExportsPrefix: "exports",
            s3BackupsPrefix: "backups",
            mlflowTrackingUri: "http://localhost:5000",
            kafkaBrokerEndpoint: "localhost:9092",
        });
        expect(config.mlserver).not.toHaveProperty("image");

        const other = parseStackConfig(
            rawConfig(
                { ...FULL, mlserverBuildContext: "/srv/datalab", mlserverDockerfile: "docker/Dockerfile.mlserver" },
                ["mlserverImage"],
            ),
            PROJECT_DIR,
        );
        expect(other.mlserver).toMatchObject({
            build: { context: "/srv/datalab", dockerfile: "docker/Dockerfile.mlserver" },
        });
    });

    const cases: [string, Record<string, string>, string][] = [
        [
            "a client port out of range",
            { clientPostgresPort: "0" },
            'lakehouse-catalog:clientPostgresPort must be an integer from 1 to 65535 (a TCP port); got "0"',
        ],
        [
            "an empty client config directory",
            { clientConfigDir: "" },
            'lakehouse-catalog:clientConfigDir must be a non-empty string (init.sql and profiles.yml are written there); got ""',
        ],
        [
            "a Docker host without a scheme",
            { ...FULL, mlserverDockerHost: "docker-apps:2375" },
            'lakehouse-catalog:mlserverDockerHost must start with ssh://, tcp://, unix:// (the address of the Docker daemon that runs the mlserver); got "docker-apps:2375"',
        ],
        [
            "a Docker host without an image",
            { mlserverDockerHost: "ssh://deploy@docker-apps" },
            "lakehouse-catalog:mlserverImage must be set, or mlserverBuildContext instead, when mlserverDockerHost is set (the mlserver runs a registry image or one built from the repository's Dockerfile); got nothing",
        ],
        [
            "both a registry image and a build",
            { ...FULL, mlserverBuildContext: "../datalab" },
            'lakehouse-catalog:mlserverImage must not be set together with mlserverBuildContext; unset one of them (the mlserver runs either a registry image or a build of the repository, not both); got "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137"',
        ],
        [
            "an empty build context",
            { mlserverDockerHost: "ssh://deploy@docker-apps", mlserverBuildContext: "" },
            'lakehouse-catalog:mlserverBuildContext must be a non-empty string (the checkout of the repository the mlserver image is built from); got ""',
        ],
        [
            "an absolute Dockerfile path",
            {
                mlserverDockerHost: "ssh://deploy@docker-apps",
                mlserverBuildContext: "../datalab",
                mlserverDockerfile: "/srv/datalab/Dockerfile",
            },
            'lakehouse-catalog:mlserverDockerfile must be a path relative to mlserverBuildContext (the Dockerfile is part of the repository checkout); got "/srv/datalab/Dockerfile"',
        ],
        [
            "a compose project with capitals",
            { ...FULL, mlserverComposeProject: "DataLab" },
            'lakehouse-catalog:mlserverComposeProject must be lowercase letters, digits, - and _, starting with a letter or digit (docker compose project name rules); got "DataLab"',
        ],
        [
            "an mlserver host port out of range",
            { ...FULL, mlserverHostPort: "65536" },
            'lakehouse-catalog:mlserverHostPort must be an integer from 1 to 65535 (a TCP port); got "65536"',
        ],
        [
            "an mlserver without an exports prefix",
            {
                ...FULL,
                s3: JSON.stringify({
                    endpoint: "localhost:9000",
                    bucket: "lakehouse",
                    region: "eu-west-1",
                    useSsl: false,
                    urlStyle: "path",
                    backupsPrefix: "backups",
                }),
            },
            "lakehouse-catalog:s3.exportsPrefix must be set when mlserverDockerHost is set (the mlserver requires it); got nothing",
        ],
        [
            "a GitLab URL without a scheme",
            { ...FULL, gitlabBaseUrl: "gitlab.example.com" },
            'lakehouse-catalog:gitlabBaseUrl must be an http(s) URL of the GitLab instance (the provider calls its REST API); got "gitlab.example.com"',
        ],
        [
            "a GitLab project that is neither an id nor a path",
            { ...FULL, gitlabProject: "datalab" },
            'lakehouse-catalog:gitlabProject must be a numeric project id or a full path like group/project (the project whose CI/CD variables the stack owns); got "datalab"',
        ],
        [
            "an empty environment scope",
            { ...FULL, gitlabEnvironmentScope: "" },
            'lakehouse-catalog:gitlabEnvironmentScope must be a non-empty string (GitLab environment the variables apply to; * for all); got ""',
        ],
    ];

    it.each(cases)("refuses %s", (_label, plain, message) => {
        expect(problemsOf(rawConfig(plain))).toEqual([message]);
    });

    it("reports a bad GitLab URL together with the other problems", () => {
        const problems = problemsOf(rawConfig({ ...FULL, gitlabBaseUrl: "ftp://gitlab", postgresPort: "0" }));
        expect(problems).toEqual([
            'lakehouse-catalog:postgresPort must be an integer from 1 to 65535 (a TCP port); got "0"',
            'lakehouse-catalog:gitlabBaseUrl must be an http(s) URL of the GitLab instance (the provider calls its REST API); got "ftp://gitlab"',
        ]);
    });
});

describe("parseStackConfig asks for what is enabled", () => {
    const services = ["mlflowTrackingUri", "kafkaBrokerEndpoint"];

    it("runs a stack without the MLflow and Kafka addresses while the mlserver and GitLab are off", () => {
        const config = parseStackConfig(rawConfig({}, services), PROJECT_DIR);
        expect(config.mlserver).toBeUndefined();
        expect(config.gitlab).toBeUndefined();
    });

    it.each([
        ["the mlserver", { mlserverDockerHost: FULL.mlserverDockerHost, mlserverImage: FULL.mlserverImage }],
        ["GitLab", { gitlabProject: FULL.gitlabProject }],
    ])("requires them once %s is on", (_label, enabled) => {
        expect(problemsOf(rawConfig(enabled, services))).toEqual([
            "lakehouse-catalog:mlflowTrackingUri must be set when mlserverDockerHost or gitlabProject is set (the " +
                "mlserver and the pipeline's jobs log models and runs there); got nothing",
            "lakehouse-catalog:kafkaBrokerEndpoint must be set when mlserverDockerHost or gitlabProject is set (the " +
                "mlserver and the pipeline's jobs read inference requests from it); got nothing",
        ]);
        expect(problemsOf(rawConfig({ ...enabled, mlflowTrackingUri: " " }))).toEqual([
            "lakehouse-catalog:mlflowTrackingUri must be a non-empty string (the mlserver and the pipeline's jobs " +
                'log models and runs there); got " "',
        ]);
    });

    it("passes the local stack's committed config, which sets neither", () => {
        const file = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        const plain = Object.fromEntries(
            Object.entries(file.config).map(([key, value]) => [
                key.replace("lakehouse-catalog:", ""),
                typeof value === "object" ? JSON.stringify(value) : String(value),
            ]),
        );
        expect(plain).not.toHaveProperty("mlflowTrackingUri");
        const secrets = Object.fromEntries(
            Object.entries(SECRETS).map(([key, value]) => [
                key.replace("lakehouse-catalog:", ""),
                pulumi.secret(value),
            ]),
        );
        const config = parseStackConfig({ plain, secrets }, PROJECT_DIR);
        expect(config.catalogs.map((catalog) => catalog.name)).toEqual(["sales", "marketing", "finance"]);
        expect([config.mlserver, config.gitlab]).toEqual([undefined, undefined]);
    });

    it("leaves the mlserver's and GitLab's keys unchecked while they are off", () => {
        const config = parseStackConfig(
            rawConfig({ mlserverComposeProject: "Not Checked", gitlabBaseUrl: "not a URL" }),
            PROJECT_DIR,
        );
        expect([config.mlserver, config.gitlab]).toEqual([undefined, undefined]);
    });

    it("reports the problems of every part at once, the required objects' included", () => {
        const problems = problemsOf(
            rawConfig({ postgresPort: "0", mlserverDockerHost: "docker-apps", gitlabProject: "datalab" }, [
                "catalogs",
                "mlflowTrackingUri",
                "rolePassword",
            ]),
        );
        expect(problems).toEqual([
            "lakehouse-catalog:rolePassword must be set as a secret (the catalog role logs in with it; migrations " +
                "and clients use it); got nothing. Run: pulumi config set --secret lakehouse-catalog:rolePassword",
            'lakehouse-catalog:postgresPort must be an integer from 1 to 65535 (a TCP port); got "0"',
            "lakehouse-catalog:catalogs must be a non-empty list of catalogs (each entry is one catalog to migrate); " +
                "got nothing",
            "lakehouse-catalog:mlflowTrackingUri must be set when mlserverDockerHost or gitlabProject is set (the " +
                "mlserver and the pipeline's jobs log models and runs there); got nothing",
            "lakehouse-catalog:mlserverDockerHost must start with ssh://, tcp://, unix:// (the address of the " +
                'Docker daemon that runs the mlserver); got "docker-apps"',
            "lakehouse-catalog:mlserverImage must be set, or mlserverBuildContext instead, when mlserverDockerHost " +
                "is set (the mlserver runs a registry image or one built from the repository's Dockerfile); got nothing",
            "lakehouse-catalog:gitlabProject must be a numeric project id or a full path like group/project (the " +
                'project whose CI/CD variables the stack owns); got "datalab"',
        ]);
    });
});

describe("gitlabApiUrl", () => {
    it.each([
        ["https://gitlab.com", "https://gitlab.com/api/v4/"],
        ["https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"],
        ["http://gitlab/api/v4", "http://gitlab/api/v4/"],
        ["http://gitlab/api/v4/", "http://gitlab/api/v4/"],
        ["https://example.com/gitlab", "https://example.com/gitlab/api/v4/"],
    ])("turns %s into %s", (baseUrl, expected) => {
        expect(gitlabApiUrl(baseUrl)).toBe(expected);
    });

    it.each(["gitlab.example.com", "ftp://gitlab.example.com", ""])(
        "refuses %j in config, naming the key",
        (baseUrl) => {
            expect(gitlabApiUrl(baseUrl)).toBeUndefined();
            expect(problemsOf(rawConfig({ gitlabProject: "datalabtechtv/datalab", gitlabBaseUrl: baseUrl }))).toEqual([
                "lakehouse-catalog:gitlabBaseUrl must be an http(s) URL of the GitLab instance (the provider calls its " +
                    `REST API); got ${JSON.stringify(baseUrl)}`,
            ]);
        },
    );
});

describe("one envName rule for config and every consumer", () => {
    it("accepts a catalog named `_tmp` (envName `_TMP`) in config, the mlserver and the GitLab variables", () => {
        const catalogs = JSON.stringify([
            ...DEV_CATALOGS,
            { name: "_tmp", sqlite: "local/tmp.sqlite", schema: "tmp", s3Prefix: "tmp" },
        ]);
        const config = parseStackConfig(rawConfig({ ...FULL, catalogs }), PROJECT_DIR);

        expect(config.catalogs[4].envName).toBe("_TMP");
        expect(config.mlserver).toBeDefined();
        expect(mlserverArgsProblems({ ...config.mlserver!, catalogs: config.catalogs })).toEqual([]);
        const credentials = {
            PULUMI_BACKEND_URL: "s3://state",
            PULUMI_CONFIG_PASSPHRASE: "passphrase",
            GITLAB_TOKEN: "glpat-token",
        };
        const keys = listCiVariables(gitlabVariablesArgs(config, credentials)!).map((variable) => variable.key);
        expect(keys).toEqual(expect.arrayContaining(["PSQL_CATALOG__TMP_SCHEMA", "S3__TMP_PREFIX"]));
    });
});

describe("parseStackConfig refuses bad config with one message per problem", () => {
    const cases: [string, RawStackConfig, string][] = [
        [
            "a duplicate catalog name",
            rawConfig({ catalogs: catalogsWith(3, { name: "graphs", envName: "ANALYTICS_MART" }) }),
            'lakehouse-catalog:catalogs[3].name must differ from catalogs[2].name (the name is the DuckDB attach alias and names the catalog\'s resources); got "graphs"',
        ],
        [
            "a duplicate schema",
            rawConfig({ catalogs: catalogsWith(1, { schema: "stage" }) }),
            'lakehouse-catalog:catalogs[1].schema must differ from catalogs[0].schema (two catalogs in one schema would overwrite each other); got "stage"',
        ],
        [
            "a duplicate envName",
            rawConfig({ catalogs: catalogsWith(2, { envName: "ANALYTICS_MART" }) }),
            'lakehouse-catalog:catalogs[3].envName must differ from catalogs[2].envName (clients find each catalog by its environment variable names); got "ANALYTICS_MART"',
        ],
        [
            "a duplicate s3Prefix",
            rawConfig({ catalogs: catalogsWith(0, { s3Prefix: "secure-stage" }) }),
            'lakehouse-catalog:catalogs[1].s3Prefix must differ from catalogs[0].s3Prefix (two catalogs under one prefix would mix their data files); got "secure-stage"',
        ],
        [
            "a lowercase envName",
            rawConfig({ catalogs: catalogsWith(2, { envName: "graphs_mart" }) }),
            'lakehouse-catalog:catalogs[2].envName must match [A-Z_][A-Z0-9_]* and not be EXPORTS or BACKUPS (it becomes part of environment variable names, and S3_EXPORTS_PREFIX and S3_BACKUPS_PREFIX are taken); got "graphs_mart"',
        ],
        [
            "an envName whose prefix variable is the mlserver's own",
            rawConfig({ catalogs: catalogsWith(2, { envName: "EXPORTS" }) }),
            'lakehouse-catalog:catalogs[2].envName must match [A-Z_][A-Z0-9_]* and not be EXPORTS or BACKUPS (it becomes part of environment variable names, and S3_EXPORTS_PREFIX and S3_BACKUPS_PREFIX are taken); got "EXPORTS"',
        ],
        [
            "a schema that is not a lowercase identifier",
            rawConfig({ catalogs: catalogsWith(0, { schema: "Stage" }) }),
            'lakehouse-catalog:catalogs[0].schema must be a lowercase PostgreSQL schema name matching [a-z_][a-z0-9_]* (clients use it unquoted, and PostgreSQL folds unquoted names to lowercase); got "Stage"',
        ],
        [
            "a schema longer than 63 bytes",
            rawConfig({ catalogs: catalogsWith(0, { schema: "s".repeat(64) }) }),
            `lakehouse-catalog:catalogs[0].schema must be at most 63 bytes (PostgreSQL silently truncates longer names); got "${"s".repeat(64)}"`,
        ],
        [
            "the public schema",
            rawConfig({ catalogs: catalogsWith(0, { schema: "public" }) }),
            'lakehouse-catalog:catalogs[0].schema must not be a reserved schema name (public, information_schema, pg_*) (PostgreSQL owns these names); got "public"',
        ],
        [
            "a pg_ role",
            rawConfig({ role: "pg_monitor" }),
            'lakehouse-catalog:role must not be a reserved role name (public, none, current_user, current_role, session_user, pg_*) (PostgreSQL owns these names); got "pg_monitor"',
        ],
        [
            "a database name with a dash",
            rawConfig({ database: "lake-house" }),
            'lakehouse-catalog:database must be a lowercase PostgreSQL database name matching [a-z_][a-z0-9_]* (clients use it unquoted, and PostgreSQL folds unquoted names to lowercase); got "lake-house"',
        ],
        [
            "port 0",
            rawConfig({ postgresPort: "0" }),
            'lakehouse-catalog:postgresPort must be an integer from 1 to 65535 (a TCP port); got "0"',
        ],
        [
            "port 65536",
            rawConfig({ postgresPort: "65536" }),
            'lakehouse-catalog:postgresPort must be an integer from 1 to 65535 (a TCP port); got "65536"',
        ],
        [
            "a fractional port",
            rawConfig({ postgresPort: "5432.5" }),
            'lakehouse-catalog:postgresPort must be an integer from 1 to 65535 (a TCP port); got "5432.5"',
        ],
        [
            "an unknown sslmode",
            rawConfig({ postgresSslMode: "on" }),
            'lakehouse-catalog:postgresSslMode must be one of disable, prefer, require, verify-ca, verify-full (libpq sslmode values the stack supports); got "on"',
        ],
        [
            "an empty s3Prefix",
            rawConfig({ catalogs: catalogsWith(2, { s3Prefix: "" }) }),
            'lakehouse-catalog:catalogs[2].s3Prefix must be a non-empty key prefix without a leading or trailing slash (it is joined as s3://<bucket>/<prefix>); got ""',
        ],
        [
            "an empty sqlite path",
            rawConfig({ catalogs: catalogsWith(0, { sqlite: "" }) }),
            'lakehouse-catalog:catalogs[0].sqlite must be a non-empty string (the migration reads the catalog from this file); got ""',
        ],
        [
            "a misspelt catalog key",
            rawConfig({ catalogs: catalogsWith(0, { sqlitePath: "x.sqlite" }) }),
            'lakehouse-catalog:catalogs[0] must only have the keys name, sqlite, schema, s3Prefix, encrypted, envName (a misspelt key would be ignored); got "sqlitePath"',
        ],
        [
            "no catalogs",
            rawConfig({ catalogs: "[]" }),
            "lakehouse-catalog:catalogs must be a non-empty list of catalogs (each entry is one catalog to migrate); got []",
        ],
        [
            "a non-boolean encrypted flag",
            rawConfig({ catalogs: catalogsWith(1, { encrypted: "yes" }) }),
            'lakehouse-catalog:catalogs[1].encrypted must be true or false (DuckLake\'s ENCRYPTED flag); got "yes"',
        ],
        [
            "an unknown S3 URL style",
            rawConfig({
                s3: JSON.stringify({
                    endpoint: "e:9000",
                    bucket: "b",
                    region: "r",
                    useSsl: false,
                    urlStyle: "virtual",
                }),
            }),
            'lakehouse-catalog:s3.urlStyle must be one of path, vhost (S3 addressing style); got "virtual"',
        ],
    ];

    it.each(cases)("%s", (_label, raw, message) => {
        expect(problemsOf(raw)).toEqual([message]);
    });

    it("names a missing secret and the command that sets it, without any secret value", () => {
        const problems = problemsOf(rawConfig({}, ["rolePassword"]));
        expect(problems).toEqual([
            "lakehouse-catalog:rolePassword must be set as a secret (the catalog role logs in with it; migrations and clients use it); " +
                "got nothing. Run: pulumi config set --secret lakehouse-catalog:rolePassword",
        ]);
    });

    it("reports every problem at once", () => {
        const problems = problemsOf(rawConfig({ postgresPort: "0", postgresSslMode: "on" }, ["postgresAdminPassword"]));
        expect(problems).toHaveLength(3);
        const message = problems.join("\n");
        for (const secret of Object.values(SECRETS)) {
            expect(message).not.toContain(secret);
        }
    });
});
