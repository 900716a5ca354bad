import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";

import type { Inputs, PostgresConnection } from "./endpoints";

/**
 * The admin connection is a {@link PostgresConnection}: `postgresUser` is the admin login that creates the role, the
 * database and the schemas. It needs `CREATEROLE` and `CREATEDB` (or superuser); the provider briefly grants itself
 * the new role to hand ownership over, and revokes it after. `postgresDatabase` is an existing database it connects
 * to first, usually `postgres`. Changing `postgresHost` points the stack at another server: everything is created
 * there anew.
 */
export interface CatalogDatabaseArgs extends Inputs<PostgresConnection> {
    /** Name of the database to create. Changing it forces a new database; the old one is left in place. */
    databaseName: pulumi.Input<string>;
    /** Name of the login role to create. Changing it forces a new role; the old one is left in place. */
    roleName: pulumi.Input<string>;
    /** Password of the role; must be a secret. Changing it updates the role in place. */
    rolePassword: pulumi.Input<string>;
    /**
     * One schema per catalog, created in the database and owned by the role. Plain strings because each
     * schema is its own resource named after it. Removing a name leaves that schema and its tables in place.
     */
    schemas: string[];
}

/**
 * The PostgreSQL side of the lakehouse: a login role, a database it owns, and one schema per catalog it owns.
 *
 * Nothing here ever drops data. The role, the database and every schema are created with `retainOnDelete`,
 * so `pulumi destroy`, removing a catalog from config, or a rename (which Pulumi performs as replace) only
 * forgets them in the stack state. After `pulumi destroy` the server still holds the role (with its password),
 * the database and every catalog schema with all its tables; drop them by hand if they are really unwanted.
 *
 * Least privilege: the role can log in and owns its database and schemas, nothing else. It is not superuser
 * and cannot create databases or roles, so a leaked catalog password cannot reach other databases' data.
 */
export class CatalogDatabase extends pulumi.ComponentResource {
    /** Name of the created role, known once it exists; depend on it to wait for the role. */
    public readonly roleName: pulumi.Output<string>;
    /** Name of the created database, known once it exists. */
    public readonly databaseName: pulumi.Output<string>;
    /** The role's password, as a secret. */
    public readonly rolePassword: pulumi.Output<string>;
    /** Catalog schemas by schema name; a migration depends on its schema. */
    public readonly schemas: Record<string, postgresql.Schema>;

    constructor(name: string, args: CatalogDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:postgres:CatalogDatabase", name, {}, opts);

        const provider = new postgresql.Provider(
            `${name}-admin`,
            {
                host: args.postgresHost,
                port: args.postgresPort,
                sslmode: args.postgresSslMode,
                username: args.postgresUser,
                password: pulumi.secret(args.postgresPassword),
                database: args.postgresDatabase,
                // With `superuser: false` the provider grants itself the new role before handing it
                // ownership, which is what lets a CREATEROLE/CREATEDB admin (not only a superuser) do the work.
                superuser: false,
                connectTimeout: 15,
            },
            { parent: this },
        );
        const retained = { parent: this, provider, retainOnDelete: true };

        const role = new postgresql.Role(
            `${name}-role`,
            {
                name: args.roleName,
                login: true,
                password: pulumi.secret(args.rolePassword),
                superuser: false,
                createDatabase: false,
                createRole: false,
                replication: false,
                bypassRowLevelSecurity: false,
            },
            retained,
        );
        const database = new postgresql.Database(
            `${name}-database`,
            { name: args.databaseName, owner: role.name },
            retained,
        );
        this.schemas = Object.fromEntries(
            args.schemas.map((schema) => [
                schema,
                new postgresql.Schema(
                    `${name}-schema-${schema}`,
                    {
                        name: schema,
                        database: database.name,
                        owner: role.name,
                        // Never drop what a catalog holds, even if the resource is ever deleted with retain off.
                        dropCascade: false,
                    },
                    retained,
                ),
            ]),
        );

        this.roleName = role.name;
        this.databaseName = database.name;
        this.rolePassword = pulumi.secret(args.rolePassword);
        this.registerOutputs({
            roleName: this.roleName,
            databaseName: this.databaseName,
            rolePassword: this.rolePassword,
            schemas: this.schemas,
        });
    }
}
