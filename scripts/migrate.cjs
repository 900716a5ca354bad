// The migrate command (`node scripts/migrate.cjs --sqlite <file> --schema <schema> …`, see migrate/cli.ts): runs
// the engine compiled ahead of time into dist/, so that a run starts without compiling TypeScript. It first checks
// that dist/ was built from exactly the sources in this checkout (a content stamp that scripts/build-engine.cjs
// writes), and refuses with the fix otherwise: a missing or stale build never runs old code.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const PROJECT_DIR = path.join(__dirname, "..");
const DIST_DIR = path.join(PROJECT_DIR, "dist");
const STAMP_FILE = path.join(DIST_DIR, "build-stamp");
const ENTRY = path.join(DIST_DIR, "migrate", "cli.js");

/** Every file the build reads, relative to the project: the engine's TypeScript, its DDL files, the compiler settings. */
function buildInputs() {
    const engine = fs
        .readdirSync(path.join(PROJECT_DIR, "migrate"), { recursive: true })
        .filter((name) => name.endsWith(".ts"))
        .map((name) => path.join("migrate", name));
    const ddl = fs
        .readdirSync(path.join(PROJECT_DIR, "sql", "ducklake"))
        .filter((name) => name.endsWith(".sql"))
        .map((name) => path.join("sql", "ducklake", name));
    return [...engine, ...ddl, "tsconfig.json", "tsconfig.build.json"].sort();
}

/** The SHA-256 of the build inputs' names and contents. */
function sourceStamp() {
    const hash = crypto.createHash("sha256");
    for (const name of buildInputs()) {
        const content = fs.readFileSync(path.join(PROJECT_DIR, name));
        hash.update(`${name}\0${content.length}\0`).update(content);
    }
    return hash.digest("hex");
}

/** Why dist/ cannot run, or undefined when it holds the build of these very sources. */
function buildProblem() {
    let stamp;
    try {
        stamp = fs.readFileSync(STAMP_FILE, "utf8").trim();
    } catch {
        return `the engine is not built (${path.relative(PROJECT_DIR, STAMP_FILE)} is missing)`;
    }
    if (stamp !== sourceStamp()) {
        return "the engine in dist/ was built from other sources than migrate/ and sql/ducklake/ hold now";
    }
    if (!fs.existsSync(ENTRY)) {
        return `the engine build is incomplete (${path.relative(PROJECT_DIR, ENTRY)} is missing)`;
    }
    return undefined;
}

// The engine builds each COPY line in SQLite with concat_ws(), which keeps an empty text field only from SQLite
// 3.50.2 on; an older one drops it, and PostgreSQL then refuses the row as a value problem of the source. Node
// bundles its own SQLite: 3.50.2 or later from Node 22.18.0 and 24.4.0 on (package.json's `engines`).
const MIN_SQLITE = [3, 50, 2];

/** Why this Node cannot run the engine, or undefined when its bundled SQLite is recent enough. */
function runtimeProblem(versions = process.versions) {
    if (versions.sqlite === undefined) {
        return `Node ${versions.node} has no node:sqlite`;
    }
    const have = versions.sqlite.split(".").map(Number);
    const index = MIN_SQLITE.findIndex((part, i) => (have[i] ?? 0) !== part);
    if (index !== -1 && (have[index] ?? 0) < MIN_SQLITE[index]) {
        return (
            `Node ${versions.node} bundles SQLite ${versions.sqlite}, whose concat_ws() drops empty strings from ` +
            `the COPY lines (SQLite ${MIN_SQLITE.join(".")} keeps them)`
        );
    }
    return undefined;
}

module.exports = { PROJECT_DIR, DIST_DIR, STAMP_FILE, sourceStamp, buildProblem, runtimeProblem };

if (require.main === module) {
    const runtime = runtimeProblem();
    const problem = buildProblem();
    if (runtime !== undefined) {
        process.stderr.write(
            `migrate: ${runtime}, so nothing was run and nothing was written. Fix: run it with Node 22.18.0 or ` +
                "later on the 22 line, or 24.4.0 or later (scripts/setup.sh puts Node 24.9.0 into .tools/).\n",
        );
        process.exitCode = 2;
    } else if (problem !== undefined) {
        process.stderr.write(
            `migrate: ${problem}, so nothing was run and nothing was written. Fix: run \`npm run ` +
                `build\` in ${PROJECT_DIR} (scripts/setup.sh and \`npm ci\` do it), then run again.\n`,
        );
        process.exitCode = 2;
    } else {
        require(ENTRY).main();
    }
}
