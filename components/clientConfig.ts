import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Document, Pair, Scalar, YAMLMap } from "yaml";
import { quoteIdentifier, sqlString } from "../migrate/sqlText";

import type { Inputs, PostgresEndpoint, S3Endpoint } from "./endpoints";

/** One DuckLake catalog as its clients see it. */
export interface ClientCatalog {
    /** DuckDB attach alias, e.g. `graphs`. */
    name: string;
    /** PostgreSQL schema holding the catalog's metadata tables (DuckLake `METADATA_SCHEMA`). */
    schema: string;
    /** Key prefix of the catalog's data files inside the bucket, e.g. `marts/graphs`. */
    s3Prefix: string;
    /** Whether DuckLake encrypts the catalog's data files (`ENCRYPTED`). */
    encrypted: boolean;
}

/**
 * Everything the client configuration is rendered from: where the clients reach PostgreSQL and S3. Holds no secret
 * on purpose: the role's password is never rendered, clients read `PSQL_CATALOG_PASSWORD`.
 */
export interface ClientConfigSettings extends PostgresEndpoint, S3Endpoint {
    catalogs: ClientCatalog[];
}

export interface RenderedClientConfig {
    /** DuckDB init script (`duckdb -init init.sql`). */
    initSql: string;
    /** dbt profile `transform` with target `lakehouse`. */
    profilesYml: string;
}

export interface ClientConfigArgs extends Inputs<PostgresEndpoint & S3Endpoint> {
    /** The catalogs to attach, in this order. */
    catalogs: pulumi.Input<ClientCatalog[]>;
    /**
     * Directory that receives `init.sql` and `profiles.yml` on `pulumi up`, relative to the project directory.
     * @default undefined: the texts are only stack outputs and no file is written.
     */
    outputDir?: string;
}

/**
 * Renders the DuckDB `init.sql` and the dbt `profiles.yml` that point DuckDB and dbt at the PostgreSQL-backed
 * catalogs, as outputs and, when asked, as files.
 */
export class ClientConfig extends pulumi.ComponentResource {
    public readonly initSql: pulumi.Output<string>;
    public readonly profilesYml: pulumi.Output<string>;
    /** Writes `init.sql`; undefined when `outputDir` is unset. */
    public readonly initSqlFile: command.local.Command | undefined;
    /** Writes `profiles.yml`; undefined when `outputDir` is unset. */
    public readonly profilesYmlFile: command.local.Command | undefined;

    constructor(name: string, args: ClientConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:consumers:ClientConfig", name, {}, opts);

        const { outputDir, ...settings } = args;
        const rendered = pulumi.output(settings).apply(renderClientConfig);
        this.initSql = rendered.initSql;
        this.profilesYml = rendered.profilesYml;

        if (outputDir !== undefined) {
            // Children do not inherit the component's dependsOn; the files are what must wait for the migrations.
            const fileOpts = { parent: this, dependsOn: opts?.dependsOn };
            this.initSqlFile = createFileWriter(`${name}-init-sql`, outputDir, "init.sql", this.initSql, fileOpts);
            this.profilesYmlFile = createFileWriter(
                `${name}-profiles-yml`,
                outputDir,
                "profiles.yml",
                this.profilesYml,
                fileOpts,
            );
        }

        this.registerOutputs({
            initSql: this.initSql,
            profilesYml: this.profilesYml,
            initSqlFile: this.initSqlFile,
            profilesYmlFile: this.profilesYmlFile,
        });
    }
}

/**
 * Writes stdin to `$TARGET_FILE` through a temporary file, so a reader never sees a half-written config.
 * It is both the create and the update command: a content change rewrites the file in place instead of
 * replacing the resource, whose delete would otherwise remove the freshly written file.
 */
export const WRITE_FILE_COMMAND =
    'mkdir -p "$(dirname "$TARGET_FILE")" && cat > "$TARGET_FILE.tmp" && mv "$TARGET_FILE.tmp" "$TARGET_FILE"';
export const REMOVE_FILE_COMMAND = 'rm -f "$TARGET_FILE"';

// A local command rather than fs at program time: files appear only on `pulumi up` (never during a preview),
// and a `pulumi destroy` removes them again.
function createFileWriter(
    name: string,
    outputDir: string,
    fileName: string,
    content: pulumi.Output<string>,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(
        name,
        {
            create: WRITE_FILE_COMMAND,
            update: WRITE_FILE_COMMAND,
            delete: REMOVE_FILE_COMMAND,
            // Relative on purpose: the command runs in the project directory, and an absolute path would make
            // the state differ between operators' checkouts.
            environment: { TARGET_FILE: path.join(outputDir, fileName) },
            stdin: content,
        },
        opts,
    );
}

/** Renders the DuckDB `init.sql` from the templates in `templates/` and the dbt `profiles.yml` as YAML. */
export function renderClientConfig(settings: ClientConfigSettings): RenderedClientConfig {
    return { initSql: renderInitSql(settings), profilesYml: renderProfilesYml(settings) };
}

function dataPath(settings: ClientConfigSettings, catalog: ClientCatalog): string {
    return `s3://${settings.s3Bucket}/${catalog.s3Prefix}`;
}

function renderInitSql(settings: ClientConfigSettings): string {
    const attachTemplate = readTemplate("init-attach.sql");
    const attachments = settings.catalogs.map((catalog) =>
        fillTemplate(attachTemplate, {
            alias: quoteIdentifier(catalog.name),
            schema: sqlString(catalog.schema),
            dataPath: sqlString(dataPath(settings, catalog)),
            encrypted: catalog.encrypted ? ", ENCRYPTED" : "",
        }),
    );
    return fillTemplate(readTemplate("init.sql"), {
        s3Endpoint: sqlString(settings.s3Endpoint),
        s3UseSsl: settings.s3UseSsl ? "true" : "false",
        s3UrlStyle: sqlString(settings.s3UrlStyle),
        s3Region: sqlString(settings.s3Region),
        postgresHost: sqlString(settings.postgresHost),
        postgresPort: String(settings.postgresPort),
        postgresDatabase: sqlString(settings.postgresDatabase),
        postgresUser: sqlString(settings.postgresUser),
        attachments: attachments.map((block) => block.trimEnd()).join("\n"),
    });
}

function readTemplate(fileName: string): string {
    return fs.readFileSync(path.join(__dirname, "..", "templates", fileName), "utf8");
}

/** Replaces every `${key}`; a placeholder without a value means template and code drifted apart. */
function fillTemplate(template: string, values: Record<string, string>): string {
    return template.replace(/\$\{(\w+)\}/g, (placeholder, key: string) => {
        const value = values[key];
        if (value === undefined) {
            throw new Error(`template placeholder ${placeholder} has no value; add \`${key}\` to the renderer`);
        }
        return value;
    });
}

const PROFILES_HEADER = yamlComment(
    "dbt profile for the lakehouse catalogs, rendered by the lakehouse-catalog stack: do not edit by hand.",
    "Secrets and local paths come from the environment through env_var(): export PSQL_CATALOG_PASSWORD,",
    "S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, LOCAL_DIR and ENGINE_DB before running dbt.",
);

const DUCKLAKE_SECRET_NAME_COMMENT = yamlComment(
    "DuckDB's own name for the unnamed ducklake secret, which ATTACH 'ducklake:' uses. Named, dbt-duckdb",
    "creates it with OR REPLACE, so opening a connection again after a failed attach does not stop at",
    '"secret already exists" and hide the real error (a wrong password, say).',
);

/** dbt profile `transform`, target `lakehouse`: dbt-duckdb's extensions, secrets and one attachment per catalog. */
function renderProfilesYml(settings: ClientConfigSettings): string {
    const ducklakeSecret = new YAMLMap();
    ducklakeSecret.add(new Pair("type", "ducklake"));
    ducklakeSecret.add(new Pair(commented("name", DUCKLAKE_SECRET_NAME_COMMENT), "__default_ducklake"));
    ducklakeSecret.add(new Pair("metadata_path", ""));
    ducklakeSecret.add(new Pair("metadata_parameters", { type: "postgres", secret: "postgres" }));

    const profile = {
        transform: {
            target: "lakehouse",
            outputs: {
                lakehouse: {
                    type: "duckdb",
                    path: "{{ env_var('LOCAL_DIR') }}/{{ env_var('ENGINE_DB') }}",
                    extensions: ["httpfs", "ducklake", "postgres"],
                    secrets: [
                        {
                            type: "s3",
                            name: "minio",
                            key_id: "{{ env_var('S3_ACCESS_KEY_ID') }}",
                            secret: "{{ env_var('S3_SECRET_ACCESS_KEY') }}",
                            endpoint: yamlString(settings.s3Endpoint, "`s3.endpoint`"),
                            // dbt-duckdb quotes every secret value, so booleans and ports travel as strings DuckDB
                            // casts back.
                            use_ssl: yamlString(settings.s3UseSsl ? "true" : "false", "`s3.useSsl`"),
                            url_style: yamlString(settings.s3UrlStyle, "`s3.urlStyle`"),
                            region: yamlString(settings.s3Region, "`s3.region`"),
                        },
                        {
                            type: "postgres",
                            name: "postgres",
                            host: yamlString(settings.postgresHost, "postgres host"),
                            port: yamlString(String(settings.postgresPort), "postgres port"),
                            database: yamlString(settings.postgresDatabase, "`database`"),
                            user: yamlString(settings.postgresUser, "`role`"),
                            password: "{{ env_var('PSQL_CATALOG_PASSWORD') }}",
                        },
                        ducklakeSecret,
                    ],
                    attach: settings.catalogs.map((catalog) => ({
                        path: "ducklake:",
                        alias: yamlString(catalog.name, `catalog \`${catalog.name}\` name`),
                        options: {
                            metadata_schema: yamlString(catalog.schema, `catalog \`${catalog.name}\` schema`),
                            data_path: yamlString(dataPath(settings, catalog), `catalog \`${catalog.name}\` data path`),
                            // dbt-duckdb passes attach options through as `KEY value`; 1 is what DuckLake reads as
                            // true there.
                            ...(catalog.encrypted ? { encrypted: 1 } : {}),
                        },
                    })),
                },
            },
        },
    };
    const document = new Document(profile);
    (document.contents as YAMLMap).commentBefore = PROFILES_HEADER;
    // No folding: a long host or prefix stays on its line.
    return document.toString({ lineWidth: 0 });
}

/** A YAML comment's text: the yaml library writes `#` and then each line as given, so each line gets its space. */
function yamlComment(...lines: string[]): string {
    return lines.map((line) => ` ${line}`).join("\n");
}

/** A mapping key with a comment above it. */
function commented(key: string, comment: string): Scalar<string> {
    const scalar = new Scalar(key);
    scalar.commentBefore = comment;
    return scalar;
}

// dbt renders every string in profiles.yml as a Jinja template before parsing it, so Jinja delimiters in a
// value would be executed rather than kept; no legitimate host, schema or prefix contains them.
const JINJA_DELIMITER = /\{\{|\{%|\{#/;

/** A configured value as a double-quoted YAML scalar (so it reads as text, whatever it looks like). */
function yamlString(value: string, what: string): Scalar<string> {
    if (JINJA_DELIMITER.test(value)) {
        throw new Error(
            `${what} must not contain \`{{\`, \`{%\` or \`{#\` (dbt would evaluate it as Jinja in profiles.yml); got ${JSON.stringify(value)}`,
        );
    }
    const scalar = new Scalar(value);
    scalar.type = Scalar.QUOTE_DOUBLE;
    return scalar;
}
