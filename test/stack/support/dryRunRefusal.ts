// Runs one CatalogMigration under mocks whose dry run refuses, the way a preview would, and lets the program
// fail as Pulumi's runtime makes it fail: on the component's rejected outputs. Usage: <sqlite file> <message>.
import { CatalogMigration } from "../../../components/catalogMigration";
import { installMocks, PROJECT_DIR } from "../../support/pulumiMocks";

async function main(sqlitePath: string, refusal: string): Promise<void> {
    const harness = await installMocks();
    harness.onRun = () => {
        // The engine reports a failed invoke as a gRPC error whose `details` carry the provider's message.
        throw Object.assign(new Error(refusal), { details: refusal });
    };
    new CatalogMigration("stage", {
        catalog: "stage",
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

void main(process.argv[2], process.argv[3]);
