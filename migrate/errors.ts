/**
 * A refusal or failure the user can act on. The message names the input, the problem and the fix, and the
 * target is exactly as it was before the run. The command exits with code 1.
 */
export class MigrationError extends Error {
    override name = "MigrationError";
}

/** The command line itself is wrong. The command exits with code 2. */
export class UsageError extends Error {
    override name = "UsageError";
}
