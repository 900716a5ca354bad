import { performance } from "perf_hooks";

import {
    DEPLOY_ENV,
    type Harness,
    installMocks,
    type Program,
    runProgram,
    stackConfigWithCatalogs,
} from "../support/pulumiMocks";

export interface StackEvaluation {
    catalogs: number;
    resources: number;
    milliseconds: number;
    harness: Harness;
    program: Program;
}

/**
 * Evaluates the whole program (index.ts) under mocks with `catalogs` generated catalogs and every component
 * enabled (the full test stack), waits for every export, and reports how long that took. Node caches modules, so
 * call it once per process (the bench runs `node --import tsx test/stack/evaluate.ts <catalogs>`), or reset the
 * module registry in between (vitest).
 */
export async function evaluateStack(catalogs: number): Promise<StackEvaluation> {
    const started = performance.now();
    const harness = await installMocks();
    const program = await runProgram(stackConfigWithCatalogs(catalogs), DEPLOY_ENV);
    return {
        catalogs,
        resources: harness.registrations.length,
        milliseconds: performance.now() - started,
        harness,
        program,
    };
}

if (require.main === module) {
    const catalogs = Number(process.argv[2] ?? "4");
    evaluateStack(catalogs).then(
        ({ resources, milliseconds }) => {
            console.log(JSON.stringify({ catalogs, resources, milliseconds: Math.round(milliseconds) }));
        },
        (err: unknown) => {
            console.error(err);
            process.exitCode = 1;
        },
    );
}
