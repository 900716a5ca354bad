import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MigrationError } from "../../migrate/errors";
import { sslFromEnvironment } from "../../migrate/target";

describe("sslFromEnvironment follows libpq's PGSSLMODE, not node-postgres' reading of it", () => {
    it.each([
        [undefined, { ssl: { rejectUnauthorized: false }, fallback: true }],
        ["prefer", { ssl: { rejectUnauthorized: false }, fallback: true }],
        ["allow", { ssl: { rejectUnauthorized: false }, fallback: true }],
        ["disable", { ssl: false, fallback: false }],
        ["require", { ssl: { rejectUnauthorized: false }, fallback: false }],
        ["verify-full", { ssl: { rejectUnauthorized: true, ca: undefined }, fallback: false }],
    ])("PGSSLMODE=%s", (mode, expected) => {
        expect(sslFromEnvironment({ PGSSLMODE: mode })).toEqual(expected);
    });

    it("verify-ca checks the chain but not the host name", () => {
        const { ssl } = sslFromEnvironment({ PGSSLMODE: "verify-ca" });
        expect(ssl).toMatchObject({ rejectUnauthorized: true });
        expect(ssl && ssl.checkServerIdentity?.("db.example", {} as never)).toBeUndefined();
    });

    it("reads PGSSLROOTCERT only for the modes that verify the server", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rootcert-"));
        const file = path.join(dir, "root.crt");
        fs.writeFileSync(file, "CERTIFICATE");
        try {
            expect(sslFromEnvironment({ PGSSLMODE: "verify-full", PGSSLROOTCERT: file }).ssl).toEqual({
                rejectUnauthorized: true,
                ca: "CERTIFICATE",
            });
            const missing = path.join(dir, "missing.crt");
            expect(sslFromEnvironment({ PGSSLMODE: "disable", PGSSLROOTCERT: missing })).toEqual({
                ssl: false,
                fallback: false,
            });
            expect(() => sslFromEnvironment({ PGSSLMODE: "verify-ca", PGSSLROOTCERT: missing })).toThrow(
                new RegExp(
                    `^PGSSLROOTCERT names ${missing}, which cannot be read \\(ENOENT.*\\), and PGSSLMODE=verify-ca ` +
                        "verifies the server against it\\. The target is unchanged\\. Fix: point PGSSLROOTCERT at the CA " +
                        "certificate file of the server\\.$",
                ),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses an unknown mode, naming the variable and the fix", () => {
        expect(() => sslFromEnvironment({ PGSSLMODE: "on" })).toThrow(
            new MigrationError(
                "PGSSLMODE must be one of " +
                    'disable, allow, prefer, require, verify-ca, verify-full (libpq\'s modes); got "on". Fix: set PGSSLMODE ' +
                    "to one of them.",
            ),
        );
    });
});
