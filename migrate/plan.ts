/**
 * What a catalog migration copies: the source's spec version, checked against the DDL files, and per table the
 * PostgreSQL DDL, how the source rows become COPY text, and the canonical form both digests are computed over.
 */
import {
    type CatalogSpec,
    type CoreType,
    type TableSpec,
    loadCatalogSpec,
    renderStatement,
    supportedVersions,
} from "./catalogSpec";
import {
    COPY_NULL,
    canonicalTimestamptz,
    copyEscape,
    pgCanonicalField,
    pgCopyEscaped,
    sqliteCopyLine,
    sqliteNeedsCanonicalTimestamptz,
} from "./canonical";
import type { DigestAccumulator } from "./digest";
import { MigrationError } from "./errors";
import { type InlinedColumnPlan, type InlinedField, type SqliteValue, planInlinedDataTable } from "./inlined";
import type { SourceCatalog, SourceTable } from "./source";
import { quoteIdentifier } from "./sqlText";

export interface TablePlan {
    name: string;
    /** Target columns in DuckLake's order, with their PostgreSQL types. */
    columns: { name: string; pgType: string }[];
    createSql(schema: string): string;
    primaryKeySql?(schema: string): string;
    /** One PostgreSQL expression per column giving its canonical field text. */
    canonicalFields: string[];
    /** Reads the whole table: yields COPY text chunks (whole lines) and adds every row to `digest`. */
    read(source: SourceCatalog, digest: DigestAccumulator): Iterable<Buffer>;
}

export interface CatalogPlan {
    version: string;
    tables: TablePlan[];
}

/**
 * Development layouts that changed while they were in use, so their version string does not say which columns a
 * file has; never copied as they are. Each maps to the DuckDB that can open it and upgrade it to a released
 * version: DuckDB 1.5.2+ migrates 0.3-dev1 and 0.4-dev1 to 1.0 (DuckDB 2.0 also does, to 1.1).
 */
const DEV_UPGRADES: Record<string, string> = {
    "0.3-dev1": "DuckDB 1.5.2 or later",
    "0.4-dev1": "DuckDB 1.5.2 or later",
};

/**
 * 1.1-dev1 evolved in place on DuckLake's main branch: row group counts and view column tags first, then the
 * inlined metadata columns' prefix, exactness flags on column stats and ducklake_schema.parent_schema_id. Only
 * files with exactly the layout of sql/ducklake/1.1-dev1.sql are copied; DuckDB 2.0 re-runs the 1.1 migration on
 * any other, so that is the fix.
 */
const DEV_1_1 = "1.1-dev1";

const RELEASE = /^(\d+)\.(\d+)$/;

// Characters of COPY text per SQLite call: enough to amortise the call, and below V8's large-object threshold
// (128 KB; a two-byte string takes twice the characters), so that a batch's garbage is freed by the cheap young-
// generation collection and memory stays flat however large the table. (Reading each batch as a blob instead saves
// its decoding, but leaves nothing on V8's heap to collect: the batches' buffers piled up to 154 MB of RSS.)
const CORE_BATCH_CHARS = 48 * 1024;
const INLINED_BATCH_ROWS = 500;

function upgradeFix(file: string, version: string, duckdb: string): string {
    return (
        `Fix: attach the catalog once with ${duckdb}, ` +
        `\`ATTACH 'ducklake:sqlite:${file}' AS lake (AUTOMATIC_MIGRATION TRUE)\`, so that DuckLake upgrades ${version} ` +
        "to a released spec version, then migrate again."
    );
}

/**
 * Spec versions whose layout was taken from DuckLake's source alone: no binary that writes them could be run to
 * check sql/ducklake/<version>.sql against a file it wrote.
 */
const SOURCE_ONLY_VERSIONS: ReadonlySet<string> = new Set(["1.1"]);

/** The fix for a file at a known version whose tables or columns are not that version's. */
function layoutFix(file: string, version: string): string {
    if (version === DEV_1_1) {
        return upgradeFix(file, version, "DuckDB 2.0");
    }
    const restore =
        "Fix: restore the file from a backup; DuckLake does not rebuild the tables of a released spec version.";
    return SOURCE_ONLY_VERSIONS.has(version)
        ? `${restore} If DuckLake wrote the file as it is, this migration's ${version} layout (sql/ducklake/${version}.sql, ` +
              "taken from DuckLake's source without a DuckLake binary to check it against) is out of date: update " +
              "lakehouse-catalog, or report the tables and columns named here."
        : restore;
}

/** Why a version string is refused, and the fix that works for it. */
function versionRefusal(file: string, version: string, known: readonly string[]): string {
    const at = `source ${file} is at DuckLake spec ${JSON.stringify(version)}`;
    if (Object.hasOwn(DEV_UPGRADES, version)) {
        return (
            `${at}, a development layout that changed while it was in use, so it cannot be copied faithfully. ` +
            upgradeFix(file, version, DEV_UPGRADES[version])
        );
    }
    const release = RELEASE.exec(version);
    const newest = known
        .map((v) => RELEASE.exec(v))
        .filter((m) => m !== null)
        .reduce((a, b) => (compareRelease(a, b) >= 0 ? a : b));
    if (release && compareRelease(release, newest) > 0) {
        return (
            `${at}, newer than this migration knows (it supports ${known.join(", ")}). No DuckDB can turn a ` +
            "catalog back into an older spec version. Fix: update lakehouse-catalog to a release that supports " +
            `spec ${version}, then migrate again.`
        );
    }
    return (
        `${at}, not a version this migration knows (it supports ${known.join(", ")}). Fix: check that this is ` +
        "the right file, or restore it from a backup taken at one of those versions."
    );
}

function compareRelease(a: RegExpExecArray, b: RegExpExecArray): number {
    return Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]);
}

export function planCatalog(source: SourceCatalog): CatalogPlan {
    const file = source.file;
    const sourceTables = new Map(source.tables().map((table) => [table.name, table]));
    if (!sourceTables.has("ducklake_metadata")) {
        throw new MigrationError(
            `source ${file} is a SQLite database but not a DuckLake catalog (it has no ` +
                "ducklake_metadata table). Fix: pass the file DuckDB attaches as ducklake:sqlite:<file>.",
        );
    }
    const versions = source.versionValues();
    if (versions.length !== 1) {
        throw new MigrationError(
            `source ${file} is not a usable DuckLake catalog: ducklake_metadata holds ` +
                `${versions.length === 0 ? "no" : `${versions.length} different`} values for key "version". ` +
                "Fix: pass an intact DuckLake catalog, or restore this one from a backup.",
        );
    }
    const version = versions[0];
    const known = supportedVersions();
    if (!known.includes(version)) {
        throw new MigrationError(versionRefusal(file, version, known));
    }
    const spec = loadCatalogSpec(version);
    const tables: TablePlan[] = spec.tables.map((table) => {
        const present = sourceTables.get(table.name);
        if (!present) {
            throw new MigrationError(
                `source ${file} is at DuckLake spec ${version} but lacks its table ${table.name}. ` +
                    `The file is damaged, was not written by DuckLake, or has another ${version} layout. ` +
                    layoutFix(file, version),
            );
        }
        checkColumns(
            file,
            version,
            present,
            table.columns.map((column) => column.name),
        );
        return corePlan(file, table);
    });
    const expected = new Set(spec.tables.map((table) => table.name));
    for (const table of sourceTables.values()) {
        if (expected.has(table.name)) {
            continue;
        }
        const inlined = inlinedPlan(source, spec, table);
        if (!inlined) {
            throw new MigrationError(
                `source ${file} holds a table ${table.name}, which is not part of DuckLake spec ` +
                    `${version}; the migration copies the catalog exactly and would lose it. Fix: move that table ` +
                    "out of the catalog file, or check that this is the right file.",
            );
        }
        tables.push(inlined);
    }
    return { version, tables };
}

function checkColumns(file: string, version: string, table: SourceTable, expected: readonly string[]): void {
    const missing = expected.filter((name) => !table.columns.includes(name));
    const extra = table.columns.filter((name) => !expected.includes(name));
    if (missing.length > 0 || extra.length > 0) {
        const parts = [
            ...missing.map((name) => `lacks column ${table.name}.${name}`),
            ...extra.map((name) => `has an unexpected column ${table.name}.${name}`),
        ];
        throw new MigrationError(
            `source ${file} is at DuckLake spec ${version} but ${parts.join(", ")}. The file is ` +
                `damaged, was not written by DuckLake ${version}, or has another ${version} layout. ` +
                layoutFix(file, version),
        );
    }
}

function corePlan(file: string, table: TableSpec): TablePlan {
    const lineSql = sqliteCopyLine(table.name, table.columns);
    const timestampColumns = table.columns.flatMap((column, index) =>
        column.pgType === "timestamp with time zone" ? [index] : [],
    );
    // Rows whose canonical line differs from their COPY line; a batch without any is digested as it is.
    const needsCanonicalSql =
        timestampColumns.length === 0
            ? "0"
            : timestampColumns.map((index) => sqliteNeedsCanonicalTimestamptz(table.columns[index].name)).join(" + ");
    return {
        name: table.name,
        columns: table.columns.map((column) => ({ name: column.name, pgType: column.pgType })),
        createSql: (schema) => renderStatement(table.createSql, schema),
        primaryKeySql: table.primaryKey && ((schema) => renderStatement(table.primaryKey!.sql, schema)),
        canonicalFields: table.columns.map((column) => pgCanonicalField(column.name, column.pgType)),
        *read(source, digest) {
            const batches = source.lineBatches(table.name, lineSql, CORE_BATCH_CHARS, needsCanonicalSql);
            for (const { text, counted } of batches) {
                const bytes = Buffer.from(text, "utf8");
                if (counted === 0) {
                    digest.addLines(bytes);
                } else {
                    addTimestampLines(file, table, timestampColumns, text, digest);
                }
                yield bytes;
            }
        },
    };
}

/** Digests lines whose timestamptz fields carry the writer's offset, with those fields normalised to UTC. */
function addTimestampLines(
    file: string,
    table: TableSpec,
    timestampColumns: readonly number[],
    text: string,
    digest: DigestAccumulator,
): void {
    const lines = text.split("\n");
    lines.pop();
    for (const line of lines) {
        const fields = line.split("\t");
        for (const index of timestampColumns) {
            if (fields[index] === COPY_NULL) {
                continue;
            }
            const canonical = canonicalTimestamptz(fields[index]);
            if (canonical === undefined) {
                throw new MigrationError(
                    `source ${file}: ${table.name}.${table.columns[index].name} holds ` +
                        `${JSON.stringify(fields[index])}, which is not a timestamp as DuckDB writes it ` +
                        "(YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]), so its instant is uncertain. Fix: correct the value " +
                        "with DuckDB or sqlite3, or restore the file from a backup.",
                );
            }
            fields[index] = canonical;
        }
        const bytes = Buffer.from(fields.join("\t"), "utf8");
        digest.addLine(bytes, 0, bytes.length);
    }
}

const INLINED_DATA = /^ducklake_inlined_data_(\d+)_(\d+)$/;
const INLINED_DELETE = /^ducklake_inlined_delete_(\d+)$/;

/** The bigint columns DuckLake puts first in inlined data tables (renamed with a prefix from 1.1-dev1 on). */
function inlinedMetadataColumns(version: string): string[] {
    const names = ["row_id", "begin_snapshot", "end_snapshot"];
    return version === "1.1-dev1" || version === "1.1" ? names.map((name) => `_ducklake_${name}`) : names;
}

const INLINED_DELETE_COLUMNS = ["file_id", "row_id", "begin_snapshot"];

/** Inlined delete tables exist from spec 0.4 on (DuckLake 277d95a9, 2026-01-28). */
const INLINED_DELETE_VERSIONS: ReadonlySet<string> = new Set(["0.4", "1.0", "1.1-dev1", "1.1"]);

/** The plan of a data-inlining table, or undefined if `table` is not one. */
function inlinedPlan(source: SourceCatalog, spec: CatalogSpec, table: SourceTable): TablePlan | undefined {
    const file = source.file;
    const data = INLINED_DATA.exec(table.name);
    const deletes = INLINED_DELETE.exec(table.name);
    if (deletes) {
        if (!INLINED_DELETE_VERSIONS.has(spec.version)) {
            return undefined;
        }
        checkColumns(file, spec.version, table, INLINED_DELETE_COLUMNS);
        return inlinedTablePlan(file, table.name, INLINED_DELETE_COLUMNS, []);
    }
    if (!data) {
        return undefined;
    }
    const metadata = inlinedMetadataColumns(spec.version);
    if (metadata.some((name, index) => table.columns[index] !== name)) {
        const fix =
            spec.version === DEV_1_1
                ? layoutFix(file, spec.version)
                : "Fix: run " +
                  "`CALL ducklake_flush_inlined_data('<catalog alias>')` on the source with DuckDB, then migrate again.";
        throw new MigrationError(
            `source ${file}: the inlined data table ${table.name} does not start with the ` +
                `columns ${metadata.join(", ")} that DuckLake ${spec.version} gives it. ${fix}`,
        );
    }
    const userColumns = table.columns.slice(metadata.length);
    const types = inlinedColumnTypes(source, table.name, BigInt(data[1]), BigInt(data[2]), userColumns);
    const columns = planInlinedDataTable({
        table: table.name,
        specVersion: spec.version,
        columns: userColumns.map((name) => ({ name, ...types.get(name)! })),
    });
    return inlinedTablePlan(file, table.name, metadata, columns);
}

/**
 * The DuckLake types of an inlined table's user columns, from ducklake_column: the top-level column of that name,
 * and where the name was used by several column versions, the one alive at the table's schema version; with the
 * fields below a nested column (at any depth), alive at that version too.
 */
function inlinedColumnTypes(
    source: SourceCatalog,
    table: string,
    tableId: bigint,
    schemaVersion: bigint,
    names: readonly string[],
): Map<string, { duckdbType: string; fields: InlinedField[] }> {
    type Row = [bigint, string, string, bigint | null, bigint | null, bigint | null];
    const rows = source
        .query(
            "SELECT c.column_id, c.column_name, c.column_type, c.begin_snapshot, c.end_snapshot, c.parent_column " +
                "FROM ducklake_column c WHERE c.table_id = ?",
        )
        .all(tableId) as unknown as Row[];
    const at = schemaVersionStart(source, schemaVersion);
    const isAlive = (row: Row) => at !== null && row[3] !== null && row[3] <= at && (row[4] === null || row[4] > at);
    const fieldsBelow = (parent: Row, prefix: string): InlinedField[] => {
        const children = rows.filter((row) => row[5] === parent[0]);
        const alive = children.filter(isAlive);
        return (alive.length > 0 ? alive : children).flatMap((child) => {
            const path = `${prefix}${child[1]}`;
            return [{ path, duckdbType: child[2] }, ...fieldsBelow(child, `${path}.`)];
        });
    };
    const columns = new Map<string, { duckdbType: string; fields: InlinedField[] }>();
    for (const name of names) {
        const candidates = rows.filter((row) => row[5] === null && row[1] === name);
        const distinctTypes = new Set(candidates.map((row) => row[2]));
        const alive = candidates.filter(isAlive);
        const column = alive.length === 1 ? alive[0] : distinctTypes.size === 1 ? candidates[0] : undefined;
        if (column === undefined) {
            throw new MigrationError(
                `source ${source.file}: the type of column ${JSON.stringify(name)} of the inlined ` +
                    `data table ${table} cannot be determined from ducklake_column (table_id ${tableId}, schema version ` +
                    `${schemaVersion}). Fix: run \`CALL ducklake_flush_inlined_data('<catalog alias>')\` on the source ` +
                    "with DuckDB, so the rows move to Parquet files, then migrate again.",
            );
        }
        columns.set(name, { duckdbType: column[2], fields: fieldsBelow(column, "") });
    }
    return columns;
}

/**
 * A snapshot at which `schemaVersion` was the catalog's schema version. Expiring snapshots may remove every snapshot
 * of that version while its inlined table lives on; ducklake_schema_versions (spec 0.3 on) keeps when it began.
 */
function schemaVersionStart(source: SourceCatalog, schemaVersion: bigint): bigint | null {
    const [surviving] = source
        .query("SELECT min(snapshot_id) FROM ducklake_snapshot WHERE schema_version = ?")
        .get(schemaVersion) as unknown as [bigint | null];
    if (surviving !== null) {
        return surviving;
    }
    const recorded = source
        .query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ducklake_schema_versions'")
        .get();
    if (recorded === undefined) {
        return null;
    }
    const [began] = source
        .query("SELECT min(begin_snapshot) FROM ducklake_schema_versions WHERE schema_version = ?")
        .get(schemaVersion) as unknown as [bigint | null];
    return began;
}

/** Inlined tables: bigint metadata columns first, then the planned user columns; no primary key. */
function inlinedTablePlan(
    file: string,
    name: string,
    bigintColumns: readonly string[],
    userColumns: readonly InlinedColumnPlan[],
): TablePlan {
    const columns = [
        ...bigintColumns.map((column) => ({ name: column, pgType: "bigint" })),
        ...userColumns.map((column) => ({ name: column.name, pgType: column.pgType })),
    ];
    // node:sqlite ends a text value at its first NUL character; such a text is read as its bytes instead, so the
    // codecs see it whole (the bytea columns keep it, the text columns refuse it).
    const selectList = columns
        .map((column, index) => {
            const quoted = quoteIdentifier(column.name);
            return index < bigintColumns.length
                ? quoted
                : `CASE WHEN typeof(${quoted}) = 'text' AND instr(${quoted}, char(0)) > 0 THEN CAST(${quoted} AS BLOB) ` +
                      `ELSE ${quoted} END`;
        })
        .join(", ");
    return {
        name,
        columns,
        createSql: (schema) =>
            `CREATE TABLE ${quoteIdentifier(schema)}.${quoteIdentifier(name)} (\n` +
            columns.map((column) => `    ${quoteIdentifier(column.name)} ${column.pgType}`).join(",\n") +
            "\n)",
        canonicalFields: [
            ...bigintColumns.map((column) => pgCanonicalField(column, "bigint" satisfies CoreType)),
            ...userColumns.map(
                (column) => `coalesce(${pgCopyEscaped(column.canonicalSql(quoteIdentifier(column.name)))}, '\\N')`,
            ),
        ],
        *read(source, digest) {
            let copy = "";
            let rows = 0;
            for (const row of source.query(`SELECT ${selectList} FROM ${quoteIdentifier(name)}`).iterate()) {
                const values = row as unknown as SqliteValue[];
                const copyFields: string[] = [];
                const canonicalFields: string[] = [];
                values.forEach((value, index) => {
                    if (index < bigintColumns.length) {
                        const text = bigintText(file, name, bigintColumns[index], value);
                        copyFields.push(text);
                        canonicalFields.push(text);
                    } else {
                        const encoded = userColumns[index - bigintColumns.length].encode(value);
                        copyFields.push(copyField(encoded?.copy ?? null));
                        canonicalFields.push(copyField(encoded?.canonical ?? null));
                    }
                });
                copy += copyFields.join("\t") + "\n";
                const canonical = Buffer.from(canonicalFields.join("\t"), "utf8");
                digest.addLine(canonical, 0, canonical.length);
                if (++rows % INLINED_BATCH_ROWS === 0) {
                    yield Buffer.from(copy, "utf8");
                    copy = "";
                }
            }
            if (copy !== "") {
                yield Buffer.from(copy, "utf8");
            }
        },
    };
}

function copyField(text: string | null): string {
    return text === null ? COPY_NULL : copyEscape(text);
}

function bigintText(file: string, table: string, column: string, value: SqliteValue): string {
    if (value === null) {
        return COPY_NULL;
    }
    if (typeof value !== "bigint") {
        throw new MigrationError(
            `source ${file}: ${table}.${column} holds a non-integer value where DuckLake writes ` +
                "integers. Fix: run `CALL ducklake_flush_inlined_data('<catalog alias>')` on the source with DuckDB, " +
                "then migrate again.",
        );
    }
    return value.toString();
}
