// Runs one CatalogMigration under mocks whose dry run fails, the way a preview would, and lets the program fail as
// Pulumi's runtime makes it fail: on the component's rejected outputs.
// Usage: <sqlite file> refused|login-refused|invoke-error <message> [preview]. `refused`, `login-refused`: the
// migrate command refused (exit 1, reported as JSON on stdout, with that reason); `invoke-error`: the command failed
// otherwise, so the invoke itself failed. With `preview`, the program runs as under `pulumi preview`.
import { CatalogMigration } from "../../../components/catalogMigration";
import { installMocks, PROJECT_DIR } from "../../support/pulumiMocks";

async function main(sqlitePath: string, kind: string, message: string, mode?: string): Promise<void> {
    const harness = await installMocks(mode === "preview");
    harness.onRun = () => {
        if (kind === "refused" || kind === "login-refused") {
            return { stdout: JSON.stringify({ status: "refused", reason: kind, message }), stderr: "" };
        }
        // The engine reports a failed invoke as a gRPC error whose `details` carry the provider's message.
        throw Object.assign(new Error(message), { details: message });
    };
    new CatalogMigration("stage", {
        sqlitePath,
        schema: "stage",
        postgresHost: "localhost",
        postgresPort: 5432,
        postgresDatabase: "lakehouse",
        postgresUser: "lakehouse",
        postgresPassword: "unused",
        postgresSslMode: "disable",
        projectDir: PROJECT_DIR,
    });
}

void main(process.argv[2], process.argv[3], process.argv[4], process.argv[5]);
