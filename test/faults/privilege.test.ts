/**
 * The migration runs as the catalog role, set up the way the stack's CatalogDatabase does it: a login role that
 * owns its database and nothing else, and cannot do what a migration never needs.
 */
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLargeCatalog, LARGEST_TABLE } from "./support/catalogs";
import { expectMigrated } from "./support/expectations";
import { openFaultTarget, type FaultTarget } from "./support/faultTarget";
import { pollUntil, startMigrate } from "./support/migrateProcess";
import { backendsOf } from "./support/targetState";

let target: FaultTarget;
let asRole: Client;

beforeAll(async () => {
    target = await openFaultTarget("privilege");
    asRole = new Client({ ...target.observerConfig, user: target.role, password: target.password });
    await asRole.connect();
});

afterAll(async () => {
    await asRole?.end();
    await target?.close();
});

/** The SQLSTATE a statement fails with as the role, or "ok". */
async function outcome(sql: string): Promise<string> {
    try {
        await asRole.query(sql);
        return "ok";
    } catch (error) {
        return (error as { code?: string }).code ?? (error as Error).message;
    }
}

describe("the migration's role", () => {
    it("is the one the migrating backend runs as, and it is not a superuser", async () => {
        const catalog = path.join(target.dir, "large.sqlite");
        buildLargeCatalog(catalog);
        const run = startMigrate({ sqlite: catalog, schema: "privileged", env: target.env });
        const backend = await pollUntil(
            async () =>
                (await backendsOf(target.observer, target.role, target.database)).find((candidate) =>
                    candidate.query.includes(LARGEST_TABLE),
                ),
            60_000,
            "the load to start",
        );
        const role = await target.observer.query<{ usename: string; rolsuper: boolean }>(
            `SELECT a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
             WHERE a.pid = $1`,
            [backend.pid],
        );
        expectMigrated(await run.done, "migrated");
        expect(role.rows).toEqual([{ usename: target.role, rolsuper: false }]);
    });

    it("has no cluster-wide power: no superuser, role or database creation, replication or RLS bypass", async () => {
        const attributes = await asRole.query(
            `SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin
             FROM pg_roles WHERE rolname = current_user`,
        );
        expect(attributes.rows).toEqual([
            {
                rolsuper: false,
                rolcreaterole: false,
                rolcreatedb: false,
                rolreplication: false,
                rolbypassrls: false,
                rolcanlogin: true,
            },
        ]);
        const insufficientPrivilege = "42501";
        expect(await outcome("CREATE ROLE faults_intruder")).toBe(insufficientPrivilege);
        expect(await outcome("CREATE DATABASE faults_intruder")).toBe(insufficientPrivilege);
        expect(await outcome("ALTER SYSTEM SET work_mem = '1GB'")).toBe(insufficientPrivilege);
        expect(await outcome("COPY (SELECT 1) TO PROGRAM 'true'")).toBe(insufficientPrivilege);
        expect(await outcome("SELECT pg_read_file('postgresql.conf')")).toBe(insufficientPrivilege);
    });

    it("owns its database and nothing outside it", async () => {
        const owned = await target.observer.query<{ what: string }>(
            `SELECT CASE WHEN d.classid = 'pg_database'::regclass THEN 'database ' || db.datname
                         ELSE 'object in database ' || coalesce(other.datname, '(shared)') END AS what
             FROM pg_shdepend d
             LEFT JOIN pg_database db ON d.classid = 'pg_database'::regclass AND db.oid = d.objid
             LEFT JOIN pg_database other ON other.oid = d.dbid
             WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o'
               AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)
               AND (d.dbid = 0 OR d.dbid <> (SELECT oid FROM pg_database WHERE datname = $2))
             ORDER BY 1`,
            [target.role, target.database],
        );
        expect(owned.rows).toEqual([{ what: `database ${target.database}` }]);
    });
});
