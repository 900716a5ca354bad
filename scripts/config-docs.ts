/**
 * Renders Pulumi.yaml's `config:` block and the README's config table from the one declaration of every key
 * (CONFIG_KEYS in config.ts), and writes them into both files. The config test renders them too and fails while
 * either file differs, so a key changed in config.ts is a failing test until this has run.
 *
 * Usage: npm run config:docs
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";

import { CONFIG_KEYS, type ConfigKey } from "../config";

const PROJECT_DIR = path.join(__dirname, "..");

/** Pulumi.yaml from this line to its end is rendered. */
const PULUMI_YAML_START =
    "# Rendered from CONFIG_KEYS in config.ts by `npm run config:docs` down to the end of the file;";
const README_START = "<!-- the config table: rendered from CONFIG_KEYS in config.ts by `npm run config:docs` -->";
const README_END = "<!-- end of the config table -->";

const keys = Object.entries(CONFIG_KEYS) as [string, ConfigKey][];

/**
 * The Pulumi CLI refuses to run a stack that leaves a declared key without a default unset ("Stack '...' is missing
 * configuration values ..."), so only the keys with a default and the secrets, which every stack must set, are
 * declared. Project config cannot declare objects at all.
 */
function declared(key: ConfigKey): boolean {
    return (
        (key.type === "string" || key.type === "integer") && (key.default !== undefined || key.secretFor !== undefined)
    );
}

/** Pulumi.yaml's tail: the comment on the keys it cannot declare, then the `config:` block. */
function renderPulumiYamlConfig(): string {
    const listed = (entries: [string, ConfigKey][]): string[] =>
        entries.map(([name, key]) => {
            const unset = key.unset === undefined ? "" : `; unset: ${key.unset}`;
            return `#   ${name} (${key.type}): ${key.description.replace(/\.$/, "")}${unset}.`;
        });
    const isObject = (key: ConfigKey): boolean => key.type === "object" || key.type === "list of objects";
    const objects = keys.filter(([, key]) => isObject(key));
    const optional = keys.filter(([, key]) => !isObject(key) && !declared(key));
    const config = Object.fromEntries(
        keys
            .filter(([, key]) => declared(key))
            .map(([name, key]) => [
                name,
                {
                    type: key.type,
                    description: key.description,
                    ...(key.default === undefined ? {} : { default: key.default }),
                    ...(key.secretFor === undefined ? {} : { secret: true }),
                },
            ]),
    );
    return [
        `${PULUMI_YAML_START} edit the keys there.`,
        "# Every key is validated again, with the same defaults, by config.ts before any resource exists.",
        "# Project config can only declare string, integer, boolean and arrays of those, so the objects are documented",
        "# here and in the README and set per stack (see Pulumi.dev.yaml):",
        ...listed(objects),
        "# The optional keys without a default are not declared either: the Pulumi CLI refuses to run a stack that",
        "# leaves a declared key without a default unset (\"Stack '...' is missing configuration values ...\"). They are:",
        ...listed(optional),
        "# The GitLab token comes from GITLAB_TOKEN in the environment of `pulumi up`, never from config.",
        stringify({ config }, { lineWidth: 0 }).trimEnd(),
        "",
    ].join("\n");
}

/** The README's table of every key. */
function renderReadmeTable(): string {
    const cell = (text: string): string => text.replaceAll("|", "\\|");
    const rows = keys.map(([name, key]) => {
        const fallback =
            key.default !== undefined ? `\`${key.default}\`` : key.unset !== undefined ? `unset: ${key.unset}` : "–";
        return `| \`${name}\` | ${key.type} | ${cell(fallback)} | ${key.secretFor === undefined ? "" : "yes"} | ${cell(key.description)} |`;
    });
    return ["| key | type | default | secret | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

/** Pulumi.yaml with its rendered tail replaced. */
function withPulumiYamlConfig(text: string): string {
    const start = text.indexOf(PULUMI_YAML_START);
    if (start < 0) {
        throw new Error(`Pulumi.yaml has no line starting "${PULUMI_YAML_START}"; put it back before the config block`);
    }
    return text.slice(0, start) + renderPulumiYamlConfig();
}

/** The README with the table between its markers replaced. */
function withReadmeTable(text: string): string {
    const start = text.indexOf(README_START);
    const end = text.indexOf(README_END);
    if (start < 0 || end < start) {
        throw new Error(`README.md has no "${README_START}" … "${README_END}" pair; put them back around the table`);
    }
    return `${text.slice(0, start + README_START.length)}\n${renderReadmeTable()}\n${text.slice(end)}`;
}

/** The two files as the declarations render them, by path. */
export function renderedConfigDocs(): Record<string, string> {
    const read = (file: string): string => fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
    return {
        "Pulumi.yaml": withPulumiYamlConfig(read("Pulumi.yaml")),
        "README.md": withReadmeTable(read("README.md")),
    };
}

if (path.resolve(process.argv[1] ?? "") === __filename) {
    for (const [file, text] of Object.entries(renderedConfigDocs())) {
        fs.writeFileSync(path.join(PROJECT_DIR, file), text);
    }
}
