import * as pulumi from "@pulumi/pulumi";
import { consumerS3Endpoint, type StackConfig } from "../config";
import type { Inputs, PostgresEndpoint, S3Credentials, S3Endpoint } from "./endpoints";
import { ProjectVariable, Provider } from "./gitlabProjectVariable";

/** One catalog's share of the CI/CD variables: `PSQL_CATALOG_<envName>_SCHEMA` and `S3_<envName>_PREFIX`. */
export interface CatalogCiSettings {
    /** The `<CATALOG>` fragment of the variable names, e.g. `GRAPHS_MART`, as config.ts validated it. */
    envName: string;
    /** The PostgreSQL schema holding the catalog's metadata. */
    schema: pulumi.Input<string>;
    /** The catalog's data prefix inside the bucket, e.g. `marts/graphs`. */
    s3Prefix: pulumi.Input<string>;
}

/**
 * The stack's values that the pipeline and the jobs it deploys read as CI/CD variables. The PostgreSQL and S3
 * endpoints are as the consumers reach them; the jobs log in as the catalog role.
 */
export interface CiVariableSettings extends Inputs<PostgresEndpoint & S3Endpoint & S3Credentials> {
    /** The stack the pipeline previews and deploys, exported as `PULUMI_STACK`. */
    pulumiStack: pulumi.Input<string>;
    /** Where the stack's state lives (`s3://…` or `postgres://…`); may embed credentials, so it is a secret. */
    pulumiBackendUrl: pulumi.Input<string>;
    /** The passphrase that decrypts the stack's secrets. */
    pulumiConfigPassphrase: pulumi.Input<string>;
    /** The token the pipeline's own `pulumi up` uses for the GitLab provider, and to comment on merge requests. */
    gitlabToken: pulumi.Input<string>;
    /** The catalog role's password. */
    postgresPassword: pulumi.Input<string>;
    /** One entry per catalog; adding a catalog adds its two variables. */
    catalogs: CatalogCiSettings[];
    /** `S3_EXPORTS_PREFIX`; no variable when unset. */
    s3ExportsPrefix?: pulumi.Input<string>;
    /** `S3_BACKUPS_PREFIX`; no variable when unset. */
    s3BackupsPrefix?: pulumi.Input<string>;
    mlflowTrackingUri: pulumi.Input<string>;
    kafkaBrokerEndpoint: pulumi.Input<string>;
}

export interface GitlabVariablesArgs extends CiVariableSettings {
    /** The GitLab project, by numeric id or full path (`group/project`). Changing it replaces every variable. */
    project: pulumi.Input<string>;
    /** The GitLab REST API endpoint, `…/api/v4/` with its trailing slash (the provider wants it so). */
    baseUrl: pulumi.Input<string>;
    /**
     * The environment scope of every variable.
     * @default "*"
     */
    environmentScope?: pulumi.Input<string>;
}

/**
 * The GitLab CI/CD variables of one project, owned by the stack: one `ProjectVariable` per entry of
 * `listCiVariables`, all through one GitLab provider that authenticates with `GITLAB_TOKEN` from the environment.
 */
export class GitlabVariables extends pulumi.ComponentResource {
    /** The keys of every variable this component owns, in registration order. */
    public readonly variableKeys: string[];

    constructor(name: string, args: GitlabVariablesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:gitlab:GitlabVariables", name, {}, opts);

        const variables = listCiVariables(args);
        const provider = new Provider(`${name}-provider`, { baseUrl: args.baseUrl }, { parent: this });
        const managedBy = `Managed by Pulumi stack ${pulumi.getProject()}/${pulumi.getStack()}`;

        for (const variable of variables) {
            new ProjectVariable(
                `${name}-${variable.key}`,
                {
                    project: args.project,
                    key: variable.key,
                    value: variable.secret ? maskableValue(variable, this) : variable.value,
                    description: `${managedBy} from ${variable.source}; change it there, not here.`,
                    environmentScope: args.environmentScope ?? "*",
                    masked: variable.secret,
                    hidden: variable.secret,
                    protected: variable.secret,
                    // Values are literal: a `$` in a password must not be read as a variable reference. Raw is
                    // also what lets `maskingProblems` accept any non-whitespace character.
                    raw: true,
                },
                {
                    parent: this,
                    provider,
                    // The provider's schema does not mark `value` secret, so the state would otherwise keep
                    // what GitLab echoes back in plain text.
                    additionalSecretOutputs: variable.secret ? ["value"] : [],
                },
            );
        }

        this.variableKeys = variables.map((variable) => variable.key);
        this.registerOutputs({ variableKeys: this.variableKeys });
    }
}

/** One CI/CD variable the pipeline needs. */
export interface CiVariable {
    key: string;
    value: pulumi.Input<string>;
    /** Secrets are masked, hidden and protected in GitLab, and Pulumi secrets in state. */
    secret: boolean;
    /** Where the value comes from, so that an error can say what to change. */
    source: string;
}

/**
 * Every CI/CD variable the pipeline and the deployed jobs need, derived from the stack's values. Secret values
 * are wrapped with `pulumi.secret` whatever the caller passed.
 */
export function listCiVariables(settings: CiVariableSettings): CiVariable[] {
    const config = (key: string): string => `config \`lakehouse-catalog:${key}\``;
    const plain = (key: string, value: pulumi.Input<string>, source: string): CiVariable => ({
        key,
        value,
        secret: false,
        source,
    });
    const secret = (key: string, value: pulumi.Input<string>, source: string): CiVariable => ({
        key,
        value: pulumi.secret(value),
        secret: true,
        source,
    });

    // config.ts has checked the envNames: each is unique and a valid, untaken part of a variable name.
    const catalogVariables = settings.catalogs.flatMap((catalog) => [
        plain(`PSQL_CATALOG_${catalog.envName}_SCHEMA`, catalog.schema, config("catalogs")),
        plain(`S3_${catalog.envName}_PREFIX`, catalog.s3Prefix, config("catalogs")),
    ]);

    const variables: CiVariable[] = [
        plain("PULUMI_STACK", settings.pulumiStack, "the stack name"),
        secret("PULUMI_BACKEND_URL", settings.pulumiBackendUrl, "the `PULUMI_BACKEND_URL` environment variable"),
        secret(
            "PULUMI_CONFIG_PASSPHRASE",
            settings.pulumiConfigPassphrase,
            "the `PULUMI_CONFIG_PASSPHRASE` environment variable",
        ),
        secret("GITLAB_TOKEN", settings.gitlabToken, "the `GITLAB_TOKEN` environment variable"),
        plain("PSQL_CATALOG_HOST", settings.postgresHost, config("clientPostgresHost")),
        plain("PSQL_CATALOG_PORT", pulumi.output(settings.postgresPort).apply(String), config("clientPostgresPort")),
        plain("PSQL_CATALOG_DB", settings.postgresDatabase, config("database")),
        plain("PSQL_CATALOG_USER", settings.postgresUser, config("role")),
        secret("PSQL_CATALOG_PASSWORD", settings.postgresPassword, config("rolePassword")),
        plain("S3_ENDPOINT", settings.s3Endpoint, config("clientS3Endpoint")),
        plain("S3_BUCKET", settings.s3Bucket, config("s3")),
        plain("S3_REGION", settings.s3Region, config("s3")),
        plain("S3_USE_SSL", pulumi.output(settings.s3UseSsl).apply(String), config("s3")),
        plain("S3_URL_STYLE", settings.s3UrlStyle, config("s3")),
        // The original project left the access key id unmasked; it is half of a credential, so it is a secret here.
        secret("S3_ACCESS_KEY_ID", settings.s3AccessKeyId, config("s3AccessKeyId")),
        secret("S3_SECRET_ACCESS_KEY", settings.s3SecretAccessKey, config("s3SecretAccessKey")),
        ...catalogVariables,
        ...(settings.s3ExportsPrefix === undefined
            ? []
            : [plain("S3_EXPORTS_PREFIX", settings.s3ExportsPrefix, config("s3"))]),
        ...(settings.s3BackupsPrefix === undefined
            ? []
            : [plain("S3_BACKUPS_PREFIX", settings.s3BackupsPrefix, config("s3"))]),
        plain("MLFLOW_TRACKING_URI", settings.mlflowTrackingUri, config("mlflowTrackingUri")),
        plain("KAFKA_BROKER_ENDPOINT", settings.kafkaBrokerEndpoint, config("kafkaBrokerEndpoint")),
    ];
    return variables;
}

/** GitLab refuses to mask shorter values: https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable */
const MASKED_MIN_LENGTH = 8;

// GitLab's own rule for masked raw variables (app/models/concerns/ci/maskable.rb, MASK_AND_RAW_REGEX
// \A\S{8,}\z): any character but whitespace. Expanded variables are further limited to the Base64 alphabet and
// `@ : . ~`; every variable here is raw, so passwords may use any other symbol. Ruby's \s is ASCII whitespace only.
const lineBreak = /[\r\n]/;
const whitespace = /[ \t\f\v]/;

/** Why GitLab would refuse to mask `value` as a raw variable; empty when it can. Never quotes the value. */
export function maskingProblems(value: string): string[] {
    const problems: string[] = [];
    if (lineBreak.test(value)) {
        problems.push("it spans more than one line");
    }
    if (whitespace.test(value)) {
        problems.push("it contains whitespace");
    }
    // GitLab counts characters, not UTF-16 code units.
    if (Array.from(value).length < MASKED_MIN_LENGTH) {
        problems.push(`it is shorter than ${MASKED_MIN_LENGTH} characters`);
    }
    return problems;
}

/**
 * Why GitLab could not mask this variable and how to fix it, or `undefined` when it can. Names the variable and
 * where its value comes from; never quotes the value.
 */
export function unmaskableValueMessage(variable: { key: string; source: string }, value: string): string | undefined {
    const problems = maskingProblems(value);
    if (problems.length === 0) {
        return undefined;
    }
    return (
        `GitLab cannot mask \`${variable.key}\` (from ${variable.source}): ${problems.join(", ")}. ` +
        `Set it to a single line of at least ${MASKED_MIN_LENGTH} characters without whitespace ` +
        "(https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable)."
    );
}

/**
 * The secret's value, failing with `unmaskableValueMessage` when GitLab could not mask it. Config and environment
 * secrets are known at preview, so `pulumi preview`, and the preview `pulumi up` runs first, fail before GitLab's
 * API sees any variable. Each variable fails on its own error: one shared error would be reported once, with every
 * resource's "error serializing property" prefix stacked on it.
 */
function maskableValue(variable: CiVariable, parent: pulumi.Resource): pulumi.Output<string> {
    return pulumi.output(variable.value).apply((value) => {
        const message = unmaskableValueMessage(variable, value);
        if (message !== undefined) {
            throw new pulumi.ResourceError(message, parent, true);
        }
        return value;
    });
}

/** The deployer's credentials that the pipeline needs as CI/CD variables, as Pulumi secrets. */
export interface DeployCredentials {
    pulumiBackendUrl: pulumi.Output<string>;
    pulumiConfigPassphrase: pulumi.Output<string>;
    gitlabToken: pulumi.Output<string>;
}

const deployCredentialNeeds: Record<string, string> = {
    PULUMI_BACKEND_URL: "the pipeline reads and writes the stack's state there; `pulumi login` alone is not enough",
    PULUMI_CONFIG_PASSPHRASE: "the pipeline decrypts the stack's secrets with it",
    GITLAB_TOKEN:
        "the GitLab provider authenticates with it; use a project access token with the `api` scope and the " +
        "Maintainer role",
};

/**
 * Reads the deployer's credentials from the environment of `pulumi up`: they are never stack config, and the
 * pipeline that deploys after the first run gets exactly these values.
 */
export function deployCredentialsFromEnv(env: Record<string, string | undefined>): DeployCredentials {
    const missing = Object.keys(deployCredentialNeeds).filter((name) => !env[name]);
    if (missing.length > 0) {
        throw new Error(
            missing
                .map(
                    (name) =>
                        `\`${name}\` must be set in the environment of \`pulumi up\` (${deployCredentialNeeds[name]}).`,
                )
                .join("\n") + "\nExport it, or unset `lakehouse-catalog:gitlabProject` to leave GitLab alone.",
        );
    }
    const read = (name: string): pulumi.Output<string> => pulumi.secret(env[name] ?? "");
    return {
        pulumiBackendUrl: read("PULUMI_BACKEND_URL"),
        pulumiConfigPassphrase: read("PULUMI_CONFIG_PASSPHRASE"),
        gitlabToken: read("GITLAB_TOKEN"),
    };
}

/**
 * The component's args from the validated stack config and the deployer's credentials in `env`; undefined when the
 * stack leaves GitLab alone. Fails when a credential is missing, so call it before any resource exists.
 */
export function gitlabVariablesArgs(
    config: StackConfig,
    env: Record<string, string | undefined>,
): GitlabVariablesArgs | undefined {
    const gitlab = config.gitlab;
    if (gitlab === undefined) {
        return undefined;
    }
    return {
        project: gitlab.project,
        baseUrl: gitlab.baseUrl,
        environmentScope: gitlab.environmentScope,
        pulumiStack: pulumi.getStack(),
        ...deployCredentialsFromEnv(env),
        // The pipeline's jobs are consumers: they reach the catalogs where the mlserver does, as the catalog role.
        postgresHost: config.consumers.postgresHost,
        postgresPort: config.consumers.postgresPort,
        postgresDatabase: config.database,
        postgresUser: config.role,
        postgresPassword: config.rolePassword,
        catalogs: config.catalogs.map(({ envName, schema, s3Prefix }) => ({ envName, schema, s3Prefix })),
        ...consumerS3Endpoint(config),
        s3AccessKeyId: config.s3AccessKeyId,
        s3SecretAccessKey: config.s3SecretAccessKey,
        s3ExportsPrefix: config.s3.exportsPrefix,
        s3BackupsPrefix: config.s3.backupsPrefix,
        mlflowTrackingUri: gitlab.mlflowTrackingUri,
        kafkaBrokerEndpoint: gitlab.kafkaBrokerEndpoint,
    };
}
