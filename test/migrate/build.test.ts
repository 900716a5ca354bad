/**
 * The stack's migrate command runs the engine compiled into dist/: it must refuse, with the fix, a build that is
 * missing or was made from other sources, and never run old code. Each case works on a copy of the project's
 * engine files, so the real dist/ the other tests use is never touched.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { createRequire } from "node:module";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATE_PROGRAM } from "../../components/catalogMigration";
import { PROJECT_DIR } from "./support";

let copy: string;

beforeAll(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-build-"));
    for (const entry of [
        "scripts/migrate.cjs",
        "scripts/build-engine.cjs",
        "migrate",
        "sql/ducklake",
        "dist",
        "tsconfig.json",
        "tsconfig.build.json",
    ]) {
        fs.cpSync(path.join(PROJECT_DIR, entry), path.join(copy, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(copy, "node_modules"));
});

afterAll(() => {
    fs.rmSync(copy, { recursive: true, force: true });
});

function run(command: string) {
    const result = spawnSync("/bin/sh", ["-c", command], { cwd: copy, encoding: "utf8" });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const help = () => run(`${MIGRATE_PROGRAM} --help`);

function expectBuildRefused(result: ReturnType<typeof run>, problem: string): void {
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(problem);
    expect(result.stderr).toContain(
        `so nothing was run and nothing was written. Fix: run \`npm run build\` in ${copy}`,
    );
}

describe("the compiled engine", () => {
    it("runs when dist/ holds the build of the current sources", () => {
        const result = help();
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/^usage: npm run --silent migrate -- --sqlite <file> --schema <schema>/);
    });

    it("is refused once an engine source or a DDL file differs from what was built, and runs again after a build", () => {
        const engine = path.join(copy, "migrate", "engine.ts");
        const original = fs.readFileSync(engine);
        fs.appendFileSync(engine, "\n");
        expectBuildRefused(
            help(),
            "the engine in dist/ was built from other sources than migrate/ and sql/ducklake/ hold now",
        );
        fs.writeFileSync(engine, original);
        expect(help().code).toBe(0);

        const ddl = path.join(copy, "sql", "ducklake", "1.0.sql");
        const ddlText = fs.readFileSync(ddl, "utf8");
        // Same size, one character different: the stamp is over contents, not sizes or times.
        fs.writeFileSync(ddl, ddlText.replace("ducklake", "duckLake"));
        expectBuildRefused(help(), "built from other sources");
        fs.writeFileSync(ddl, ddlText);
        expect(help().code).toBe(0);
    });

    it("is refused when dist/ is missing, and a failed compile leaves a build that refuses to run", () => {
        fs.rmSync(path.join(copy, "dist"), { recursive: true });
        expectBuildRefused(help(), "the engine is not built (dist/build-stamp is missing)");

        const errors = path.join(copy, "migrate", "errors.ts");
        const original = fs.readFileSync(errors, "utf8");
        fs.appendFileSync(errors, '\nexport const broken: number = "not a number";\n');
        const failed = run("node scripts/build-engine.cjs");
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain("tsc failed");
        expectBuildRefused(help(), "the engine is not built");

        fs.writeFileSync(errors, original);
        expect(run("node scripts/build-engine.cjs").code).toBe(0);
        expect(help().code).toBe(0);
    });
});

describe("the runtime check", () => {
    const { runtimeProblem } = createRequire(__filename)(path.join(PROJECT_DIR, "scripts", "migrate.cjs")) as {
        runtimeProblem(versions: { node: string; sqlite?: string }): string | undefined;
    };

    it("refuses a Node whose SQLite is older than 3.50.2, naming both versions", () => {
        expect(runtimeProblem({ node: "24.3.0", sqlite: "3.50.1" })).toBe(
            "Node 24.3.0 bundles SQLite 3.50.1, whose concat_ws() drops empty strings from the COPY lines " +
                "(SQLite 3.50.2 keeps them)",
        );
        expect(runtimeProblem({ node: "22.17.0", sqlite: "3.50.0" })).toContain("SQLite 3.50.0");
        expect(runtimeProblem({ node: "22.16.0", sqlite: "3.49.1" })).toContain("SQLite 3.49.1");
        expect(runtimeProblem({ node: "20.19.0" })).toBe("Node 20.19.0 has no node:sqlite");
    });

    it.each(["3.50.2", "3.50.4", "3.51.0", "4.0.0"])("accepts SQLite %s", (sqlite) => {
        expect(runtimeProblem({ node: "24.9.0", sqlite })).toBeUndefined();
    });

    it("accepts the running Node, whose concat_ws() keeps an empty field as the COPY lines need", () => {
        expect(runtimeProblem(process.versions)).toBeUndefined();
        const db = new DatabaseSync(":memory:");
        expect(db.prepare("SELECT concat_ws(char(9), 'a', '', 'b') AS line").get()).toEqual({ line: "a\t\tb" });
        db.close();
    });
});
