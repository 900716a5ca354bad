/**
 * The real Pulumi engine on a stack of this project: the CLI from PATH (or the one scripts/setup-pulumi.sh builds
 * into .tools/pulumi/bin), a file backend and the stack's config file in a temporary folder, and the project
 * directory as the program. Secrets reach the CLI only through stdin and the environment.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { PROJECT_DIR } from "../migrate/support";
import { type CommandResult, runProcess } from "../../migrate/process";

/** The commands that read the stack's config file. */
const CONFIG_COMMANDS = new Set(["preview", "up", "refresh", "destroy", "config"]);

const TOOLCHAIN_BIN = path.join(PROJECT_DIR, ".tools", "pulumi", "bin");

/** PATH as scripts/up.sh sets it: a Pulumi CLI of the machine's own first, else the one setup built. */
function toolchainPath(): string {
    return [path.dirname(process.execPath), process.env.PATH ?? "", TOOLCHAIN_BIN].join(path.delimiter);
}

/**
 * Fails loudly, with the fix, when the CLI, its Node.js language host or a provider the stack needs is missing:
 * this tier never skips.
 */
export function requirePulumi(): string {
    const env = { ...process.env, PATH: toolchainPath() };
    const fix = "run bash scripts/setup-pulumi.sh, which builds the toolchain into .tools/pulumi/bin";
    const version = spawnSync("pulumi", ["version"], { env, encoding: "utf8" });
    if (version.status !== 0) {
        throw new Error(
            `the end-to-end tests need the Pulumi CLI on PATH (or in .tools/pulumi/bin); ${fix}. ` +
                `(${version.error?.message ?? version.stderr.trim()})`,
        );
    }
    const onPath = (binary: string) => spawnSync("sh", ["-c", `command -v ${binary}`], { env }).status === 0;
    const plugins = spawnSync("pulumi", ["plugin", "ls", "--json"], { env, encoding: "utf8" });
    const installed =
        plugins.status === 0 ? (JSON.parse(plugins.stdout || "[]") as { name: string; kind: string }[]) : [];
    const missing = [
        ...(onPath("pulumi-language-nodejs") ? [] : ["pulumi-language-nodejs"]),
        ...["command", "postgresql"]
            .filter(
                (name) =>
                    !onPath(`pulumi-resource-${name}`) &&
                    !installed.some((plugin) => plugin.kind === "resource" && plugin.name === name),
            )
            .map((name) => `pulumi-resource-${name}`),
    ];
    if (missing.length > 0) {
        throw new Error(
            `the end-to-end tests need ${missing.join(", ")} (on PATH, in .tools/pulumi/bin or installed ` +
                `with \`pulumi plugin install resource NAME VERSION --file BINARY\`); ${fix}.`,
        );
    }
    return version.stdout.trim();
}

export interface StackSettings {
    /** Plain config, keys without the project prefix. */
    plain: Record<string, unknown>;
    /** Secret config, keys without the project prefix; set through stdin. */
    secrets: Record<string, string>;
}

/** A stack of this project in a folder of its own: backend, config file, passphrase. */
export class E2eStack {
    readonly configFile: string;
    readonly backendDir: string;
    readonly env: NodeJS.ProcessEnv;
    readonly passphrase = randomBytes(18).toString("base64url");

    constructor(
        readonly dir: string,
        readonly name: string,
    ) {
        this.configFile = path.join(dir, `Pulumi.${name}.yaml`);
        this.backendDir = path.join(dir, "state");
        mkdirSync(this.backendDir, { recursive: true });
        this.env = {
            ...process.env,
            PATH: toolchainPath(),
            PULUMI_BACKEND_URL: `file://${this.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: this.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            // The superuser's libpq variables of the test cluster must not leak into the program's commands.
            PGHOST: undefined,
            PGPORT: undefined,
            PGUSER: undefined,
            PGPASSWORD: undefined,
            PGDATABASE: undefined,
        };
    }

    /** Runs `pulumi <args>` in the project directory; stdin, when given, is the only way a secret goes in. */
    run(args: readonly string[], stdin?: string): Promise<CommandResult> {
        return runProcess("pulumi", [...args, "--non-interactive", "--color", "never"], {
            cwd: PROJECT_DIR,
            env: this.env,
            stdin,
        });
    }

    /** The arguments for this stack: its name and, for the commands that read config, its config file. */
    private stackArgs(args: readonly string[]): string[] {
        const config = CONFIG_COMMANDS.has(args[0]) ? ["--config-file", this.configFile] : [];
        return [...args, "--stack", this.name, ...config];
    }

    /** `pulumi <args>` on this stack; throws with the output unless it exits 0. */
    async ok(args: readonly string[], stdin?: string): Promise<CommandResult> {
        const result = await this.run(this.stackArgs(args), stdin);
        if (result.code !== 0) {
            throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
        }
        return result;
    }

    /** Same, returning whatever happened. */
    attempt(args: readonly string[]): Promise<CommandResult> {
        return this.run(this.stackArgs(args));
    }

    /**
     * Creates the stack. `pulumi stack init` writes the passphrase's salt into the project's `Pulumi.<stack>.yaml`,
     * so it runs in a folder of its own with a copy of Pulumi.yaml, and that file becomes this stack's config file.
     */
    async init(): Promise<void> {
        const initDir = path.join(this.dir, "init");
        mkdirSync(initDir, { recursive: true });
        copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(initDir, "Pulumi.yaml"));
        const result = await this.run([
            "--cwd",
            initDir,
            "stack",
            "init",
            this.name,
            "--secrets-provider",
            "passphrase",
        ]);
        if (result.code !== 0) {
            throw new Error(`pulumi stack init exited ${result.code}: ${result.stderr}`);
        }
        renameSync(path.join(initDir, `Pulumi.${this.name}.yaml`), this.configFile);
        rmSync(initDir, { recursive: true });
    }

    /** Writes the plain settings into the config file, keeping its salt and every secret already set. */
    async configure(settings: StackSettings): Promise<void> {
        const current = (parse(readFileSync(this.configFile, "utf8")) ?? {}) as {
            encryptionsalt?: string;
            config?: Record<string, unknown>;
        };
        const secure = Object.entries(current.config ?? {}).filter(
            ([, value]) => typeof value === "object" && value !== null && "secure" in value,
        );
        const config = {
            ...Object.fromEntries(secure),
            ...Object.fromEntries(
                Object.entries(settings.plain).map(([key, value]) => [`lakehouse-catalog:${key}`, value]),
            ),
        };
        writeFileSync(this.configFile, stringify({ encryptionsalt: current.encryptionsalt, config }));
        for (const [key, value] of Object.entries(settings.secrets)) {
            await this.setSecret(key, value);
        }
    }

    /** `pulumi config set --secret`, the value on stdin (the CLI keeps all of stdin, so no newline). */
    async setSecret(key: string, value: string): Promise<void> {
        await this.ok(["config", "set", "--secret", `lakehouse-catalog:${key}`], value);
    }

    /** The stack's outputs, secrets shown. */
    async outputs(): Promise<Record<string, unknown>> {
        return JSON.parse((await this.ok(["stack", "output", "--json", "--show-secrets"])).stdout) as Record<
            string,
            unknown
        >;
    }

    /** The checkpoint as `pulumi stack export` prints it, secrets left encrypted. */
    async exportState(): Promise<string> {
        return (await this.ok(["stack", "export"])).stdout;
    }
}

/** A preview's steps from `pulumi preview --json`: operation and resource name (the URN's last part). */
export function previewSteps(json: string): { op: string; type: string; name: string }[] {
    const preview = JSON.parse(json) as { steps?: { op: string; urn: string }[] };
    return (preview.steps ?? []).map((step) => {
        const parts = step.urn.split("::");
        return { op: step.op, type: parts[2].split("$").at(-1)!, name: parts[3] };
    });
}
