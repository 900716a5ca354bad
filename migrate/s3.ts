/**
 * How an S3 endpoint is addressed, shared by the backup command and the stack's config and components (nothing here
 * imports Pulumi or the AWS SDK, so the stack can load it cheaply).
 */
export const S3_URL_STYLES = ["path", "vhost"] as const;
/** S3 addressing: `path` (`host/bucket/key`, what MinIO needs) or `vhost` (`bucket.host/key`). */
export type S3UrlStyle = (typeof S3_URL_STYLES)[number];
