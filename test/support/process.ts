/**
 * One way for the tests to run a real program: arguments as given, input on stdin (the only way a secret goes in
 * besides the environment), and its exit code and output once it has ended.
 */
import { spawn } from "node:child_process";

export interface CommandResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

export function runProcess(
    file: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(options.stdin ?? "");
    });
}
