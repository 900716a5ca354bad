import { describe, expect, it } from "vitest";
import { parseCliArguments, summary } from "../../migrate/cli";
import type { MigrationResult } from "../../migrate/engine";
import { UsageError } from "../../migrate/errors";

describe("parseCliArguments", () => {
    it("reads the contract's flags", () => {
        expect(parseCliArguments(["--sqlite", "local/stage.sqlite", "--schema", "stage"])).toEqual({
            sqlite: "local/stage.sqlite",
            schema: "stage",
            dryRun: false,
            json: false,
        });
        expect(parseCliArguments(["--schema=stage", "--sqlite=a b.sqlite", "--dry-run", "--json"])).toEqual({
            sqlite: "a b.sqlite",
            schema: "stage",
            dryRun: true,
            json: true,
        });
    });

    it.each([
        [["--schema", "stage"], "--sqlite is required"],
        [["--sqlite", "x.sqlite", "--schema", ""], "--schema is required"],
        [
            ["--sqlite", "x.sqlite", "--schema", "stage", "extra"],
            "Unexpected argument 'extra'. This command does not take positional arguments",
        ],
        [["--sqlite", "x.sqlite", "--schema", "stage", "--password", "p"], "Unknown option '--password'"],
    ])("refuses %j as a usage error", (argv, message) => {
        expect(() => parseCliArguments(argv)).toThrow(new UsageError(message));
    });
});

describe("summary", () => {
    const result: MigrationResult = {
        status: "migrated",
        ducklakeVersion: "1.0",
        source: "local/stage.sqlite",
        schema: "stage",
        rows: { ducklake_snapshot: 1_180, ducklake_data_file: 2_000_000 },
        totalRows: 2_001_180,
        seconds: 4,
        phases: { check: 0.2, load: 2.8, keys: 0.1, verify: 0.9, commit: 0 },
        readSeconds: 2.1,
    };

    it("says what happened, in one line per status", () => {
        expect(summary(result)).toBe(
            "migrated local/stage.sqlite (DuckLake 1.0) into schema stage: 2,001,180 rows in " +
                "2 tables, verified, in 4 s, 500,295 rows/s",
        );
        expect(summary({ ...result, status: "unchanged" })).toBe(
            "unchanged: schema stage already holds exactly " +
                "local/stage.sqlite (DuckLake 1.0) (2,001,180 rows in 2 tables); nothing was written",
        );
        expect(summary({ ...result, status: "dry-run", plan: "migrate" })).toBe(
            "dry run: would create the DuckLake 1.0 " +
                "tables in schema stage and copy local/stage.sqlite (DuckLake 1.0): 2,001,180 rows in 2 tables; nothing " +
                "was written",
        );
        expect(summary({ ...result, status: "dry-run", plan: "unchanged" })).toBe(
            "dry run: schema stage already " +
                "holds exactly local/stage.sqlite (DuckLake 1.0) (2,001,180 rows in 2 tables); a run would change nothing",
        );
    });
});
