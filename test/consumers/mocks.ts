import * as pulumi from "@pulumi/pulumi";

/** One resource registration as the engine would receive it. */
export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider: string | undefined;
    /** URNs the resource waits for (explicit `dependsOn` and those implied by input Outputs). */
    dependencies: string[];
}

interface RegisterResourceRequest {
    getName(): string;
    getType(): string;
    getDependenciesList(): string[];
}

type RegisterResource = (request: RegisterResourceRequest, callback: unknown) => Promise<void>;

/**
 * Installs Pulumi mocks that record every registration. The mock monitor hands `newResource` no dependency
 * list, so its `registerResource` is wrapped to read the URNs straight from the engine request.
 */
export async function installRecordingMocks(registrations: Registration[]): Promise<void> {
    const dependenciesByResource = new Map<string, string[]>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registrations.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    provider: args.provider,
                    dependencies: dependenciesByResource.get(`${args.type}::${args.name}`) ?? [],
                });
                return { id: `${args.name}-id`, state: { ...args.inputs, imageId: `sha256:${args.name}` } };
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
        dependenciesByResource.set(`${request.getType()}::${request.getName()}`, request.getDependenciesList());
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
