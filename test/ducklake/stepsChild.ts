/**
 * The child process of `runSteps`: reads `{ line, steps }` on stdin and runs every step's statements in one DuckDB
 * session of that line. A step stops at its first failing statement and records the error; the next step still
 * runs, so that one feature a line rejects does not hide the others. Prints every step's results as JSON.
 */
import { text } from "node:stream/consumers";
import { DUCKLAKE_LINES, DuckLakeSession } from "../support/ducklake";
import type { Step, StepResult } from "./steps";

async function main(): Promise<void> {
    const request = JSON.parse(await text(process.stdin)) as { line: string; steps: Step[] };
    const line = DUCKLAKE_LINES.find((candidate) => candidate.duckdb === request.line);
    if (!line) {
        throw new Error(`no DuckDB line ${request.line} in DUCKLAKE_LINES`);
    }
    const session = await DuckLakeSession.open(line);
    const answers: StepResult[] = [];
    for (const step of request.steps) {
        const answer: StepResult = { name: step.name, results: [] };
        for (const statement of step.statements) {
            try {
                const reader = await session.connection.runAndReadAll(statement);
                answer.results.push({
                    types: reader.columnTypes().map(String),
                    rows: reader.getRowsJson() as unknown[][],
                });
            } catch (error) {
                answer.error = (error as Error).message;
                break;
            }
        }
        answers.push(answer);
    }
    session.close();
    process.stdout.write(JSON.stringify(answers));
}

void main();
