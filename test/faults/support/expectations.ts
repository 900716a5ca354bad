/** Assertions shared by the fault tests, so every file judges outcomes the same way. */
import { expect } from "vitest";
import type { MigrateResult } from "./migrateProcess";
import type { ReaderObservation } from "./targetState";

export interface MigrateSummary {
    status: "migrated" | "unchanged" | "dry-run";
    ducklakeVersion: string;
    rows: Record<string, number>;
    totalRows: number;
    seconds: number;
}

/** Exit 0 with the `--json` summary on stdout, in the given status. */
export function expectMigrated(result: MigrateResult, status: MigrateSummary["status"]): MigrateSummary {
    expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(0);
    const summary = JSON.parse(result.stdout) as MigrateSummary;
    expect(summary.status).toBe(status);
    return summary;
}

/**
 * A refusal as the contract defines it: the expected exit code, nothing on stdout that looks like success, and on
 * stderr one clear message (no stack trace) that matches every pattern given (input, problem, fix).
 */
export function expectRefused(result: MigrateResult, exitCode: 1 | 2, ...patterns: RegExp[]): string {
    const message = result.stderr.trim();
    expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(exitCode);
    expect(message, "stderr must explain the refusal").not.toBe("");
    expect(message, "a message, not a stack trace").not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(result.stdout).not.toMatch(/"status"\s*:\s*"(migrated|unchanged)"/);
    for (const pattern of patterns) {
        expect(message).toMatch(pattern);
    }
    return message;
}

/** Every state a reader saw is one of `allowed` (the old state or the complete new one), and it never failed. */
export function expectOnlyStates(
    seen: { states: ReaderObservation[]; errors: string[] },
    allowed: ReaderObservation[],
): void {
    expect(seen.errors).toEqual([]);
    const unexpected = seen.states.filter(
        (state) => !allowed.some((candidate) => JSON.stringify(candidate) === JSON.stringify(state)),
    );
    expect(unexpected, "states a reader saw that are neither the old nor the complete new catalog").toEqual([]);
}
