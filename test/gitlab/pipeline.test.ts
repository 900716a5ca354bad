import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { backupCreateCommand } from "../../components/catalogBackup";
import { listCiVariables } from "../../components/gitlabVariables";

const root = path.join(__dirname, "..", "..");
const pipeline = parse(fs.readFileSync(path.join(root, ".gitlab-ci.yml"), "utf8"), { merge: true }) as Pipeline;

interface Rule {
    if: string;
}

interface Cache {
    key: { prefix: string; files: string[] };
    paths: string[];
    policy?: string;
}

interface Job {
    stage: string;
    extends?: string;
    needs?: string[];
    rules?: Rule[];
    script: string[];
    before_script?: string[];
    after_script?: string[];
    variables?: Record<string, string>;
    cache?: Cache;
    artifacts?: { paths: string[]; when?: string };
    resource_group?: string;
    interruptible?: boolean;
}

interface Pipeline {
    workflow: { rules: Rule[] };
    stages: string[];
    default: { image: string; interruptible: boolean };
    variables: Record<string, string>;
    [job: string]: unknown;
}

const KEYWORDS = new Set(["workflow", "stages", "default", "variables"]);

/** A job with its `extends` template merged in, the way GitLab resolves it (one level is all this file uses). */
function job(name: string): Job {
    const own = pipeline[name] as Job;
    if (own.extends === undefined) {
        return own;
    }
    const template = pipeline[own.extends] as Partial<Job>;
    return { ...template, ...own, variables: { ...template.variables, ...own.variables } };
}

const jobNames = Object.keys(pipeline).filter((key) => !KEYWORDS.has(key) && !key.startsWith("."));

/**
 * Evaluates the `if:` expressions this file uses: `$A == "literal"`, `$A == $B` and `!=`, joined by `&&`.
 * Anything else throws, so a rule this evaluator cannot read fails the test rather than passing unread.
 */
function matches(expression: string, context: Record<string, string>): boolean {
    return expression.split("&&").every((clause) => {
        const parsed = /^\s*\$(\w+)\s*(==|!=)\s*(?:"([^"]*)"|\$(\w+))\s*$/.exec(clause);
        if (parsed === null) {
            throw new Error(`unsupported rule clause: ${clause}`);
        }
        const [, left, operator, literal, right] = parsed;
        const equal = (context[left] ?? "") === (literal ?? context[right] ?? "");
        return operator === "==" ? equal : !equal;
    });
}

function runs(rules: Rule[] | undefined, context: Record<string, string>): boolean {
    return rules === undefined || rules.some((rule) => matches(rule.if, context));
}

/** The jobs GitLab creates for a pipeline in `context`, or none when the workflow rules refuse it. */
function jobsFor(context: Record<string, string>): string[] {
    if (!runs(pipeline.workflow.rules, context)) {
        return [];
    }
    return jobNames.filter((name) => runs(job(name).rules, context));
}

const mergeRequest = { CI_PIPELINE_SOURCE: "merge_request_event", CI_DEFAULT_BRANCH: "main" };
const defaultBranchPush = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main" };
const featureBranchPush = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "feature", CI_DEFAULT_BRANCH: "main" };
const schedule = { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main" };
const featureSchedule = { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "feature", CI_DEFAULT_BRANCH: "main" };

describe(".gitlab-ci.yml", () => {
    it("has the stages in order", () => {
        expect(pipeline.stages).toEqual(["install", "check", "preview", "deploy"]);
        for (const name of jobNames) {
            expect(pipeline.stages, name).toContain(job(name).stage);
        }
    });

    it("runs the checks and a preview on merge requests, the checks and a deploy on the default branch", () => {
        expect(jobsFor(mergeRequest)).toEqual(["install", "typecheck", "lint", "test", "preview"]);
        expect(jobsFor(defaultBranchPush)).toEqual(["install", "typecheck", "lint", "test", "deploy"]);
        expect(jobsFor(featureBranchPush)).toEqual([]);
    });

    it("runs only the backup on a schedule of the default branch: no checks, never a deployment", () => {
        expect(jobsFor(schedule)).toEqual(["backup"]);
        expect(jobsFor(featureSchedule)).toEqual([]);
    });

    it("backs up with the stack's own command and variables, the secrets only in the environment", () => {
        const backup = job("backup");
        expect(backup.script.at(-1)).toBe(backupCreateCommand());
        expect(backup.needs).toEqual([]);
        expect(backup.resource_group).toBe("catalog-backup");
        expect(backup.interruptible).toBe(false);
        expect(backup.variables).toMatchObject({
            PGHOST: "$PSQL_CATALOG_HOST",
            PGPORT: "$PSQL_CATALOG_PORT",
            PGDATABASE: "$PSQL_CATALOG_DB",
            PGUSER: "$PSQL_CATALOG_USER",
            PGPASSWORD: "$PSQL_CATALOG_PASSWORD",
            AWS_ACCESS_KEY_ID: "$S3_ACCESS_KEY_ID",
            AWS_SECRET_ACCESS_KEY: "$S3_SECRET_ACCESS_KEY",
        });
        expect(backup.script.join("\n")).not.toMatch(/PASSWORD|SECRET/);
    });

    it("uses the Node version scripts/setup.sh pins and the CLI release of the pinned SDK", () => {
        const setup = fs.readFileSync(path.join(root, "scripts", "setup.sh"), "utf8");
        const nodeVersion = /^NODE_VERSION=(\S+)$/m.exec(setup)?.[1];
        expect(pipeline.default.image).toBe(`node:${nodeVersion}-bookworm`);
        const packageJson = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
        };
        expect(pipeline.variables.PULUMI_CLI_VERSION).toBe(packageJson.dependencies["@pulumi/pulumi"]);
    });

    it("builds the engine on npm ci and hands dist/ on with node_modules/", () => {
        const packageJson = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
            scripts: Record<string, string>;
        };
        expect(packageJson.scripts.prepare).toBe("node scripts/build-engine.cjs");
    });

    it("installs with npm ci, then typechecks, lints, checks the format and tests with the project's own commands", () => {
        expect(job("install").script).toEqual(["npm ci --no-audit --no-fund"]);
        // npm ci builds the engine (the `prepare` script); preview and deploy run it from these artifacts.
        expect(job("install").artifacts?.paths).toEqual(["node_modules/", "dist/"]);
        expect(job("typecheck")).toMatchObject({ needs: ["install"], script: ["npm run --silent typecheck"] });
        expect(job("lint")).toMatchObject({
            needs: ["install"],
            script: ["npm run --silent lint", "npm run --silent format:check"],
        });
        expect(job("test").script).toEqual(["bash scripts/setup.sh", "bash scripts/with-postgres.sh npm test"]);
    });

    it("previews with the diff in the log, after every check, and posts it to the merge request", () => {
        const preview = job("preview");
        expect(preview.needs).toEqual(["install", "typecheck", "lint", "test"]);
        expect(preview.script).toEqual([
            "set -o pipefail",
            'pulumi preview --stack "$PULUMI_STACK" --diff --non-interactive --color never 2>&1 | tee preview.txt',
        ]);
        const note = preview.after_script?.join("\n") ?? "";
        expect(note).toContain("$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes");
        expect(note).toContain('--data-urlencode "body@note.md"');
        expect(preview.artifacts).toEqual({ when: "always", paths: ["preview.txt"], expire_in: "1 week" });
    });

    it("never puts the GitLab token in a command's arguments", () => {
        const lines = jobNames.flatMap((name) => {
            const resolved = job(name);
            return [...(resolved.before_script ?? []), ...resolved.script, ...(resolved.after_script ?? [])]
                .join("\n")
                .split("\n");
        });
        const tokenLines = new Set(lines.filter((line) => line.includes("GITLAB_TOKEN")).map((line) => line.trim()));
        // `printf` is a shell builtin: it writes the header file without starting a process.
        expect([...tokenLines]).toEqual([
            "for name in PULUMI_STACK PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE GITLAB_TOKEN; do",
            'if [ -s preview.txt ] && [ -n "${GITLAB_TOKEN:-}" ]; then',
            'printf \'PRIVATE-TOKEN: %s\\n\' "$GITLAB_TOKEN" > "$header"',
        ]);
    });

    it("deploys with pulumi up --yes, one update at a time, never cancelled halfway", () => {
        const deploy = job("deploy");
        expect(deploy.needs).toEqual(["install", "typecheck", "lint", "test"]);
        expect(deploy.script).toEqual(['pulumi up --stack "$PULUMI_STACK" --yes --diff --non-interactive']);
        expect(deploy.resource_group).toBe("pulumi-stack");
        expect(job("preview").resource_group).toBe("pulumi-stack");
        expect(deploy.interruptible).toBe(false);
    });

    it("installs the pinned Pulumi CLI and fails early, with the reason, when a pipeline variable is missing", () => {
        const setup = job("deploy").before_script?.join("\n") ?? "";
        expect(setup).toContain(
            'curl -fsSL "https://get.pulumi.com/releases/sdk/pulumi-v${PULUMI_CLI_VERSION}-linux-x64.tar.gz"',
        );
        expect(setup).toContain("for name in PULUMI_STACK PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE GITLAB_TOKEN");
        expect(setup).toContain("exit 1");
    });

    it("caches npm by lockfile, and the CLI and plugins by their pins, inside the project directory", () => {
        expect(pipeline.variables.npm_config_cache).toBe("$CI_PROJECT_DIR/.npm");
        expect(pipeline.variables.PULUMI_HOME).toBe("$CI_PROJECT_DIR/.pulumi-home");
        expect(job("install").cache).toEqual({
            key: { prefix: "npm", files: ["package-lock.json"] },
            paths: [".npm/"],
            policy: "pull-push",
        });
        expect(job("test").cache?.policy).toBe("pull");
        for (const name of ["preview", "deploy"]) {
            expect(job(name).cache, name).toEqual({
                key: {
                    prefix: "pulumi-$PULUMI_CLI_VERSION",
                    files: ["package-lock.json", "components/gitlabProjectVariable.ts"],
                },
                paths: [".pulumi-cli/", ".pulumi-home/plugins/"],
            });
        }
    });

    it("reads only variables that GitLab predefines, the file defines or the stack creates", () => {
        const stackKeys = new Set(
            listCiVariables({
                pulumiStack: "dev",
                pulumiBackendUrl: pulumi.secret("s3://state"),
                pulumiConfigPassphrase: pulumi.secret("passphrase"),
                gitlabToken: pulumi.secret("glpat-token"),
                postgresHost: "h",
                postgresPort: 5432,
                postgresDatabase: "d",
                postgresUser: "u",
                postgresPassword: pulumi.secret("password"),
                catalogs: [],
                s3Endpoint: "e",
                s3Bucket: "b",
                s3Region: "r",
                s3UseSsl: true,
                s3UrlStyle: "path",
                s3BackupsPrefix: "backups",
                s3AccessKeyId: pulumi.secret("access-key"),
                s3SecretAccessKey: pulumi.secret("secret-key"),
                mlflowTrackingUri: "m",
                kafkaBrokerEndpoint: "k",
            }).map((variable) => variable.key),
        );
        // The backup command itself reads the stack's S3_ENDPOINT, S3_USE_SSL, S3_BUCKET, S3_BACKUPS_PREFIX and
        // S3_URL_STYLE from its environment.
        for (const name of ["preview", "deploy", "backup"]) {
            const resolved = job(name);
            const text = [
                ...(resolved.before_script ?? []),
                ...resolved.script,
                ...(resolved.after_script ?? []),
                ...Object.values(resolved.variables ?? {}),
            ].join("\n");
            const defined = new Set([...Object.keys(pipeline.variables), ...Object.keys(resolved.variables ?? {})]);
            const referenced = [...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]);
            const fromProject = referenced.filter(
                (variable) => !variable.startsWith("CI_") && variable !== "PATH" && !defined.has(variable),
            );
            expect(fromProject.length, name).toBeGreaterThan(0);
            for (const variable of fromProject) {
                expect(stackKeys, `${name} reads ${variable}`).toContain(variable);
            }
        }
    });
});
