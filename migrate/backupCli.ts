/**
 * `npm run --silent backup -- create | restore [--source <s3 URI or YYYY-MM-DDTHH:MM:SS.sss>] | ls
 *   | sqlite --sqlite <file> --catalog <name> [store flags]`
 *
 * PostgreSQL from the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE); the store's keys
 * from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only. Where the store is comes from flags or their variables
 * (--endpoint S3_ENDPOINT, a URL or host:port with S3_USE_SSL=true|false; --bucket S3_BUCKET; --prefix
 * S3_BACKUPS_PREFIX; --region AWS_REGION; --url-style S3_URL_STYLE), none of which carries a secret.
 * Exit codes: 0 done; 1 refused or failed (the manifest or the database unchanged); 2 usage error.
 * Progress goes to stderr; stdout gets the backup's URI (create, restore) or the listing (ls).
 */
import { parseArgs } from "node:util";
import { type BackupContext, type BackupStore, copySqlite, createBackup, listBackups, restoreBackup } from "./backup";
import { MigrationError, UsageError } from "./errors";
import { runAsProcess } from "./process";
import { S3_URL_STYLES } from "./s3";

const BACKUP_USAGE =
    "usage: npm run --silent backup -- create|restore|ls|sqlite [--source <s3://… | " +
    "YYYY-MM-DDTHH:MM:SS.sss>] [--endpoint <url>] [--bucket <b>] [--prefix <p>] [--region <r>] " +
    "[--url-style path|vhost] [--pg-bin <dir>] [--sqlite <file> --catalog <name>]\n" +
    "  create: pg_dump -Fc of the whole database to s3://<bucket>/<prefix>/catalog/<YYYY_MM_DD>/<HH_MM_SS_mmm>/" +
    "lakehouse.dump, then catalog/manifest.json.\n" +
    "  restore: the manifest's latest backup (or --source) back into the database, checked first, in one transaction.\n" +
    "  ls: the backups under the prefix, newest first.\n" +
    "  sqlite: a checked snapshot of a SQLite catalog to <prefix>/sqlite/<catalog>/<YYYY_MM_DD>/<HH_MM_SS_mmm>/, " +
    "taken before its migration.\n" +
    "  PostgreSQL from PG* variables; S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; store flags default to " +
    "S3_ENDPOINT (a URL, or host:port with S3_USE_SSL), S3_BUCKET, S3_BACKUPS_PREFIX, AWS_REGION, S3_URL_STYLE.\n" +
    "  Exit 0: done; 1: refused or failed (manifest and database unchanged); 2: usage error.";

type Action = "create" | "restore" | "ls" | "sqlite";

interface BackupArguments {
    action: Action;
    store: BackupStore;
    source?: string;
    pgBin?: string;
    sqlite?: string;
    catalog?: string;
}

function parseBackupArguments(argv: readonly string[], env: NodeJS.ProcessEnv): BackupArguments {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            options: {
                source: { type: "string" },
                endpoint: { type: "string" },
                bucket: { type: "string" },
                prefix: { type: "string" },
                region: { type: "string" },
                "url-style": { type: "string" },
                "pg-bin": { type: "string" },
                sqlite: { type: "string" },
                catalog: { type: "string" },
            },
            allowPositionals: true,
            strict: true,
        });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    const [action, ...extra] = positionals;
    if (action !== "create" && action !== "restore" && action !== "ls" && action !== "sqlite") {
        throw new UsageError(
            `the first argument must be create, restore, ls or sqlite; got ${JSON.stringify(action ?? "")}`,
        );
    }
    if (extra.length > 0) {
        throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
    }
    if (values.source !== undefined && action !== "restore") {
        throw new UsageError("--source is only for restore");
    }
    if (
        action === "sqlite"
            ? !values.sqlite || !values.catalog
            : values.sqlite !== undefined || values.catalog !== undefined
    ) {
        throw new UsageError("sqlite needs both --sqlite <file> and --catalog <name>, and only sqlite takes them");
    }
    const bucket = values.bucket ?? env.S3_BUCKET;
    if (!bucket) {
        throw new UsageError("the bucket is not set; pass --bucket or set S3_BUCKET");
    }
    const prefix = (values.prefix ?? env.S3_BACKUPS_PREFIX ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix === "") {
        throw new UsageError("the backups prefix is not set; pass --prefix or set S3_BACKUPS_PREFIX (e.g. backups)");
    }
    const given = values.endpoint ?? env.S3_ENDPOINT;
    // The lakehouse's own variables name the endpoint as host:port, with S3_USE_SSL saying which scheme.
    const endpoint =
        given === undefined || given === "" || /^https?:\/\//.test(given)
            ? given
            : `${env.S3_USE_SSL === "false" ? "http" : "https"}://${given}`;
    if (endpoint !== undefined && endpoint !== "" && !/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
        throw new UsageError(`the endpoint must be host[:port] or http(s)://host[:port]; got ${JSON.stringify(given)}`);
    }
    const style = values["url-style"] ?? env.S3_URL_STYLE ?? "path";
    const urlStyle = S3_URL_STYLES.find((known) => known === style);
    if (urlStyle === undefined) {
        throw new UsageError(`the URL style must be ${S3_URL_STYLES.join(" or ")}; got ${JSON.stringify(style)}`);
    }
    return {
        action,
        store: {
            endpoint: endpoint || undefined,
            bucket,
            prefix,
            region: values.region ?? env.AWS_REGION ?? "us-east-1",
            urlStyle,
        },
        source: values.source,
        pgBin: values["pg-bin"],
        sqlite: values.sqlite,
        catalog: values.catalog,
    };
}

/** Runs the command with `argv` (without node and script) and returns its exit code. */
export async function runBackupCli(
    argv: readonly string[],
    env: NodeJS.ProcessEnv,
    stdout: (text: string) => void,
    stderr: (text: string) => void,
): Promise<number> {
    let args: BackupArguments;
    try {
        args = parseBackupArguments(argv, env);
    } catch (error) {
        stderr(`backup: ${(error as Error).message}\n${BACKUP_USAGE}\n`);
        return 2;
    }
    const context: BackupContext = {
        store: args.store,
        env,
        pgBin: args.pgBin,
        onProgress: (line) => stderr(`backup: ${line}\n`),
    };
    try {
        switch (args.action) {
            case "create":
                stdout(`${await createBackup(context)}\n`);
                break;
            case "restore":
                stdout(`${await restoreBackup(context, args.source)}\n`);
                break;
            case "sqlite":
                stdout(`${await copySqlite(context, args.sqlite!, args.catalog!)}\n`);
                break;
            case "ls": {
                const { entries, latest } = await listBackups(args.store, env);
                for (const entry of entries) {
                    stdout(
                        `${entry.taken} => ${entry.uri} (${entry.size.toLocaleString("en-US")} bytes)` +
                            `${entry.uri === latest ? " latest" : ""}\n`,
                    );
                }
                break;
            }
        }
        return 0;
    } catch (error) {
        if (error instanceof MigrationError) {
            stderr(`backup: ${error.message}\n`);
            return 1;
        }
        stderr(
            `backup: unexpected failure: ${(error as Error).stack ?? String(error)}\n` +
                "The manifest moves only after a verified upload and a restore is one transaction, so neither changed.\n",
        );
        return 1;
    }
}

if (require.main === module) {
    runAsProcess(runBackupCli);
}
