-- DuckLake spec 1.1: the catalog tables exactly as DuckLake's PostgreSQL backend creates them (same
-- tables, column order and types). DuckLake inserts by position, so the column order is part of the contract.
-- :"schema" is the quoted target schema (psql variable syntax, so `psql -v schema=x -f` runs this file too).
-- Provenance: no DuckLake 1.1 binary and no source tagged at the 1.1 release (2026-10-21) is reachable here, so
-- this is DuckLake's source: the 1.1 metadata manager's CREATE TABLE statements
-- (src/metadata_manager/ducklake_metadata_manager_v1_1.cpp) and its 1.0 -> 1.1 migration query
-- (V1_1_DEV1_MIGRATION_QUERY in src/storage/ducklake_metadata_manager.cpp), in the newest copies the public code
-- index holds, which carry no commit id. The two agree column for column: 1.0 plus row_group_count on data and
-- delete files, min_is_exact/max_is_exact on file and table column stats, ducklake_schema.parent_schema_id, each
-- appended, and ducklake_view_column_tag. duckdb/ducklake@2ed0a0be8931 (main, 2026-08-20, the newest mirrored
-- commit) has only the first and last of those. The 1.1 docs confirm nested schemas and view column tags as 1.1
-- features. Types are the PostgreSQL backend's for DuckDB BIGINT/BOOLEAN/VARCHAR.

CREATE TABLE :"schema".ducklake_metadata (
    key character varying NOT NULL,
    value character varying NOT NULL,
    scope character varying,
    scope_id bigint
);

CREATE TABLE :"schema".ducklake_snapshot (
    snapshot_id bigint,
    snapshot_time timestamp with time zone,
    schema_version bigint,
    next_catalog_id bigint,
    next_file_id bigint
);

CREATE TABLE :"schema".ducklake_snapshot_changes (
    snapshot_id bigint,
    changes_made character varying,
    author character varying,
    commit_message character varying,
    commit_extra_info character varying
);

CREATE TABLE :"schema".ducklake_schema (
    schema_id bigint,
    schema_uuid uuid,
    begin_snapshot bigint,
    end_snapshot bigint,
    schema_name character varying,
    path character varying,
    path_is_relative boolean,
    parent_schema_id bigint
);

CREATE TABLE :"schema".ducklake_table (
    table_id bigint,
    table_uuid uuid,
    begin_snapshot bigint,
    end_snapshot bigint,
    schema_id bigint,
    table_name character varying,
    path character varying,
    path_is_relative boolean
);

CREATE TABLE :"schema".ducklake_view (
    view_id bigint,
    view_uuid uuid,
    begin_snapshot bigint,
    end_snapshot bigint,
    schema_id bigint,
    view_name character varying,
    dialect character varying,
    sql character varying,
    column_aliases character varying
);

CREATE TABLE :"schema".ducklake_tag (
    object_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint,
    key character varying,
    value character varying
);

CREATE TABLE :"schema".ducklake_column_tag (
    table_id bigint,
    column_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint,
    key character varying,
    value character varying
);

CREATE TABLE :"schema".ducklake_data_file (
    data_file_id bigint,
    table_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint,
    file_order bigint,
    path character varying,
    path_is_relative boolean,
    file_format character varying,
    record_count bigint,
    file_size_bytes bigint,
    footer_size bigint,
    row_id_start bigint,
    partition_id bigint,
    encryption_key character varying,
    mapping_id bigint,
    partial_max bigint,
    row_group_count bigint
);

CREATE TABLE :"schema".ducklake_file_column_stats (
    data_file_id bigint,
    table_id bigint,
    column_id bigint,
    column_size_bytes bigint,
    value_count bigint,
    null_count bigint,
    min_value character varying,
    max_value character varying,
    contains_nan boolean,
    extra_stats character varying,
    min_is_exact boolean,
    max_is_exact boolean
);

CREATE TABLE :"schema".ducklake_file_variant_stats (
    data_file_id bigint,
    table_id bigint,
    column_id bigint,
    variant_path character varying,
    shredded_type character varying,
    column_size_bytes bigint,
    value_count bigint,
    null_count bigint,
    min_value character varying,
    max_value character varying,
    contains_nan boolean,
    extra_stats character varying
);

CREATE TABLE :"schema".ducklake_delete_file (
    delete_file_id bigint,
    table_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint,
    data_file_id bigint,
    path character varying,
    path_is_relative boolean,
    format character varying,
    delete_count bigint,
    file_size_bytes bigint,
    footer_size bigint,
    encryption_key character varying,
    partial_max bigint,
    row_group_count bigint
);

CREATE TABLE :"schema".ducklake_column (
    column_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint,
    table_id bigint,
    column_order bigint,
    column_name character varying,
    column_type character varying,
    initial_default character varying,
    default_value character varying,
    nulls_allowed boolean,
    parent_column bigint,
    default_value_type character varying,
    default_value_dialect character varying
);

CREATE TABLE :"schema".ducklake_table_stats (
    table_id bigint,
    record_count bigint,
    next_row_id bigint,
    file_size_bytes bigint
);

CREATE TABLE :"schema".ducklake_table_column_stats (
    table_id bigint,
    column_id bigint,
    contains_null boolean,
    contains_nan boolean,
    min_value character varying,
    max_value character varying,
    extra_stats character varying,
    min_is_exact boolean,
    max_is_exact boolean
);

CREATE TABLE :"schema".ducklake_partition_info (
    partition_id bigint,
    table_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint
);

CREATE TABLE :"schema".ducklake_partition_column (
    partition_id bigint,
    table_id bigint,
    partition_key_index bigint,
    column_id bigint,
    transform character varying
);

CREATE TABLE :"schema".ducklake_file_partition_value (
    data_file_id bigint,
    table_id bigint,
    partition_key_index bigint,
    partition_value character varying
);

CREATE TABLE :"schema".ducklake_files_scheduled_for_deletion (
    data_file_id bigint,
    path character varying,
    path_is_relative boolean,
    schedule_start timestamp with time zone
);

CREATE TABLE :"schema".ducklake_inlined_data_tables (
    table_id bigint,
    table_name character varying,
    schema_version bigint
);

CREATE TABLE :"schema".ducklake_column_mapping (
    mapping_id bigint,
    table_id bigint,
    type character varying
);

CREATE TABLE :"schema".ducklake_name_mapping (
    mapping_id bigint,
    column_id bigint,
    source_name character varying,
    target_field_id bigint,
    parent_column bigint,
    is_partition boolean
);

CREATE TABLE :"schema".ducklake_schema_versions (
    begin_snapshot bigint,
    schema_version bigint,
    table_id bigint
);

CREATE TABLE :"schema".ducklake_macro (
    schema_id bigint,
    macro_id bigint,
    macro_name character varying,
    begin_snapshot bigint,
    end_snapshot bigint
);

CREATE TABLE :"schema".ducklake_macro_impl (
    macro_id bigint,
    impl_id bigint,
    dialect character varying,
    sql character varying,
    type character varying
);

CREATE TABLE :"schema".ducklake_macro_parameters (
    macro_id bigint,
    impl_id bigint,
    column_id bigint,
    parameter_name character varying,
    parameter_type character varying,
    default_value character varying,
    default_value_type character varying
);

CREATE TABLE :"schema".ducklake_sort_info (
    sort_id bigint,
    table_id bigint,
    begin_snapshot bigint,
    end_snapshot bigint
);

CREATE TABLE :"schema".ducklake_sort_expression (
    sort_id bigint,
    table_id bigint,
    sort_key_index bigint,
    expression character varying,
    dialect character varying,
    sort_direction character varying,
    null_order character varying
);

CREATE TABLE :"schema".ducklake_view_column_tag (
    view_id bigint,
    column_name character varying,
    begin_snapshot bigint,
    end_snapshot bigint,
    key character varying,
    value character varying
);

-- Primary keys. The migration adds them after the load, which is faster than maintaining the indexes row
-- by row; DuckLake declares them inline, so PostgreSQL names them <table>_pkey, as here.
ALTER TABLE :"schema".ducklake_snapshot ADD CONSTRAINT ducklake_snapshot_pkey PRIMARY KEY (snapshot_id);
ALTER TABLE :"schema".ducklake_snapshot_changes ADD CONSTRAINT ducklake_snapshot_changes_pkey PRIMARY KEY (snapshot_id);
ALTER TABLE :"schema".ducklake_schema ADD CONSTRAINT ducklake_schema_pkey PRIMARY KEY (schema_id);
ALTER TABLE :"schema".ducklake_data_file ADD CONSTRAINT ducklake_data_file_pkey PRIMARY KEY (data_file_id);
ALTER TABLE :"schema".ducklake_delete_file ADD CONSTRAINT ducklake_delete_file_pkey PRIMARY KEY (delete_file_id);
