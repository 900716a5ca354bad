import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { type S3Endpoint, SSL_MODES, type SslMode } from "./components/endpoints";
import { type PostgresNameKind, postgresNameProblem } from "./migrate/names";
import { S3_URL_STYLES } from "./migrate/s3";

/*
 * The stack config: every key declared once (CONFIG_KEYS: type, default, description, secrecy), its rules as zod
 * schemas, and the validated StackConfig the program is built from. zod rather than valibot: both report every
 * problem at once and let each rule write its own message, and zod is the one TypeScript readers already know.
 * Pulumi.yaml's `config:` block and the README's table are rendered from CONFIG_KEYS (`npm run config:docs`), and a
 * test fails when either differs from it.
 */

const PROJECT = "lakehouse-catalog";

/** How one key is declared. */
export interface ConfigKey {
    /**
     * `string` and `integer` keys with a default, and the secrets, are declared in Pulumi.yaml (scripts/config-docs.ts
     * says why); project config cannot declare objects.
     */
    type: "string" | "integer" | "object" | "list of objects";
    /** One sentence for Pulumi.yaml and the README. */
    description: string;
    /** Applied by the program too: mocks and stacks edited with `pulumi config` do not get Pulumi.yaml's defaults. */
    default?: string | number;
    /** For a secret: what it is for, which the "missing" message gives. */
    secretFor?: string;
    /** For an optional key without a default: what leaving it unset means. */
    unset?: string;
}

export const CONFIG_KEYS = {
    postgresHost: {
        type: "string",
        description: "PostgreSQL server the stack administers and the migrations write to.",
        default: "localhost",
    },
    postgresPort: { type: "integer", description: "PostgreSQL server port.", default: 5432 },
    postgresAdminUser: {
        type: "string",
        description:
            "Admin login the stack uses to create the role, database and schemas (needs CREATEROLE and CREATEDB).",
        default: "postgres",
    },
    postgresAdminPassword: {
        type: "string",
        description: "Password of postgresAdminUser.",
        secretFor: "the stack logs in as postgresAdminUser to create the role, database and schemas",
    },
    postgresAdminDatabase: {
        type: "string",
        description: "Database the admin login connects to first.",
        default: "postgres",
    },
    postgresSslMode: {
        type: "string",
        description: `libpq sslmode for every connection the stack makes (${SSL_MODES.join(", ")}).`,
        default: "prefer",
    },
    database: {
        type: "string",
        description: "Database that holds one schema per catalog; created and owned by `role`.",
        default: "lakehouse",
    },
    role: {
        type: "string",
        description: "Login role that owns the database and the catalog schemas; migrations and clients use it.",
        default: "lakehouse",
    },
    rolePassword: {
        type: "string",
        description: "Password of `role`.",
        secretFor: "the catalog role logs in with it; migrations and clients use it",
    },
    catalogs: {
        type: "list of objects",
        description:
            "The catalogs to migrate, each { name, sqlite, schema, s3Prefix, encrypted?: boolean (false), " +
            "envName?: string (NAME upper-cased) }.",
    },
    s3: {
        type: "object",
        description:
            "The object store of the catalogs' data files: { endpoint, bucket, region, useSsl: boolean, " +
            `urlStyle: ${S3_URL_STYLES.join(" | ")}, exportsPrefix?, backupsPrefix? }.`,
    },
    s3AccessKeyId: {
        type: "string",
        description: "Access key id the clients use to read and write the catalogs' data files.",
        secretFor: "the clients read and write the catalogs' data files with it",
    },
    s3SecretAccessKey: {
        type: "string",
        description: "Secret access key matching s3AccessKeyId.",
        secretFor: "the clients read and write the catalogs' data files with it",
    },
    mlflowTrackingUri: {
        type: "string",
        description: "MLflow tracking server URI passed to the mlserver and the pipeline's jobs.",
        unset: "only while mlserverDockerHost and gitlabProject are unset",
    },
    kafkaBrokerEndpoint: {
        type: "string",
        description: "Kafka broker host:port passed to the mlserver and the pipeline's jobs.",
        unset: "only while mlserverDockerHost and gitlabProject are unset",
    },
    clientPostgresHost: {
        type: "string",
        description: "PostgreSQL host as the consumers (mlserver, DuckDB, dbt, CI jobs) reach it.",
        unset: "postgresHost",
    },
    clientPostgresPort: {
        type: "integer",
        description: "PostgreSQL port as the consumers reach it.",
        unset: "postgresPort",
    },
    clientS3Endpoint: { type: "string", description: "S3 host:port as the consumers reach it.", unset: "s3.endpoint" },
    clientConfigDir: {
        type: "string",
        description: "Directory (relative to the project) that receives init.sql and profiles.yml on `pulumi up`.",
        unset: "no files, the texts are only outputs",
    },
    mlserverDockerHost: {
        type: "string",
        description: "Docker daemon that runs the mlserver (ssh://, tcp:// or unix://).",
        unset: "no mlserver",
    },
    mlserverImage: {
        type: "string",
        description: "Registry image of the mlserver (a tag that changes per build, or a digest).",
        unset: "mlserverBuildContext builds the image instead",
    },
    mlserverBuildContext: {
        type: "string",
        description:
            "Checkout of the DataLab repository (relative to the project) whose Dockerfile builds the mlserver " +
            "image on mlserverDockerHost, instead of mlserverImage.",
        unset: "mlserverImage is used",
    },
    mlserverDockerfile: {
        type: "string",
        description: "The mlserver's Dockerfile, relative to mlserverBuildContext.",
        // Where the original compose file's `build:` found it, relative to the repository root.
        default: "infra/apps/docker/mlserver/Dockerfile",
    },
    mlserverComposeProject: {
        type: "string",
        description:
            "docker compose project whose labels the mlserver container carries (its name is <project>-mlserver-1).",
        // The original apps project: `docker compose -p datalab`.
        default: "datalab",
    },
    mlserverHostPort: {
        type: "integer",
        description: "Host port published for the mlserver's port 8000.",
        default: 8000,
    },
    gitlabProject: {
        type: "string",
        description: "GitLab project (numeric id or group/project) whose CI/CD variables the stack owns.",
        unset: "no GitLab resources",
    },
    gitlabBaseUrl: {
        type: "string",
        description: "GitLab instance URL (with or without /api/v4/).",
        default: "https://gitlab.com",
    },
    gitlabEnvironmentScope: {
        type: "string",
        description: "Environment scope of every CI/CD variable; * applies to all environments.",
        default: "*",
    },
} as const satisfies Record<string, ConfigKey>;

type Keys = typeof CONFIG_KEYS;
type SecretKey = { [K in keyof Keys]: Keys[K] extends { secretFor: string } ? K : never }[keyof Keys];
type PlainKey = Exclude<keyof Keys, SecretKey>;
type DefaultedKey = { [K in keyof Keys]: Keys[K] extends { default: string | number } ? K : never }[keyof Keys];

const SECRET_KEYS = (Object.keys(CONFIG_KEYS) as (keyof Keys)[]).filter(
    (key): key is SecretKey => "secretFor" in CONFIG_KEYS[key],
);
const PLAIN_KEYS = (Object.keys(CONFIG_KEYS) as (keyof Keys)[]).filter(
    (key): key is PlainKey => !("secretFor" in CONFIG_KEYS[key]),
);

/** One DuckLake catalog: where its SQLite file is, which schema it moves to, where its data files live. */
export interface CatalogConfig {
    /** DuckDB attach alias; also names the catalog's Pulumi resources. */
    name: string;
    /** Absolute path of the SQLite catalog (relative paths in config resolve against the project directory). */
    sqlite: string;
    /** PostgreSQL schema that holds the catalog (DuckLake `METADATA_SCHEMA`). */
    schema: string;
    /** Key prefix of the catalog's data files inside the bucket. */
    s3Prefix: string;
    /** Whether DuckLake encrypts the catalog's data files. */
    encrypted: boolean;
    /** `<CATALOG>` in `PSQL_CATALOG_<CATALOG>_SCHEMA` and `S3_<CATALOG>_PREFIX`. */
    envName: string;
}

/** The `s3` key as its schema checked it. */
export type S3Config = z.output<typeof S3>;

export interface PostgresConfig {
    host: string;
    port: number;
    adminUser: string;
    adminPassword: pulumi.Output<string>;
    adminDatabase: string;
    sslMode: SslMode;
}

/** Where the consumers (mlserver, DuckDB, dbt, CI jobs) reach PostgreSQL and S3; often not where the stack does. */
export interface ConsumersConfig {
    postgresHost: string;
    postgresPort: number;
    s3Endpoint: string;
    /** Directory that receives `init.sql` and `profiles.yml`; undefined: the texts are only stack outputs. */
    configDir?: string;
}

/** What the mlserver and the pipeline's jobs are told about the lakehouse's other services. */
export type ServicesConfig = z.output<typeof SERVICES>;

/**
 * The mlserver container: its placement, and `image` (`mlserverImage`) or a `build` (`mlserverBuildContext`, an
 * absolute path, and `mlserverDockerfile`, relative to it), never both.
 */
export type MlserverConfig = ServicesConfig & {
    dockerHost: string;
    composeProject: string;
    hostPort: number;
    /** `S3_EXPORTS_PREFIX` and `S3_BACKUPS_PREFIX`, which the mlserver requires. */
    s3ExportsPrefix: string;
    s3BackupsPrefix: string;
} & ({ image: string; build?: undefined } | { build: { context: string; dockerfile: string }; image?: undefined });

/** The `gitlab*` keys, and the services the pipeline's jobs are told about. */
export type GitlabConfig = z.output<typeof GITLAB> & ServicesConfig;

/** The validated stack configuration. Secrets stay Outputs; nothing here holds a secret as plain text. */
export interface StackConfig {
    postgres: PostgresConfig;
    database: string;
    role: string;
    rolePassword: pulumi.Output<string>;
    catalogs: CatalogConfig[];
    s3: S3Config;
    s3AccessKeyId: pulumi.Output<string>;
    s3SecretAccessKey: pulumi.Output<string>;
    consumers: ConsumersConfig;
    /** Undefined when `mlserverDockerHost` is unset: the stack leaves the mlserver alone. */
    mlserver?: MlserverConfig;
    /** Undefined when `gitlabProject` is unset: the stack leaves GitLab alone. */
    gitlab?: GitlabConfig;
}

/**
 * Config as Pulumi hands it to the program: plain values as text (objects as JSON text), secrets as opaque
 * Outputs. Keeping the raw form separate lets {@link parseStackConfig} stay pure and testable.
 */
export interface RawStackConfig {
    plain: Partial<Record<PlainKey, string>>;
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/** Reads every key once. `getSecret` returns undefined for a missing key without ever exposing the value. */
export function readStackConfig(config: pulumi.Config = new pulumi.Config(PROJECT)): RawStackConfig {
    return {
        plain: Object.fromEntries(PLAIN_KEYS.map((key) => [key, config.get(key)])),
        secrets: Object.fromEntries(SECRET_KEYS.map((key) => [key, config.getSecret(key)])),
    };
}

/**
 * Thrown with every problem found, one `<key> must <constraint> (<why>); got <value>` line each. A RunError,
 * so Pulumi prints just the message, not a stack trace.
 */
export class StackConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(problems.join("\n"));
        this.name = "StackConfigError";
    }
}

/**
 * Validates the raw config into a {@link StackConfig}, before any resource exists. Collects every problem rather
 * than stopping at the first, so one `pulumi preview` shows all that needs fixing. The mlserver's and GitLab's keys
 * are checked only when they are enabled, and so are the services they need.
 * @param projectDir directory that relative SQLite and build context paths resolve against.
 */
export function parseStackConfig(raw: RawStackConfig, projectDir: string): StackConfig {
    const problems = SECRET_KEYS.filter((key) => raw.secrets[key] === undefined).map(
        (key) =>
            `${PROJECT}:${key} must be set as a secret (${CONFIG_KEYS[key].secretFor}); got nothing. ` +
            `Run: pulumi config set --secret ${PROJECT}:${key}`,
    );
    const check = <T>(schema: z.ZodType<T>, input: unknown): T | undefined => {
        const result = schema.safeParse(input);
        problems.push(
            ...(result.error?.issues.map((issue) => `${PROJECT}:${keyOf(issue.path)} ${issue.message}`) ?? []),
        );
        return result.data;
    };

    const plain = raw.plain;
    const base = check(BASE, plain);
    const s3 = check(S3_KEY, plain)?.s3;
    const consumers = check(CONSUMERS, plain);
    const mlserverOn = plain.mlserverDockerHost !== undefined;
    const gitlabOn = plain.gitlabProject !== undefined;
    const services = mlserverOn || gitlabOn ? check(SERVICES, plain) : undefined;
    // The mlserver's prefixes are looked for in an `s3` that passed its own rules: a broken one is reported once.
    const mlserver = mlserverOn ? check(MLSERVER, { ...plain, s3 }) : undefined;
    const gitlab = gitlabOn ? check(GITLAB, plain) : undefined;

    if (problems.length > 0 || base === undefined || s3 === undefined || consumers === undefined) {
        throw new StackConfigError(problems);
    }
    const secret = (key: SecretKey): pulumi.Output<string> => raw.secrets[key]!;
    return {
        postgres: {
            host: base.postgresHost,
            port: base.postgresPort,
            adminUser: base.postgresAdminUser,
            adminPassword: secret("postgresAdminPassword"),
            adminDatabase: base.postgresAdminDatabase,
            sslMode: base.postgresSslMode,
        },
        database: base.database,
        role: base.role,
        rolePassword: secret("rolePassword"),
        catalogs: base.catalogs.map((catalog) => ({
            ...catalog,
            sqlite: path.resolve(projectDir, catalog.sqlite),
            envName: envNameOf(catalog),
        })),
        s3,
        s3AccessKeyId: secret("s3AccessKeyId"),
        s3SecretAccessKey: secret("s3SecretAccessKey"),
        consumers: {
            postgresHost: consumers.clientPostgresHost ?? base.postgresHost,
            postgresPort: consumers.clientPostgresPort ?? base.postgresPort,
            s3Endpoint: consumers.clientS3Endpoint ?? s3.endpoint,
            configDir: consumers.clientConfigDir,
        },
        // Both need the services, which were checked (and so are defined) whenever either is on.
        mlserver: mlserver && mlserverConfig(mlserver, services!, projectDir),
        gitlab: gitlab && { ...gitlab, ...services! },
    };
}

/** The bucket as the consumers (mlserver, DuckDB, dbt, CI jobs) reach it. */
export function consumerS3Endpoint(config: StackConfig): S3Endpoint {
    return {
        s3Endpoint: config.consumers.s3Endpoint,
        s3Bucket: config.s3.bucket,
        s3Region: config.s3.region,
        s3UseSsl: config.s3.useSsl,
        s3UrlStyle: config.s3.urlStyle,
    };
}

/** `catalogs[3].name` from zod's `["catalogs", 3, "name"]`. */
function keyOf(issuePath: readonly PropertyKey[]): string {
    return issuePath
        .map((part, index) =>
            typeof part === "number" ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`,
        )
        .join("");
}

/** Renders a config value for a message. Only ever called with non-secret values. */
function shown(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

/** One rule's message: `must <constraint> (<why>); got <value>`, the key is prefixed later. */
function mustMessage(constraint: string, why: string, value: unknown): string {
    return `must ${constraint} (${why}); got ${shown(value)}`;
}

/** zod's error option for one rule, {@link mustMessage} with the value zod checked. */
function must(constraint: string, why: string): { error: (issue: { input?: unknown }) => string } {
    return { error: (issue) => mustMessage(constraint, why, issue.input) };
}

/** A string with more than whitespace; `missing` is the constraint reported when there is no string at all. */
function nonEmpty(why: string, missing = "be a non-empty string") {
    return z.string(must(missing, why)).refine((value) => value.trim() !== "", must("be a non-empty string", why));
}

const TCP_PORT = must("be an integer from 1 to 65535", "a TCP port");
const port = z
    .string(TCP_PORT)
    .refine((text) => /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 65535, TCP_PORT)
    .transform(Number);

function oneOf<const T extends readonly [string, ...string[]]>(values: T, why: string) {
    return z.enum(values, must(`be one of ${values.join(", ")}`, why));
}

/** The project's rule for PostgreSQL names, shared with the migration engine (migrate/names.ts). */
function postgresName(kind: PostgresNameKind) {
    // Whatever is not a string breaks the first rule, the identifier pattern.
    const first = postgresNameProblem(kind, "")!;
    return z.string(must(first.constraint, first.why)).superRefine((name, context) => {
        const problem = postgresNameProblem(kind, name);
        if (problem !== undefined) {
            context.addIssue({ code: "custom", message: mustMessage(problem.constraint, problem.why, name) });
        }
    });
}

const S3_PREFIX = must(
    "be a non-empty key prefix without a leading or trailing slash",
    "it is joined as s3://<bucket>/<prefix>",
);
const s3Prefix = z
    .string(S3_PREFIX)
    .refine((prefix) => prefix !== "" && !prefix.startsWith("/") && !prefix.endsWith("/"), S3_PREFIX);

/** A key whose unset value is its declared default, checked like a set one. */
function defaulted<T>(key: DefaultedKey, schema: z.ZodType<T, string>) {
    return schema.prefault(String(CONFIG_KEYS[key].default));
}

/** An object key: JSON text in config. Text that is not JSON is checked as it is, and refused with its value. */
function json<T>(schema: z.ZodType<T>) {
    return z.preprocess((text) => {
        try {
            return typeof text === "string" ? JSON.parse(text) : text;
        } catch {
            return text;
        }
    }, schema);
}

/** Every key a strict object may have, and what it must be as a whole. */
function strictObject<S extends z.ZodRawShape>(shape: S, expected: string, why: string) {
    const keys = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (issue) =>
            issue.code === "unrecognized_keys"
                ? `must only have the keys ${keys} (a misspelt key would be ignored); got ` +
                  issue.keys.map((key) => JSON.stringify(key)).join(", ")
                : mustMessage(`be ${expected}`, why, issue.input),
    });
}

// A catalog's name is its DuckDB attach alias and part of its resources' names: the unquoted-identifier form.
const CATALOG_NAME = /^[a-z_][a-z0-9_]*$/;
const CATALOG_NAME_RULE = must("match [a-z_][a-z0-9_]*", "it is the DuckDB attach alias and part of resource names");
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
// `S3_<CATALOG>_PREFIX` for these would be the mlserver's own S3_EXPORTS_PREFIX and S3_BACKUPS_PREFIX.
const TAKEN_ENV_NAMES = ["EXPORTS", "BACKUPS"];
const ENV_NAME_RULE = must(
    `match [A-Z_][A-Z0-9_]* and not be ${TAKEN_ENV_NAMES.join(" or ")}`,
    "it becomes part of environment variable names, and S3_EXPORTS_PREFIX and S3_BACKUPS_PREFIX are taken",
);

const CATALOG = strictObject(
    {
        name: z.string(CATALOG_NAME_RULE).regex(CATALOG_NAME, CATALOG_NAME_RULE),
        sqlite: nonEmpty("the migration reads the catalog from this file"),
        schema: postgresName("schema"),
        s3Prefix,
        encrypted: z.boolean(must("be true or false", "DuckLake's ENCRYPTED flag")).default(false),
        envName: z.string(ENV_NAME_RULE).optional(),
    },
    "an object with name, sqlite, schema and s3Prefix",
    "one catalog per entry",
).superRefine((catalog, context) => {
    // Every consumer (mlserver, client config, GitLab variables) uses the name as written, the default one too.
    const envName = envNameOf(catalog);
    if (!ENV_NAME.test(envName) || TAKEN_ENV_NAMES.includes(envName)) {
        context.addIssue({ code: "custom", path: ["envName"], message: ENV_NAME_RULE.error({ input: envName }) });
    }
});

/** A catalog's `envName`: as set, or its name upper-cased. */
function envNameOf(catalog: { name: string; envName?: string }): string {
    return catalog.envName ?? catalog.name.toUpperCase();
}

const UNIQUE_CATALOG_FIELDS = {
    name: "the name is the DuckDB attach alias and names the catalog's resources",
    schema: "two catalogs in one schema would overwrite each other",
    envName: "clients find each catalog by its environment variable names",
    s3Prefix: "two catalogs under one prefix would mix their data files",
} as const;

const CATALOG_LIST = must("be a non-empty list of catalogs", "each entry is one catalog to migrate");
const CATALOGS = z
    .array(CATALOG, CATALOG_LIST)
    .min(1, CATALOG_LIST)
    .superRefine((catalogs, context) => {
        for (const [field, why] of Object.entries(UNIQUE_CATALOG_FIELDS)) {
            const first = new Map<string, number>();
            catalogs.forEach((catalog, index) => {
                const value = field === "envName" ? envNameOf(catalog) : catalog[field as keyof typeof catalog];
                if (typeof value !== "string" || value === "") {
                    return;
                }
                const earlier = first.get(value);
                if (earlier === undefined) {
                    first.set(value, index);
                } else {
                    context.addIssue({
                        code: "custom",
                        path: [index, field],
                        message: mustMessage(`differ from catalogs[${earlier}].${field}`, why, value),
                    });
                }
            });
        }
    });

const S3 = strictObject(
    {
        endpoint: nonEmpty("host:port of the object store"),
        bucket: nonEmpty("the bucket holding the catalogs' data files"),
        region: nonEmpty("S3 signatures include the region"),
        useSsl: z.boolean(must("be true or false", "whether clients use https for the object store")),
        urlStyle: oneOf(S3_URL_STYLES, "S3 addressing style"),
        exportsPrefix: s3Prefix.optional(),
        backupsPrefix: s3Prefix.optional(),
    },
    "an object with endpoint, bucket, region, useSsl and urlStyle",
    "the clients' object store",
);

/** The keys of the stack's own PostgreSQL side and the catalogs, in the order their problems are reported. */
const BASE = z.object({
    postgresHost: defaulted("postgresHost", nonEmpty("the server to connect to")),
    postgresPort: defaulted("postgresPort", port),
    postgresAdminUser: defaulted("postgresAdminUser", nonEmpty("the stack logs in as this user")),
    postgresAdminDatabase: defaulted(
        "postgresAdminDatabase",
        nonEmpty("the admin login needs an existing database to connect to"),
    ),
    postgresSslMode: defaulted("postgresSslMode", oneOf(SSL_MODES, "libpq sslmode values the stack supports")),
    database: defaulted("database", postgresName("database")),
    role: defaulted("role", postgresName("role")),
    catalogs: json(CATALOGS),
});

const S3_KEY = z.object({ s3: json(S3) });

/** Where the consumers reach PostgreSQL and S3, when not where the stack does. */
const CONSUMERS = z.object({
    clientPostgresHost: nonEmpty("the consumers connect to PostgreSQL there").optional(),
    clientPostgresPort: port.optional(),
    clientS3Endpoint: nonEmpty("host:port of the object store as the consumers reach it").optional(),
    clientConfigDir: nonEmpty("init.sql and profiles.yml are written there").optional(),
});

/** A key the mlserver and the pipeline need: required once either is enabled. */
function service(why: string) {
    return nonEmpty(why, "be set when mlserverDockerHost or gitlabProject is set");
}

const SERVICES = z.object({
    mlflowTrackingUri: service("the mlserver and the pipeline's jobs log models and runs there"),
    kafkaBrokerEndpoint: service("the mlserver and the pipeline's jobs read inference requests from it"),
});

const DOCKER_HOST_SCHEMES = ["ssh://", "tcp://", "unix://"];
// Compose's own rule for project names; anything else would never match `docker compose -p <project>`.
const COMPOSE_PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** The mlserver's keys, checked when `mlserverDockerHost` is set; `s3` is the already valid one. */
const MLSERVER = z
    .object({
        mlserverDockerHost: z
            .string()
            .refine(
                (host) => DOCKER_HOST_SCHEMES.some((scheme) => host.startsWith(scheme)),
                must(
                    `start with ${DOCKER_HOST_SCHEMES.join(", ")}`,
                    "the address of the Docker daemon that runs the mlserver",
                ),
            ),
        // An empty image is as good as none.
        mlserverImage: z
            .string()
            .optional()
            .transform((image) => (image?.trim() === "" ? undefined : image)),
        mlserverBuildContext: nonEmpty("the checkout of the repository the mlserver image is built from").optional(),
        mlserverDockerfile: defaulted("mlserverDockerfile", z.string()),
        mlserverComposeProject: defaulted(
            "mlserverComposeProject",
            z
                .string()
                .regex(
                    COMPOSE_PROJECT_NAME,
                    must(
                        "be lowercase letters, digits, - and _, starting with a letter or digit",
                        "docker compose project name rules",
                    ),
                ),
        ),
        mlserverHostPort: defaulted("mlserverHostPort", port),
        s3: z.object({ exportsPrefix: z.string().optional(), backupsPrefix: z.string().optional() }).optional(),
    })
    .superRefine((mlserver, context) => {
        const { mlserverImage: image, mlserverBuildContext: buildContext, mlserverDockerfile: dockerfile } = mlserver;
        const refuse = (key: (string | number)[], constraint: string, why: string, value: unknown): void =>
            context.addIssue({ code: "custom", path: key, message: mustMessage(constraint, why, value) });
        if (image === undefined && buildContext === undefined) {
            refuse(
                ["mlserverImage"],
                "be set, or mlserverBuildContext instead, when mlserverDockerHost is set",
                "the mlserver runs a registry image or one built from the repository's Dockerfile",
                undefined,
            );
        }
        if (image !== undefined && buildContext !== undefined) {
            refuse(
                ["mlserverImage"],
                "not be set together with mlserverBuildContext; unset one of them",
                "the mlserver runs either a registry image or a build of the repository, not both",
                image,
            );
        }
        if (buildContext !== undefined && (dockerfile.trim() === "" || path.isAbsolute(dockerfile))) {
            refuse(
                ["mlserverDockerfile"],
                "be a path relative to mlserverBuildContext",
                "the Dockerfile is part of the repository checkout",
                dockerfile,
            );
        }
        for (const prefix of ["exportsPrefix", "backupsPrefix"] as const) {
            if (mlserver.s3 !== undefined && mlserver.s3[prefix] === undefined) {
                refuse(["s3", prefix], "be set when mlserverDockerHost is set", "the mlserver requires it", undefined);
            }
        }
    });

function mlserverConfig(
    mlserver: z.output<typeof MLSERVER>,
    services: ServicesConfig,
    projectDir: string,
): MlserverConfig {
    const placement = {
        dockerHost: mlserver.mlserverDockerHost,
        composeProject: mlserver.mlserverComposeProject,
        hostPort: mlserver.mlserverHostPort,
        // Checked present whenever `s3` is valid, and the stack config is not built while it is not.
        s3ExportsPrefix: mlserver.s3!.exportsPrefix!,
        s3BackupsPrefix: mlserver.s3!.backupsPrefix!,
        ...services,
    };
    return mlserver.mlserverBuildContext === undefined
        ? { ...placement, image: mlserver.mlserverImage! }
        : {
              ...placement,
              // The build provider has a working directory of its own.
              build: {
                  context: path.resolve(projectDir, mlserver.mlserverBuildContext),
                  dockerfile: mlserver.mlserverDockerfile,
              },
          };
}

// GitLab's API takes a project by numeric id or by its full path (group/subgroup/project).
const GITLAB_PROJECT = /^(\d+|[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+)$/;

/** The `gitlab*` keys, checked when `gitlabProject` is set. */
const GITLAB = z
    .object({
        gitlabProject: z
            .string()
            .regex(
                GITLAB_PROJECT,
                must(
                    "be a numeric project id or a full path like group/project",
                    "the project whose CI/CD variables the stack owns",
                ),
            ),
        gitlabBaseUrl: defaulted(
            "gitlabBaseUrl",
            z.string().transform((url, context) => {
                const apiUrl = gitlabApiUrl(url);
                if (apiUrl === undefined) {
                    context.addIssue({
                        code: "custom",
                        message: mustMessage(
                            "be an http(s) URL of the GitLab instance",
                            "the provider calls its REST API",
                            url,
                        ),
                    });
                }
                return apiUrl ?? z.NEVER;
            }),
        ),
        gitlabEnvironmentScope: defaulted(
            "gitlabEnvironmentScope",
            nonEmpty("GitLab environment the variables apply to; * for all"),
        ),
    })
    .transform((gitlab) => ({
        /** `gitlabProject`: numeric id or full path of the project that runs the pipeline. */
        project: gitlab.gitlabProject,
        /** `gitlabBaseUrl` as the provider wants it: the REST API endpoint, `…/api/v4/`. */
        baseUrl: gitlab.gitlabBaseUrl,
        environmentScope: gitlab.gitlabEnvironmentScope,
    }));

/**
 * The GitLab REST API endpoint for `gitlabBaseUrl`, or undefined when it is no http(s) URL: the provider wants
 * `…/api/v4/` with its trailing slash, while people naturally write the instance URL.
 */
export function gitlabApiUrl(baseUrl: string): string | undefined {
    let url: URL;
    try {
        url = new URL(baseUrl);
    } catch {
        return undefined;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        return undefined;
    }
    const apiPath = url.pathname.replace(/\/+$/, "");
    url.pathname = apiPath.endsWith("/api/v4") ? `${apiPath}/` : `${apiPath}/api/v4/`;
    return url.toString();
}
