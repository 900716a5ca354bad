ATTACH 'ducklake:' AS ${alias} (METADATA_SCHEMA ${schema}, DATA_PATH ${dataPath}${encrypted});
