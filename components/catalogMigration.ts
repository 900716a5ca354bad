import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

import type { SslMode } from "../config";

/** Where a migration writes: the libpq connection of the catalog role. */
export interface MigrationConnection {
    /** PostgreSQL host (`PGHOST`). */
    host: pulumi.Input<string>;
    /** PostgreSQL port (`PGPORT`). */
    port: pulumi.Input<number>;
    /** Database holding the catalog schemas (`PGDATABASE`). */
    database: pulumi.Input<string>;
    /** The catalog role, never a superuser (`PGUSER`). */
    user: pulumi.Input<string>;
    /** The role's password (`PGPASSWORD`); always passed on as a secret, never in the command line. */
    password: pulumi.Input<string>;
    /** libpq `sslmode` (`PGSSLMODE`). */
    sslMode: pulumi.Input<SslMode>;
}

export interface CatalogMigrationArgs extends MigrationConnection {
    /** Catalog name, for messages. */
    catalog: string;
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
    /** Project directory, where `npm run migrate` is run. */
    projectDir: string;
}

/** The `--json` summary of the migrate command (the contract of issue 3). */
export interface MigrationResult {
    status: "migrated" | "unchanged" | "dry-run";
    ducklakeVersion: string;
    rows: Record<string, number>;
    totalRows: number;
    seconds: number;
}

/**
 * Moves one DuckLake catalog from its SQLite file into its PostgreSQL schema, by running the project's migrate
 * command as the catalog role.
 *
 * The command runs once, when the migration is created, and again only when its command line, directory or
 * connection change (a new role password alone is not such a change). It has no trigger on the SQLite file's content or presence on purpose: once migrated,
 * the file may be deleted and the stack shows no diff. It has no `delete` command either, so removing a
 * catalog or destroying the stack never touches the migrated data.
 *
 * While the SQLite file exists, every preview and update first runs the migration as a dry run (read-only),
 * logs a one-line plan and fails with the command's own message if the dry run refuses. The dry run needs the
 * schema to exist: on the first preview, while the database and schema are still to be created, Pulumi skips
 * it and the plan shows nothing.
 */
export class CatalogMigration extends pulumi.ComponentResource {
    /** The migration's JSON summary, as recorded when it ran. */
    public readonly result: pulumi.Output<MigrationResult>;
    /** The dry run's summary for this preview or update; `undefined` when the SQLite file is gone. */
    public readonly plan: pulumi.Output<MigrationResult> | undefined;

    constructor(name: string, args: CatalogMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:migration:CatalogMigration", name, {}, opts);

        const environment = migrationEnvironment(args);
        const schema = pulumi.output(args.schema);

        this.plan = fs.existsSync(args.sqlitePath)
            ? this.createDryRun(args, schema, environment)
            : undefined;
        if (this.plan === undefined) {
            pulumi.log.info(
                `catalog \`${args.catalog}\`: ${args.sqlitePath} is absent, so no dry run; ` +
                    "a completed migration stays as recorded, a pending one will fail until the file is back",
                this,
            );
        }

        const migration = new command.local.Command(
            `${name}-migrate`,
            {
                create: schema.apply((target) => migrateCommand(args.sqlitePath, target, { dryRun: false })),
                dir: args.projectDir,
                environment,
            },
            {
                parent: this,
                // A rotated role password must not re-run a migration: its SQLite file may be gone by then, and
                // the migrated catalog does not depend on the password it was written with.
                ignoreChanges: ["environment.PGPASSWORD"],
            },
        );
        this.result = migration.stdout.apply((stdout) => parseMigrationResult(stdout, args.catalog));

        this.registerOutputs({ result: this.result, plan: this.plan });
    }

    private createDryRun(
        args: CatalogMigrationArgs,
        schema: pulumi.Output<string>,
        environment: Record<string, pulumi.Input<string>>,
    ): pulumi.Output<MigrationResult> {
        const dryRun = command.local.runOutput(
            {
                command: schema.apply((target) => migrateCommand(args.sqlitePath, target, { dryRun: true })),
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
            const plan = parseMigrationResult(stdout, args.catalog);
            pulumi.log.info(describePlan(args.catalog, args.sqlitePath, target, plan), this);
            return plan;
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

/** The exact command line the stack runs (contract of issue 3). It never carries a secret. */
export function migrateCommand(sqlitePath: string, schema: string, options: { dryRun: boolean }): string {
    return [
        "npm run --silent migrate --",
        `--sqlite ${shellQuote(sqlitePath)}`,
        `--schema ${shellQuote(schema)}`,
        ...(options.dryRun ? ["--dry-run"] : []),
        "--json",
    ].join(" ");
}

/** The libpq environment of a migration; the password goes here, as a secret, and nowhere else. */
export function migrationEnvironment(connection: MigrationConnection): Record<string, pulumi.Input<string>> {
    return {
        PGHOST: connection.host,
        PGPORT: pulumi.output(connection.port).apply(String),
        PGDATABASE: connection.database,
        PGUSER: connection.user,
        PGPASSWORD: pulumi.secret(connection.password),
        PGSSLMODE: connection.sslMode,
    };
}

const STATUSES: readonly string[] = ["migrated", "unchanged", "dry-run"];

/** Parses the `--json` summary; fails, naming the catalog, on anything else. */
export function parseMigrationResult(stdout: string, catalog: string): MigrationResult {
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch {
        parsed = undefined;
    }
    const summary = parsed as Partial<MigrationResult> | undefined;
    if (
        typeof summary !== "object" ||
        summary === null ||
        typeof summary.status !== "string" ||
        !STATUSES.includes(summary.status) ||
        typeof summary.totalRows !== "number" ||
        typeof summary.ducklakeVersion !== "string"
    ) {
        throw new Error(
            `The migration of catalog \`${catalog}\` printed no valid JSON summary on stdout; ` +
                `got ${JSON.stringify(stdout.slice(0, 200))}. Run its command by hand to see the full output.`,
        );
    }
    return summary as MigrationResult;
}

/** One line telling the user what `pulumi up` will do with this catalog. */
export function describePlan(catalog: string, sqlitePath: string, schema: string, plan: MigrationResult): string {
    const tables = Object.keys(plan.rows ?? {}).length;
    return (
        `catalog \`${catalog}\`: dry run passed for ${sqlitePath} (DuckLake ${plan.ducklakeVersion}, ` +
        `${plan.totalRows} rows in ${tables} tables) into schema \`${schema}\``
    );
}
