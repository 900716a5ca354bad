// Preloaded into the migrate process (NODE_OPTIONS=--require) by the fault tests. When the engine is about to send
// COMMIT, this writes the marker file named by FAULTS_PAUSE_MARKER and blocks the process, so a test can SIGKILL it
// at the last instant before its transaction would become visible. The engine's own behaviour is unchanged: the
// query is only delayed. No polling can hit that instant otherwise; the gap between the last verification query and
// COMMIT is a few microseconds.
"use strict";

const fs = require("node:fs");

const marker = process.env.FAULTS_PAUSE_MARKER;
const isEngine = process.argv.some((arg) => arg.endsWith("migrate/cli.ts"));

if (marker && isEngine) {
    const pg = require(require.resolve("pg", { paths: [process.cwd()] }));
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function pausedQuery(config, ...rest) {
        const text = typeof config === "string" ? config : config && config.text;
        if (typeof text === "string" && /^\s*(COMMIT|END)\b/i.test(text)) {
            fs.writeFileSync(marker, String(process.pid));
            // A test that forgets to kill the process must not hang the suite: give up after two minutes.
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
        }
        return query.call(this, config, ...rest);
    };
}
