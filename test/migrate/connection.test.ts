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

    it("refuses an unknown mode, naming the variable and the fix", () => {
        expect(() => sslFromEnvironment({ PGSSLMODE: "on" })).toThrow(new MigrationError("PGSSLMODE must be one of "
            + "disable, allow, prefer, require, verify-ca, verify-full (libpq's modes); got \"on\". Fix: set PGSSLMODE "
            + "to one of them."));
    });
});
