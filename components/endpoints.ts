import type * as pulumi from "@pulumi/pulumi";
import type { S3UrlStyle } from "../migrate/s3";

/*
 * Where PostgreSQL and S3 are reached, declared once for every component that connects to them. The fields are
 * flat and prefixed (`postgresHost`, `s3Bucket`) so that an Args interface can extend several of these and stay flat.
 * Secrets (passwords, S3 keys) are separate types: a component that must never hold one (the client config) takes
 * only the endpoints.
 */

export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
/** libpq `sslmode`; `allow` is left out because it silently falls back to plain text after trying TLS. */
export type SslMode = (typeof SSL_MODES)[number];

/** Every field of `T` as a `pulumi.Input`, for Args that take an endpoint's values as outputs of other resources. */
export type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** A PostgreSQL database and the login that uses it, as one client reaches them. */
export interface PostgresEndpoint {
    /** PostgreSQL host as this client reaches it (may differ from the host the stack itself uses). */
    postgresHost: string;
    /** PostgreSQL port as this client reaches it. */
    postgresPort: number;
    /** The database the client connects to. */
    postgresDatabase: string;
    /** The role the client logs in as. */
    postgresUser: string;
}

/** A {@link PostgresEndpoint} with what libpq needs to log in: the password (a secret) and `sslmode`. */
export interface PostgresConnection extends PostgresEndpoint {
    /** Password of `postgresUser`; always passed on as a secret. */
    postgresPassword: string;
    /** libpq `sslmode`. */
    postgresSslMode: SslMode;
}

/** The bucket that holds the catalogs' data files, as one client reaches it. */
export interface S3Endpoint {
    /** `host:port` of the object store as this client reaches it. */
    s3Endpoint: string;
    /** Bucket holding the catalogs' data files. */
    s3Bucket: string;
    /** S3 region; S3 signatures include it, and MinIO needs it to match its own setting. */
    s3Region: string;
    /** Whether the endpoint speaks TLS. */
    s3UseSsl: boolean;
    /** S3 addressing style; MinIO needs `path`. */
    s3UrlStyle: S3UrlStyle;
}

/** The S3 key pair; both halves are passed on as secrets. */
export interface S3Credentials {
    s3AccessKeyId: string;
    s3SecretAccessKey: string;
}
