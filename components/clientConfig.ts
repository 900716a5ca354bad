import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

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

/** Renders both client files from the templates in `templates/`. */
export function renderClientConfig(settings: ClientConfigSettings): RenderedClientConfig {
    const dataPath = (catalog: ClientCatalog) => `s3://${settings.s3Bucket}/${catalog.s3Prefix}`;

    const sqlAttachments = settings.catalogs.map((catalog) =>
        fillTemplate(readTemplate("init-attach.sql"), {
            alias: sqlIdentifier(catalog.name),
            schema: sqlString(catalog.schema),
            dataPath: sqlString(dataPath(catalog)),
            encrypted: catalog.encrypted ? ", ENCRYPTED" : "",
        }),
    );
    const initSql = fillTemplate(readTemplate("init.sql"), {
        s3Endpoint: sqlString(settings.s3Endpoint),
        s3UseSsl: settings.s3UseSsl ? "true" : "false",
        s3UrlStyle: sqlString(settings.s3UrlStyle),
        s3Region: sqlString(settings.s3Region),
        postgresHost: sqlString(settings.postgresHost),
        postgresPort: String(settings.postgresPort),
        postgresDatabase: sqlString(settings.postgresDatabase),
        postgresUser: sqlString(settings.postgresUser),
        attachments: sqlAttachments.map((block) => block.trimEnd()).join("\n"),
    });

    const yamlAttachments = settings.catalogs.map((catalog) =>
        fillTemplate(readTemplate("profiles-attach.yml"), {
            alias: yamlString(catalog.name, `catalog \`${catalog.name}\` name`),
            schema: yamlString(catalog.schema, `catalog \`${catalog.name}\` schema`),
            dataPath: yamlString(dataPath(catalog), `catalog \`${catalog.name}\` data path`),
            // dbt-duckdb passes attach options through as `KEY value`; 1 is what DuckLake reads as true there.
            encrypted: catalog.encrypted ? "\n            encrypted: 1" : "",
        }),
    );
    const profilesYml = fillTemplate(readTemplate("profiles.yml"), {
        s3Endpoint: yamlString(settings.s3Endpoint, "`s3.endpoint`"),
        // dbt-duckdb quotes every secret value, so booleans and ports travel as strings DuckDB casts back.
        s3UseSsl: yamlString(settings.s3UseSsl ? "true" : "false", "`s3.useSsl`"),
        s3UrlStyle: yamlString(settings.s3UrlStyle, "`s3.urlStyle`"),
        s3Region: yamlString(settings.s3Region, "`s3.region`"),
        postgresHost: yamlString(settings.postgresHost, "postgres host"),
        postgresPort: yamlString(String(settings.postgresPort), "postgres port"),
        postgresDatabase: yamlString(settings.postgresDatabase, "`database`"),
        postgresUser: yamlString(settings.postgresUser, "`role`"),
        attachments: yamlAttachments.map((block) => block.trimEnd()).join("\n"),
    });

    return { initSql, profilesYml };
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

function sqlString(value: string): string {
    return `'${value.replaceAll("'", "''")}'`;
}

function sqlIdentifier(value: string): string {
    return `"${value.replaceAll('"', '""')}"`;
}

// dbt renders every string in profiles.yml as a Jinja template before parsing it, so Jinja delimiters in a
// value would be executed rather than kept; no legitimate host, schema or prefix contains them.
const JINJA_DELIMITER = /\{\{|\{%|\{#/;

/** A YAML double-quoted scalar; JSON string syntax is a subset of it. */
function yamlString(value: string, what: string): string {
    if (JINJA_DELIMITER.test(value)) {
        throw new Error(
            `${what} must not contain \`{{\`, \`{%\` or \`{#\` (dbt would evaluate it as Jinja in profiles.yml); got ${JSON.stringify(value)}`,
        );
    }
    return JSON.stringify(value);
}
