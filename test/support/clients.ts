/**
 * The lakehouse's real clients and a local S3 endpoint, from the virtualenv `scripts/setup-python.sh` installs into
 * `.tools/python` (pins in `tools/python/requirements.txt`): the DuckDB CLI 1.5.5, dbt-core with dbt-duckdb (whose
 * Python duckdb is 1.5.5 too), and moto's S3 server standing in for MinIO.
 *
 * Both clients find DuckDB 1.5.5's extension binaries where a user's `INSTALL` puts them,
 * `$HOME/.duckdb/extensions/v1.5.5/linux_amd64/`: `duckdbHome` builds such a home from `.tools/duckdb/v1.5.5/`,
 * because the extension repository is out of reach and `init.sql` must stay what a user runs.
 */
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { extensionPath, NEWEST_LINE } from "./ducklake";

const PYTHON_BIN = path.resolve(__dirname, "../../.tools/python/bin");

/** A program of the clients' virtualenv; fails loudly, with the fix, when setup has not installed it. */
export function pythonTool(name: "duckdb" | "dbt" | "moto_server"): string {
    const file = path.join(PYTHON_BIN, name);
    if (!existsSync(file)) {
        throw new Error(
            `${name} is missing at ${file}; run scripts/setup.sh (scripts/setup-python.sh installs it ` +
                "from tools/python/requirements.txt).",
        );
    }
    return file;
}

/** The extensions `init.sql` and the dbt profile use, under the file names DuckDB installs them as. */
const CLIENT_EXTENSIONS = ["httpfs", "ducklake", "postgres_scanner"];

/** A fresh `$HOME` whose DuckDB extension directory holds DuckDB 1.5.5's ducklake, httpfs and postgres binaries. */
export function duckdbHome(): string {
    const home = mkdtempSync(path.join(tmpdir(), "clients-home-"));
    const dir = path.join(home, ".duckdb", "extensions", `v${NEWEST_LINE.duckdb}`, "linux_amd64");
    mkdirSync(dir, { recursive: true });
    for (const name of CLIENT_EXTENSIONS) {
        symlinkSync(extensionPath(NEWEST_LINE, name), path.join(dir, `${name}.duckdb_extension`));
    }
    return home;
}

export interface S3Endpoint {
    /** `host:port`, as the stack's `s3.endpoint` takes it. */
    endpoint: string;
    accessKeyId: string;
    secretAccessKey: string;
    /** Every request the server logged (method and path), to check what the clients did. */
    requests(): string[];
    stop(): Promise<void>;
}

/**
 * Starts moto's S3 server on 127.0.0.1 (a port of its choosing) with `bucket`, and signature checking on, as MinIO
 * has it: requests must be signed (SigV4) with the access key it returns. moto lets the first few requests through
 * unsigned, exactly enough to create that key, its S3 policy and the bucket; every later request is checked.
 */
export async function startS3(bucket: string): Promise<S3Endpoint> {
    const setupRequests = 4;
    const child = spawn(pythonTool("moto_server"), ["-H", "127.0.0.1", "-p", "0"], {
        env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(setupRequests) },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    const endpoint = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`moto_server did not start within 30 s: ${log}`)), 30_000);
        child.stderr.on("data", (chunk: Buffer) => {
            log += chunk.toString("utf8");
            const match = /Running on http:\/\/(127\.0\.0\.1:\d+)/.exec(log);
            if (match) {
                clearTimeout(timer);
                resolve(match[1]);
            }
        });
        child.on("close", (code) => reject(new Error(`moto_server exited (${code}) before listening: ${log}`)));
    });

    // moto reads the service from the credential scope; the signature itself is not checked yet.
    const unsigned = (service: string) =>
        `AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;
    const iam = async (params: Record<string, string>): Promise<string> => {
        const response = await fetch(`http://${endpoint}/`, {
            method: "POST",
            headers: { Authorization: unsigned("iam"), "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...params, Version: "2010-05-08" }),
        });
        const body = await response.text();
        if (!response.ok) {
            throw new Error(`moto IAM ${params.Action} failed (${response.status}): ${body}`);
        }
        return body;
    };
    await iam({ Action: "CreateUser", UserName: "lakehouse" });
    const key = await iam({ Action: "CreateAccessKey", UserName: "lakehouse" });
    await iam({
        Action: "PutUserPolicy",
        UserName: "lakehouse",
        PolicyName: "lakehouse-s3",
        PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
        }),
    });
    const created = await fetch(`http://${endpoint}/${bucket}`, {
        method: "PUT",
        headers: { Authorization: unsigned("s3") },
    });
    if (!created.ok) {
        throw new Error(`moto CreateBucket ${bucket} failed (${created.status}): ${await created.text()}`);
    }
    const field = (name: string) => {
        const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(key);
        if (!match) {
            throw new Error(`moto CreateAccessKey returned no ${name}: ${key}`);
        }
        return match[1];
    };
    return {
        endpoint,
        accessKeyId: field("AccessKeyId"),
        secretAccessKey: field("SecretAccessKey"),
        requests: () => [...log.matchAll(/"([A-Z]+ \S+) HTTP\/1\.1" (\d+)/g)].map((match) => `${match[1]} ${match[2]}`),
        async stop() {
            child.kill();
            await exited;
        },
    };
}

/** One request a client sent, as `startSignatureProbe` received it. */
export interface ProbedRequest {
    method: string;
    url: string;
    headers: Record<string, string>;
}

export interface SignatureProbe {
    endpoint: string;
    requests: ProbedRequest[];
    stop(): Promise<void>;
}

/**
 * An S3 endpoint that refuses every request (403) and keeps it, so a test can check the SigV4 signature a client
 * computed against a secret of its own choosing: the S3 servers at hand (moto, like MinIO's admin API) only take
 * keys they generate, so a key with awkward characters can be proven only this way.
 */
export async function startSignatureProbe(): Promise<SignatureProbe> {
    const requests: ProbedRequest[] = [];
    const server = createServer((request, response) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) {
            headers[name] = [value ?? ""].flat().join(",");
        }
        requests.push({ method: request.method ?? "", url: request.url ?? "", headers });
        request.resume();
        response.writeHead(403, { "Content-Type": "application/xml" });
        response.end("<Error><Code>AccessDenied</Code><Message>signature probe</Message></Error>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        endpoint: `127.0.0.1:${port}`,
        requests,
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

/**
 * Whether a request carries the AWS Signature Version 4 that `secretAccessKey` gives, computed from the request
 * as received (the canonical request of AWS's specification; S3 does not re-encode the path).
 */
export function signedWith(request: ProbedRequest, secretAccessKey: string): boolean {
    const auth = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
        request.headers.authorization ?? "",
    );
    if (!auth) {
        throw new Error(`not a SigV4 Authorization header: ${request.headers.authorization}`);
    }
    const [, credential, signedHeaders, signature] = auth;
    const [, date, region, service] = credential.split("/");
    const [pathPart, query = ""] = request.url.split("?");
    const canonicalQuery =
        query === ""
            ? ""
            : query
                  .split("&")
                  .map((pair) => (pair.includes("=") ? pair : `${pair}=`))
                  .sort()
                  .join("&");
    const canonicalHeaders = signedHeaders
        .split(";")
        .map((name) => `${name}:${(request.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`)
        .join("");
    const canonicalRequest = [
        request.method,
        pathPart,
        canonicalQuery,
        canonicalHeaders,
        signedHeaders,
        request.headers["x-amz-content-sha256"],
    ].join("\n");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = [
        "AWS4-HMAC-SHA256",
        request.headers["x-amz-date"],
        scope,
        createHash("sha256").update(canonicalRequest).digest("hex"),
    ].join("\n");
    const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
    let key = hmac(`AWS4${secretAccessKey}`, date);
    for (const part of [region, service, "aws4_request"]) {
        key = hmac(key, part);
    }
    return createHmac("sha256", key).update(stringToSign, "utf8").digest("hex") === signature;
}
