import * as pulumi from "@pulumi/pulumi";

import { consumerS3Endpoint, parseStackConfig, readStackConfig } from "./config";
import { CatalogDatabase } from "./components/catalogDatabase";
import { CatalogBackup } from "./components/catalogBackup";
import { type BackupStoreArgs, CatalogMigration } from "./components/catalogMigration";
import { ClientConfig } from "./components/clientConfig";
import { Mlserver } from "./components/mlserver";
import { GitlabVariables, gitlabVariablesArgs } from "./components/gitlabVariables";

// Validate everything before any resource exists; relative SQLite paths resolve against this directory.
const config = parseStackConfig(readStackConfig(), __dirname);
// The deployer's credentials become CI/CD variables; a missing one must stop the program before any resource too.
const gitlabArgs = gitlabVariablesArgs(config, process.env);

// The role, the database it owns, and one schema per catalog, all kept on `pulumi destroy`.
const catalogDatabase = new CatalogDatabase("lakehouse", {
    postgresHost: config.postgres.host,
    postgresPort: config.postgres.port,
    postgresSslMode: config.postgres.sslMode,
    postgresUser: config.postgres.adminUser,
    postgresPassword: config.postgres.adminPassword,
    postgresDatabase: config.postgres.adminDatabase,
    databaseName: config.database,
    roleName: config.role,
    rolePassword: config.rolePassword,
    schemas: config.catalogs.map((catalog) => catalog.schema),
});

const consumerS3 = consumerS3Endpoint(config);
const s3Keys = { s3AccessKeyId: config.s3AccessKeyId, s3SecretAccessKey: config.s3SecretAccessKey };

// With a backups prefix, the stack keeps the SQLite originals and dumps the database in `dlctl backup`'s layout,
// reaching the bucket where the stack itself does.
const backupStore: BackupStoreArgs | undefined =
    config.s3.backupsPrefix === undefined
        ? undefined
        : { ...consumerS3, s3Endpoint: config.s3.endpoint, ...s3Keys, s3BackupsPrefix: config.s3.backupsPrefix };

// The catalog role: the migrations and the backups log in as it where the stack reaches the server, the consumers
// where they reach it.
const catalogRole = { postgresDatabase: catalogDatabase.databaseName, postgresUser: catalogDatabase.roleName };
const catalogRoleConnection = {
    ...catalogRole,
    postgresHost: config.postgres.host,
    postgresPort: config.postgres.port,
    postgresPassword: catalogDatabase.rolePassword,
    postgresSslMode: config.postgres.sslMode,
};
const consumerPostgres = {
    ...catalogRole,
    postgresHost: config.consumers.postgresHost,
    postgresPort: config.consumers.postgresPort,
};

// Each catalog moves from its SQLite file into its schema, as the catalog role, once the schema exists and its
// SQLite file is copied to the backups prefix.
const migrations = config.catalogs.map(
    (catalog) =>
        new CatalogMigration(catalog.name, {
            sqlitePath: catalog.sqlite,
            schema: catalogDatabase.schemas[catalog.schema].name,
            ...catalogRoleConnection,
            projectDir: __dirname,
            backups: backupStore,
        }),
);

// A backup of the whole catalog database after every update that migrated a catalog.
const catalogBackup =
    backupStore === undefined
        ? undefined
        : new CatalogBackup(
              "catalog-backup",
              {
                  ...catalogRoleConnection,
                  store: backupStore,
                  migrated: migrations.map((migration) => migration.result),
                  projectDir: __dirname,
              },
              { dependsOn: migrations },
          );

// DuckDB's init.sql and dbt's profiles.yml for the catalogs, as outputs and, with clientConfigDir, as files
// written once every migration succeeded.
const clientConfig = new ClientConfig(
    "clients",
    {
        ...consumerPostgres,
        ...consumerS3,
        catalogs: config.catalogs.map(({ name, schema, s3Prefix, encrypted }) => ({
            name,
            schema,
            s3Prefix,
            encrypted,
        })),
        outputDir: config.consumers.configDir,
    },
    { dependsOn: migrations },
);

// The mlserver switches to the PostgreSQL catalogs only after every migration succeeded.
const mlserver =
    config.mlserver === undefined
        ? undefined
        : new Mlserver(
              "mlserver",
              {
                  // Its placement, its image or build, the two prefixes and the services it needs, as config.ts
                  // validated them.
                  ...config.mlserver,
                  ...consumerPostgres,
                  postgresPassword: catalogDatabase.rolePassword,
                  ...consumerS3,
                  ...s3Keys,
                  catalogs: config.catalogs.map(({ envName, schema, s3Prefix }) => ({ envName, schema, s3Prefix })),
              },
              { dependsOn: migrations },
          );

// The pipeline's CI/CD variables, derived from the same config as everything above.
const gitlabVariables = gitlabArgs === undefined ? undefined : new GitlabVariables("gitlab", gitlabArgs);

export const host = config.postgres.host;
export const port = config.postgres.port;
export const database = catalogDatabase.databaseName;
export const role = catalogDatabase.roleName;
export const password = pulumi.secret(catalogDatabase.rolePassword);
export const schemas = Object.fromEntries(config.catalogs.map((catalog) => [catalog.name, catalog.schema]));
export const migrationStatus = Object.fromEntries(
    config.catalogs.map((catalog, index) => [catalog.name, migrations[index].result.apply((result) => result.status)]),
);
export const sqliteCopies = Object.fromEntries(
    config.catalogs.map((catalog, index) => [catalog.name, migrations[index].sqliteCopy]),
);
export const latestBackup = catalogBackup?.latest;
export const duckdbInitSql = clientConfig.initSql;
export const dbtProfilesYml = clientConfig.profilesYml;
export const mlserverContainer = mlserver?.container.name;
export const gitlabVariableKeys = gitlabVariables?.variableKeys;
