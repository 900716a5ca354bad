// `npm run build`: compiles the migration engine (migrate/) into dist/ with tsc and copies the DDL files it reads,
// then writes the content stamp scripts/migrate.cjs checks. The stamp is computed before compiling and written only
// after a clean compile, so an edit made meanwhile or a failed compile leaves a build that refuses to run.
// `--if-stale` skips the work when dist/ already holds the build of the current sources.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { PROJECT_DIR, DIST_DIR, STAMP_FILE, buildProblem, sourceStamp } = require("./migrate.cjs");

if (process.argv.includes("--if-stale") && buildProblem() === undefined) {
    process.exit(0);
}
fs.rmSync(STAMP_FILE, { force: true });
const stamp = sourceStamp();
fs.rmSync(DIST_DIR, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: PROJECT_DIR,
    stdio: "inherit",
});
if (tsc.status !== 0) {
    process.stderr.write("build: tsc failed (see above); dist/ is left without a stamp, so migrate refuses to run.\n");
    process.exit(1);
}
fs.cpSync(path.join(PROJECT_DIR, "sql", "ducklake"), path.join(DIST_DIR, "sql", "ducklake"), { recursive: true });
fs.writeFileSync(STAMP_FILE, `${stamp}\n`);
