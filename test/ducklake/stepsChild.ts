/**
 * The child process of `runSteps`: reads `{ line, steps, isolate }` on stdin and runs every step's statements in one
 * DuckDB session of that line. A step stops at its first failing statement and records the error; the next step
 * still runs, so that one feature a line rejects does not hide the others. With `isolate`, a failed step is followed
 * by detaching everything and repeating the first step (the attach), or by a fresh session when the failure
 * invalidated the database: some lines' DuckLake leaves its metadata connection unusable after a failed read, which
 * would fail every later step for a reason not its own. Prints every step's results as JSON.
 */
import { quoteIdentifier } from "../../migrate/sqlText";
import { DuckLakeSession, readLineRequest } from "../support/ducklake";
import type { Step, StepResult } from "./steps";

async function main(): Promise<void> {
    const request = await readLineRequest<{ steps: Step[]; isolate: boolean }>();
    const { line } = request;
    let session = await DuckLakeSession.open(line);
    const answers: StepResult[] = [];
    for (const step of request.steps) {
        const answer = await runStep(session, step);
        answers.push(answer);
        if (answer.error !== undefined && request.isolate) {
            // Attaching again is enough unless the failure invalidated the whole database instance.
            if (/FATAL|INTERNAL/.test(answer.error)) {
                session.close();
                session = await DuckLakeSession.open(line);
            } else {
                await detachAll(session);
            }
            const setup = await runStep(session, request.steps[0]);
            if (setup.error !== undefined) {
                throw new Error(`repeating "${setup.name}" in a fresh session failed: ${setup.error}`);
            }
        }
    }
    session.close();
    process.stdout.write(JSON.stringify(answers));
}

/** Detaches every attached database (the catalogs and their metadata databases), keeping the session's own. */
async function detachAll(session: DuckLakeSession): Promise<void> {
    const attached = await session.rows(
        "SELECT database_name FROM duckdb_databases() " +
            "WHERE NOT internal AND database_name <> current_database() ORDER BY database_name LIKE '\\_\\_%' ESCAPE '\\'",
    );
    for (const [name] of attached) {
        await session.run(`DETACH DATABASE IF EXISTS ${quoteIdentifier(String(name))}`);
    }
}

async function runStep(session: DuckLakeSession, step: Step): Promise<StepResult> {
    const answer: StepResult = { name: step.name, results: [] };
    for (const statement of step.statements) {
        try {
            const reader = await session.connection.runAndReadAll(statement);
            answer.results.push({ types: reader.columnTypes().map(String), rows: reader.getRowsJson() as unknown[][] });
        } catch (error) {
            answer.error = (error as Error).message;
            break;
        }
    }
    return answer;
}

void main();
