import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

import type { MigrationRefusal } from "../migrate/cli";
import type { MigrationResult, MigrationStatus } from "../migrate/engine";
import type { Inputs, PostgresConnection, S3Credentials, S3Endpoint } from "./endpoints";

/**
 * Where a migration writes: the libpq connection (`PGHOST` … `PGSSLMODE`) of the catalog role, never a superuser.
 * The password reaches the command only through its secret environment, never its command line.
 */
export type MigrationConnection = Inputs<PostgresConnection>;

/** The migration of one catalog; the component's name is the catalog's name, which its messages use. */
export interface CatalogMigrationArgs extends MigrationConnection {
    /**
     * Absolute path of the SQLite catalog. Plain because the program checks whether the file exists. Changing
     * it re-runs the migration (a no-op when the target already holds the identical catalog).
     */
    sqlitePath: string;
    /**
     * Target schema. Pass the schema resource's `name` so that the migration waits for the schema. Changing it
     * re-runs the migration into the new schema; the old one is left as it is.
     */
    schema: pulumi.Input<string>;
    /** Project directory, where the migrate command runs. */
    projectDir: string;
    /**
     * Where the SQLite file is copied before its migration (`<prefix>/sqlite/<catalog>/…`); unset, no copy is taken.
     * The migration waits for the copy and does not start if it fails.
     */
    backups?: BackupStoreArgs;
}

/** The backup store: where, and the keys, which reach the command only through its secret environment. */
export interface BackupStoreArgs extends Inputs<S3Endpoint & S3Credentials> {
    /** The backups prefix (`S3_BACKUPS_PREFIX`). */
    s3BackupsPrefix: pulumi.Input<string>;
}

/**
 * Moves one DuckLake catalog from its SQLite file into its PostgreSQL schema, by running the project's migrate
 * command as the catalog role.
 *
 * The command runs once, when the migration is created, and again only when its command line, directory or
 * connection change (a new role password alone is not such a change). It has no trigger on the SQLite file's
 * content or presence on purpose: once migrated, the file may be deleted and the stack shows no diff. It has no
 * `delete` command either, so removing a catalog or destroying the stack never touches the migrated data.
 *
 * While the SQLite file exists, every preview and update first runs the migration as a dry run (read-only),
 * logs a one-line plan and fails with the command's own message if the dry run refuses — except when the
 * schema holds the catalog with newer snapshots than the file: the catalog went on living in PostgreSQL after
 * its migration, the file is outdated, and that is only worth a warning. So is a refused login during a preview:
 * a preview of a password rotation runs before the role has its new password. The dry run needs the
 * schema to exist: on the first preview, while the database and schema are still to be created, Pulumi skips
 * it and the plan shows nothing. The migration waits for the dry run: both take the schema's migration lock, so
 * running them side by side would make one of them refuse.
 */
export class CatalogMigration extends pulumi.ComponentResource {
    /** The migration's JSON summary, as recorded when it ran. */
    public readonly result: pulumi.Output<MigrationResult>;
    /**
     * The dry run's summary for this preview or update: `undefined` when the SQLite file is gone, and an
     * undefined value when the schema already went on from where the file stopped.
     */
    public readonly plan: pulumi.Output<MigrationResult | undefined> | undefined;
    /** Where the SQLite file was copied before the migration (`s3://…`); undefined without `backups` or file. */
    public readonly sqliteCopy: pulumi.Output<string> | undefined;

    constructor(name: string, args: CatalogMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:migration:CatalogMigration", name, {}, opts);

        const environment = migrationEnvironment(args);
        const schema = pulumi.output(args.schema);
        const sqliteArgument = commandPath(args.projectDir, args.sqlitePath);

        this.plan = fs.existsSync(args.sqlitePath)
            ? this.createDryRun(name, args, sqliteArgument, schema, environment)
            : undefined;
        if (this.plan === undefined) {
            pulumi.log.info(
                `catalog \`${name}\`: ${args.sqlitePath} is absent, so no dry run; ` +
                    "a completed migration stays as recorded, a pending one will fail until the file is back",
                this,
            );
        }

        const copy =
            args.backups !== undefined && this.plan !== undefined
                ? this.createSqliteCopy(name, args, args.backups, sqliteArgument, schema)
                : undefined;
        // Secret only because the keys went in; the command prints nothing but the copy's URI on stdout.
        this.sqliteCopy =
            copy === undefined ? undefined : pulumi.unsecret(copy.stdout).apply((stdout) => stdout.trim());

        const migration = new command.local.Command(
            `${name}-migrate`,
            {
                create: pulumi
                    .all([schema, this.plan])
                    .apply(([target]) => migrateCommand(sqliteArgument, target, { dryRun: false })),
                dir: args.projectDir,
                environment,
            },
            {
                parent: this,
                // Neither a rotated role password nor another checkout of this project (a CI runner after the
                // first run from a workstation) may re-run a migration: its SQLite file may be gone by then, and the
                // migrated catalog depends on neither.
                ignoreChanges: ["environment.PGPASSWORD", "dir"],
                dependsOn: copy === undefined ? [] : [copy],
            },
        );
        this.result = migration.stdout.apply((stdout) => parseMigrationResult(stdout, name));

        this.registerOutputs({ result: this.result, plan: this.plan, sqliteCopy: this.sqliteCopy });
    }

    /**
     * The copy of the SQLite file, taken once: like the migration it runs again only when the file's path or the
     * schema changes, so a later `pulumi up` does not copy the file again.
     */
    private createSqliteCopy(
        catalog: string,
        args: CatalogMigrationArgs,
        store: BackupStoreArgs,
        sqliteArgument: string,
        schema: pulumi.Output<string>,
    ): command.local.Command {
        return new command.local.Command(
            `${catalog}-sqlite-copy`,
            {
                create: sqliteCopyCommand(sqliteArgument, catalog),
                dir: args.projectDir,
                environment: backupStoreEnvironment(store),
                triggers: [sqliteArgument, schema],
            },
            {
                parent: this,
                ignoreChanges: ["environment.AWS_ACCESS_KEY_ID", "environment.AWS_SECRET_ACCESS_KEY", "dir"],
            },
        );
    }

    private createDryRun(
        catalog: string,
        args: CatalogMigrationArgs,
        sqliteArgument: string,
        schema: pulumi.Output<string>,
        environment: Record<string, pulumi.Input<string>>,
    ): pulumi.Output<MigrationResult | undefined> {
        const dryRun = command.local.runOutput(
            {
                command: schema.apply((target) => dryRunCommand(sqliteArgument, target)),
                dir: args.projectDir,
                environment,
                // The plan is logged as one line below; the command's progress lines would only add noise.
                logging: command.types.enums.local.Logging.None,
            },
            { parent: this },
        );
        // The result is secret only because PGPASSWORD went in; the JSON summary never contains it
        // (the migrate command's contract), so the plan may be shown.
        return pulumi.all([pulumi.unsecret(dryRun.stdout), schema]).apply(([stdout, target]) => {
            const outcome = parseDryRun(stdout, catalog);
            if (outcome.status !== "refused") {
                pulumi.log.info(describePlan(catalog, args.sqlitePath, target, outcome), this);
                return outcome;
            }
            if (outcome.reason === "target-newer") {
                pulumi.log.warn(`catalog \`${catalog}\`: ${outcome.message}`, this);
                return undefined;
            }
            // A preview runs before the role is updated: after a password rotation the server still has the old
            // one, so the dry run cannot log in yet. `pulumi up` runs it again once the role is updated (it waits for
            // the role, whose name it uses), and fails there if the password is really wrong.
            if (outcome.reason === "login-refused" && pulumi.runtime.isDryRun()) {
                pulumi.log.warn(
                    `catalog \`${catalog}\`: the dry run could not log in (${outcome.message}) Expected ` +
                        "when this update changes the role's password; otherwise `pulumi up` stops here.",
                    this,
                );
                return undefined;
            }
            throw new Error(`catalog \`${catalog}\`: the migration's dry run refused: ${outcome.message}`);
        });
    }
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for `/bin/sh -c`: bare when it cannot be misread, else single-quoted. */
export function shellQuote(word: string): string {
    if (SHELL_SAFE.test(word)) {
        return word;
    }
    // Inside single quotes nothing is special except the quote itself, which is closed, escaped and reopened.
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The SQLite path as the command line carries it: relative to the project directory (where the command runs) when
 * the file is inside it, so that the command reads the same from every checkout of the project; else absolute.
 */
export function commandPath(projectDir: string, sqlitePath: string): string {
    const relative = path.relative(projectDir, sqlitePath);
    return relative.startsWith("..") || path.isAbsolute(relative) ? sqlitePath : relative;
}

/** How the stack starts the migrate command: `package.json`'s `migrate` script minus npm. */
export const MIGRATE_PROGRAM = "node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts/migrate.cjs";

/**
 * The exact command line the stack runs. It never carries a secret. `node` runs the engine compiled ahead of time
 * (scripts/migrate.cjs checks the build first) with the same flags as `npm run migrate`, without npm's own start-up.
 */
export function migrateCommand(sqlitePath: string, schema: string, options: { dryRun: boolean }): string {
    return [
        MIGRATE_PROGRAM,
        `--sqlite ${shellQuote(sqlitePath)}`,
        `--schema ${shellQuote(schema)}`,
        ...(options.dryRun ? ["--dry-run"] : []),
        "--json",
    ].join(" ");
}

/** The copy of a SQLite catalog to the backups prefix, taken before its migration. It never carries a secret. */
export function sqliteCopyCommand(sqlitePath: string, catalog: string): string {
    return `npm run --silent backup -- sqlite --sqlite ${shellQuote(sqlitePath)} --catalog ${shellQuote(catalog)}`;
}

/** The backup command's store variables; the keys go here, as secrets, and nowhere else. */
export function backupStoreEnvironment(store: BackupStoreArgs): Record<string, pulumi.Input<string>> {
    return {
        // The backup command takes the endpoint as a URL; the scheme is where `s3UseSsl` goes.
        S3_ENDPOINT: pulumi
            .all([store.s3UseSsl, store.s3Endpoint])
            .apply(([useSsl, endpoint]) => `${useSsl ? "https" : "http"}://${endpoint}`),
        S3_BUCKET: store.s3Bucket,
        S3_BACKUPS_PREFIX: store.s3BackupsPrefix,
        AWS_REGION: store.s3Region,
        S3_URL_STYLE: store.s3UrlStyle,
        AWS_ACCESS_KEY_ID: pulumi.secret(store.s3AccessKeyId),
        AWS_SECRET_ACCESS_KEY: pulumi.secret(store.s3SecretAccessKey),
    };
}

/**
 * The dry run as the preview runs it. A refusal (exit 1) comes back as JSON on stdout, so that the program can
 * tell "the catalog went on living in PostgreSQL" from real problems; any other failure still fails the invoke.
 */
export function dryRunCommand(sqlitePath: string, schema: string): string {
    return `${migrateCommand(sqlitePath, schema, { dryRun: true })} || test $? -eq 1`;
}

/** The libpq environment of a migration; the password goes here, as a secret, and nowhere else. */
export function migrationEnvironment(connection: MigrationConnection): Record<string, pulumi.Input<string>> {
    return {
        PGHOST: connection.postgresHost,
        PGPORT: pulumi.output(connection.postgresPort).apply(String),
        PGDATABASE: connection.postgresDatabase,
        PGUSER: connection.postgresUser,
        PGPASSWORD: pulumi.secret(connection.postgresPassword),
        PGSSLMODE: connection.postgresSslMode,
    };
}

// A record over the engine's status type, so that a status added there fails to compile here until it is listed.
const STATUSES: Record<MigrationStatus, true> = { migrated: true, unchanged: true, "dry-run": true };

/** Parses the `--json` summary of a run; fails, naming the catalog, on anything else. */
export function parseMigrationResult(stdout: string, catalog: string): MigrationResult {
    const summary = parseJsonObject(stdout);
    if (
        summary === undefined ||
        typeof summary.status !== "string" ||
        !Object.hasOwn(STATUSES, summary.status) ||
        typeof summary.totalRows !== "number" ||
        typeof summary.ducklakeVersion !== "string"
    ) {
        throw noSummary(stdout, catalog);
    }
    return summary as unknown as MigrationResult;
}

/** Parses what a dry run printed: its summary, or the refusal it reported. */
export function parseDryRun(stdout: string, catalog: string): MigrationResult | MigrationRefusal {
    const summary = parseJsonObject(stdout);
    if (summary?.status === "refused" && typeof summary.reason === "string" && typeof summary.message === "string") {
        return summary as unknown as MigrationRefusal;
    }
    return parseMigrationResult(stdout, catalog);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
    try {
        const parsed: unknown = JSON.parse(text);
        return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

function noSummary(stdout: string, catalog: string): Error {
    return new Error(
        `The migration of catalog \`${catalog}\` printed no valid JSON summary on stdout; ` +
            `got ${JSON.stringify(stdout.slice(0, 200))}. Run its command by hand to see the full output.`,
    );
}

/** One line telling the user what `pulumi up` will do with this catalog. */
export function describePlan(catalog: string, sqlitePath: string, schema: string, plan: MigrationResult): string {
    const tables = Object.keys(plan.rows ?? {}).length;
    const source = `${sqlitePath} (DuckLake ${plan.ducklakeVersion}, ${plan.totalRows} rows in ${tables} tables)`;
    return plan.plan === "unchanged"
        ? `catalog \`${catalog}\`: schema \`${schema}\` already holds exactly ${source}; nothing to migrate`
        : `catalog \`${catalog}\`: dry run passed; will migrate ${source} into schema \`${schema}\``;
}
