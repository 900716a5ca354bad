/**
 * The rule for the PostgreSQL names the project creates and its consumers use: the catalog schemas, the database and
 * the role. The stack's config checks all three before any resource exists; the engine checks `--schema` again,
 * because it also runs on its own.
 */

export type PostgresNameKind = "schema" | "database" | "role";

/** What a name breaks: `<name> must <constraint> (<why>)`, with the name as the caller calls it. */
export interface NameProblem {
    constraint: string;
    why: string;
}

// Clients use these names unquoted (DuckDB METADATA_SCHEMA, environment variable values, dbt profiles), so only the
// form PostgreSQL keeps as written is allowed: lowercase, starting with a letter or underscore.
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** NAMEDATALEN is 64 including the terminator; PostgreSQL truncates longer names without an error. */
export const MAX_IDENTIFIER_BYTES = 63;
// A catalog gets a schema of its own: `public` holds whatever else the database has, and the engine would refuse it
// anyway as soon as it holds anything. The rest are PostgreSQL's own, as is every `pg_*` name.
const RESERVED: Record<PostgresNameKind, readonly string[]> = {
    schema: ["public", "information_schema"],
    database: ["template0", "template1"],
    role: ["public", "none", "current_user", "current_role", "session_user"],
};

/** The first rule `name` breaks as a PostgreSQL `kind` name, or undefined when it is fine. */
export function postgresNameProblem(kind: PostgresNameKind, name: string): NameProblem | undefined {
    if (!IDENTIFIER.test(name)) {
        return {
            constraint: `be a lowercase PostgreSQL ${kind} name matching [a-z_][a-z0-9_]*`,
            why: "clients use it unquoted, and PostgreSQL folds unquoted names to lowercase",
        };
    }
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
        return {
            constraint: `be at most ${MAX_IDENTIFIER_BYTES} bytes`,
            why: "PostgreSQL silently truncates longer names",
        };
    }
    if (name.startsWith("pg_") || RESERVED[kind].includes(name)) {
        return {
            constraint: `not be a reserved ${kind} name (${[...RESERVED[kind], "pg_*"].join(", ")})`,
            why: "PostgreSQL owns these names",
        };
    }
    return undefined;
}
