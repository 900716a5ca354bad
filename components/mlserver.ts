import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as dockerBuild from "@pulumi/docker-build";

import type { Inputs, PostgresEndpoint, S3Credentials, S3Endpoint } from "./endpoints";

/** A catalog as the mlserver sees it: through one schema and one prefix variable. */
export interface MlserverCatalog {
    /** `<CATALOG>` in `PSQL_CATALOG_<CATALOG>_SCHEMA` and `S3_<CATALOG>_PREFIX`, e.g. `GRAPHS_MART`. */
    envName: string;
    /** PostgreSQL schema holding the catalog's metadata. */
    schema: pulumi.Input<string>;
    /** Key prefix of the catalog's data files inside the bucket. */
    s3Prefix: pulumi.Input<string>;
}

/**
 * The values the mlserver's environment is built from; every one comes from stack config. The PostgreSQL and S3
 * endpoints are as seen from the mlserver container; the password and the S3 keys are passed on as secrets.
 */
export interface MlserverEnvironment extends Inputs<PostgresEndpoint & S3Endpoint & S3Credentials> {
    /** Secret: passed on as a secret Output, never as plain text. */
    postgresPassword: pulumi.Input<string>;
    s3ExportsPrefix: pulumi.Input<string>;
    s3BackupsPrefix: pulumi.Input<string>;
    mlflowTrackingUri: pulumi.Input<string>;
    kafkaBrokerEndpoint: pulumi.Input<string>;
    /** Each catalog adds `S3_<CATALOG>_PREFIX` and `PSQL_CATALOG_<CATALOG>_SCHEMA`; order is kept. */
    catalogs: MlserverCatalog[];
}

/** Where the mlserver's image is built from: a checkout of the DataLab repository. */
export interface MlserverBuild {
    /** Absolute path of the build context, the repository's root (compose's `context: ../../../`). */
    context: string;
    /** The Dockerfile, relative to `context`, e.g. `infra/apps/docker/mlserver/Dockerfile`. */
    dockerfile: string;
}

/** Where the mlserver runs and how it is published. */
export interface MlserverPlacement {
    /**
     * Docker daemon that runs the mlserver, and builds its image when `build` is set: `ssh://user@host`,
     * `tcp://host:2375` or `unix:///var/run/docker.sock`. Changing it moves the container to another daemon
     * (a delete and a create).
     */
    dockerHost: string;
    /**
     * Compose project whose labels the container carries, so `docker compose -p <project> ps` lists it.
     * Part of the container name, so changing it replaces the container.
     */
    composeProject: string;
    /** Host port published for the mlserver's port 8000. */
    hostPort: pulumi.Input<number>;
}

/** The mlserver's image: exactly one of a registry image and a build. */
export type MlserverImageSource =
    | {
          /**
           * Registry image of the mlserver, e.g. `gitlab:5050/datalabtechtv/datalab/mlserver:<commit>`. Use a tag
           * that changes with every build, or a digest: a moved tag is not pulled again. A change replaces the
           * container.
           */
          image: pulumi.Input<string>;
          build?: undefined;
      }
    | {
          /**
           * Build the image from the repository's Dockerfile on `dockerHost` and run it from there, with no
           * registry. A change to the build context builds again; a new image replaces the container.
           */
          build: MlserverBuild;
          image?: undefined;
      };

export type MlserverArgs = MlserverEnvironment & MlserverPlacement & MlserverImageSource;

/**
 * The DataLab mlserver as a Docker container, configured for the PostgreSQL catalogs. index.ts passes the
 * catalog migrations in `opts.dependsOn`, so the container only changes after every migration succeeded.
 */
export class Mlserver extends pulumi.ComponentResource {
    public readonly container: docker.Container;
    public readonly image: docker.RemoteImage;
    /** The build of the image; undefined when the mlserver runs a registry image. */
    public readonly build?: dockerBuild.Image;

    constructor(name: string, args: MlserverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lakehouse-catalog:consumers:Mlserver", name, {}, opts);

        const { composeProject } = args;
        const problems = mlserverArgsProblems(args);
        if (problems.length > 0) {
            throw new pulumi.ResourceError(problems.join("\n"), this);
        }

        const provider = new docker.Provider(`${name}-docker`, { host: args.dockerHost }, { parent: this });
        let imageArgs: docker.RemoteImageArgs;
        if (args.build === undefined) {
            imageArgs = { name: args.image, keepLocally: true };
        } else {
            // The build runs on the daemon that runs the container, through its own provider for the same host.
            const buildProvider = new dockerBuild.Provider(
                `${name}-docker-build`,
                { host: args.dockerHost },
                { parent: this },
            );
            this.build = new dockerBuild.Image(`${name}-build`, mlserverBuildArgs(args.build, composeProject), {
                parent: this,
                provider: buildProvider,
            });
            imageArgs = builtImageArgs(composeProject, this.build.digest);
        }
        // Kept on the host so a replaced container can be rolled back to without another pull or build.
        this.image = new docker.RemoteImage(`${name}-image`, imageArgs, { parent: this, provider });
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: composeContainerName(composeProject, MLSERVER_SERVICE),
                image: this.image.imageId,
                envs: buildMlserverEnv(args),
                ports: [{ internal: MLSERVER_PORT, external: args.hostPort }],
                restart: "unless-stopped",
                healthcheck: MLSERVER_HEALTHCHECK,
                // `pulumi up` fails instead of reporting success while the server never turns healthy:
                // 5 retries at 10 s take about a minute, the rest is start-up time.
                wait: true,
                waitTimeout: 120,
                labels: composeLabels(composeProject, MLSERVER_SERVICE),
            },
            {
                parent: this,
                provider,
                // Children do not inherit the component's dependsOn; the container is what must wait.
                dependsOn: opts?.dependsOn,
                // Docker cannot change a container's env or image in place; the fixed name and host port also
                // forbid a second container next to the old one, so the old one goes first.
                deleteBeforeReplace: true,
                // The provider returns env as a set in its own order, so per-element secrecy from the inputs
                // could land on the wrong elements in state; marking the whole output secret is always safe.
                // Inputs keep per-variable secrecy, which is what `pulumi preview` diffs.
                additionalSecretOutputs: ["envs"],
            },
        );

        this.registerOutputs({ container: this.container, image: this.image, build: this.build });
    }
}

const MLSERVER_SERVICE = "mlserver";
const MLSERVER_PORT = 8000;

/** Same probe as the original compose service; GET /health answers 200 once the app is up. */
const MLSERVER_HEALTHCHECK = {
    tests: ["CMD", "curl", "-f", `http://localhost:${MLSERVER_PORT}/health`],
    interval: "10s",
    retries: 5,
};

/**
 * The build of the mlserver's image, with docker-build: Pulumi's current way to build (the `Image` of `@pulumi/docker`
 * points there), BuildKit with `.dockerignore` and cache. The image is loaded into the daemon that runs the
 * container, so no registry and no registry credentials are needed; an image for a registry is the pipeline's
 * job, and the stack runs it with `image` instead.
 */
export function mlserverBuildArgs(build: MlserverBuild, composeProject: string): dockerBuild.ImageArgs {
    return {
        context: { location: build.context },
        // Relative Dockerfile paths would resolve against the provider's working directory, not the context.
        dockerfile: { location: path.resolve(build.context, build.dockerfile) },
        tags: [builtImageTag(composeProject)],
        load: true,
        push: false,
        // A preview would run the whole build on the mlserver's host and throw the result away; a broken build
        // fails `pulumi up` before the container is touched, and the Dockerfile's syntax is checked either way.
        buildOnPreview: false,
    };
}

/**
 * The built image as the container finds it: by its tag, read on the daemon, so the container runs the daemon's
 * own image id. The build's digest is not used as the reference itself: with a BuildKit container builder it is the
 * manifest digest, which the classic image store does not know as an image id.
 */
export function builtImageArgs(composeProject: string, digest: pulumi.Input<string>): docker.RemoteImageArgs {
    return {
        name: builtImageTag(composeProject),
        keepLocally: true,
        // A new build keeps the tag but changes the digest; replacing this resource reads the tag again, and the
        // new image id replaces the container.
        triggers: { digest },
    };
}

/**
 * `<project>-mlserver` is the name `docker compose build` gives the service's image; the `pulumi` tag keeps a
 * `compose build` from moving the stack's image.
 */
function builtImageTag(composeProject: string): string {
    return `${composeProject}-${MLSERVER_SERVICE}:pulumi`;
}

/**
 * Builds the mlserver's `NAME=value` list in the order of the original compose file. Each variable is its own
 * Output, so only the password and the S3 keys are secret and a preview names the variable that changed.
 */
export function buildMlserverEnv(env: MlserverEnvironment): pulumi.Output<string>[] {
    const variables: [string, pulumi.Input<string | number | boolean>][] = [
        ["MLFLOW_TRACKING_URI", env.mlflowTrackingUri],
        ["KAFKA_BROKER_ENDPOINT", env.kafkaBrokerEndpoint],
        ["S3_ENDPOINT", env.s3Endpoint],
        ["S3_USE_SSL", env.s3UseSsl],
        ["S3_URL_STYLE", env.s3UrlStyle],
        ["S3_ACCESS_KEY_ID", pulumi.secret(env.s3AccessKeyId)],
        ["S3_SECRET_ACCESS_KEY", pulumi.secret(env.s3SecretAccessKey)],
        ["S3_REGION", env.s3Region],
        ["S3_BUCKET", env.s3Bucket],
        ...env.catalogs.map((catalog): [string, pulumi.Input<string>] => [
            `S3_${catalog.envName}_PREFIX`,
            catalog.s3Prefix,
        ]),
        ["S3_EXPORTS_PREFIX", env.s3ExportsPrefix],
        ["S3_BACKUPS_PREFIX", env.s3BackupsPrefix],
        ["PSQL_CATALOG_HOST", env.postgresHost],
        ["PSQL_CATALOG_PORT", env.postgresPort],
        ["PSQL_CATALOG_DB", env.postgresDatabase],
        ["PSQL_CATALOG_USER", env.postgresUser],
        ["PSQL_CATALOG_PASSWORD", pulumi.secret(env.postgresPassword)],
        ...env.catalogs.map((catalog): [string, pulumi.Input<string>] => [
            `PSQL_CATALOG_${catalog.envName}_SCHEMA`,
            catalog.schema,
        ]),
    ];
    return variables.map(([variable, value]) => pulumi.interpolate`${variable}=${value}`);
}

/**
 * The labels `docker compose` selects a project's containers by: `ps` filters on the project label and
 * `oneoff=False`, and shows the service label; the container number completes the `<project>-<service>-1` name.
 */
function composeLabels(project: string, service: string): docker.types.input.ContainerLabel[] {
    return [
        { label: "com.docker.compose.project", value: project },
        { label: "com.docker.compose.service", value: service },
        { label: "com.docker.compose.oneoff", value: "False" },
        { label: "com.docker.compose.container-number", value: "1" },
    ];
}

function composeContainerName(project: string, service: string): string {
    return `${project}-${service}-1`;
}

/**
 * What a direct caller could get wrong that the types cannot rule out, each named by its key in the args. The
 * stack's config has passed its own, stricter rules by the time index.ts builds these args (config.ts).
 */
export function mlserverArgsProblems(args: {
    catalogs: readonly Pick<MlserverCatalog, "envName">[];
    image?: unknown;
    build?: MlserverBuild;
}): string[] {
    const problems: string[] = [];
    if (args.image === undefined && args.build === undefined) {
        problems.push(
            "`image` or `build` must be set (the mlserver runs a registry image or a build of its Dockerfile); " +
                "got neither",
        );
    }
    if (args.image !== undefined && args.build !== undefined) {
        problems.push(
            "`image` and `build` must not both be set (the mlserver runs a registry image or a build of its " +
                "Dockerfile, not both); got both",
        );
    }
    if (args.build !== undefined && !path.isAbsolute(args.build.context)) {
        problems.push(
            "`build.context` must be an absolute path (the build provider has its own working directory); " +
                `got ${JSON.stringify(args.build.context)}`,
        );
    }
    if (args.build !== undefined && (args.build.dockerfile.trim() === "" || path.isAbsolute(args.build.dockerfile))) {
        problems.push(
            "`build.dockerfile` must be a path relative to `build.context` (the Dockerfile is part of the " +
                `checkout); got ${JSON.stringify(args.build.dockerfile)}`,
        );
    }
    // Docker keeps one value per variable name: a repeated name would silently drop a catalog or a prefix.
    const owners = new Map<string, string>(MLSERVER_OWN_PREFIX_VARIABLES.map((name) => [name, "the mlserver's own"]));
    args.catalogs.forEach((catalog, index) => {
        const key = `catalogs[${index}].envName`;
        const variable = `S3_${catalog.envName}_PREFIX`;
        const owner = owners.get(variable);
        if (owner !== undefined) {
            problems.push(
                `\`${key}\` must give variable names no other value gives (${variable} is already ${owner}); ` +
                    `got ${JSON.stringify(catalog.envName)}`,
            );
        }
        owners.set(variable, `\`${key}\`'s`);
    });
    return problems;
}

/** The `S3_*_PREFIX` variables the mlserver's environment sets whatever the catalogs are. */
const MLSERVER_OWN_PREFIX_VARIABLES = ["S3_EXPORTS_PREFIX", "S3_BACKUPS_PREFIX"];
