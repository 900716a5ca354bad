-- DuckDB init script for the lakehouse catalogs, rendered by the lakehouse-catalog stack: do not edit by hand.
-- Secrets are read from the environment by the DuckDB CLI's getenv() (DuckDB >= 1.3 accepts expressions in
-- CREATE SECRET): export PSQL_CATALOG_PASSWORD, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, then run
-- `duckdb -init init.sql`.
-- No INSTALL parquet: it is built into DuckDB, and INSTALL would still fetch it from the extension repository.
INSTALL httpfs;
INSTALL postgres;
INSTALL ducklake;

CREATE OR REPLACE SECRET minio (
    TYPE s3,
    PROVIDER config,
    KEY_ID getenv('S3_ACCESS_KEY_ID'),
    SECRET getenv('S3_SECRET_ACCESS_KEY'),
    ENDPOINT ${s3Endpoint},
    USE_SSL ${s3UseSsl},
    URL_STYLE ${s3UrlStyle},
    REGION ${s3Region}
);

CREATE OR REPLACE SECRET postgres (
    TYPE postgres,
    HOST ${postgresHost},
    PORT ${postgresPort},
    DATABASE ${postgresDatabase},
    USER ${postgresUser},
    PASSWORD getenv('PSQL_CATALOG_PASSWORD')
);

CREATE OR REPLACE SECRET (
    TYPE ducklake,
    METADATA_PATH '',
    METADATA_PARAMETERS MAP {'TYPE': 'postgres', 'SECRET': 'postgres'}
);

${attachments}
