/**
 * Runs one SQL query with DuckDB 1.5.5 against a stack's migrated catalogs: each catalog is attached under its
 * name from its PostgreSQL schema (DuckLake's `METADATA_SCHEMA`), as the catalog role, and reads its data files
 * from the data path the catalog itself records.
 *
 * The connection comes from the stack's outputs as JSON on stdin (`pulumi stack output --json --show-secrets`),
 * so the role's password stays out of every process argument. It reaches libpq as `PGPASSWORD` in this process's
 * environment rather than inside the connection string, which DuckDB's PostgreSQL errors repeat.
 *
 * Usage: pulumi stack output --json --show-secrets | node --import tsx scripts/lakehouse-query.ts '<sql>'
 */
import { text } from "node:stream/consumers";
import { sqlString } from "../migrate/sqlText";
import { DuckLakeSession } from "../test/support/ducklake";

interface StackOutputs {
    host: string;
    port: number;
    database: string;
    role: string;
    password: string;
    schemas: Record<string, string>;
}

/** A libpq keyword value, quoted so that spaces, quotes and backslashes in it stay part of it. */
function libpqValue(value: string | number): string {
    return `'${String(value).replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

async function main(argv: string[]): Promise<void> {
    const [sql] = argv;
    if (sql === undefined || argv.length !== 1) {
        process.stderr.write("usage: pulumi stack output --json --show-secrets | lakehouse-query.ts '<sql>'\n");
        process.exitCode = 2;
        return;
    }
    const outputs = JSON.parse(await text(process.stdin)) as StackOutputs;
    const connection = [
        `host=${libpqValue(outputs.host)}`,
        `port=${libpqValue(outputs.port)}`,
        `dbname=${libpqValue(outputs.database)}`,
        `user=${libpqValue(outputs.role)}`,
    ].join(" ");
    process.env.PGPASSWORD = outputs.password;
    const duckdb = await DuckLakeSession.open();
    try {
        for (const [name, schema] of Object.entries(outputs.schemas)) {
            await duckdb.run(
                `ATTACH ${sqlString(`ducklake:postgres:${connection}`)} AS ${name} ` +
                    `(METADATA_SCHEMA ${sqlString(schema)})`,
            );
        }
        for (const row of await duckdb.jsonRows(sql)) {
            process.stdout.write(
                `${row.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join("\t")}\n`,
            );
        }
    } finally {
        duckdb.close();
    }
}

main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`lakehouse-query: ${(error as Error).message}\n`);
    process.exitCode = 1;
});
