// Runs one CatalogMigration under mocks whose dry run fails, the way a preview would, and lets the program fail as
// Pulumi's runtime makes it fail: on the component's rejected outputs.
// Usage: <sqlite file> refused|invoke-error <message>. `refused`: the migrate command refused (exit 1, reported as
// JSON on stdout); `invoke-error`: the command failed otherwise, so the invoke itself failed.
import { CatalogMigration } from "../../../components/catalogMigration";
import { installMocks, PROJECT_DIR } from "../../support/pulumiMocks";

async function main(sqlitePath: string, kind: string, message: string): Promise<void> {
    const harness = await installMocks();
    harness.onRun = () => {
        if (kind === "refused") {
            return { stdout: JSON.stringify({ status: "refused", reason: "refused", message }), stderr: "" };
        }
        // The engine reports a failed invoke as a gRPC error whose `details` carry the provider's message.
        throw Object.assign(new Error(message), { details: message });
    };
    new CatalogMigration("stage", {
        sqlitePath,
        schema: "stage",
        host: "localhost",
        port: 5432,
        database: "lakehouse",
        user: "lakehouse",
        password: "unused",
        sslMode: "disable",
        projectDir: PROJECT_DIR,
    });
}

void main(process.argv[2], process.argv[3], process.argv[4]);
