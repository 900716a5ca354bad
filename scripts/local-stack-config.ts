/**
 * Writes the `local` stack's working config, `.local/Pulumi.local.yaml`: the committed `Pulumi.local.yaml` (every
 * setting, no secret) plus what only this machine has, kept from the working config's previous version: the
 * passphrase's salt, the secrets (ciphertext, as `pulumi config set --secret` wrote them) and the port of the
 * private server. The committed file is never written, so a run leaves the checkout clean.
 *
 * Usage: node --import tsx scripts/local-stack-config.ts <committed> <working> [<port>]
 * With a port, the server's port is set too (as an integer, the type Pulumi.yaml declares).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseDocument, stringify } from "yaml";

/** Settings that belong to this machine rather than to the committed stack. */
const MACHINE_KEYS = new Set(["lakehouse-catalog:postgresPort"]);

type StackFile = { encryptionsalt?: string; config?: Record<string, unknown> };

function read(file: string): StackFile {
    const document = parseDocument(readFileSync(file, "utf8"));
    if (document.errors.length > 0) {
        throw new Error(`${file} is not valid YAML: ${document.errors[0].message}`);
    }
    return (document.toJS() ?? {}) as StackFile;
}

function isSecure(value: unknown): boolean {
    return typeof value === "object" && value !== null && "secure" in value;
}

function main([committedFile, workingFile, port]: string[]): void {
    const committed = read(committedFile);
    const previous: StackFile = existsSync(workingFile) ? read(workingFile) : {};
    const config: Record<string, unknown> = { ...committed.config };
    for (const [key, value] of Object.entries(previous.config ?? {})) {
        if (isSecure(value) || MACHINE_KEYS.has(key)) {
            config[key] = value;
        }
    }
    if (port !== undefined) {
        if (!/^[1-9][0-9]{0,4}$/.test(port)) {
            throw new Error(`the port must be a number; got ${JSON.stringify(port)}`);
        }
        config["lakehouse-catalog:postgresPort"] = Number(port);
    }
    for (const [key, value] of Object.entries(committed.config ?? {})) {
        if (isSecure(value)) {
            throw new Error(
                `${committedFile} holds the secret ${key}; secrets of this stack belong in ${workingFile} ` +
                    "only. Remove it from the committed file.",
            );
        }
    }
    const working: StackFile = {
        ...(previous.encryptionsalt ? { encryptionsalt: previous.encryptionsalt } : {}),
        config,
    };
    writeFileSync(`${workingFile}.tmp`, stringify(working), { mode: 0o600 });
    renameSync(`${workingFile}.tmp`, workingFile);
}

try {
    main(process.argv.slice(2));
} catch (error) {
    process.stderr.write(`local-stack-config: ${(error as Error).message}\n`);
    process.exitCode = 1;
}
