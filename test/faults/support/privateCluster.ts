/**
 * A throwaway PostgreSQL cluster owned by one test file. The restart test needs one: restarting the suite's shared
 * cluster would break the connections of every other test file running at the same time.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface PrivateCluster {
    /** libpq environment of the cluster's superuser. */
    env: { PGHOST: string; PGPORT: string; PGUSER: string; PGPASSWORD: string; PGDATABASE: string };
    restart(): void;
    stop(): void;
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
    const bin = process.env.LAKEHOUSE_TEST_PG_BIN;
    if (bin === undefined || bin === "") {
        throw new Error("LAKEHOUSE_TEST_PG_BIN is not set: run the suite through scripts/with-postgres.sh");
    }
    const runAs = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
    const run = (command: string, args: string[]): void => {
        const argv = [...runAs, path.join(bin, command), ...args];
        execFileSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    };
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "faults-pg-"));
    const superuser = runAs.length > 0 ? "postgres" : os.userInfo().username;
    const password = crypto.randomBytes(18).toString("hex");
    const passwordFile = path.join(root, "pw");
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs.length > 0) {
        execFileSync("chown", ["-R", "postgres:", root]);
    }
    const dataDir = path.join(root, "data");
    run("initdb", [
        "-D",
        dataDir,
        "-U",
        superuser,
        `--pwfile=${passwordFile}`,
        "--auth-local=scram-sha-256",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]);
    fs.rmSync(passwordFile);
    const port = await freePort();
    // The server log goes to a file: with a pipe, pg_ctl's caller would wait for the server to exit.
    const log = path.join(root, "server.log");
    run("pg_ctl", [
        "-D",
        dataDir,
        "-l",
        log,
        "-w",
        "start",
        "-o",
        `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root}`,
    ]);
    return {
        env: {
            PGHOST: "127.0.0.1",
            PGPORT: String(port),
            PGUSER: superuser,
            PGPASSWORD: password,
            PGDATABASE: "postgres",
        },
        // pg_ctl restart reuses the options of the last start (postmaster.opts), so the port stays the same.
        restart: () => run("pg_ctl", ["-D", dataDir, "-l", log, "-m", "fast", "-w", "restart"]),
        stop: () => {
            try {
                run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        },
    };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
    });
}
