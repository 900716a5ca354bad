/**
 * The child process of `runDuckLake`: reads `{ line, statements }` on stdin, runs them in one DuckDB session of that
 * line, and prints every statement's result as JSON. A failing statement ends the process with its error on stderr.
 */
import { DuckLakeSession, readLineRequest, type StatementResult } from "./ducklake";

async function main(): Promise<void> {
    const request = await readLineRequest<{ statements: string[] }>();
    const session = await DuckLakeSession.open(request.line);
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
