import * as pulumi from "@pulumi/pulumi";

/** One resource registration as the engine would receive it. */
export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider: string | undefined;
    /** What the engine receives, from the request itself; the mock monitor hands `newResource` none of it. */
    request: RecordedRequest;
}

export interface RecordedRequest {
    /** URNs the resource waits for (explicit `dependsOn` and those implied by input Outputs). */
    dependencies: string[];
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
    /** Inputs as serialized for the engine, with secrets still wrapped in their signature objects. */
    object: Record<string, unknown>;
}

/** How the SDK serializes a secret value on its way to the engine. */
export const SECRET_SIGNATURE = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

interface RegisterResourceRequest {
    getName(): string;
    getType(): string;
    getDependenciesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDeletebeforereplace(): boolean;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

type RegisterResource = (request: RegisterResourceRequest, callback: unknown) => Promise<void>;

/**
 * Installs Pulumi mocks that record every registration. The monitor's `registerResource` is wrapped to keep
 * the parts of the engine request that `newResource` never sees.
 */
export async function installRecordingMocks(registrations: Registration[]): Promise<void> {
    const requestsByResource = new Map<string, RecordedRequest>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registrations.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    provider: args.provider,
                    request: requestsByResource.get(`${args.type}::${args.name}`)!,
                });
                // The container takes the pulled image's ID, which only the real daemon knows.
                const state =
                    args.type === "docker:index/remoteImage:RemoteImage"
                        ? { ...args.inputs, imageId: `sha256:${args.name}` }
                        : args.inputs;
                return { id: `${args.name}-id`, state };
            },
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
        requestsByResource.set(`${request.getType()}::${request.getName()}`, {
            dependencies: request.getDependenciesList(),
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            object: request.getObject()?.toJavaScript() ?? {},
        });
        return registerResource(request, callback);
    };
}

/** Resolves an Output, or any Input, to its value. */
export function valueOf<T>(input: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((resolve) => pulumi.output(input).apply(resolve));
}

export function registrationsOfType(registrations: Registration[], type: string): Registration[] {
    return registrations.filter((registration) => registration.type === type);
}
