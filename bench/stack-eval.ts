/**
 * Evaluates the Pulumi program under mocks with the dev stack's config widened to N catalogs, and prints one JSON
 * line: `{"catalogs": N, "programSeconds": s, "resources": n}`. The bench runs it in a fresh process per size so
 * that no module cache from an earlier run makes the program look faster than `pulumi up` would see it.
 *
 * Usage: node --import tsx bench/stack-eval.ts <catalogs>
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const projectDir = path.join(__dirname, "..");
const projectName = "lakehouse-catalog";

interface CatalogEntry {
    name: string;
    sqlite: string;
    schema: string;
    s3Prefix: string;
    [key: string]: unknown;
}

/**
 * The dev stack's catalogs first, then generated ones up to `count`, each with its own name, schema and prefix so
 * the program's uniqueness checks pass.
 */
function widenCatalogs(devCatalogs: CatalogEntry[], count: number): CatalogEntry[] {
    const generated = Array.from({ length: Math.max(0, count - devCatalogs.length) }, (_, i) => ({
        name: `bench_${i + 1}`,
        sqlite: `local/bench_${i + 1}.sqlite`,
        schema: `bench_${i + 1}`,
        s3Prefix: `bench/${i + 1}`,
    }));
    return [...devCatalogs, ...generated].slice(0, count);
}

/**
 * The dev stack's config (Pulumi.dev.yaml) plus a placeholder for every key Pulumi.yaml declares secret, since
 * the committed stack file holds no secrets.
 */
function stackConfig(catalogCount: number): { config: Record<string, string>; secretKeys: string[] } {
    const project = parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
        config?: Record<string, { secret?: boolean } | unknown>;
    };
    const stack = parse(fs.readFileSync(path.join(projectDir, "Pulumi.dev.yaml"), "utf8")) as {
        config?: Record<string, unknown>;
    };
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(stack.config ?? {})) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const secretKeys: string[] = [];
    for (const [key, declaration] of Object.entries(project.config ?? {})) {
        if (typeof declaration === "object" && declaration !== null && (declaration as { secret?: boolean }).secret) {
            const fullKey = key.includes(":") ? key : `${projectName}:${key}`;
            config[fullKey] = "bench-placeholder-secret";
            secretKeys.push(fullKey);
        }
    }
    const catalogsKey = `${projectName}:catalogs`;
    const devCatalogs = JSON.parse(config[catalogsKey] ?? "[]") as CatalogEntry[];
    config[catalogsKey] = JSON.stringify(widenCatalogs(devCatalogs, catalogCount));
    return { config, secretKeys };
}

async function main(): Promise<void> {
    const catalogs = Number(process.argv[2]);
    if (!Number.isInteger(catalogs) || catalogs < 1) {
        throw new Error(`stack-eval: the catalog count must be a positive integer; got ${process.argv[2]}`);
    }
    let resources = 0;
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                resources += 1;
                return { id: `${args.name}-id`, state: args.inputs };
            },
            // Invokes (e.g. a dry run during preview) answer with their own inputs: the bench times the program,
            // not the commands it would run.
            call: (args) => args.inputs,
        },
        projectName,
        "dev",
    );
    const { config, secretKeys } = stackConfig(catalogs);
    pulumi.runtime.setAllConfig(config, secretKeys);

    const started = process.hrtime.bigint();
    await import(path.join(projectDir, "index"));
    process.once("beforeExit", () => {
        const programSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        process.stdout.write(`${JSON.stringify({ catalogs, programSeconds, resources })}\n`);
    });
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
});
