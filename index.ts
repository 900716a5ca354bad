import * as pulumi from "@pulumi/pulumi";

import { parseStackConfig, readStackConfig } from "./config";
import { CatalogDatabase } from "./components/catalogDatabase";
import { CatalogMigration } from "./components/catalogMigration";

// Validate everything before any resource exists; relative SQLite paths resolve against this directory.
const config = parseStackConfig(readStackConfig(), __dirname);

// The role, the database it owns, and one schema per catalog, all kept on `pulumi destroy`.
const catalogDatabase = new CatalogDatabase("lakehouse", {
    host: config.postgres.host,
    port: config.postgres.port,
    sslMode: config.postgres.sslMode,
    adminUser: config.postgres.adminUser,
    adminPassword: config.postgres.adminPassword,
    adminDatabase: config.postgres.adminDatabase,
    databaseName: config.database,
    roleName: config.role,
    rolePassword: config.rolePassword,
    schemas: config.catalogs.map((catalog) => catalog.schema),
});

// Each catalog moves from its SQLite file into its schema, as the catalog role, once the schema exists.
const migrations = config.catalogs.map(
    (catalog) =>
        new CatalogMigration(catalog.name, {
            catalog: catalog.name,
            sqlitePath: catalog.sqlite,
            schema: catalogDatabase.schemas[catalog.schema].name,
            host: config.postgres.host,
            port: config.postgres.port,
            database: catalogDatabase.databaseName,
            user: catalogDatabase.roleName,
            password: catalogDatabase.rolePassword,
            sslMode: config.postgres.sslMode,
            projectDir: __dirname,
        }),
);

export const host = config.postgres.host;
export const port = config.postgres.port;
export const database = catalogDatabase.databaseName;
export const role = catalogDatabase.roleName;
export const password = pulumi.secret(catalogDatabase.rolePassword);
export const schemas = Object.fromEntries(config.catalogs.map((catalog) => [catalog.name, catalog.schema]));
export const migrationStatus = Object.fromEntries(
    config.catalogs.map((catalog, index) => [catalog.name, migrations[index].result.apply((result) => result.status)]),
);
