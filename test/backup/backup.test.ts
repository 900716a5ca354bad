/**
 * The backup command against the real PostgreSQL and moto's S3 server, run as the project's npm script: a DuckLake
 * catalog migrated by the stack's own command is backed up, dropped and restored exactly, DuckLake reads it again,
 * and every way a backup can go wrong leaves the manifest or the database as it was.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupCreateCommand } from "../../components/catalogBackup";
import { sqliteCopyCommand } from "../../components/catalogMigration";
import { CopyCounter, restoreCheckSql, s3Client } from "../../migrate/backup";
import { runShell, runStackMigration, schemaState } from "../migrate/support";
import { type S3Endpoint, startS3 } from "../support/clients";
import { attachPostgresSql, attachSqliteSql, NEWEST_LINE, runDuckLake } from "../support/ducklake";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

const BUCKET = "lakehouse";
// Three segments: the original tool's listing assumed one.
const PREFIX = "lake/backups/v1";
const SCHEMA = "lake";
const PG_BIN = process.env.LAKEHOUSE_TEST_PG_BIN ?? "";

let db: TestDatabase;
let s3: S3Endpoint;
let client: S3Client;
let dir: string;
let data: string;
let sqlite: string;

function backupEnv(endpoint = s3.endpoint): NodeJS.ProcessEnv {
    return {
        ...db.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_ENDPOINT: `http://${endpoint}`,
        S3_BUCKET: BUCKET,
        S3_BACKUPS_PREFIX: PREFIX,
    };
}

/** The documented command line: `npm run --silent backup -- <argv>`, secrets only in the environment. */
function backup(argv: string, env: NodeJS.ProcessEnv = backupEnv()) {
    return runShell(`npm run --silent backup -- ${argv}`, env);
}

async function manifest(): Promise<string> {
    const response = await client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/catalog/manifest.json` }),
    );
    return response.Body!.transformToString("utf8");
}

async function putObject(key: string, body: Buffer | string): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function getObject(key: string): Promise<Buffer> {
    const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
}

const catalogState = () => schemaState(db.admin, SCHEMA);

beforeAll(async () => {
    if (PG_BIN === "") {
        throw new Error(
            "LAKEHOUSE_TEST_PG_BIN is unset; run the tests as `bash scripts/with-postgres.sh npx vitest run`.",
        );
    }
    db = await createTestDatabase("backup");
    s3 = await startS3(BUCKET);
    client = s3Client(
        { endpoint: `http://${s3.endpoint}`, bucket: BUCKET, prefix: PREFIX, region: "us-east-1", urlStyle: "path" },
        backupEnv(),
    );
    dir = mkdtempSync(path.join(tmpdir(), "backup-test-"));
    data = path.join(dir, "data") + "/";
    sqlite = path.join(dir, "lake.sqlite");
    await runDuckLake(NEWEST_LINE, [
        attachSqliteSql("lake", sqlite, data),
        "CREATE TABLE lake.t (id INTEGER, name VARCHAR)",
        "INSERT INTO lake.t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
        "DELETE FROM lake.t WHERE id = 1",
    ]);
    const migrated = await runStackMigration(sqlite, SCHEMA, db.env);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ status: "migrated" });
}, 120_000);

afterAll(async () => {
    client?.destroy();
    await s3?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
});

describe("backup create, ls and restore", () => {
    it("backs up, and after the catalog's schema is dropped restores it exactly; DuckLake reads it again", async () => {
        const before = await catalogState();
        expect(before).not.toBeNull();

        // The exact command line the stack runs after a migration.
        const first = await runShell(backupCreateCommand(), backupEnv());
        expect(first.stderr).toMatch(
            /backup: dumping database test_backup_\w+ on 127.0.0.1:\d+ with .*pg_dump \(PostgreSQL 15\)/,
        );
        expect(first.code).toBe(0);
        const latest = first.stdout.trim();
        expect(latest).toMatch(
            new RegExp(`^s3://${BUCKET}/${PREFIX}/catalog/\\d{4}_\\d{2}_\\d{2}/\\d{2}_\\d{2}_\\d{2}_\\d{3}$`),
        );
        // Byte for byte what `dlctl backup create` writes.
        expect(await manifest()).toBe(`{"dataset": "catalog", "latest": "${latest}"}`);
        const dump = await getObject(`${latest.slice(`s3://${BUCKET}/`.length)}/lakehouse.dump`);
        expect(dump.subarray(0, 5).toString()).toBe("PGDMP");

        const second = await backup("create");
        expect(second.code).toBe(0);
        const newest = second.stdout.trim();
        const listed = await backup("ls");
        expect(listed.code).toBe(0);
        const lines = listed.stdout.trim().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(
            new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3} => ${newest} \\([\\d,]+ bytes\\) latest$`),
        );
        expect(lines[1]).toMatch(new RegExp(` => ${latest} \\([\\d,]+ bytes\\)$`));
        // As the pipeline's scheduled job finds the endpoint: the stack's host:port and S3_USE_SSL variables.
        const fromCiVariables = await backup("ls", { ...backupEnv(), S3_ENDPOINT: s3.endpoint, S3_USE_SSL: "false" });
        expect(fromCiVariables.stdout).toBe(listed.stdout);

        await db.admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
        expect(await catalogState()).toBeNull();
        const restored = await backup("restore");
        expect(restored.stderr).toMatch(/in one transaction, checked before it commits/);
        expect(restored.stderr).toMatch(/restored \d+ tables, each with the dump's row count/);
        expect(restored.code).toBe(0);
        expect(restored.stdout.trim()).toBe(newest);
        expect(await catalogState()).toEqual(before);

        const read = await runDuckLake(NEWEST_LINE, [
            attachPostgresSql("lake", db.env, SCHEMA, data),
            "SELECT id, name FROM lake.t ORDER BY id",
            "SELECT id FROM lake.t AT (VERSION => 2) ORDER BY id",
        ]);
        expect(read[1].rows).toEqual([
            [2, "two"],
            [3, "three"],
        ]);
        expect(read[2].rows).toEqual([[1], [2], [3]]);
    }, 120_000);

    it("restores what the original tool wrote: its manifest format, no checksum metadata, --source as a timestamp", async () => {
        const before = await catalogState();
        const dumpFile = path.join(dir, "dlctl.dump");
        const dumped = spawnSync(path.join(PG_BIN, "pg_dump"), ["-Fc", "-f", dumpFile], { env: db.env });
        expect(dumped.status).toBe(0);
        const backupDir = `${PREFIX}/catalog/2025_10_22/16_32_51_123`;
        await putObject(`${backupDir}/lakehouse.dump`, readFileSync(dumpFile));
        await putObject(
            `${PREFIX}/catalog/manifest.json`,
            `{"dataset": "catalog", "latest": "s3://${BUCKET}/${backupDir}"}`,
        );

        await db.admin.query(`DELETE FROM ${SCHEMA}.ducklake_snapshot WHERE snapshot_id > 0`);
        const fromManifest = await backup("restore");
        expect(fromManifest.stderr).toMatch(
            /no sha256 \(written by another tool\); checking that the whole archive reads/,
        );
        expect(fromManifest.code).toBe(0);
        expect(fromManifest.stdout.trim()).toBe(`s3://${BUCKET}/${backupDir}`);
        expect(await catalogState()).toEqual(before);

        await db.admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
        const bySource = await backup("restore --source 2025-10-22T16:32:51.123");
        expect(bySource.code).toBe(0);
        expect(await catalogState()).toEqual(before);
    }, 120_000);

    it("refuses a corrupt dump before anything is dropped: truncated, or not what was uploaded", async () => {
        const before = await catalogState();
        const good = await backup("create");
        expect(good.code).toBe(0);
        const key = `${good.stdout.trim().slice(`s3://${BUCKET}/`.length)}/lakehouse.dump`;
        const dump = await getObject(key);

        // Without checksum metadata (as the original tool uploads), only reading the archive can catch this.
        const truncatedDir = `${PREFIX}/catalog/2025_10_23/08_00_00_000`;
        await putObject(`${truncatedDir}/lakehouse.dump`, dump.subarray(0, Math.floor(dump.length * 0.8)));
        const truncated = await backup("restore --source 2025-10-23T08:00:00.000");
        expect(truncated.stderr).toMatch(/is not a complete pg_dump archive.*Nothing was changed/);
        expect(truncated.code).toBe(1);
        expect(await catalogState()).toEqual(before);

        const damaged = Buffer.from(dump);
        damaged[damaged.length - 10] ^= 0xff;
        const checksum = (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Metadata!.sha256;
        await client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: damaged, Metadata: { sha256: checksum } }),
        );
        const mismatch = await backup("restore");
        expect(mismatch.stderr).toMatch(
            /but was uploaded with .*: the stored dump is damaged\. Database \S+ was not touched/,
        );
        expect(mismatch.code).toBe(1);
        expect(await catalogState()).toEqual(before);
    }, 120_000);

    it("rolls a failing restore back whole: the database stays as it was, not half-restored", async () => {
        // A grant to a role that is gone by restore time: pg_restore's script fails late, after the drops.
        await db.admin.query(`CREATE ROLE backup_reader_${db.role}`);
        await db.admin.query(`GRANT USAGE ON SCHEMA ${SCHEMA} TO backup_reader_${db.role}`);
        const created = await backup("create");
        expect(created.code).toBe(0);
        await db.admin.query(`REVOKE USAGE ON SCHEMA ${SCHEMA} FROM backup_reader_${db.role}`);
        await db.admin.query(`DROP ROLE backup_reader_${db.role}`);
        await db.admin.query(`DELETE FROM ${SCHEMA}.ducklake_snapshot WHERE snapshot_id > 1`);
        const changed = await catalogState();

        const failed = await backup("restore");
        expect(failed.stderr).toMatch(
            /failed and was rolled back, so the database is as before: .*backup_reader_.* does not exist/s,
        );
        expect(failed.code).toBe(1);
        expect(await catalogState()).toEqual(changed);
    }, 120_000);

    it("checks every table's row count before the restore commits", async () => {
        const counter = new CopyCounter();
        const script =
            'SET x = 1;\nCOPY lake."odd ""name""" (a, b) FROM stdin;\n1\tx\n2\ty\\nz\n\\.\n' +
            "COPY lake.empty (a) FROM stdin;\n\\.\nCOPY lake.t FROM stdin;\n1\n";
        // Fed in pieces that split lines and the block's end marker.
        for (const piece of script.match(/[\s\S]{1,7}/g)!) {
            counter.feed(Buffer.from(piece));
        }
        expect([...counter.finish()]).toEqual([
            ['lake."odd ""name"""', 2],
            ["lake.empty", 0],
            ["lake.t", 1],
        ]);
        // A chunk that ends inside a multi-byte character of a table's name.
        const named = Buffer.from('COPY lake."café" FROM stdin;\n1\n\\.\n');
        const split = named.indexOf("é") + 1;
        const unicode = new CopyCounter();
        unicode.feed(named.subarray(0, split));
        unicode.feed(named.subarray(split));
        expect([...unicode.finish()]).toEqual([['lake."café"', 1]]);

        const rows = Number((await db.admin.query(`SELECT count(*) AS n FROM ${SCHEMA}.ducklake_snapshot`)).rows[0].n);
        await db.admin.query(restoreCheckSql(new Map([[`${SCHEMA}.ducklake_snapshot`, rows]])));
        await expect(
            db.admin.query(restoreCheckSql(new Map([[`${SCHEMA}.ducklake_snapshot`, rows + 1]]))),
        ).rejects.toThrow(`restore check: ${SCHEMA}.ducklake_snapshot holds ${rows} rows, the dump ${rows + 1}`);
    });

    it("leaves the previous latest in place when the upload is interrupted", async () => {
        const previous = await manifest();
        const listedBefore = (await backup("ls")).stdout;
        const cutter = await startUploadCutter(s3.endpoint);
        try {
            const cut = await backup("create", backupEnv(cutter.endpoint));
            expect(cut.stderr).toMatch(/upload of lakehouse.dump to .* failed.*the manifest is unchanged/s);
            expect(cut.code).toBe(1);
            expect(cutter.cut()).toBeGreaterThan(0);
        } finally {
            await cutter.stop();
        }
        expect(await manifest()).toBe(previous);
        // The multipart upload was aborted: no partial dump is listed.
        expect((await backup("ls")).stdout).toBe(listedBefore);

        // The dump arrives, the manifest does not: the verified dump stays restorable by --source, `latest` unchanged.
        const manifestCutter = await startUploadCutter(s3.endpoint, "manifest.json");
        try {
            const cut = await backup("create", backupEnv(manifestCutter.endpoint));
            expect(cut.stderr).toMatch(
                /the dump is stored and verified at s3:\/\/\S+, but writing the manifest .* failed/s,
            );
            expect(cut.stderr).toMatch(/`latest` still names the previous backup/);
            expect(cut.code).toBe(1);
        } finally {
            await manifestCutter.stop();
        }
        expect(await manifest()).toBe(previous);
    }, 120_000);

    it("refuses a pg_dump of another major version, naming both and the fix", async () => {
        const fake = mkdtempSync(path.join(dir, "pg16-"));
        for (const tool of ["pg_dump", "pg_restore", "psql"]) {
            writeFileSync(path.join(fake, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 16.4"\n`);
            chmodSync(path.join(fake, tool), 0o755);
        }
        const refused = await backup(`create --pg-bin ${fake}`);
        expect(refused.stderr).toContain(
            `${fake}/pg_dump is PostgreSQL 16, but the server is PostgreSQL 15; ` +
                "pg_dump must match the server's major version",
        );
        expect(refused.stderr).toContain("apt-get install postgresql-client-15");
        expect(refused.code).toBe(1);

        const missing = await backup(`create --pg-bin ${path.join(dir, "nowhere")}`);
        expect(missing.stderr).toMatch(/pg_dump is not at .*nowhere\/pg_dump, and the server is PostgreSQL 15/);
        expect(missing.code).toBe(1);
    }, 60_000);

    it("passes the password and keys only in the environment, and the S3 keys not to PostgreSQL's programs", async () => {
        const spy = mkdtempSync(path.join(dir, "spy-"));
        for (const tool of ["pg_dump", "pg_restore", "psql"]) {
            // Records the program's own command line, as the kernel has it, and which secrets its environment holds.
            writeFileSync(
                path.join(spy, tool),
                [
                    "#!/bin/sh",
                    `tr '\\0' ' ' < /proc/$$/cmdline >> ${spy}/${tool}.log; echo >> ${spy}/${tool}.log`,
                    `[ -n "$PGPASSWORD" ] && echo "env PGPASSWORD" >> ${spy}/${tool}.log`,
                    `[ -n "$AWS_SECRET_ACCESS_KEY" ] && echo "env AWS_SECRET_ACCESS_KEY" >> ${spy}/${tool}.log`,
                    `exec ${PG_BIN}/${tool} "$@"`,
                ].join("\n") + "\n",
            );
            chmodSync(path.join(spy, tool), 0o755);
        }
        const created = await backup(`create --pg-bin ${spy}`);
        expect(created.code).toBe(0);
        const restored = await backup(`restore --pg-bin ${spy}`);
        expect(restored.code).toBe(0);
        const dumpLog = readFileSync(path.join(spy, "pg_dump.log"), "utf8");
        const restoreLog = readFileSync(path.join(spy, "pg_restore.log"), "utf8");
        const psqlLog = readFileSync(path.join(spy, "psql.log"), "utf8");
        expect(dumpLog).toContain("--format=custom --file");
        expect(dumpLog).toContain("env PGPASSWORD");
        expect(restoreLog).toContain("--clean --if-exists --no-owner");
        expect(restoreLog).not.toContain("env PGPASSWORD");
        expect(psqlLog).toContain("--single-transaction");
        expect(psqlLog).toContain("env PGPASSWORD");
        for (const log of [dumpLog, restoreLog, psqlLog]) {
            expect(log).not.toContain(db.env.PGPASSWORD);
            expect(log).not.toContain(s3.secretAccessKey);
            expect(log).not.toContain("env AWS_SECRET_ACCESS_KEY");
        }
        for (const output of [created, restored]) {
            expect(output.stdout + output.stderr).not.toContain(db.env.PGPASSWORD);
            expect(output.stdout + output.stderr).not.toContain(s3.secretAccessKey);
        }
    }, 120_000);

    it("copies a SQLite catalog from a consistent snapshot, checked, and refuses what it cannot copy", async () => {
        // The exact command line the stack runs before the catalog's migration.
        const copied = await runShell(sqliteCopyCommand(sqlite, "lake"), backupEnv());
        expect(copied.code).toBe(0);
        const uri = copied.stdout.trim();
        expect(uri).toMatch(
            new RegExp(
                `^s3://${BUCKET}/${PREFIX}/sqlite/lake/\\d{4}_\\d{2}_\\d{2}/\\d{2}_\\d{2}_\\d{2}_\\d{3}/lake\\.sqlite$`,
            ),
        );
        const copy = path.join(dir, "copy.sqlite");
        writeFileSync(copy, await getObject(uri.slice(`s3://${BUCKET}/`.length)));
        const counts = (file: string) => {
            const sqliteDb = new DatabaseSync(file, { readOnly: true });
            try {
                return sqliteDb
                    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
                    .all()
                    .map(({ name }) => [
                        name,
                        sqliteDb.prepare(`SELECT count(*) AS n FROM "${String(name)}"`).get()!.n,
                    ]);
            } finally {
                sqliteDb.close();
            }
        };
        expect(counts(copy)).toEqual(counts(sqlite));
        expect(counts(copy).length).toBeGreaterThan(20);

        const garbage = path.join(dir, "garbage.sqlite");
        writeFileSync(
            garbage,
            "not a database at all, but long enough to look like a header..........................",
        );
        const refused = await backup(`sqlite --sqlite ${garbage} --catalog lake`);
        expect(refused.stderr).toMatch(
            /cannot copy the SQLite catalog .*garbage\.sqlite: .*The migration did not start/,
        );
        expect(refused.code).toBe(1);

        const cutter = await startUploadCutter(s3.endpoint, "lake.sqlite");
        try {
            const cut = await backup(`sqlite --sqlite ${sqlite} --catalog lake`, backupEnv(cutter.endpoint));
            expect(cut.stderr).toMatch(
                /upload of lake\.sqlite .* failed.*a migration waiting for this copy does not start/s,
            );
            expect(cut.code).toBe(1);
        } finally {
            await cutter.stop();
        }
    }, 60_000);

    it("exits 2 on a usage error and 1, naming the fix, without the S3 keys", async () => {
        const usage = await backup("frobnicate");
        expect(usage.stderr).toMatch(/the first argument must be create, restore, ls or sqlite/);
        expect(usage.code).toBe(2);
        const noKey = await backup("ls", { ...backupEnv(), AWS_SECRET_ACCESS_KEY: "" });
        expect(noKey.stderr).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set/);
        expect(noKey.code).toBe(1);
    }, 60_000);
});

interface UploadCutter {
    endpoint: string;
    cut(): number;
    stop(): Promise<void>;
}

/**
 * A proxy in front of the S3 server that forwards every request, except that it drops the connection in the middle
 * of each upload of `file`: the network failing while the body is on its way.
 */
async function startUploadCutter(target: string, file = "lakehouse.dump"): Promise<UploadCutter> {
    let cut = 0;
    const [host, port] = target.split(":");
    const server: Server = createServer((incoming, outgoing) => {
        if (incoming.method === "PUT" && (incoming.url ?? "").includes(file)) {
            cut += 1;
            incoming.once("data", () => incoming.socket.destroy());
            return;
        }
        const forward = httpRequest(
            { host, port: Number(port), method: incoming.method, path: incoming.url, headers: incoming.headers },
            (response) => {
                outgoing.writeHead(response.statusCode ?? 502, response.headers);
                response.pipe(outgoing);
            },
        );
        incoming.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        cut: () => cut,
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
