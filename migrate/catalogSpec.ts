/**
 * The DuckLake catalog layout per spec version, read from `sql/ducklake/<version>.sql`. Those files are the single
 * source of truth for tables, column order, PostgreSQL types and primary keys; this module only parses the small,
 * controlled format they are written in.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { quoteIdentifier } from "./sqlText";

/** The five PostgreSQL types DuckLake's core catalog tables use. */
export type CoreType = "bigint" | "character varying" | "boolean" | "uuid" | "timestamp with time zone";

const CORE_TYPES: ReadonlySet<string> = new Set<CoreType>([
    "bigint",
    "character varying",
    "boolean",
    "uuid",
    "timestamp with time zone",
]);

export interface ColumnSpec {
    name: string;
    pgType: CoreType;
    notNull: boolean;
}

export interface PrimaryKeySpec {
    constraint: string;
    column: string;
    /** The file's `ALTER TABLE … ADD CONSTRAINT` statement, with the schema placeholder. */
    sql: string;
}

export interface TableSpec {
    name: string;
    columns: ColumnSpec[];
    /** The file's `CREATE TABLE` statement (no key), with the schema placeholder. */
    createSql: string;
    primaryKey?: PrimaryKeySpec;
}

export interface CatalogSpec {
    version: string;
    tables: TableSpec[];
}

/** The placeholder for the quoted target schema. It is psql's variable syntax, so the files also run under psql. */
export const SCHEMA_PLACEHOLDER = ':"schema"';

export const SQL_DIR = path.join(__dirname, "..", "sql", "ducklake");

/** The spec versions with a DDL file, in file-name order. */
export function supportedVersions(): string[] {
    return fs
        .readdirSync(SQL_DIR)
        .filter((file) => file.endsWith(".sql"))
        .map((file) => file.slice(0, -".sql".length))
        .sort();
}

export function loadCatalogSpec(version: string): CatalogSpec {
    return parseCatalogDdl(version, fs.readFileSync(path.join(SQL_DIR, `${version}.sql`), "utf8"));
}

const CREATE_TABLE = /^CREATE TABLE :"schema"\.([a-z_]+) \(\n([\s\S]*)\n\)$/;
const COLUMN = /^ {4}([a-z_]+) ([a-z ]+?)( NOT NULL)?$/;
const ADD_PRIMARY_KEY = /^ALTER TABLE :"schema"\.([a-z_]+) ADD CONSTRAINT ([a-z_]+) PRIMARY KEY \(([a-z_]+)\)$/;

/** Parses one DDL file: `CREATE TABLE` statements first, then `ALTER TABLE … PRIMARY KEY` statements. */
export function parseCatalogDdl(version: string, ddl: string): CatalogSpec {
    const statements = ddl
        .split("\n")
        .filter((line) => !line.startsWith("--"))
        .join("\n")
        .split(";")
        .map((statement) => statement.trim())
        .filter((statement) => statement !== "");
    const tables: TableSpec[] = [];
    for (const statement of statements) {
        const create = CREATE_TABLE.exec(statement);
        const key = ADD_PRIMARY_KEY.exec(statement);
        if (create) {
            const columns = create[2].split(",\n").map((line) => parseColumn(version, line));
            tables.push({ name: create[1], columns, createSql: statement });
        } else if (key) {
            const table = tables.find((candidate) => candidate.name === key[1]);
            if (!table || !table.columns.some((column) => column.name === key[3])) {
                throw new Error(`sql/ducklake/${version}.sql: primary key on unknown column ${key[1]}.${key[3]}`);
            }
            table.primaryKey = { constraint: key[2], column: key[3], sql: statement };
        } else {
            throw new Error(`sql/ducklake/${version}.sql: unexpected statement: ${statement.split("\n")[0]}`);
        }
    }
    return { version, tables };
}

function parseColumn(version: string, line: string): ColumnSpec {
    const match = COLUMN.exec(line);
    if (!match || !CORE_TYPES.has(match[2])) {
        throw new Error(`sql/ducklake/${version}.sql: unexpected column definition: ${line.trim()}`);
    }
    return { name: match[1], pgType: match[2] as CoreType, notNull: match[3] !== undefined };
}

/** A statement of a DDL file with the schema placeholder replaced by the quoted schema. */
export function renderStatement(statement: string, schema: string): string {
    return statement.replaceAll(SCHEMA_PLACEHOLDER, quoteIdentifier(schema));
}
