import * as path from "path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";

import {
    buildStackConfig,
    byType,
    DEFAULT_MIGRATION_STDOUT,
    DEPLOY_ENV,
    devStackConfig,
    fullStackConfig,
    type Harness,
    installMocks,
    plainStrings,
    type Program,
    PROJECT_DIR,
    promiseOf,
    type Registration,
    runProgram,
    SECRETS,
} from "../support/pulumiMocks";
import { evaluateStack } from "./evaluate";
import { migrateCommand } from "../../components/catalogMigration";
import { backupCreateCommand } from "../../components/catalogBackup";

const DATABASE = "lakehouse-catalog:postgres:CatalogDatabase";
const MIGRATION = "lakehouse-catalog:migration:CatalogMigration";
const PROVIDER = "pulumi:providers:postgresql";
const ROLE = "postgresql:index/role:Role";
const DB = "postgresql:index/database:Database";
const SCHEMA = "postgresql:index/schema:Schema";
const COMMAND = "command:local:Command";
const CLIENTS = "lakehouse-catalog:consumers:ClientConfig";
const MLSERVER = "lakehouse-catalog:consumers:Mlserver";
const DOCKER = "pulumi:providers:docker";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const CONTAINER = "docker:index/container:Container";
const BUILD_PROVIDER = "pulumi:providers:docker-build";
const BUILD = "docker-build:index:Image";
const GITLAB = "lakehouse-catalog:gitlab:GitlabVariables";
const BACKUP = "lakehouse-catalog:backup:CatalogBackup";
const GITLAB_PROVIDER = "pulumi:providers:gitlab";
const VARIABLE = "gitlab:index/projectVariable:ProjectVariable";
const CATALOGS = ["stage", "secure_stage", "graphs", "analytics"];
const LATEST = "s3://lakehouse/backups/catalog/2026_01_02/03_04_05_678";
/** The catalog role's libpq environment where the stack reaches the server: the migrations' and the backup's. */
const CATALOG_ROLE_ENVIRONMENT = {
    PGHOST: "localhost",
    PGPORT: "5432",
    PGDATABASE: "lakehouse",
    PGUSER: "lakehouse",
    PGPASSWORD: SECRETS["lakehouse-catalog:rolePassword"],
    PGSSLMODE: "prefer",
};

function one(registrations: Registration[], type: string, name: string): Registration {
    const found = registrations.filter((r) => r.type === type && r.name === name);
    expect(found, `${type} ${name}`).toHaveLength(1);
    return found[0];
}

describe("the dev stack under mocks", () => {
    let harness: Harness;
    let program: Program;

    beforeAll(async () => {
        harness = await installMocks();
        vi.resetModules();
        harness.commandStdout["catalog-backup-create"] = `${LATEST}\n`;
        program = await runProgram(devStackConfig());
    });

    it("registers exactly the expected resources, without mlserver and GitLab", () => {
        const graph = harness.registrations.map((r) => `${r.type} ${r.name}`).sort();
        expect(graph).toEqual(
            [
                `${DATABASE} lakehouse`,
                `${PROVIDER} lakehouse-admin`,
                `${ROLE} lakehouse-role`,
                `${DB} lakehouse-database`,
                ...CATALOGS.map((c) => `${SCHEMA} lakehouse-schema-${c}`),
                ...CATALOGS.map((c) => `${MIGRATION} ${c}`),
                ...CATALOGS.map((c) => `${COMMAND} ${c}-migrate`),
                `${CLIENTS} clients`,
                `${COMMAND} clients-init-sql`,
                `${COMMAND} clients-profiles-yml`,
                `${BACKUP} catalog-backup`,
                `${COMMAND} catalog-backup-create`,
            ].sort(),
        );
    });

    it("parents every child to its component", () => {
        const component = one(harness.registrations, DATABASE, "lakehouse");
        for (const type of [PROVIDER, ROLE, DB, SCHEMA]) {
            for (const child of byType(harness.registrations, type)) {
                expect(child.parent).toBe(component.urn);
                expect(child.urn).toContain(`${DATABASE}$${type}::`);
            }
        }
        for (const catalog of CATALOGS) {
            const migration = one(harness.registrations, MIGRATION, catalog);
            const command = one(harness.registrations, COMMAND, `${catalog}-migrate`);
            expect(command.parent).toBe(migration.urn);
            expect(command.urn).toContain(`${MIGRATION}$${COMMAND}::`);
        }
    });

    it("creates the role least-privileged, and the database and schemas owned by it, through the admin provider", () => {
        const provider = one(harness.registrations, PROVIDER, "lakehouse-admin");
        // Provider configuration travels as strings.
        expect(provider.inputs).toEqual({
            host: "localhost",
            port: "5432",
            username: "postgres",
            password: SECRETS["lakehouse-catalog:postgresAdminPassword"],
            database: "postgres",
            sslmode: "prefer",
            superuser: "false",
            connectTimeout: "15",
        });
        const role = one(harness.registrations, ROLE, "lakehouse-role");
        expect(role.inputs).toMatchObject({
            name: "lakehouse",
            login: true,
            superuser: false,
            createDatabase: false,
            createRole: false,
            replication: false,
            bypassRowLevelSecurity: false,
        });
        const database = one(harness.registrations, DB, "lakehouse-database");
        expect(database.inputs).toMatchObject({ name: "lakehouse", owner: "lakehouse" });
        expect(byType(harness.registrations, SCHEMA).map((s) => s.inputs)).toEqual(
            CATALOGS.map((c) => ({ name: c, database: "lakehouse", owner: "lakehouse", dropCascade: false })),
        );
        for (const resource of [role, database, ...byType(harness.registrations, SCHEMA)]) {
            expect(resource.provider).toBe(`${provider.urn}::lakehouse-admin-id`);
        }
    });

    it("orders schema after database after role, and each migration after its schema", () => {
        const role = one(harness.registrations, ROLE, "lakehouse-role");
        const database = one(harness.registrations, DB, "lakehouse-database");
        expect(database.dependencies).toContain(role.urn);
        for (const catalog of CATALOGS) {
            const schema = one(harness.registrations, SCHEMA, `lakehouse-schema-${catalog}`);
            expect(schema.dependencies).toEqual(expect.arrayContaining([role.urn, database.urn]));
            const command = one(harness.registrations, COMMAND, `${catalog}-migrate`);
            expect(command.dependencies).toEqual(expect.arrayContaining([schema.urn, role.urn, database.urn]));
        }
    });

    it("keeps role, database and schemas on delete, and leaves the migrations free to go", () => {
        for (const type of [ROLE, DB, SCHEMA]) {
            for (const resource of byType(harness.registrations, type)) {
                expect(resource.retainOnDelete, resource.name).toBe(true);
            }
        }
        for (const command of byType(harness.registrations, COMMAND).filter((c) => c.name.endsWith("-migrate"))) {
            expect(command.retainOnDelete).toBe(false);
            expect(command.inputs.delete).toBeUndefined();
            expect(command.inputs.triggers).toBeUndefined();
        }
    });

    it("runs the exact migrate command per catalog, in the project directory, as the catalog role", () => {
        const sqlite: Record<string, string> = {
            stage: "local/stage.sqlite",
            secure_stage: "local/secure_stage.sqlite",
            graphs: "local/marts/graphs.sqlite",
            analytics: "local/marts/analytics.sqlite",
        };
        for (const catalog of CATALOGS) {
            const command = one(harness.registrations, COMMAND, `${catalog}-migrate`);
            // Relative to the project directory it runs in: the same command from every checkout.
            expect(command.inputs.create).toBe(
                `node --disable-warning=ExperimentalWarning --max-semi-space-size=4 scripts/migrate.cjs --sqlite ${sqlite[catalog]} --schema ${catalog} --json`,
            );
            expect(command.inputs.create).toBe(migrateCommand(sqlite[catalog], catalog, { dryRun: false }));
            expect(command.inputs.dir).toBe(PROJECT_DIR);
            expect(command.inputs.environment).toEqual(CATALOG_ROLE_ENVIRONMENT);
        }
    });

    it("runs `backup create` after the migrations, again whenever one of them ran, as the catalog role", async () => {
        const backup = one(harness.registrations, COMMAND, "catalog-backup-create");
        expect(backup.inputs.create).toBe(backupCreateCommand());
        expect(backup.inputs.create).toBe("npm run --silent backup -- create");
        expect(backup.inputs.dir).toBe(PROJECT_DIR);
        expect(backup.inputs.environment).toEqual({
            ...CATALOG_ROLE_ENVIRONMENT,
            S3_ENDPOINT: "http://localhost:9000",
            S3_BUCKET: "lakehouse",
            S3_BACKUPS_PREFIX: "backups",
            AWS_REGION: "eu-west-1",
            S3_URL_STYLE: "path",
            AWS_ACCESS_KEY_ID: SECRETS["lakehouse-catalog:s3AccessKeyId"],
            AWS_SECRET_ACCESS_KEY: SECRETS["lakehouse-catalog:s3SecretAccessKey"],
        });
        // A migration that runs records a new result (its time at least), which replaces this Command: a new dump.
        expect(backup.inputs.triggers).toEqual(CATALOGS.map(() => JSON.parse(DEFAULT_MIGRATION_STDOUT)));
        const migrations = CATALOGS.map((c) => one(harness.registrations, COMMAND, `${c}-migrate`).urn);
        expect(backup.dependencies).toEqual(expect.arrayContaining(migrations));
        expect(backup.ignoreChanges).toEqual([
            "environment.PGPASSWORD",
            "environment.AWS_ACCESS_KEY_ID",
            "environment.AWS_SECRET_ACCESS_KEY",
            "dir",
        ]);
        expect(await promiseOf(program.latestBackup!)).toBe(LATEST);
        expect(await pulumi.isSecret(program.latestBackup!)).toBe(false);
    });

    it("marks every secret input secret: no secret value is ever a plain string on the wire", () => {
        const secretValues = Object.values(SECRETS);
        const leaks = harness.registrations.flatMap((r) =>
            plainStrings(r.wireInputs)
                .filter((s) => secretValues.some((secret) => s.value.includes(secret)))
                .map((s) => `${r.type} ${r.name} ${s.path}`),
        );
        expect(leaks).toEqual([]);
        // The walk must have something to find: the secrets are there, wrapped.
        const wrapped = harness.registrations.flatMap((r) => JSON.stringify(r.inputs));
        for (const secret of [
            SECRETS["lakehouse-catalog:rolePassword"],
            SECRETS["lakehouse-catalog:postgresAdminPassword"],
        ]) {
            expect(wrapped.some((inputs) => inputs.includes(JSON.stringify(secret).slice(1, -1)))).toBe(true);
        }
    });

    it("exports what an operator needs, the password only as a secret", async () => {
        expect(program.host).toBe("localhost");
        expect(program.port).toBe(5432);
        expect(await promiseOf(program.database)).toBe("lakehouse");
        expect(await promiseOf(program.role)).toBe("lakehouse");
        expect(program.schemas).toEqual({
            stage: "stage",
            secure_stage: "secure_stage",
            graphs: "graphs",
            analytics: "analytics",
        });
        expect(await pulumi.isSecret(program.password)).toBe(true);
        expect(await pulumi.isSecret(program.database)).toBe(false);
        const statuses = await Promise.all(CATALOGS.map((c) => promiseOf(program.migrationStatus[c])));
        expect(statuses).toEqual(["migrated", "migrated", "migrated", "migrated"]);
        expect(await promiseOf(program.duckdbInitSql)).toContain(`ATTACH 'ducklake:' AS "stage"`);
        expect(await promiseOf(program.dbtProfilesYml)).toContain('metadata_schema: "stage"');
        expect(program.mlserverContainer).toBeUndefined();
        expect(program.gitlabVariableKeys).toBeUndefined();
    });
});

/** The graph as `type name <- parent type name [dependencies]`, names only, for exact comparison. */
function graphOf(registrations: Registration[]): string[] {
    const names = new Map(registrations.map((r) => [r.urn, `${r.type} ${r.name}`]));
    const nameOf = (urn: string) => names.get(urn) ?? urn;
    return registrations
        .map((r) => {
            const parent = r.parent === "" ? "(stack)" : nameOf(r.parent);
            const dependencies = [...new Set(r.dependencies.map(nameOf))].sort();
            return `${r.type} ${r.name} <- ${parent} [${dependencies.join(", ")}]`;
        })
        .sort();
}

describe("the full test stack (mlserver and GitLab enabled) under mocks", () => {
    let harness: Harness;
    let program: Program;

    beforeAll(async () => {
        harness = await installMocks();
        vi.resetModules();
        program = await runProgram(fullStackConfig(), DEPLOY_ENV);
    });

    it("registers the whole graph: types, names, parents and dependencies", () => {
        const variables = byType(harness.registrations, VARIABLE).map((r) => r.name.replace(/^gitlab-/, ""));
        expect(variables).toHaveLength(28);
        const role = `${ROLE} lakehouse-role`;
        const database = `${DB} lakehouse-database`;
        const commands = CATALOGS.map((c) => `${COMMAND} ${c}-migrate`);
        expect(graphOf(harness.registrations)).toEqual(
            [
                `${DATABASE} lakehouse <- (stack) []`,
                `${PROVIDER} lakehouse-admin <- ${DATABASE} lakehouse []`,
                `${role} <- ${DATABASE} lakehouse []`,
                `${database} <- ${DATABASE} lakehouse [${role}]`,
                ...CATALOGS.map(
                    (c) => `${SCHEMA} lakehouse-schema-${c} <- ${DATABASE} lakehouse [${database}, ${role}]`,
                ),
                ...CATALOGS.map((c) => `${MIGRATION} ${c} <- (stack) []`),
                ...CATALOGS.map(
                    (c) =>
                        `${COMMAND} ${c}-migrate <- ${MIGRATION} ${c} [${database}, ${role}, ${SCHEMA} lakehouse-schema-${c}]`,
                ),
                `${CLIENTS} clients <- (stack) [${[...commands].sort().join(", ")}]`,
                `${COMMAND} clients-init-sql <- ${CLIENTS} clients [${[...commands, database, role].sort().join(", ")}]`,
                `${COMMAND} clients-profiles-yml <- ${CLIENTS} clients [${[...commands, database, role].sort().join(", ")}]`,
                `${BACKUP} catalog-backup <- (stack) [${[...commands].sort().join(", ")}]`,
                `${COMMAND} catalog-backup-create <- ${BACKUP} catalog-backup [${[...commands, database, role].sort().join(", ")}]`,
                `${MLSERVER} mlserver <- (stack) [${[...commands].sort().join(", ")}]`,
                `${DOCKER} mlserver-docker <- ${MLSERVER} mlserver []`,
                `${IMAGE} mlserver-image <- ${MLSERVER} mlserver []`,
                `${CONTAINER} mlserver-container <- ${MLSERVER} mlserver [${[...commands, database, role, `${IMAGE} mlserver-image`].sort().join(", ")}]`,
                `${GITLAB} gitlab <- (stack) []`,
                `${GITLAB_PROVIDER} gitlab-provider <- ${GITLAB} gitlab []`,
                ...variables.map((key) => `${VARIABLE} gitlab-${key} <- ${GITLAB} gitlab []`),
            ].sort(),
        );
    });

    it("deploys the mlserver container only after every migration Command", () => {
        const container = one(harness.registrations, CONTAINER, "mlserver-container");
        const commands = CATALOGS.map((c) => one(harness.registrations, COMMAND, `${c}-migrate`).urn);
        expect(container.dependencies).toEqual(expect.arrayContaining(commands));
    });

    it("marks every secret input secret, deploy credentials included, across all registrations", () => {
        const secretValues = [...Object.values(SECRETS), ...Object.values(DEPLOY_ENV)];
        const leaks = harness.registrations.flatMap((r) =>
            plainStrings(r.wireInputs)
                .filter((s) => secretValues.some((secret) => s.value.includes(secret)))
                .map((s) => `${r.type} ${r.name} ${s.path}`),
        );
        expect(leaks).toEqual([]);
        // The walk must have something to find: every secret but the admin password reaches a consumer, wrapped.
        const consumerInputs = [...byType(harness.registrations, CONTAINER), ...byType(harness.registrations, VARIABLE)]
            .map((r) => JSON.stringify(r.inputs))
            .join("\n");
        for (const secret of secretValues.filter(
            (value) => value !== SECRETS["lakehouse-catalog:postgresAdminPassword"],
        )) {
            expect(consumerInputs).toContain(JSON.stringify(secret).slice(1, -1));
        }
    });

    it("exports the client files, the mlserver container and the GitLab variable keys", async () => {
        expect(await promiseOf(program.mlserverContainer!)).toBe("datalab-mlserver-1");
        expect(program.gitlabVariableKeys).toHaveLength(28);
        expect(program.gitlabVariableKeys).toContain("PSQL_CATALOG_GRAPHS_MART_SCHEMA");
        expect(await pulumi.isSecret(program.duckdbInitSql)).toBe(false);
        expect(await promiseOf(program.duckdbInitSql)).toContain("HOST 'docker-shared'");
    });
});

describe("the full test stack with the mlserver built from the repository under mocks", () => {
    let harness: Harness;

    beforeAll(async () => {
        harness = await installMocks();
        vi.resetModules();
        await runProgram(buildStackConfig(), DEPLOY_ENV);
    });

    it("builds before reading the image and replaces the container only after the build and every migration", () => {
        const commands = CATALOGS.map((c) => `${COMMAND} ${c}-migrate`);
        const mlserverPart = graphOf(harness.registrations).filter((line) => line.includes("mlserver"));
        expect(mlserverPart).toEqual(
            [
                `${MLSERVER} mlserver <- (stack) [${[...commands].sort().join(", ")}]`,
                `${DOCKER} mlserver-docker <- ${MLSERVER} mlserver []`,
                `${BUILD_PROVIDER} mlserver-docker-build <- ${MLSERVER} mlserver []`,
                `${BUILD} mlserver-build <- ${MLSERVER} mlserver []`,
                `${IMAGE} mlserver-image <- ${MLSERVER} mlserver [${BUILD} mlserver-build]`,
                `${CONTAINER} mlserver-container <- ${MLSERVER} mlserver [${[...commands, `${DB} lakehouse-database`, `${ROLE} lakehouse-role`, `${IMAGE} mlserver-image`].sort().join(", ")}]`,
            ].sort(),
        );
    });

    it("builds the checkout next to the project with the default Dockerfile, and runs what the host reads under the tag", () => {
        const build = one(harness.registrations, BUILD, "mlserver-build");
        const context = path.resolve(PROJECT_DIR, "../datalab");
        expect(build.inputs).toEqual({
            context: { location: context },
            dockerfile: { location: path.join(context, "infra/apps/docker/mlserver/Dockerfile") },
            tags: ["datalab-mlserver:pulumi"],
            load: true,
            push: false,
            buildOnPreview: false,
            network: "default",
        });
        expect(one(harness.registrations, BUILD_PROVIDER, "mlserver-docker-build").inputs.host).toBe(
            "tcp://docker-apps:2375",
        );
        expect(one(harness.registrations, IMAGE, "mlserver-image").inputs).toEqual({
            name: "datalab-mlserver:pulumi",
            keepLocally: true,
            triggers: { digest: "sha256:mlserver-build-digest" },
        });
        expect(one(harness.registrations, CONTAINER, "mlserver-container").inputs.image).toBe("sha256:mlserver-image");
    });
});

// The time it takes is a benchmark figure (`npm run bench`), not something a test should assert.
describe("stack evaluation at scale", () => {
    it.each([4, 40])("evaluates %i catalogs into the expected number of resources", async (catalogs) => {
        vi.resetModules();
        const evaluation = await evaluateStack(catalogs);
        // role, database, provider, component + per catalog: schema, migration component, command;
        // client config: component, 2 files; mlserver: component, provider, image, container;
        // GitLab: component, provider, 20 variables + 2 per catalog; the backup after migrations: component, command.
        expect(evaluation.resources).toBe(4 + 3 * catalogs + 3 + 4 + 22 + 2 * catalogs + 2);
    });
});
