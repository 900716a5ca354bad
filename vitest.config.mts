import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // The migrate command runs the engine compiled into dist/; this rebuilds it when the sources changed.
        globalSetup: ["test/support/buildEngine.ts"],
        // node:sqlite (the fixtures and the engine's tests read SQLite in-process) warns on every worker start.
        execArgv: ["--disable-warning=ExperimentalWarning"],
        // Integration tests share one PostgreSQL cluster and spawn real processes; generous timeouts keep
        // a loaded 2-core CI machine from failing them for the wrong reason.
        testTimeout: 120_000,
        hookTimeout: 120_000,
    },
});
