/**
 * A refusal or failure the user can act on. The message names the input, the problem and the fix, and the
 * target is exactly as it was before the run. The command exits with code 1.
 */
export class MigrationError extends Error {
    override name = "MigrationError";

    /**
     * @param reason what kind of refusal this is, for callers that act on it (the stack tells "the catalog went on
     * living in PostgreSQL" apart from every other refusal).
     */
    constructor(
        message: string,
        readonly reason: RefusalReason = "refused",
    ) {
        super(message);
    }
}

/**
 * `target-newer`: the target holds this catalog with snapshots the source does not have. `login-refused`:
 * PostgreSQL refused the user or password; a preview meets this while the update it previews changes the role's
 * password, which the server learns only when that update runs.
 */
export type RefusalReason = "refused" | "target-newer" | "login-refused";

/** The command line itself is wrong. The command exits with code 2. */
export class UsageError extends Error {
    override name = "UsageError";
}
