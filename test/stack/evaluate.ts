import { performance } from "perf_hooks";

import { allRegistered, DEPLOY_ENV, installMocks, promiseOf, setStackConfig, stackConfigWithCatalogs, type Harness } from "./harness";

export interface StackEvaluation {
    catalogs: number;
    resources: number;
    milliseconds: number;
    harness: Harness;
    program: typeof import("../../index");
}

/**
 * Evaluates the whole program (index.ts) under mocks with `catalogs` generated catalogs and every component
 * enabled (the full test stack), waits for every export, and reports how long that took. It sets the deployer's
 * test credentials in `process.env`, where index.ts reads them. Node caches modules, so call it once per process (the bench runs
 * `node --import tsx test/stack/evaluate.ts <catalogs>`), or reset the module registry in between (vitest).
 */
export async function evaluateStack(catalogs: number): Promise<StackEvaluation> {
    const started = performance.now();
    const harness = await installMocks();
    setStackConfig(stackConfigWithCatalogs(catalogs));
    Object.assign(process.env, DEPLOY_ENV);
    const program = await import("../../index");
    await Promise.all([
        promiseOf(program.database),
        promiseOf(program.role),
        promiseOf(program.password),
        ...Object.values(program.migrationStatus).map(promiseOf),
        promiseOf(program.duckdbInitSql),
        promiseOf(program.dbtProfilesYml),
        ...(program.mlserverContainer === undefined ? [] : [promiseOf(program.mlserverContainer)]),
    ]);
    await allRegistered();
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
