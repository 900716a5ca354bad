import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

import {
    backupStoreEnvironment,
    type BackupStoreArgs,
    type MigrationConnection,
    migrationEnvironment,
} from "./catalogMigration";

export interface CatalogBackupArgs extends MigrationConnection {
    /** Where the dumps and the manifest go, in the layout `dlctl backup` reads. */
    store: BackupStoreArgs;
    /**
     * The migrations' results: a change in any of them (a migration that ran in this update) triggers a new backup.
     * Pass them with the migrations in `dependsOn`.
     */
    migrated: pulumi.Input<unknown>[];
    /** Project directory, where `npm run backup` is run. */
    projectDir: string;
}

/**
 * A `pg_dump` of the whole catalog database after every update that migrated a catalog, uploaded and verified before
 * the manifest names it. Updates that migrated nothing leave it alone; the pipeline's scheduled job takes the
 * regular backups. Like the migrations it has no `delete`: destroying the stack keeps every backup.
 */
export class CatalogBackup extends pulumi.ComponentResource {
    /** The backup the last run wrote (`s3://…/catalog/<YYYY_MM_DD>/<HH_MM_SS_mmm>`), as the manifest names it. */
    public readonly latest: pulumi.Output<string>;

    constructor(name: string, args: CatalogBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:backup:CatalogBackup", name, {}, opts);

        const backup = new command.local.Command(
            `${name}-create`,
            {
                create: backupCreateCommand(),
                dir: args.projectDir,
                environment: { ...migrationEnvironment(args), ...backupStoreEnvironment(args.store) },
                triggers: args.migrated,
            },
            {
                parent: this,
                // New credentials or another checkout are no reason for a backup; a migration is.
                ignoreChanges: [
                    "environment.PGPASSWORD",
                    "environment.AWS_ACCESS_KEY_ID",
                    "environment.AWS_SECRET_ACCESS_KEY",
                    "dir",
                ],
            },
        );
        // The URI is secret only because the keys went in; the command prints nothing else on stdout.
        this.latest = pulumi.unsecret(backup.stdout).apply((stdout) => stdout.trim());

        this.registerOutputs({ latest: this.latest });
    }
}

/** The exact command line the stack and the scheduled pipeline job run. It never carries a secret. */
export function backupCreateCommand(): string {
    return "npm run --silent backup -- create";
}
