// Preloaded into the migrate process (NODE_OPTIONS=--require) by the kill tests, to stop it at an instant no polling
// from outside can hit reliably. FAULTS_PAUSE_AT names the instant:
//   source-check  the engine has opened the SQLite source and is about to run its integrity check (tens of ms on
//                 a test catalog, before any connection to PostgreSQL);
//   commit        the engine is about to send COMMIT, everything loaded and verified (the gap after the last
//                 verification query is microseconds).
// There the process writes its pid to the file FAULTS_PAUSE_MARKER and blocks, for the test to SIGKILL it. The
// engine's behaviour is otherwise unchanged: the call is only delayed.
"use strict";

const fs = require("node:fs");

const marker = process.env.FAULTS_PAUSE_MARKER;
const pauseAt = process.env.FAULTS_PAUSE_AT;
const isEngine = process.argv.some((arg) => arg.endsWith("scripts/migrate.cjs"));

function pause() {
    fs.writeFileSync(marker, String(process.pid));
    // A test that forgets to kill the process must not hang the suite: give up after two minutes.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
}

if (marker && isEngine && pauseAt === "commit") {
    const pg = require(require.resolve("pg", { paths: [process.cwd()] }));
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function pausedQuery(config, ...rest) {
        const text = typeof config === "string" ? config : config && config.text;
        if (typeof text === "string" && /^\s*(COMMIT|END)\b/i.test(text)) {
            pause();
        }
        return query.call(this, config, ...rest);
    };
} else if (marker && isEngine && pauseAt === "source-check") {
    const { DatabaseSync } = require("node:sqlite");
    const prepare = DatabaseSync.prototype.prepare;
    DatabaseSync.prototype.prepare = function pausedPrepare(sql, ...rest) {
        if (typeof sql === "string" && /\b(integrity_check|quick_check)\b/i.test(sql)) {
            pause();
        }
        return prepare.call(this, sql, ...rest);
    };
} else if (marker && isEngine) {
    throw new Error(`FAULTS_PAUSE_AT must be source-check or commit; got ${JSON.stringify(pauseAt)}`);
}
