import * as pulumi from "@pulumi/pulumi";

/** One resource registration, read from the request the engine would receive. */
export interface Registration {
    type: string;
    name: string;
    /** Inputs as sent, secrets still wrapped: a secret shows up as `{ secret: <value> }`. */
    inputs: Record<string, unknown>;
    provider: string;
    version: string;
    additionalSecretOutputs: string[];
}

interface StructLike {
    toJavaScript(): Record<string, unknown>;
}

interface RegisterResourceRequest {
    getName(): string;
    getType(): string;
    getProvider(): string;
    getVersion(): string;
    getAdditionalsecretoutputsList(): string[];
    getObject(): StructLike | undefined;
}

type RegisterResource = (request: RegisterResourceRequest, callback: unknown) => Promise<void>;

// The wire encoding of a secret (sdk/nodejs/runtime/rpc.ts `specialSigKey`/`specialSecretSig`).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function revealSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(revealSecrets);
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) {
            return { secret: revealSecrets(record.value) };
        }
        return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, revealSecrets(inner)]));
    }
    return value;
}

/**
 * Installs Pulumi mocks and records every registration straight from the engine request, which is the only
 * place that shows the `version` option and which inputs travel as secrets.
 */
export async function installRecordingMocks(registrations: Registration[]): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => {
                throw new Error(`Mock not implemented: ${args.token}`);
            },
        },
        "lakehouse-catalog",
        "dev",
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: RegisterResource };
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
        registrations.push({
            type: request.getType(),
            name: request.getName(),
            inputs: revealSecrets(request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
            provider: request.getProvider(),
            version: request.getVersion(),
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
        });
        return registerResource(request, callback);
    };
}

/** Resolves an Output, or any Input, to its value. */
export function valueOf<T>(input: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((resolve) => pulumi.output(input).apply(resolve));
}

/** Waits until the component's children have been sent to the engine. */
export async function settled(resource: pulumi.Resource): Promise<void> {
    await valueOf(resource.urn);
    await new Promise((resolve) => setTimeout(resolve, 50));
}
