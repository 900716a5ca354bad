/**
 * The child process of `runDuckLake`: reads `{ line, statements }` on stdin, runs them in one DuckDB session of that
 * line, and prints every statement's result as JSON. A failing statement ends the process with its error on stderr.
 */
import { text } from "node:stream/consumers";
import { DUCKLAKE_LINES, DuckLakeSession, type StatementResult } from "./ducklake";

async function main(): Promise<void> {
    const request = JSON.parse(await text(process.stdin)) as { line: string; statements: string[] };
    const line = DUCKLAKE_LINES.find((candidate) => candidate.duckdb === request.line);
    if (!line) {
        throw new Error(`no DuckDB line ${request.line} in DUCKLAKE_LINES`);
    }
    const session = await DuckLakeSession.open(line);
    const results: StatementResult[] = [];
    for (const [index, statement] of request.statements.entries()) {
        try {
            const reader = await session.connection.runAndReadAll(statement);
            results.push({ columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] });
        } catch (error) {
            process.stderr.write(`statement ${index + 1} failed: ${(error as Error).message}\n`);
            process.exitCode = 1;
            return;
        }
    }
    session.close();
    process.stdout.write(JSON.stringify(results));
}

void main();
