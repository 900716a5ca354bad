/**
 * Vitest global setup: the stack's migrate command runs the engine compiled into dist/ and refuses a build that
 * does not match the sources, so the suite builds it first whenever migrate/ or sql/ducklake/ changed.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export default function setup(): void {
    const projectDir = path.join(__dirname, "..", "..");
    const build = spawnSync(process.execPath, [path.join(projectDir, "scripts", "build-engine.cjs"), "--if-stale"], {
        cwd: projectDir,
        stdio: "inherit",
    });
    if (build.status !== 0) {
        throw new Error(`building the engine (npm run build) failed with exit ${build.status}; see its output above`);
    }
}
