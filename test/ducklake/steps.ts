/**
 * Named groups of DuckDB statements run in one process of a release line, each group recording its own failure:
 * the form in which a line's DuckLake writes a history feature by feature, and in which both sides of a round trip
 * are read.
 */
import path from "node:path";
import { type DuckLakeLine, runLineScript } from "../support/ducklake";

export interface Step {
    name: string;
    statements: string[];
}

/** One statement's result: DuckDB's column types and the rows in JSON form. */
export interface Result {
    types: string[];
    rows: unknown[][];
}

/** A step's results, up to its first failing statement, whose error it then holds. */
export interface StepResult {
    name: string;
    results: Result[];
    error?: string;
}

const CHILD_SCRIPT = path.join(__dirname, "stepsChild.ts");

/**
 * Runs the steps in order in one process of `line`. With `isolate`, every step after a failed one starts with its
 * catalogs attached afresh by repeating the first step (see stepsChild.ts).
 */
export function runSteps(line: DuckLakeLine, steps: readonly Step[], isolate = false): Promise<StepResult[]> {
    return runLineScript<StepResult[]>(line, CHILD_SCRIPT, { steps, isolate });
}
