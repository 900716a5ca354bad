import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** What one measured child process did. */
export interface MeasuredRun {
    exitCode: number;
    stdout: string;
    stderr: string;
    /** Wall time from spawn to exit. */
    seconds: number;
    /**
     * Peak resident set of the process whose command line matched `measure` (its kernel high-water mark, VmHWM),
     * in bytes; 0 when no process matched before exit.
     */
    peakRssBytes: number;
    /**
     * User plus system CPU seconds of that process at the last poll before it exited (so up to one poll interval
     * short): on a machine shared with other work, a measure of the process's own cost that its wall time is not.
     */
    cpuSeconds: number;
    /** The highest sum of VmRSS over the whole process tree seen at one poll, in bytes. */
    peakTreeRssBytes: number;
    /**
     * CPU seconds the whole machine spent from spawn to exit, the bench's own polling left out: the command and
     * every process working for it, PostgreSQL's backends and parallel workers included. On a quiet machine, the
     * run's total cost.
     */
    machineCpuSeconds: number;
}

export interface MeasureOptions {
    env: NodeJS.ProcessEnv;
    cwd?: string;
    /** Picks the process whose memory is reported, e.g. the node process under `npm run` and `sh`. */
    measure: (commandLine: string) => boolean;
    /** Echo the child's stderr while it runs (progress lines). */
    echoStderr?: boolean;
}

// VmHWM is the kernel's own high-water mark, so a poll only has to land before the process exits; 25 ms is
// short next to any run worth measuring and costs a few hundred microseconds of /proc reads per poll.
const pollIntervalMs = 25;

/**
 * Runs a command (no shell) and measures wall time and memory by polling /proc: `npm run` puts npm and sh between
 * us and the node process that does the work, so the rusage of the direct child would report the wrong process.
 */
export function runMeasured(command: string, args: string[], options: MeasureOptions): Promise<MeasuredRun> {
    const started = process.hrtime.bigint();
    const machineBefore = machineBusySeconds();
    const benchBefore = process.cpuUsage();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
        stderr.push(chunk);
        if (options.echoStderr) {
            process.stderr.write(chunk);
        }
    });

    let peakRssBytes = 0;
    let cpuSeconds = 0;
    let peakTreeRssBytes = 0;
    const poll = (): void => {
        if (child.pid === undefined) {
            return;
        }
        let treeRss = 0;
        for (const pid of processTree(child.pid)) {
            const status = readStatus(pid);
            if (status === undefined) {
                continue;
            }
            treeRss += status.rssBytes;
            if (options.measure(readCommandLine(pid))) {
                peakRssBytes = Math.max(peakRssBytes, status.hwmBytes);
                cpuSeconds = Math.max(cpuSeconds, readCpuSeconds(pid) ?? 0);
            }
        }
        peakTreeRssBytes = Math.max(peakTreeRssBytes, treeRss);
    };
    const timer = setInterval(poll, pollIntervalMs);

    return new Promise((resolve, reject) => {
        child.on("error", (error) => {
            clearInterval(timer);
            reject(new Error(`could not start \`${command}\`: ${error.message}`));
        });
        child.on("close", (code, signal) => {
            clearInterval(timer);
            const bench = process.cpuUsage(benchBefore);
            resolve({
                exitCode: code ?? (signal === null ? 1 : 128),
                stdout: Buffer.concat(stdout).toString("utf8"),
                stderr: Buffer.concat(stderr).toString("utf8"),
                seconds: Number(process.hrtime.bigint() - started) / 1e9,
                peakRssBytes,
                cpuSeconds,
                peakTreeRssBytes,
                machineCpuSeconds: machineBusySeconds() - machineBefore - (bench.user + bench.system) / 1e6,
            });
        });
    });
}

/** The pid and all its live descendants, found through the parent pid in /proc/<pid>/stat. */
function processTree(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        const parent = readParentPid(Number(entry));
        if (parent !== undefined) {
            children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
        }
    }
    const tree = [root];
    for (let i = 0; i < tree.length; i++) {
        tree.push(...(children.get(tree[i]) ?? []));
    }
    return tree;
}

function readParentPid(pid: number): number | undefined {
    const fields = readStatFields(pid);
    return fields === undefined ? undefined : Number(fields[1]);
}

// /proc/<pid>/stat counts CPU time in USER_HZ ticks, which Linux fixes at 100 per second for user space.
const ticksPerSecond = 100;

function readCpuSeconds(pid: number): number | undefined {
    const fields = readStatFields(pid);
    // utime and stime are the 14th and 15th fields of the whole line.
    return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** CPU seconds every core of the machine has spent busy since boot (all but idle and I/O wait), from /proc/stat. */
function machineBusySeconds(): number {
    const [total] = fs.readFileSync("/proc/stat", "utf8").split("\n");
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in USER_HZ ticks; guest time is
    // already counted in user.
    const [user, nice, system, , , irq, softirq, steal] = total.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}

/**
 * The fields of /proc/<pid>/stat after the command name, from the state (field 3) on: the name in field 2 may hold
 * spaces and parentheses, the fields after its last ")" are fixed.
 */
function readStatFields(pid: number): string[] | undefined {
    const stat = readProcFile(pid, "stat");
    return stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function readStatus(pid: number): { rssBytes: number; hwmBytes: number } | undefined {
    const status = readProcFile(pid, "status");
    const kib = (key: string): number | undefined => {
        const match = status?.match(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m"));
        return match === null || match === undefined ? undefined : Number(match[1]) * 1024;
    };
    const rssBytes = kib("VmRSS");
    const hwmBytes = kib("VmHWM");
    return rssBytes === undefined || hwmBytes === undefined ? undefined : { rssBytes, hwmBytes };
}

function readCommandLine(pid: number): string {
    return (readProcFile(pid, "cmdline") ?? "").split("\0").join(" ").trim();
}

/** A /proc file of a process that may exit between listing and reading: undefined then. */
function readProcFile(pid: number, name: string): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/${name}`, "utf8");
    } catch {
        return undefined;
    }
}
