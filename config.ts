import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

import { type GitlabSettings, normalizeGitlabBaseUrl } from "./components/gitlabVariables";
import {
    catalogEnvNameBreach,
    MLSERVER_DEFAULTS,
    type MlserverImageSource,
    mlserverImageSourceBreaches,
    mlserverPlacementBreaches,
    type RuleBreach,
} from "./components/mlserver";

export const PROJECT = "lakehouse-catalog";

export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
/** libpq `sslmode`; `allow` is left out because it silently falls back to plain text after trying TLS. */
export type SslMode = (typeof SSL_MODES)[number];

export const S3_URL_STYLES = ["path", "vhost"] as const;
export type S3UrlStyle = (typeof S3_URL_STYLES)[number];

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

export interface S3Config {
    endpoint: string;
    bucket: string;
    region: string;
    useSsl: boolean;
    urlStyle: S3UrlStyle;
    exportsPrefix?: string;
    backupsPrefix?: string;
}

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

/**
 * The mlserver container; present only when `mlserverDockerHost` is set. It runs `image` (`mlserverImage`) or a
 * `build` (`mlserverBuildContext`, an absolute path, and `mlserverDockerfile`, relative to it), never both.
 */
export type MlserverConfig = MlserverSettings & MlserverImageSource;

export interface MlserverSettings {
    dockerHost: string;
    composeProject: string;
    hostPort: number;
    /** `S3_EXPORTS_PREFIX` and `S3_BACKUPS_PREFIX`, which the mlserver requires. */
    s3ExportsPrefix: string;
    s3BackupsPrefix: string;
}

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
    mlflowTrackingUri: string;
    kafkaBrokerEndpoint: string;
    consumers: ConsumersConfig;
    /** Undefined when `mlserverDockerHost` is unset: the stack leaves the mlserver alone. */
    mlserver?: MlserverConfig;
    /** Undefined when `gitlabProject` is unset: the stack leaves GitLab alone. `baseUrl` is already normalized. */
    gitlab?: GitlabSettings;
}

const PLAIN_KEYS = [
    "postgresHost",
    "postgresPort",
    "postgresAdminUser",
    "postgresAdminDatabase",
    "postgresSslMode",
    "database",
    "role",
    "catalogs",
    "s3",
    "mlflowTrackingUri",
    "kafkaBrokerEndpoint",
    "clientPostgresHost",
    "clientPostgresPort",
    "clientS3Endpoint",
    "clientConfigDir",
    "mlserverDockerHost",
    "mlserverImage",
    "mlserverBuildContext",
    "mlserverDockerfile",
    "mlserverComposeProject",
    "mlserverHostPort",
    "gitlabProject",
    "gitlabBaseUrl",
    "gitlabEnvironmentScope",
] as const;
type PlainKey = (typeof PLAIN_KEYS)[number];

/** Each secret with what it is for: the reason goes into the "missing" message. */
const SECRET_KEYS = {
    postgresAdminPassword: "the stack logs in as postgresAdminUser to create the role, database and schemas",
    rolePassword: "the catalog role logs in with it; migrations and clients use it",
    s3AccessKeyId: "the clients read and write the catalogs' data files with it",
    s3SecretAccessKey: "the clients read and write the catalogs' data files with it",
} as const;
type SecretKey = keyof typeof SECRET_KEYS;

/**
 * Config as Pulumi hands it to the program: plain values as text (objects as JSON text), secrets as opaque
 * Outputs. Keeping the raw form separate lets {@link parseStackConfig} stay pure and testable.
 */
export interface RawStackConfig {
    plain: Partial<Record<PlainKey, string>>;
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/**
 * Defaults for keys the stack may leave unset. Pulumi.yaml declares the same defaults (a test keeps them equal):
 * the CLI applies those, but mocks and `pulumi config` edits on old stacks do not, so the program applies them too.
 */
export const DEFAULTS = {
    postgresHost: "localhost",
    postgresPort: 5432,
    postgresAdminUser: "postgres",
    postgresAdminDatabase: "postgres",
    postgresSslMode: "prefer",
    database: "lakehouse",
    role: "lakehouse",
    mlserverComposeProject: MLSERVER_DEFAULTS.composeProject,
    mlserverHostPort: MLSERVER_DEFAULTS.hostPort,
    // Where compose's `build:` found it, relative to the repository root (the original compose file).
    mlserverDockerfile: "infra/apps/docker/mlserver/Dockerfile",
    gitlabBaseUrl: "https://gitlab.com",
    gitlabEnvironmentScope: "*",
} as const;

/** Reads every key once. `getSecret` returns undefined for a missing key without ever exposing the value. */
export function readStackConfig(config: pulumi.Config = new pulumi.Config(PROJECT)): RawStackConfig {
    const raw: RawStackConfig = { plain: {}, secrets: {} };
    for (const key of PLAIN_KEYS) {
        raw.plain[key] = config.get(key);
    }
    for (const key of Object.keys(SECRET_KEYS) as SecretKey[]) {
        raw.secrets[key] = config.getSecret(key);
    }
    return raw;
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
 * Validates the raw config into a {@link StackConfig}, before any resource exists. Collects every problem
 * rather than stopping at the first, so one `pulumi preview` shows all that needs fixing.
 * @param projectDir directory that relative SQLite paths resolve against.
 */
export function parseStackConfig(raw: RawStackConfig, projectDir: string): StackConfig {
    const problems: string[] = [];
    const check = new Checker(problems);

    const secrets = {} as Record<SecretKey, pulumi.Output<string>>;
    for (const [key, why] of Object.entries(SECRET_KEYS) as [SecretKey, string][]) {
        const value = raw.secrets[key];
        if (value === undefined) {
            problems.push(
                `${fullKey(key)} must be set as a secret (${why}); got nothing. ` +
                    `Run: pulumi config set --secret ${fullKey(key)}`,
            );
        }
        secrets[key] = value ?? pulumi.secret("");
    }

    const postgres: PostgresConfig = {
        host: check.nonEmpty(
            "postgresHost",
            raw.plain.postgresHost ?? DEFAULTS.postgresHost,
            "the server to connect to",
        ),
        port: check.port("postgresPort", raw.plain.postgresPort ?? String(DEFAULTS.postgresPort)),
        adminUser: check.nonEmpty(
            "postgresAdminUser",
            raw.plain.postgresAdminUser ?? DEFAULTS.postgresAdminUser,
            "the stack logs in as this user",
        ),
        adminPassword: secrets.postgresAdminPassword,
        adminDatabase: check.nonEmpty(
            "postgresAdminDatabase",
            raw.plain.postgresAdminDatabase ?? DEFAULTS.postgresAdminDatabase,
            "the admin login needs an existing database to connect to",
        ),
        sslMode: check.oneOf(
            "postgresSslMode",
            raw.plain.postgresSslMode ?? DEFAULTS.postgresSslMode,
            SSL_MODES,
            "libpq sslmode values the stack supports",
        ),
    };
    const database = check.identifier("database", raw.plain.database ?? DEFAULTS.database, "database");
    const role = check.identifier("role", raw.plain.role ?? DEFAULTS.role, "role");
    const catalogs = check.catalogs(raw.plain.catalogs, projectDir);
    const s3 = check.s3(raw.plain.s3);
    const mlflowTrackingUri = check.nonEmpty(
        "mlflowTrackingUri",
        raw.plain.mlflowTrackingUri,
        "the consumers log models and runs there",
    );
    const kafkaBrokerEndpoint = check.nonEmpty(
        "kafkaBrokerEndpoint",
        raw.plain.kafkaBrokerEndpoint,
        "the consumers read inference requests from it",
    );

    const consumers = check.consumers(raw.plain, postgres, s3);
    const mlserver = check.mlserver(raw.plain, s3, projectDir);
    const gitlab = check.gitlab(raw.plain);

    if (problems.length > 0) {
        throw new StackConfigError(problems);
    }
    return {
        postgres,
        database,
        role,
        rolePassword: secrets.rolePassword,
        catalogs,
        s3,
        s3AccessKeyId: secrets.s3AccessKeyId,
        s3SecretAccessKey: secrets.s3SecretAccessKey,
        mlflowTrackingUri,
        kafkaBrokerEndpoint,
        consumers,
        mlserver,
        gitlab,
    };
}

// Identifiers are used unquoted by clients (DuckDB METADATA_SCHEMA, env var values, dbt profiles), so only the
// form PostgreSQL keeps as written is allowed: lowercase, starting with a letter or underscore.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// NAMEDATALEN is 64 including the terminator; PostgreSQL truncates longer names without an error.
const MAX_IDENTIFIER_BYTES = 63;
const RESERVED: Record<IdentifierKind, readonly string[]> = {
    schema: ["public", "information_schema"],
    database: ["template0", "template1"],
    role: ["public", "none", "current_user", "current_role", "session_user"],
};
type IdentifierKind = "schema" | "database" | "role";

const CATALOG_KEYS = ["name", "sqlite", "schema", "s3Prefix", "encrypted", "envName"] as const;
const S3_KEYS = ["endpoint", "bucket", "region", "useSsl", "urlStyle", "exportsPrefix", "backupsPrefix"] as const;
// GitLab's API takes a project by numeric id or by its full path (group/subgroup/project).
const GITLAB_PROJECT = /^(\d+|[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+)$/;

function fullKey(key: string): string {
    return `${PROJECT}:${key}`;
}

/** Renders a config value for a message. Only ever called with non-secret values. */
function shown(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Each method validates one value, records a problem if it fails, and returns the value typed for use. */
class Checker {
    constructor(private readonly problems: string[]) {}

    private fail(key: string, constraint: string, why: string, value: unknown): void {
        this.problems.push(`${fullKey(key)} must ${constraint} (${why}); got ${shown(value)}`);
    }

    /** Records the breaches of rules that live with the component they protect. */
    private breached(breaches: readonly (RuleBreach | undefined)[]): void {
        for (const breach of breaches) {
            if (breach !== undefined) {
                this.fail(breach.key, breach.constraint, breach.why, breach.value);
            }
        }
    }

    nonEmpty(key: string, value: unknown, why: string): string {
        if (typeof value !== "string" || value.trim() === "") {
            this.fail(key, "be a non-empty string", why, value);
            return "";
        }
        return value;
    }

    port(key: string, value: string): number {
        const port = /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            this.fail(key, "be an integer from 1 to 65535", "a TCP port", value);
            return 0;
        }
        return port;
    }

    oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], why: string): T {
        if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
            this.fail(key, `be one of ${allowed.join(", ")}`, why, value);
            return allowed[0];
        }
        return value as T;
    }

    identifier(key: string, value: unknown, kind: IdentifierKind): string {
        if (typeof value !== "string" || !IDENTIFIER.test(value)) {
            this.fail(
                key,
                `be a lowercase PostgreSQL ${kind} name matching [a-z_][a-z0-9_]*`,
                "clients use it unquoted, and PostgreSQL folds unquoted names to lowercase",
                value,
            );
        } else if (Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES) {
            this.fail(
                key,
                `be at most ${MAX_IDENTIFIER_BYTES} bytes`,
                "PostgreSQL silently truncates longer names",
                value,
            );
        } else if (value.startsWith("pg_") || RESERVED[kind].includes(value)) {
            this.fail(
                key,
                `not be a reserved ${kind} name (${[...RESERVED[kind], "pg_*"].join(", ")})`,
                "PostgreSQL owns these names",
                value,
            );
        }
        return typeof value === "string" ? value : "";
    }

    /** The consumers' view of PostgreSQL and S3; each address falls back to the one the stack itself uses. */
    consumers(plain: RawStackConfig["plain"], postgres: PostgresConfig, s3: S3Config): ConsumersConfig {
        const configDir = plain.clientConfigDir;
        return {
            postgresHost: this.nonEmpty(
                "clientPostgresHost",
                plain.clientPostgresHost ?? postgres.host,
                "the consumers connect to PostgreSQL there",
            ),
            postgresPort:
                plain.clientPostgresPort === undefined
                    ? postgres.port
                    : this.port("clientPostgresPort", plain.clientPostgresPort),
            s3Endpoint: this.nonEmpty(
                "clientS3Endpoint",
                plain.clientS3Endpoint ?? s3.endpoint,
                "host:port of the object store as the consumers reach it",
            ),
            configDir:
                configDir === undefined
                    ? undefined
                    : this.nonEmpty("clientConfigDir", configDir, "init.sql and profiles.yml are written there"),
        };
    }

    mlserver(plain: RawStackConfig["plain"], s3: S3Config, projectDir: string): MlserverConfig | undefined {
        const dockerHost = plain.mlserverDockerHost;
        if (dockerHost === undefined) {
            return undefined;
        }
        const composeProject = plain.mlserverComposeProject ?? DEFAULTS.mlserverComposeProject;
        this.breached(mlserverPlacementBreaches(dockerHost, composeProject));
        const prefixNeeded = (key: string, value: string | undefined): string => {
            if (value === undefined) {
                this.fail(key, "be set when mlserverDockerHost is set", "the mlserver requires it", value);
            }
            return value ?? "";
        };
        return {
            dockerHost,
            ...this.mlserverImageSource(plain, projectDir),
            composeProject,
            hostPort: this.port("mlserverHostPort", plain.mlserverHostPort ?? String(DEFAULTS.mlserverHostPort)),
            s3ExportsPrefix: prefixNeeded("s3.exportsPrefix", s3.exportsPrefix),
            s3BackupsPrefix: prefixNeeded("s3.backupsPrefix", s3.backupsPrefix),
        };
    }

    /** A registry image, or a build of the repository checkout; exactly one. */
    private mlserverImageSource(plain: RawStackConfig["plain"], projectDir: string): MlserverImageSource {
        // An empty image is as good as none; an empty context gets its own message instead of a resolved path.
        const image = plain.mlserverImage?.trim() === "" ? undefined : plain.mlserverImage;
        if (plain.mlserverBuildContext === undefined) {
            this.breached(mlserverImageSourceBreaches({ image }));
            return { image: image ?? "" };
        }
        const context = this.nonEmpty(
            "mlserverBuildContext",
            plain.mlserverBuildContext,
            "the checkout of the repository the mlserver image is built from",
        );
        const build = {
            context: path.resolve(projectDir, context),
            dockerfile: plain.mlserverDockerfile ?? DEFAULTS.mlserverDockerfile,
        };
        this.breached(mlserverImageSourceBreaches({ image, build }));
        return { build: { ...build, context: context === "" ? "" : build.context } };
    }

    gitlab(plain: RawStackConfig["plain"]): GitlabSettings | undefined {
        const project = plain.gitlabProject;
        if (project === undefined) {
            return undefined;
        }
        if (!GITLAB_PROJECT.test(project)) {
            this.fail(
                "gitlabProject",
                "be a numeric project id or a full path like group/project",
                "the project whose CI/CD variables the stack owns",
                project,
            );
        }
        return {
            project,
            baseUrl: this.gitlabBaseUrl(plain.gitlabBaseUrl ?? DEFAULTS.gitlabBaseUrl),
            environmentScope: this.nonEmpty(
                "gitlabEnvironmentScope",
                plain.gitlabEnvironmentScope ?? DEFAULTS.gitlabEnvironmentScope,
                "GitLab environment the variables apply to; * for all",
            ),
        };
    }

    private gitlabBaseUrl(value: string): string {
        try {
            return normalizeGitlabBaseUrl(value);
        } catch (err) {
            // The component's message already reads `gitlabBaseUrl must …`; only the project prefix is missing.
            this.problems.push(`${PROJECT}:${(err as Error).message}`);
            return "";
        }
    }

    catalogs(text: string | undefined, projectDir: string): CatalogConfig[] {
        const key = "catalogs";
        const list = parseJson(text);
        if (!Array.isArray(list) || list.length === 0) {
            this.fail(key, "be a non-empty list of catalogs", "each entry is one catalog to migrate", list);
            return [];
        }
        const catalogs = list.map((entry, index) => this.catalog(`${key}[${index}]`, entry, projectDir));
        this.unique(catalogs, "name", "the name is the DuckDB attach alias and names the catalog's resources");
        this.unique(catalogs, "schema", "two catalogs in one schema would overwrite each other");
        this.unique(catalogs, "envName", "clients find each catalog by its environment variable names");
        this.unique(catalogs, "s3Prefix", "two catalogs under one prefix would mix their data files");
        return catalogs;
    }

    private catalog(key: string, entry: unknown, projectDir: string): CatalogConfig {
        if (!isRecord(entry)) {
            this.fail(key, "be an object with name, sqlite, schema and s3Prefix", "one catalog per entry", entry);
            return { name: "", sqlite: "", schema: "", s3Prefix: "", encrypted: false, envName: "" };
        }
        this.knownKeys(key, entry, CATALOG_KEYS);
        const name = entry.name;
        if (typeof name !== "string" || !IDENTIFIER.test(name)) {
            this.fail(
                `${key}.name`,
                "match [a-z_][a-z0-9_]*",
                "it is the DuckDB attach alias and part of resource names",
                name,
            );
        }
        const sqlite = this.nonEmpty(`${key}.sqlite`, entry.sqlite, "the migration reads the catalog from this file");
        const schema = this.identifier(`${key}.schema`, entry.schema, "schema");
        const s3Prefix = this.s3Prefix(`${key}.s3Prefix`, entry.s3Prefix);
        const encrypted = entry.encrypted ?? false;
        if (typeof encrypted !== "boolean") {
            this.fail(`${key}.encrypted`, "be true or false", "DuckLake's ENCRYPTED flag", encrypted);
        }
        const envName = entry.envName ?? (typeof name === "string" ? name.toUpperCase() : "");
        this.breached([catalogEnvNameBreach(`${key}.envName`, envName)]);
        return {
            name: typeof name === "string" ? name : "",
            sqlite: sqlite === "" ? "" : path.resolve(projectDir, sqlite),
            schema,
            s3Prefix,
            encrypted: encrypted === true,
            envName: typeof envName === "string" ? envName : "",
        };
    }

    s3(text: string | undefined): S3Config {
        const key = "s3";
        const s3 = parseJson(text);
        if (!isRecord(s3)) {
            this.fail(
                key,
                "be an object with endpoint, bucket, region, useSsl and urlStyle",
                "the clients' object store",
                s3,
            );
            return { endpoint: "", bucket: "", region: "", useSsl: false, urlStyle: "path" };
        }
        this.knownKeys(key, s3, S3_KEYS);
        const useSsl = s3.useSsl;
        if (typeof useSsl !== "boolean") {
            this.fail(`${key}.useSsl`, "be true or false", "whether clients use https for the object store", useSsl);
        }
        return {
            endpoint: this.nonEmpty(`${key}.endpoint`, s3.endpoint, "host:port of the object store"),
            bucket: this.nonEmpty(`${key}.bucket`, s3.bucket, "the bucket holding the catalogs' data files"),
            region: this.nonEmpty(`${key}.region`, s3.region, "S3 signatures include the region"),
            useSsl: useSsl === true,
            urlStyle: this.oneOf(`${key}.urlStyle`, s3.urlStyle, S3_URL_STYLES, "S3 addressing style"),
            exportsPrefix:
                s3.exportsPrefix === undefined ? undefined : this.s3Prefix(`${key}.exportsPrefix`, s3.exportsPrefix),
            backupsPrefix:
                s3.backupsPrefix === undefined ? undefined : this.s3Prefix(`${key}.backupsPrefix`, s3.backupsPrefix),
        };
    }

    private s3Prefix(key: string, value: unknown): string {
        if (typeof value !== "string" || value === "" || value.startsWith("/") || value.endsWith("/")) {
            this.fail(
                key,
                "be a non-empty key prefix without a leading or trailing slash",
                "it is joined as s3://<bucket>/<prefix>",
                value,
            );
            return "";
        }
        return value;
    }

    private knownKeys(key: string, entry: Record<string, unknown>, known: readonly string[]): void {
        for (const name of Object.keys(entry)) {
            if (!known.includes(name)) {
                this.fail(key, `only have the keys ${known.join(", ")}`, "a misspelt key would be ignored", name);
            }
        }
    }

    private unique(catalogs: CatalogConfig[], field: "name" | "schema" | "envName" | "s3Prefix", why: string): void {
        const seen = new Map<string, number>();
        catalogs.forEach((catalog, index) => {
            const value = catalog[field];
            const first = seen.get(value);
            if (value === "") {
                return;
            }
            if (first !== undefined) {
                this.fail(`catalogs[${index}].${field}`, `differ from catalogs[${first}].${field}`, why, value);
            } else {
                seen.set(value, index);
            }
        });
    }
}

function parseJson(text: string | undefined): unknown {
    if (text === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
