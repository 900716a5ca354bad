/**
 * The plain-COPY limit the engine is measured against: `sqlite3 -csv` piped into psql's `\copy` for every core
 * table, into tables typed as DuckLake's DDL, in one transaction, with no keys, checks or verification. No
 * migration that also verifies can be faster on this machine; the bench reports the engine's speed as a ratio of it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCatalogSpec, renderStatement } from "../migrate/catalogSpec";
import { type BenchDatabase, benchDatabaseEnvironment } from "./database";
import { runMeasured } from "./process";

export interface LimitRun {
    seconds: number;
    rowsPerSecond: number;
    /** CPU seconds of the whole machine during the load: sqlite3, psql and PostgreSQL (runMeasured). */
    machineCpuSeconds: number;
    /** psql's exit code; anything but 0 means the limit was not measured. */
    exitCode: number;
    error?: string;
}

/** Loads the core tables of `sqlite` (spec `version`) into `schema` the plain way, timing psql from start to exit. */
export async function runLimit(
    sqlite: string,
    version: string,
    schema: string,
    database: BenchDatabase,
    rows: number,
    workDir: string,
): Promise<LimitRun> {
    const spec = loadCatalogSpec(version);
    const script = [
        `CREATE SCHEMA ${schema};`,
        ...spec.tables.map((table) => `${renderStatement(table.createSql, schema).replace(/;?\s*$/, "")};`),
        ...spec.tables.map((table) => {
            const columns = table.columns.map((column) => column.name).join(", ");
            const program = `sqlite3 -csv ${sqlite} "SELECT ${columns} FROM ${table.name}"`;
            return `\\copy ${schema}.${table.name} (${columns}) FROM PROGRAM '${program}' WITH (FORMAT csv)`;
        }),
    ].join("\n");
    const file = path.join(workDir, "limit.sql");
    fs.writeFileSync(file, `${script}\n`);
    const run = await runMeasured("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", file], {
        env: { ...process.env, ...benchDatabaseEnvironment(database) },
        measure: () => false,
    });
    return {
        seconds: run.seconds,
        rowsPerSecond: rows / run.seconds,
        machineCpuSeconds: run.machineCpuSeconds,
        exitCode: run.exitCode,
        ...(run.exitCode === 0 ? {} : { error: run.stderr.trim().split("\n").slice(-3).join(" | ") }),
    };
}
