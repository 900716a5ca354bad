import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitlabVariables, maskingProblems, unmaskableValueMessage } from "../../components/gitlabVariables";
import { allRegistered, installMocks, type Registration } from "../support/pulumiMocks";

describe("maskingProblems", () => {
    // GitLab's own examples for masked raw variables (spec/models/concerns/ci/maskable_spec.rb) pass.
    it.each(["helloworld", "hello$VARIABLEworld", "Hello+World_123/@:-~.", "HelloWorld%#^", "hell******world"])(
        "accepts %j",
        (value) => {
            expect(maskingProblems(value)).toEqual([]);
        },
    );

    it("accepts exactly 8 characters, counted as characters rather than UTF-16 units", () => {
        expect(maskingProblems("12345678")).toEqual([]);
        expect(maskingProblems("pässwörd")).toEqual([]);
        expect(maskingProblems("🔑🔑🔑🔑🔑🔑🔑")).toEqual(["it is shorter than 8 characters"]);
    });

    it.each([
        ["hello", ["it is shorter than 8 characters"]],
        ["", ["it is shorter than 8 characters"]],
        ["hello world", ["it contains whitespace"]],
        ["tab\tseparated", ["it contains whitespace"]],
        ["line-one\nline-two", ["it spans more than one line"]],
        ["carriage-return\r", ["it spans more than one line"]],
        ["a b\nc", ["it spans more than one line", "it contains whitespace", "it is shorter than 8 characters"]],
    ])("refuses %j: %j", (value, problems) => {
        expect(maskingProblems(value)).toEqual(problems);
    });
});

describe("unmaskableValueMessage", () => {
    const password = { key: "PSQL_CATALOG_PASSWORD", source: "config `lakehouse-catalog:rolePassword`" };

    it("is undefined for a maskable value", () => {
        expect(unmaskableValueMessage(password, "long-enough-password")).toBeUndefined();
    });

    it("names the variable, the source, the rule and the fix, and never the value", () => {
        const message = unmaskableValueMessage(password, "pw 1");
        expect(message).toBe(
            "GitLab cannot mask `PSQL_CATALOG_PASSWORD` (from config `lakehouse-catalog:rolePassword`): it contains " +
                "whitespace, it is shorter than 8 characters. Set it to a single line of at least 8 characters " +
                "without whitespace (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable).",
        );
        expect(message).not.toContain("pw 1");
    });
});

describe("GitlabVariables with a secret GitLab cannot mask", () => {
    let registrations: Registration[];
    const failures: unknown[] = [];
    let runnerListeners: NodeJS.UnhandledRejectionListener[] = [];
    const capture = (reason: unknown): void => {
        failures.push(reason);
    };

    beforeAll(async () => {
        ({ registrations } = await installMocks());
    });

    // A failed registration surfaces as an unhandled rejection, which the Pulumi CLI reports as the program's
    // error. Here it is captured instead of failing the test run, so that it can be asserted.
    beforeEach(() => {
        registrations.length = 0;
        failures.length = 0;
        runnerListeners = process.listeners("unhandledRejection");
        process.removeAllListeners("unhandledRejection");
        process.on("unhandledRejection", capture);
    });

    afterEach(() => {
        process.removeListener("unhandledRejection", capture);
        for (const listener of runnerListeners) {
            process.on("unhandledRejection", listener);
        }
    });

    it("registers no variable with an unmaskable value and fails with one error per such variable", async () => {
        new GitlabVariables("gitlab", {
            project: "42",
            baseUrl: "https://gitlab.example.com/api/v4/",
            pulumiStack: "dev",
            pulumiBackendUrl: pulumi.secret("s3://pulumi-state"),
            pulumiConfigPassphrase: pulumi.secret("short"),
            gitlabToken: pulumi.secret("glpat-0123456789"),
            postgresHost: "docker-shared",
            postgresPort: 5432,
            postgresDatabase: "lakehouse",
            postgresUser: "lakehouse",
            postgresPassword: pulumi.secret("two\nlines-password"),
            catalogs: [{ envName: "STAGE", schema: "stage", s3Prefix: "stage" }],
            s3Endpoint: "minio:9000",
            s3Bucket: "lakehouse",
            s3Region: "eu-west-1",
            s3UseSsl: false,
            s3UrlStyle: "path",
            s3AccessKeyId: pulumi.secret("minio_username"),
            s3SecretAccessKey: pulumi.secret("minio_password"),
            mlflowTrackingUri: "http://mlflow:5000",
            kafkaBrokerEndpoint: "kafka:9092",
        });
        await allRegistered();
        await new Promise((resolve) => setTimeout(resolve, 200));

        // The same rejection reaches several awaiters; the Pulumi runtime reports each error object once.
        const distinct = [...new Set(failures)];
        const messages = distinct.map((failure) => (failure instanceof Error ? failure.message : String(failure)));
        expect(messages.sort()).toEqual([
            'error serializing property "value": GitLab cannot mask `PSQL_CATALOG_PASSWORD` (from config ' +
                "`lakehouse-catalog:rolePassword`): it spans more than one line. Set it to a single line of at " +
                "least 8 characters without whitespace (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable).",
            'error serializing property "value": GitLab cannot mask `PULUMI_CONFIG_PASSPHRASE` (from the ' +
                "`PULUMI_CONFIG_PASSPHRASE` environment variable): it is shorter than 8 characters. Set it to a " +
                "single line of at least 8 characters without whitespace " +
                "(https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable).",
        ]);
        for (const failure of distinct) {
            expect(failure).toBeInstanceOf(pulumi.ResourceError);
        }

        const registered = registrations
            .filter((r) => r.type === "gitlab:index/projectVariable:ProjectVariable")
            .map((r) => r.name);
        expect(registered).not.toContain("gitlab-PULUMI_CONFIG_PASSPHRASE");
        expect(registered).not.toContain("gitlab-PSQL_CATALOG_PASSWORD");
        expect(registered).toContain("gitlab-S3_SECRET_ACCESS_KEY");
    });
});
