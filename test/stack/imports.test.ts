import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";

import { PROJECT_DIR } from "../support/pulumiMocks";

const SKIPPED = new Set(["node_modules", "dist", "bin", ".tools", ".local", ".pulumi-state", ".git"]);

/** Every TypeScript source file of the project, relative to it. */
function sourceFiles(dir = PROJECT_DIR): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return SKIPPED.has(entry.name) ? [] : sourceFiles(full);
        }
        return /\.m?ts$/.test(entry.name) ? [path.relative(PROJECT_DIR, full)] : [];
    });
}

/** Each file's imports of other project files, type-only and dynamic imports included. */
function importGraph(files: string[]): Map<string, string[]> {
    const known = new Set(files);
    return new Map(
        files.map((file) => {
            const text = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
            const targets = ts
                .preProcessFile(text, true, true)
                .importedFiles.map((imported) => imported.fileName)
                .filter((specifier) => specifier.startsWith("."))
                .map((specifier) => path.join(path.dirname(file), specifier))
                .flatMap((base) => [`${base}.ts`, `${base}.mts`, path.join(base, "index.ts"), base])
                .filter((candidate) => known.has(candidate));
            return [file, [...new Set(targets)]];
        }),
    );
}

/** Every import cycle, each as the files along it, starting and ending with the same file. */
function importCycles(graph: Map<string, string[]>): string[][] {
    const cycles: string[][] = [];
    const done = new Set<string>();
    const visit = (file: string, trail: string[]): void => {
        const seen = trail.indexOf(file);
        if (seen >= 0) {
            cycles.push([...trail.slice(seen), file]);
            return;
        }
        if (done.has(file)) {
            return;
        }
        for (const target of graph.get(file) ?? []) {
            visit(target, [...trail, file]);
        }
        done.add(file);
    };
    for (const file of graph.keys()) {
        visit(file, []);
    }
    return cycles;
}

describe("imports among the project's source files", () => {
    const graph = importGraph(sourceFiles());

    it("reads the real graph", () => {
        expect(graph.get("index.ts")).toEqual(expect.arrayContaining(["config.ts", "components/mlserver.ts"]));
        expect(graph.get("components/gitlabVariables.ts")).toContain("config.ts");
        expect(graph.get("test/support/pulumiMocks.ts")).toContain("index.ts");
    });

    it("has no cycle", () => {
        expect(importCycles(graph)).toEqual([]);
    });

    it("would report a cycle, type-only imports included", () => {
        const cyclic = new Map([
            ["config.ts", ["components/gitlabVariables.ts"]],
            ["components/gitlabVariables.ts", ["config.ts"]],
            ["index.ts", ["config.ts"]],
        ]);
        expect(importCycles(cyclic)).toEqual([["config.ts", "components/gitlabVariables.ts", "config.ts"]]);
    });
});
