/**
 * Runs the migration exactly as the stack does (its `migrateCommand`, through /bin/sh) and gives tests a handle on
 * the real process tree, so faults can be injected into the node process that does the work rather than the shell.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { migrateCommand } from "../../../components/catalogMigration";

export const projectDir = path.resolve(__dirname, "..", "..", "..");

export interface MigrateResult {
    /** Exit code of the command; null when its shell was killed. */
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

export interface MigrateRun {
    readonly shell: ChildProcess;
    /** Everything written so far; grows while the run lasts. */
    readonly output: { stdout: string; stderr: string };
    readonly done: Promise<MigrateResult>;
    /** The node process that runs scripts/migrate.cjs (sh → node), once it exists. */
    engineProcess(timeoutMs?: number): Promise<number>;
    /** Every live process of the run: the shell and its descendants. */
    tree(): number[];
}

export interface MigrateOptions {
    sqlite: string;
    schema: string;
    env: NodeJS.ProcessEnv;
}

export function startMigrate(options: MigrateOptions): MigrateRun {
    const shell = spawn("/bin/sh", ["-c", migrateCommand(options.sqlite, options.schema, { dryRun: false })], {
        cwd: projectDir,
        env: options.env,
        stdio: ["ignore", "pipe", "pipe"],
    });
    const output = { stdout: "", stderr: "" };
    shell.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        output.stdout += chunk;
    });
    shell.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        output.stderr += chunk;
    });
    const done = new Promise<MigrateResult>((resolve, reject) => {
        shell.on("error", reject);
        shell.on("close", (code, signal) => resolve({ code, signal, ...output }));
    });
    const rootPid = shell.pid;
    if (rootPid === undefined) {
        throw new Error("/bin/sh did not start");
    }
    return {
        shell,
        output,
        done,
        tree: () => processTree(rootPid),
        engineProcess: async (timeoutMs = 30_000) => {
            const pid = await pollUntil(
                () => processTree(rootPid).find(isEngineProcess),
                timeoutMs,
                "the migrate node process to start",
            );
            return pid;
        },
    };
}

/** Runs the command to completion. */
export function runMigrate(options: MigrateOptions): Promise<MigrateResult> {
    return startMigrate(options).done;
}

function isEngineProcess(pid: number): boolean {
    const argv = readCmdline(pid);
    return (
        argv.length > 0 && path.basename(argv[0]) === "node" && argv.some((arg) => arg.endsWith("scripts/migrate.cjs"))
    );
}

/** The argument vector of a process, or [] once it is gone. */
export function readCmdline(pid: number): string[] {
    try {
        return fs
            .readFileSync(`/proc/${pid}/cmdline`, "utf8")
            .split("\0")
            .filter((arg) => arg !== "");
    } catch {
        return [];
    }
}

/** `pid` and all its live descendants, found by walking parent links in /proc. */
export function processTree(pid: number): number[] {
    const parentOf = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            // The command name may contain spaces and parentheses, so the fields start after the last ")".
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            parentOf.set(Number(entry), Number(fields[1]));
        } catch {
            // The process exited while we walked.
        }
    }
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) {
        for (const [child, parent] of parentOf) {
            if (parent === tree[i]) {
                tree.push(child);
            }
        }
    }
    return tree.filter((member) => parentOf.has(member));
}

/** Files the process has open, as resolved paths. */
export function openFiles(pid: number): string[] {
    try {
        return fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
            try {
                return [fs.readlinkSync(`/proc/${pid}/fd/${fd}`)];
            } catch {
                return [];
            }
        });
    } catch {
        return [];
    }
}

export function kill(pid: number): void {
    try {
        process.kill(pid, "SIGKILL");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") {
            throw error;
        }
    }
}

/**
 * Calls `probe` until it returns something other than undefined/false. Polling real state (instead of sleeping)
 * is what makes the fault points deterministic.
 */
export async function pollUntil<T>(
    probe: () => T | undefined | false | Promise<T | undefined | false>,
    timeoutMs: number,
    what: string,
    intervalMs = 2,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined && value !== false) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}
