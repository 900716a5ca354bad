/**
 * Backups of the whole catalog database, in the layout and manifest format of the lakehouse's `dlctl backup` tool,
 * so that each reads what the other wrote:
 *
 *   s3://<bucket>/<backups prefix>/catalog/<YYYY_MM_DD>/<HH_MM_SS_mmm>/lakehouse.dump   (UTC, `pg_dump -Fc`)
 *   s3://<bucket>/<backups prefix>/catalog/manifest.json = {"dataset": "catalog", "latest": "s3://…/<HH_MM_SS_mmm>"}
 *
 * The manifest moves only after the dump was uploaded, read back and found identical, so an interrupted run leaves
 * the previous `latest` in place. A restore checks the archive before it touches the database and then applies it
 * in one transaction: readers see the old catalog or the restored one, never a mix.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { DatabaseSync } from "node:sqlite";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { MigrationError } from "./errors";
import { runProcess } from "./process";
import type { S3UrlStyle } from "./s3";
import { BUSY_TIMEOUT_MS } from "./source";
import { quoteIdentifier, sqlString } from "./sqlText";
import { connect } from "./target";

/** The dataset name and file name `dlctl backup` uses; changing either breaks the round trip with that tool. */
const DATASET = "catalog";
const DUMP_FILE = "lakehouse.dump";
/** Object metadata carrying the dump's SHA-256, read back before the manifest moves and before a restore. */
const CHECKSUM_METADATA = "sha256";

/** Where backups go; the secret keys come from the environment only (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`). */
export interface BackupStore {
    /** `http(s)://host:port`; unset for AWS itself. */
    endpoint?: string;
    bucket: string;
    /** The backups prefix, one or more segments, without leading or trailing slash. */
    prefix: string;
    region: string;
    urlStyle: S3UrlStyle;
}

/** One backup in the store. */
export interface BackupEntry {
    /** `YYYY-MM-DDTHH:MM:SS.sss` (UTC), the form `dlctl backup restore --source` takes. */
    taken: string;
    /** `s3://<bucket>/<prefix>/catalog/<date>/<time>`, the form the manifest's `latest` has. */
    uri: string;
    size: number;
}

export interface BackupContext {
    store: BackupStore;
    env: NodeJS.ProcessEnv;
    /** Directory of the PostgreSQL client programs; default `/usr/lib/postgresql/<server major>/bin`. */
    pgBin?: string;
    onProgress: (line: string) => void;
}

export function s3Client(store: BackupStore, env: NodeJS.ProcessEnv): S3Client {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
        throw new MigrationError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set (the backup store's " +
                "credentials are read from the environment only). Fix: export them before running the command.",
        );
    }
    return new S3Client({
        endpoint: store.endpoint,
        region: store.region,
        forcePathStyle: store.urlStyle === "path",
        credentials: { accessKeyId, secretAccessKey },
        // Newer SDK releases add CRC checksums to every request by default, which not every S3-compatible store
        // accepts; only what S3 requires is sent, and the files' own SHA-256 is compared after the upload instead.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
    });
}

/** `<prefix>/catalog` as a key prefix. */
function datasetKey(store: BackupStore): string {
    return `${store.prefix}/${DATASET}`;
}

function manifestKey(store: BackupStore): string {
    return `${datasetKey(store)}/manifest.json`;
}

/** A moment as `dlctl` names its backup directories: `%Y_%m_%d/%H_%M_%S_%f` minus the last 3 digits, UTC. */
function dated(moment: Date): string {
    const iso = moment.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, always UTC
    const date = iso.slice(0, 10).replace(/-/g, "_");
    const time = iso.slice(11, 23).replace(/[:.]/g, "_");
    return `${date}/${time}`;
}

/** The backup directory for a moment: `<prefix>/catalog/<YYYY_MM_DD>/<HH_MM_SS_mmm>`. */
function backupDirectory(store: BackupStore, moment: Date): string {
    return `${datasetKey(store)}/${dated(moment)}`;
}

/** The manifest's body, byte for byte as `dlctl` (Python's `json.dumps`) writes it. */
function manifestBody(latest: string): string {
    return `{"dataset": ${JSON.stringify(DATASET)}, "latest": ${JSON.stringify(latest)}}`;
}

const DIRECTORY = /^(\d{4})_(\d{2})_(\d{2})\/(\d{2})_(\d{2})_(\d{2})_(\d{3})$/;

/** `YYYY-MM-DDTHH:MM:SS.sss` for a backup directory's last two segments. */
function takenOf(dateAndTime: string): string | undefined {
    const m = DIRECTORY.exec(dateAndTime);
    return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}` : undefined;
}

/**
 * Turns `--source` into a backup directory key: either the full `s3://` URI (as the manifest and `ls` print it,
 * with or without `/lakehouse.dump`) or `dlctl`'s `YYYY-MM-DDTHH:MM:SS.sss`.
 */
function sourceDirectory(store: BackupStore, source: string): string {
    const stamp = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(source);
    if (stamp) {
        return `${datasetKey(store)}/${stamp[1]}_${stamp[2]}_${stamp[3]}/${stamp[4]}_${stamp[5]}_${stamp[6]}_${stamp[7]}`;
    }
    const bucketPrefix = `s3://${store.bucket}/`;
    if (!source.startsWith(bucketPrefix)) {
        throw new MigrationError(
            `backup source ${JSON.stringify(source)} is neither s3://${store.bucket}/… nor ` +
                "YYYY-MM-DDTHH:MM:SS.sss. Fix: pass a URI that `backup ls` prints, or its timestamp.",
        );
    }
    const key = source
        .slice(bucketPrefix.length)
        .replace(new RegExp(`/${DUMP_FILE}$`), "")
        .replace(/\/$/, "");
    if (!key.startsWith(`${datasetKey(store)}/`) || takenOf(key.slice(datasetKey(store).length + 1)) === undefined) {
        throw new MigrationError(
            `backup source ${JSON.stringify(source)} is not a backup under ` +
                `s3://${store.bucket}/${datasetKey(store)}/<YYYY_MM_DD>/<HH_MM_SS_mmm>. Fix: pass a URI that \`backup ls\` ` +
                "prints, or check the bucket and prefix.",
        );
    }
    return key;
}

/** The PostgreSQL client program matching the server's major version, or a refusal naming both versions. */
async function matchingTool(
    tool: "pg_dump" | "pg_restore" | "psql",
    serverMajor: number,
    pgBin: string | undefined,
): Promise<string> {
    const dir = pgBin ?? `/usr/lib/postgresql/${serverMajor}/bin`;
    const file = path.join(dir, tool);
    const fix =
        `Fix: install the PostgreSQL ${serverMajor} client programs (Debian: apt-get install ` +
        `postgresql-client-${serverMajor}) or pass --pg-bin <directory of PostgreSQL ${serverMajor}'s ${tool}>.`;
    if (!existsSync(file)) {
        throw new MigrationError(
            `${tool} is not at ${file}, and the server is PostgreSQL ${serverMajor}; ` +
                `${tool} must match the server's major version. ${fix}`,
        );
    }
    const version = await runProcess(file, ["--version"], { env: offlineEnv() });
    const match = /\(PostgreSQL\) (\d+)/.exec(version.stdout);
    if (version.code !== 0 || !match) {
        throw new MigrationError(
            `${file} --version failed or printed no PostgreSQL version ` +
                `(${JSON.stringify((version.stdout + version.stderr).trim().slice(0, 200))}). ${fix}`,
        );
    }
    const toolMajor = Number(match[1]);
    if (toolMajor !== serverMajor) {
        throw new MigrationError(
            `${file} is PostgreSQL ${toolMajor}, but the server is PostgreSQL ${serverMajor}; ` +
                `${tool} must match the server's major version (an older one cannot read the server, a newer one ` +
                `writes archives the server's own tools cannot restore). ${fix}`,
        );
    }
    return file;
}

/**
 * The environment of a PostgreSQL program that reads only a file and connects nowhere (`--version`, `pg_restore`
 * into a file): no libpq variable, so the password does not reach a program that has no use for it.
 */
function offlineEnv(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? "" };
}

/** The libpq environment only, so that no other variable (e.g. the S3 keys) reaches the PostgreSQL programs. */
function libpqEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return Object.fromEntries(
        Object.entries(env).filter(
            ([name]) =>
                name.startsWith("PG") ||
                name === "PATH" ||
                name === "HOME" ||
                name === "LANG" ||
                name.startsWith("LC_"),
        ),
    );
}

interface Server {
    major: number;
    database: string;
    where: string;
}

async function server(env: NodeJS.ProcessEnv): Promise<Server> {
    const client = await connect(env);
    try {
        const row = (
            await client.query<{ version: string; database: string }>(
                "SELECT current_setting('server_version_num') AS version, current_database() AS database",
            )
        ).rows[0];
        return {
            major: Math.floor(Number(row.version) / 10000),
            database: row.database,
            // As connect() resolved the libpq variables and their defaults.
            where: `${client.host}:${client.port}`,
        };
    } finally {
        await client.end();
    }
}

async function sha256(file: string): Promise<string> {
    const hash = createHash("sha256");
    await pipeline(createReadStream(file), hash);
    return hash.digest("hex");
}

/**
 * The archive's table of contents, after reading the whole archive without a database: `pg_restore --list` alone
 * reads only the table of contents, which a truncated dump still has intact, so every data block is also decoded
 * into /dev/null. A refusal says the file is no complete pg_dump archive.
 */
async function archiveContents(pgRestore: string, file: string, what: string): Promise<string[]> {
    const env = offlineEnv();
    const listed = await runProcess(pgRestore, ["--list", file], { env });
    const read = listed.code === 0 ? await runProcess(pgRestore, ["--file", "/dev/null", file], { env }) : listed;
    if (read.code !== 0) {
        throw new MigrationError(
            `${what} is not a complete pg_dump archive: pg_restore failed to read it with ` +
                `${JSON.stringify(read.stderr.trim().slice(0, 300))}. Nothing was changed. Fix: choose another ` +
                "backup (`backup ls`).",
        );
    }
    return listed.stdout.split("\n").filter((line) => line !== "" && !line.startsWith(";"));
}

function workDir(): string {
    return mkdtempSync(path.join(tmpdir(), "lakehouse-backup-"));
}

/**
 * `pg_dump -Fc` of the whole database, uploaded, read back and compared, then the manifest; returns the new
 * `latest` URI.
 */
export async function createBackup(context: BackupContext, now: () => Date = () => new Date()): Promise<string> {
    const { store, env, onProgress } = context;
    const s3 = s3Client(store, env);
    const dir = workDir();
    try {
        const target = await server(env);
        const pgDump = await matchingTool("pg_dump", target.major, context.pgBin);
        const pgRestore = await matchingTool("pg_restore", target.major, context.pgBin);
        const file = path.join(dir, DUMP_FILE);
        onProgress(
            `dumping database ${target.database} on ${target.where} with ${pgDump} (PostgreSQL ${target.major})`,
        );
        const started = Date.now();
        const dumped = await runProcess(pgDump, ["--format=custom", "--file", file], { env: libpqEnv(env) });
        if (dumped.code !== 0) {
            throw new MigrationError(
                `pg_dump of database ${target.database} on ${target.where} failed: ` +
                    `${dumped.stderr.trim().slice(0, 500)}. No backup was written and the manifest is unchanged. Fix: ` +
                    "pg_dump's message names the cause; the dumping role must be able to read every schema in the database.",
            );
        }
        const entries = await archiveContents(pgRestore, file, `the fresh dump of ${target.database}`);
        const size = statSync(file).size;
        const checksum = await sha256(file);
        onProgress(
            `dumped ${size.toLocaleString("en-US")} bytes (${entries.length} archive entries) in ` +
                `${((Date.now() - started) / 1000).toFixed(1)} s; sha256 ${checksum}`,
        );

        const directory = backupDirectory(store, now());
        const key = `${directory}/${DUMP_FILE}`;
        onProgress(`uploading to s3://${store.bucket}/${key}`);
        await uploadVerified(s3, store, file, key, size, checksum, "application/octet-stream", onProgress);

        const latest = `s3://${store.bucket}/${directory}`;
        await s3
            .send(
                new PutObjectCommand({
                    Bucket: store.bucket,
                    Key: manifestKey(store),
                    Body: manifestBody(latest),
                    ContentType: "application/json",
                }),
            )
            .catch((error: Error) => {
                throw new MigrationError(
                    `the dump is stored and verified at ${latest}, but writing the manifest ` +
                        `s3://${store.bucket}/${manifestKey(store)} failed: ${error.message}. \`latest\` still names the ` +
                        "previous backup. Fix: check the credentials' write access, then run `backup create` again (or " +
                        `restore this one with --source ${latest}).`,
                );
            });
        onProgress(`manifest s3://${store.bucket}/${manifestKey(store)} now names ${latest}`);
        return latest;
    } finally {
        rmSync(dir, { recursive: true, force: true });
        s3.destroy();
    }
}

/**
 * Uploads a file with its SHA-256 as metadata, then reads it back and compares size and SHA-256, so that nothing
 * names the object before it is known to be whole.
 */
async function uploadVerified(
    s3: S3Client,
    store: BackupStore,
    file: string,
    key: string,
    size: number,
    checksum: string,
    contentType: string,
    onProgress: (line: string) => void,
): Promise<void> {
    await new Upload({
        client: s3,
        params: {
            Bucket: store.bucket,
            Key: key,
            Body: createReadStream(file),
            ContentType: contentType,
            Metadata: { [CHECKSUM_METADATA]: checksum },
        },
        // A failed multipart upload is aborted, so no partial object stays behind.
        leavePartsOnError: false,
    })
        .done()
        .catch((error: Error) => {
            throw new MigrationError(
                `upload of ${path.basename(file)} to s3://${store.bucket}/${key} failed: ` +
                    `${error.message}. Nothing names it: the manifest is unchanged, so \`latest\` still names the previous ` +
                    "backup, and a migration waiting for this copy does not start. Fix: check the endpoint and the " +
                    "credentials, then run the command again.",
            );
        });
    onProgress("uploaded; reading it back to compare its size and sha256");
    const readBack = await download(s3, store, key);
    if (readBack.size !== size || readBack.sha256 !== checksum) {
        throw new MigrationError(
            `s3://${store.bucket}/${key} read back differs from what was uploaded ` +
                `(${readBack.size} bytes, sha256 ${readBack.sha256}; expected ${size} bytes, sha256 ${checksum}). ` +
                "Nothing names it. Fix: check the S3 endpoint, then run the command again.",
        );
    }
}

/** What a download read: the object's metadata, and the size and SHA-256 of its bytes as they arrived. */
interface Downloaded {
    metadata: Record<string, string>;
    size: number;
    sha256: string;
}

/**
 * Reads an object, hashing it on the way, into `file` if given (a restore needs the archive on disk) or nowhere
 * (the read-back after an upload needs only its size and hash), so that no byte is read from disk again to hash it.
 */
async function download(s3: S3Client, store: BackupStore, key: string, file?: string): Promise<Downloaded> {
    const response = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key })).catch((error: Error) => {
        throw new MigrationError(
            `cannot read s3://${store.bucket}/${key}: ${error.message}. Nothing was changed. ` +
                "Fix: check the bucket, the prefix and the credentials; `backup ls` lists what exists.",
        );
    });
    const hash = createHash("sha256");
    let size = 0;
    async function* hashed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
        }
    }
    await pipeline(response.Body as Readable, hashed, createWriteStream(file ?? "/dev/null", { mode: 0o600 }));
    return { metadata: response.Metadata ?? {}, size, sha256: hash.digest("hex") };
}

/** The manifest's `latest`, checked to be `dlctl`'s format. */
async function readManifest(s3: S3Client, store: BackupStore): Promise<string> {
    const where = `s3://${store.bucket}/${manifestKey(store)}`;
    const response = await s3
        .send(new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey(store) }))
        .catch((error: Error) => {
            throw new MigrationError(
                `cannot read the manifest ${where}: ${error.message}. Fix: run \`backup create\` ` +
                    "first, or pass --source with a backup that `backup ls` prints.",
            );
        });
    const text = await response.Body!.transformToString("utf8");
    let manifest: unknown;
    try {
        manifest = JSON.parse(text);
    } catch {
        manifest = undefined;
    }
    const latest = (manifest as { latest?: unknown } | undefined)?.latest;
    if ((manifest as { dataset?: unknown } | undefined)?.dataset !== DATASET || typeof latest !== "string") {
        throw new MigrationError(
            `the manifest ${where} is not {"dataset": "catalog", "latest": "s3://…"}; got ` +
                `${JSON.stringify(text.slice(0, 200))}. Fix: pass --source with a backup that \`backup ls\` prints.`,
        );
    }
    return latest;
}

/**
 * Restores the whole database from a backup (the manifest's `latest` unless `source` is given): the archive is
 * downloaded, its checksum compared and the whole archive read, and only then applied in one transaction that checks
 * every table's row count before it commits (see {@link restoreChecked}).
 */
export async function restoreBackup(context: BackupContext, source: string | undefined): Promise<string> {
    const { store, env, onProgress } = context;
    const s3 = s3Client(store, env);
    const dir = workDir();
    try {
        const directory = sourceDirectory(store, source ?? (await readManifest(s3, store)));
        const uri = `s3://${store.bucket}/${directory}`;
        const target = await server(env);
        const pgRestore = await matchingTool("pg_restore", target.major, context.pgBin);
        const file = path.join(dir, DUMP_FILE);
        onProgress(`downloading ${uri}/${DUMP_FILE}`);
        const downloaded = await download(s3, store, `${directory}/${DUMP_FILE}`, file);
        const expected = downloaded.metadata[CHECKSUM_METADATA];
        const actual = downloaded.sha256;
        if (expected !== undefined && expected !== actual) {
            throw new MigrationError(
                `${uri}/${DUMP_FILE} has sha256 ${actual}, but was uploaded with ${expected}: ` +
                    `the stored dump is damaged. Database ${target.database} was not touched. Fix: restore another ` +
                    "backup (`backup ls`).",
            );
        }
        onProgress(
            expected === undefined
                ? "the dump carries no sha256 (written by another tool); checking that the whole archive reads"
                : `sha256 ${actual} matches the upload`,
        );
        await archiveContents(pgRestore, file, `${uri}/${DUMP_FILE}`);
        const psql = await matchingTool("psql", target.major, context.pgBin);

        onProgress(
            `restoring into database ${target.database} on ${target.where} in one transaction, checked ` +
                "before it commits",
        );
        const started = Date.now();
        const tables = await restoreChecked(pgRestore, psql, file, env, uri, target.database);
        onProgress(
            `restored ${tables.toLocaleString("en-US")} tables, each with the dump's row count, in ` +
                `${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        return uri;
    } finally {
        rmSync(dir, { recursive: true, force: true });
        s3.destroy();
    }
}

/**
 * Restores the archive as one psql transaction and checks it before the commit: `pg_restore` writes the script
 * (`--clean --if-exists --no-owner`, so the drops and the re-creation are part of it), its COPY blocks are counted on
 * the way through, and a last statement compares every table's row count with its block's. Any error, the check's
 * included, rolls the whole transaction back (`ON_ERROR_STOP`). Returns the number of tables checked.
 */
async function restoreChecked(
    pgRestore: string,
    psql: string,
    file: string,
    env: NodeJS.ProcessEnv,
    uri: string,
    database: string,
): Promise<number> {
    const script = spawn(pgRestore, ["--clean", "--if-exists", "--no-owner", "--exit-on-error", "--file", "-", file], {
        env: offlineEnv(),
        stdio: ["ignore", "pipe", "pipe"],
    });
    const apply = spawn(
        psql,
        ["--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1", "--output", "/dev/null"],
        { env: libpqEnv(env), stdio: ["pipe", "ignore", "pipe"] },
    );
    let scriptErrors = "";
    let applyErrors = "";
    script.stderr.on("data", (chunk: Buffer) => (scriptErrors += chunk.toString("utf8")));
    apply.stderr.on("data", (chunk: Buffer) => (applyErrors += chunk.toString("utf8")));
    let applyExited = false;
    const applied = new Promise<number | null>((resolve, reject) => {
        apply.on("error", reject);
        apply.on("close", (code) => {
            applyExited = true;
            resolve(code);
        });
    });
    // psql may stop reading at its first error; what it did not read no longer matters.
    apply.stdin.on("error", () => undefined);

    const counter = new CopyCounter();
    const scripted = new Promise<number | null>((resolve, reject) => {
        script.on("error", reject);
        script.on("close", resolve);
    });
    for await (const chunk of script.stdout as AsyncIterable<Buffer>) {
        counter.feed(chunk);
        // Once psql has stopped, the rest of the script is only read to its end, so that pg_restore can exit.
        if (!applyExited && !apply.stdin.write(chunk)) {
            await Promise.race([once(apply.stdin, "drain"), applied]);
        }
    }
    const scriptCode = await scripted;
    const counts = counter.finish();
    // Without a complete script the transaction must not commit: a failing statement makes psql roll it back.
    apply.stdin.end(
        scriptCode === 0
            ? restoreCheckSql(counts)
            : "DO $abort$ BEGIN RAISE EXCEPTION 'pg_restore did not produce the whole script'; END $abort$;\n",
    );
    const applyCode = await applied;
    if (scriptCode !== 0 || applyCode !== 0) {
        throw new MigrationError(
            `restoring ${uri} into database ${database} failed and was rolled back, so the ` +
                `database is as before: ${(scriptErrors + applyErrors).trim().slice(0, 600)}. Fix: the message names ` +
                "the object or the check that failed; grant the restoring role what it needs, or restore another backup.",
        );
    }
    return counts.size;
}

/** The statement that fails the restore's transaction unless every table holds its COPY block's row count. */
export function restoreCheckSql(counts: Map<string, number>): string {
    const checks = [...counts].map(
        ([table, rows]) =>
            `    SELECT count(*) INTO n FROM ${table};\n` +
            `    IF n <> ${rows} THEN RAISE EXCEPTION 'restore check: % holds % rows, the dump %', ` +
            `${sqlString(table)}, n, ${rows}; END IF;\n`,
    );
    return `DO $check$\nDECLARE n bigint;\nBEGIN\n${checks.join("")}END\n$check$;\n`;
}

// pg_dump's qualified table name: each part bare or double-quoted (with "" inside).
const COPY_LINE = /^COPY ((?:"(?:[^"]|"")*"|[^\s."]+)\.(?:"(?:[^"]|"")*"|[^\s."]+)) (?:\(.*\) )?FROM stdin;$/;

/**
 * Counts the rows of each COPY block of a plain-format restore script, fed in arbitrary chunks. In COPY's text
 * format every row is one line (newlines inside values are escaped), and a block ends with `\.`.
 */
export class CopyCounter {
    private readonly counts = new Map<string, number>();
    private current: string | undefined;
    private partial = "";
    // A chunk may end inside a multi-byte character (of a table's name, say): the decoder holds such bytes back.
    private readonly decoder = new StringDecoder("utf8");

    feed(chunk: Buffer): void {
        const lines = (this.partial + this.decoder.write(chunk)).split("\n");
        this.partial = lines.pop()!;
        for (const line of lines) {
            this.line(line);
        }
    }

    finish(): Map<string, number> {
        this.partial += this.decoder.end();
        if (this.partial !== "") {
            this.line(this.partial);
            this.partial = "";
        }
        return this.counts;
    }

    private line(line: string): void {
        if (this.current === undefined) {
            const copy = COPY_LINE.exec(line);
            if (copy) {
                this.current = copy[1];
                this.counts.set(this.current, this.counts.get(this.current) ?? 0);
            }
        } else if (line === "\\.") {
            this.current = undefined;
        } else {
            this.counts.set(this.current, this.counts.get(this.current)! + 1);
        }
    }
}

/** Every backup under the prefix, newest first, whatever the prefix's depth. */
export async function listBackups(
    store: BackupStore,
    env: NodeJS.ProcessEnv,
): Promise<{ entries: BackupEntry[]; latest: string | undefined }> {
    const s3 = s3Client(store, env);
    try {
        const base = `${datasetKey(store)}/`;
        const entries: BackupEntry[] = [];
        let token: string | undefined;
        do {
            const page = await s3
                .send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: base, ContinuationToken: token }))
                .catch((error: Error) => {
                    throw new MigrationError(
                        `cannot list s3://${store.bucket}/${base}: ${error.message}. Fix: check the ` +
                            "endpoint, the bucket and the credentials.",
                    );
                });
            for (const object of page.Contents ?? []) {
                const rest = object.Key!.slice(base.length);
                if (!rest.endsWith(`/${DUMP_FILE}`)) {
                    continue;
                }
                const dateAndTime = rest.slice(0, -DUMP_FILE.length - 1);
                const taken = takenOf(dateAndTime);
                if (taken !== undefined) {
                    entries.push({ taken, uri: `s3://${store.bucket}/${base}${dateAndTime}`, size: object.Size ?? 0 });
                }
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
        entries.sort((a, b) => b.taken.localeCompare(a.taken));
        const latest = entries.length > 0 ? await readManifest(s3, store).catch(() => undefined) : undefined;
        return { entries, latest };
    } finally {
        s3.destroy();
    }
}

/**
 * Copies a catalog's SQLite file to `<prefix>/sqlite/<catalog>/<YYYY_MM_DD>/<HH_MM_SS_mmm>/<file name>` before its
 * migration: `VACUUM INTO` from a read-only connection (one read transaction, so a consistent snapshot even while a
 * writer is active, unlike a plain file copy), checked with `PRAGMA quick_check` and per-table row counts against
 * the source, uploaded and read back. Returns the copy's URI.
 */
export async function copySqlite(
    context: Omit<BackupContext, "pgBin">,
    sqlite: string,
    catalog: string,
    now: () => Date = () => new Date(),
): Promise<string> {
    const { store, env, onProgress } = context;
    if (!existsSync(sqlite)) {
        throw new MigrationError(
            `the SQLite catalog ${sqlite} does not exist, so it cannot be copied before its ` +
                "migration. Fix: point the catalog's `sqlite` at the file.",
        );
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(catalog)) {
        throw new MigrationError(
            `catalog name ${JSON.stringify(catalog)} cannot name a backup folder; it must be ` +
                "letters, digits, `_`, `.` or `-`. Fix: pass the catalog's name as the stack's config has it.",
        );
    }
    const s3 = s3Client(store, env);
    const dir = workDir();
    try {
        const copy = path.join(dir, path.basename(sqlite));
        onProgress(`copying ${sqlite} with VACUUM INTO`);
        let sourceCounts: Record<string, number>;
        try {
            // A writer's lock is waited for a while (as the migration's source reader does), not failed on at once.
            const source = new DatabaseSync(path.resolve(sqlite), { readOnly: true, timeout: BUSY_TIMEOUT_MS });
            try {
                source.exec(`VACUUM INTO ${sqlString(copy)}`);
                sourceCounts = rowCounts(source);
            } finally {
                source.close();
            }
        } catch (error) {
            throw new MigrationError(
                `cannot copy the SQLite catalog ${sqlite}: ${(error as Error).message}. The ` +
                    "migration did not start. Fix: check that the file is a SQLite database and readable.",
            );
        }
        const copied = new DatabaseSync(copy, { readOnly: true });
        let copyCounts: Record<string, number>;
        try {
            const check = copied
                .prepare("PRAGMA quick_check")
                .all()
                .map((row) => Object.values(row)[0]);
            if (check.length !== 1 || check[0] !== "ok") {
                throw new MigrationError(
                    `the copy of ${sqlite} fails SQLite's quick_check: ${check.join("; ")}. ` +
                        "The migration did not start. Fix: run `PRAGMA integrity_check` on the file and repair it.",
                );
            }
            copyCounts = rowCounts(copied);
        } finally {
            copied.close();
        }
        if (JSON.stringify(copyCounts) !== JSON.stringify(sourceCounts)) {
            throw new MigrationError(
                `the copy of ${sqlite} does not hold the rows the file holds now (copy ` +
                    `${JSON.stringify(copyCounts)}, file ${JSON.stringify(sourceCounts)}): something wrote to it during the ` +
                    "copy. The migration did not start. Fix: stop every DuckLake client writing to this catalog, then " +
                    "run `pulumi up` again.",
            );
        }
        const size = statSync(copy).size;
        const checksum = await sha256(copy);
        const total = Object.values(copyCounts).reduce((sum, rows) => sum + rows, 0);
        const key = `${sqliteBackupDirectory(store, catalog, now())}/${path.basename(sqlite)}`;
        onProgress(
            `copy checked (${total.toLocaleString("en-US")} rows in ${Object.keys(copyCounts).length} tables, ` +
                `${size.toLocaleString("en-US")} bytes); uploading to s3://${store.bucket}/${key}`,
        );
        await uploadVerified(s3, store, copy, key, size, checksum, "application/vnd.sqlite3", onProgress);
        return `s3://${store.bucket}/${key}`;
    } finally {
        rmSync(dir, { recursive: true, force: true });
        s3.destroy();
    }
}

function sqliteBackupDirectory(store: BackupStore, catalog: string, moment: Date): string {
    return `${store.prefix}/sqlite/${catalog}/${dated(moment)}`;
}

function rowCounts(db: DatabaseSync): Record<string, number> {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all();
    return Object.fromEntries(
        tables.map(({ name }) => {
            const count = db.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(String(name))}`).get()!.n;
            return [String(name), Number(count)];
        }),
    );
}
