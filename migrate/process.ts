/**
 * Running programs: another program run to its end with its output collected (the backup's pg_dump, pg_restore and
 * psql, and every program the tests start), and this process run as one of the engine's command-line programs.
 */
import { spawn } from "node:child_process";

export interface CommandResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/**
 * Runs a program with its arguments as given (never a secret: those travel in `env` or on stdin), `stdin` as its
 * input (none when unset), and resolves with its exit code and output once it has ended.
 */
export function runProcess(
    file: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const spawnOptions = { cwd: options.cwd, env: options.env };
        const child =
            options.stdin === undefined
                ? spawn(file, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] })
                : spawn(file, args, { ...spawnOptions, stdio: "pipe" });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin?.end(options.stdin);
    });
}

/** A command-line program: arguments and environment in, output through the two writers, the exit code out. */
export type CommandLineProgram = (
    argv: readonly string[],
    env: NodeJS.ProcessEnv,
    stdout: (text: string) => void,
    stderr: (text: string) => void,
) => Promise<number>;

/** Runs the program as this process: its arguments, environment and streams, and its exit code. */
export function runAsProcess(program: CommandLineProgram): void {
    void program(
        process.argv.slice(2),
        process.env,
        (text) => process.stdout.write(text),
        (text) => process.stderr.write(text),
    ).then((code) => {
        process.exitCode = code;
    });
}
