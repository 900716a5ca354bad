/**
 * The one Pulumi mocks harness of the stack, consumer and GitLab tests: mocks that record every registration as
 * the engine receives it, the test stacks' config, and a runner for index.ts. Free of vitest, so that the bench
 * can evaluate the stack with plain node (test/stack/evaluate.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Secret values the tests set; none may ever appear as a plain string in a registered input. */
export const SECRETS = {
    "lakehouse-catalog:postgresAdminPassword": "admin-pw-'quoted' $HOME",
    "lakehouse-catalog:rolePassword": "role-pw-s3cr3t",
    "lakehouse-catalog:s3AccessKeyId": "s3-key-id-AKIA",
    "lakehouse-catalog:s3SecretAccessKey": "s3-secret-key-xyz",
};

/** One resource registration, read from the request the engine receives (`newResource` sees only part of it). */
export interface Registration {
    type: string;
    name: string;
    urn: string;
    parent: string;
    /** `<provider URN>::<provider ID>`, or "" for the default provider. */
    provider: string;
    /** The `version` option: the plugin version the engine installs when it is missing. */
    version: string;
    /** Inputs with secrets unwrapped, as the mocks see them. */
    inputs: Record<string, unknown>;
    /** Inputs as sent on the wire: a secret is still wrapped in {@link SECRET_SIGNATURE}. */
    wireInputs: Record<string, unknown>;
    /** URNs the resource waits for (explicit `dependsOn` and those implied by input Outputs). */
    dependencies: string[];
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
    protect: boolean;
    ignoreChanges: string[];
}

export interface Harness {
    /** Every registration the engine accepted, in order; clear it between tests. */
    registrations: Registration[];
    /** Answers `command:local:run` invokes; unset means any invoke fails the test. */
    onRun?: (inputs: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;
    /** stdout every mocked Command reports (a migration's `--json` summary)… */
    migrationStdout: string;
    /** …except the Commands named here, which report their own (a backup's URI). */
    commandStdout: Record<string, string>;
}

/** The fields of the generated RegisterResourceRequest that the tests read. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProvider(): string;
    getVersion(): string;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getDependenciesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDeletebeforereplace(): boolean;
    getRetainondelete(): boolean;
    getProtect(): boolean;
    getIgnorechangesList(): string[];
}
type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface Monitor {
    registerResource(req: RegisterRequest, callback: Callback): Promise<void>;
}

export const DEFAULT_MIGRATION_STDOUT = JSON.stringify({
    status: "migrated",
    ducklakeVersion: "0.3",
    rows: { ducklake_snapshot: 3, ducklake_table: 2 },
    totalRows: 5,
    seconds: 0.1,
});

/**
 * Installs Pulumi mocks that record every registration with what the engine gets (parent, provider, version,
 * dependencies, secrecy, resource options), which `MockResourceArgs` alone does not show. With `preview`, the
 * program runs as under `pulumi preview` (`pulumi.runtime.isDryRun()`).
 */
export async function installMocks(preview = false): Promise<Harness> {
    const harness: Harness = { registrations: [], migrationStdout: DEFAULT_MIGRATION_STDOUT, commandStdout: {} };
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const state: Record<string, unknown> = { ...args.inputs };
                if (args.type === "command:local:Command") {
                    state.stdout = harness.commandStdout[args.name] ?? harness.migrationStdout;
                    state.stderr = "";
                }
                // The container runs the pulled image's ID, which only a real daemon knows.
                if (args.type === "docker:index/remoteImage:RemoteImage") {
                    state.imageId = `sha256:${args.name}`;
                }
                // The build's digest, which only BuildKit knows.
                if (args.type === "docker-build:index:Image") {
                    state.digest = `sha256:${args.name}-digest`;
                }
                return { id: `${args.name}-id`, state };
            },
            call: (args) => {
                if (args.token === "command:local:run" && harness.onRun !== undefined) {
                    return harness.onRun(args.inputs);
                }
                throw new Error(`Mock not implemented: ${args.token}`);
            },
        },
        "lakehouse-catalog",
        "dev",
        preview,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
        register(req, (err, response) => {
            if (!err && response !== undefined) {
                const wireInputs = req.getObject()?.toJavaScript() ?? {};
                harness.registrations.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: response.getUrn(),
                    parent: req.getParent(),
                    provider: req.getProvider(),
                    version: req.getVersion(),
                    inputs: unwrapSecrets(wireInputs) as Record<string, unknown>,
                    wireInputs,
                    dependencies: req.getDependenciesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    retainOnDelete: req.getRetainondelete(),
                    protect: req.getProtect(),
                    ignoreChanges: req.getIgnorechangesList(),
                });
            }
            callback(err, response);
        });
    return harness;
}

/** How the SDK marks a secret on its way to the engine (sdk/nodejs/runtime/rpc.ts `specialSigKey`/`specialSecretSig`). */
export const SECRET_SIGNATURE = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

function isSecretWrapper(value: unknown): value is { value: unknown } {
    return (
        typeof value === "object" &&
        value !== null &&
        Object.entries(SECRET_SIGNATURE).every(
            ([key, signature]) => (value as Record<string, unknown>)[key] === signature,
        )
    );
}

function unwrapSecrets(value: unknown): unknown {
    if (isSecretWrapper(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Every string in wire inputs that is NOT inside a secret wrapper, with its property path. */
export function plainStrings(value: unknown, at = ""): { path: string; value: string }[] {
    if (isSecretWrapper(value)) {
        return [];
    }
    if (typeof value === "string") {
        return [{ path: at, value }];
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => plainStrings(v, at === "" ? k : `${at}.${k}`));
    }
    return [];
}

export function byType(registrations: Registration[], type: string): Registration[] {
    return registrations.filter((registration) => registration.type === type);
}

/** Resolves an Output, or any Input, under mocks (never `expect` inside an apply). */
export function promiseOf<T>(input: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((resolve) => pulumi.output(input).apply(resolve));
}

/**
 * Waits until every resource the program started has been registered: the SDK's own wait before it disconnects
 * (`waitForRPCs`, exported by the runtime but not in its typings). Exports can resolve before the last children
 * of a component are registered.
 */
export function allRegistered(): Promise<void> {
    return (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** The dev stack's config (Pulumi.dev.yaml) as `setAllConfig` wants it, plus the test secrets. */
export function devStackConfig(): Record<string, string> {
    const file = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as {
        config: Record<string, unknown>;
    };
    const config = Object.fromEntries(
        Object.entries(file.config).map(([key, value]) => [
            key,
            typeof value === "object" ? JSON.stringify(value) : String(value),
        ]),
    );
    return { ...config, ...SECRETS };
}

/**
 * The deployer's credentials as `pulumi up` finds them in its environment when `gitlabProject` is set. Secret
 * like {@link SECRETS}, and GitLab must be able to mask each one.
 */
export const DEPLOY_ENV = {
    PULUMI_BACKEND_URL: "s3://pulumi-state?endpoint=minio:9000&s3ForcePathStyle=true",
    PULUMI_CONFIG_PASSPHRASE: "deploy-passphrase-42",
    GITLAB_TOKEN: "glpat-test-token-0123",
};

/** The consumer keys the full test stack sets on top of the dev stack, as on the original project's hosts. */
export const FULL_STACK_KEYS = {
    "lakehouse-catalog:clientPostgresHost": "docker-shared",
    "lakehouse-catalog:clientPostgresPort": "6432",
    "lakehouse-catalog:clientS3Endpoint": "minio:9000",
    "lakehouse-catalog:clientConfigDir": "local/clients",
    "lakehouse-catalog:mlserverDockerHost": "tcp://docker-apps:2375",
    "lakehouse-catalog:mlserverImage": "gitlab:5050/datalabtechtv/datalab/mlserver:3c7c137",
    "lakehouse-catalog:gitlabProject": "datalabtechtv/datalab",
    "lakehouse-catalog:gitlabBaseUrl": "http://gitlab",
};

/**
 * The dev stack with everything dev leaves out: the mlserver on a Docker host and the GitLab variables, so the
 * whole graph is built. Run the program with {@link DEPLOY_ENV} in its environment.
 */
export function fullStackConfig(): Record<string, string> {
    return { ...devStackConfig(), ...FULL_STACK_KEYS };
}

/** The full test stack with the mlserver built from a checkout of the repository instead of a registry image. */
export function buildStackConfig(): Record<string, string> {
    const config: Record<string, string> = {
        ...fullStackConfig(),
        "lakehouse-catalog:mlserverBuildContext": "../datalab",
    };
    delete config["lakehouse-catalog:mlserverImage"];
    return config;
}

/** The full test stack with `count` generated catalogs instead of the four real ones. */
export function stackConfigWithCatalogs(count: number): Record<string, string> {
    const catalogs = Array.from({ length: count }, (_, index) => ({
        name: `catalog_${index}`,
        sqlite: `local/catalog_${index}.sqlite`,
        schema: `catalog_${index}`,
        s3Prefix: `catalogs/catalog_${index}`,
    }));
    return { ...fullStackConfig(), "lakehouse-catalog:catalogs": JSON.stringify(catalogs) };
}

export function setStackConfig(config: Record<string, string>): void {
    pulumi.runtime.setAllConfig(config, Object.keys(SECRETS));
}

export type Program = typeof import("../../index");

/**
 * Runs the whole program (index.ts) under the installed mocks with `config`, and `env` set in `process.env` where
 * index.ts reads the deploy credentials; waits for every export and every registration, then restores the
 * environment. Node caches modules: to run it again in one process, reset the module registry first
 * (`vi.resetModules()`).
 */
export async function runProgram(config: Record<string, string>, env: Record<string, string> = {}): Promise<Program> {
    setStackConfig(config);
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    try {
        const program = await import("../../index");
        await Promise.all([
            promiseOf(program.database),
            promiseOf(program.role),
            promiseOf(program.password),
            ...Object.values(program.migrationStatus).map((status) => promiseOf(status)),
            promiseOf(program.duckdbInitSql),
            promiseOf(program.dbtProfilesYml),
            ...(program.mlserverContainer === undefined ? [] : [promiseOf(program.mlserverContainer)]),
        ]);
        await allRegistered();
        return program;
    } finally {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) {
                delete process.env[name];
            } else {
                process.env[name] = value;
            }
        }
    }
}
