import * as pulumi from "@pulumi/pulumi";

// `@pulumi/gitlab` cannot be installed here, so these two classes declare the official provider's resources by
// hand: same type tokens, same input names and same class names as the generated SDK
// (pulumi/pulumi-gitlab sdk/nodejs/projectVariable.ts and provider.ts at v10.1.1). Once the SDK installs, replace
// this module's import with `import * as gitlab from "@pulumi/gitlab"` and nothing else changes.

/**
 * The pinned GitLab provider plugin: pulumi-gitlab v10.1.1 (wraps terraform-provider-gitlab v19.2.1). The engine
 * downloads this exact plugin on first use because every resource here carries it as its `version` option.
 */
export const GITLAB_PROVIDER_VERSION = "10.1.1";

/** Input names and meanings as in `gitlab.ProjectVariableArgs`. */
export interface ProjectVariableArgs {
    /** The description of the variable, shown in Settings > CI/CD > Variables. */
    description?: pulumi.Input<string>;
    /** The environment scope of the variable. Defaults to all environments (`*`). */
    environmentScope?: pulumi.Input<string>;
    /**
     * Hide the value in the CI/CD settings page. Requires `masked` and a maskable value. GitLab accepts it only when
     * the variable is created, so changing it replaces the variable.
     */
    hidden?: pulumi.Input<boolean>;
    /** The name of the variable. */
    key: pulumi.Input<string>;
    /** Mask the value in job logs. The value must meet GitLab's masking requirements. */
    masked?: pulumi.Input<boolean>;
    /** The name or id of the project. */
    project: pulumi.Input<string>;
    /** Pass the variable only to pipelines running on protected branches and tags. */
    protected?: pulumi.Input<boolean>;
    /** Treat the value as a raw string: `$` references in it are not expanded. */
    raw?: pulumi.Input<boolean>;
    /** The value of the variable. */
    value: pulumi.Input<string>;
    /** `env_var` (the default) or `file`. */
    variableType?: pulumi.Input<string>;
}

/** A GitLab project-level CI/CD variable, managed by the official GitLab provider. */
export class ProjectVariable extends pulumi.CustomResource {
    declare public readonly description: pulumi.Output<string>;
    declare public readonly environmentScope: pulumi.Output<string>;
    declare public readonly hidden: pulumi.Output<boolean>;
    declare public readonly key: pulumi.Output<string>;
    declare public readonly masked: pulumi.Output<boolean>;
    declare public readonly project: pulumi.Output<string>;
    declare public readonly protected: pulumi.Output<boolean>;
    declare public readonly raw: pulumi.Output<boolean>;
    declare public readonly value: pulumi.Output<string>;
    declare public readonly variableType: pulumi.Output<string>;

    constructor(name: string, args: ProjectVariableArgs, opts?: pulumi.CustomResourceOptions) {
        const inputs: pulumi.Inputs = {
            description: args.description,
            environmentScope: args.environmentScope,
            hidden: args.hidden,
            key: args.key,
            masked: args.masked,
            project: args.project,
            protected: args.protected,
            raw: args.raw,
            value: args.value,
            variableType: args.variableType,
        };
        super(
            "gitlab:index/projectVariable:ProjectVariable",
            name,
            inputs,
            pulumi.mergeOptions({ version: GITLAB_PROVIDER_VERSION }, opts),
        );
    }
}

/** Input names and meanings as in `gitlab.ProviderArgs` (only the ones this stack sets). */
export interface ProviderArgs {
    /**
     * The GitLab REST API endpoint, ending with a slash, e.g. `https://gitlab.example.com/api/v4/`. The token is
     * deliberately not an input: the provider reads `GITLAB_TOKEN` from its environment, so it never reaches state.
     */
    baseUrl?: pulumi.Input<string>;
}

/** An explicit instance of the GitLab provider (type `pulumi:providers:gitlab`). */
export class Provider extends pulumi.ProviderResource {
    declare public readonly baseUrl: pulumi.Output<string | undefined>;

    constructor(name: string, args: ProviderArgs, opts?: pulumi.ResourceOptions) {
        const inputs: pulumi.Inputs = { baseUrl: args.baseUrl };
        super("gitlab", name, inputs, pulumi.mergeOptions({ version: GITLAB_PROVIDER_VERSION }, opts));
    }
}
