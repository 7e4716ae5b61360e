/**
 * pg_restore errors that are known not to change the result, so that a restore is judged by its
 * row and catalog checks rather than failed by noise. Each pattern is an error pg_restore reports
 * although the database ends up as the archive describes it; anything else is a real error.
 * The errors are errorLines() entries: the message, then "Command was: ..." and any DETAIL/HINT.
 */
import { failedPlatformExtension, isReservedRole, unquoteName, type Preset } from "./supabase-preset.js";

export interface BenignPattern {
  /** Why the error leaves the restored database as the archive describes it. */
  why: string;
  test(error: string): boolean;
}

export const BENIGN_RESTORE_ERRORS: readonly BenignPattern[] = [
  {
    // --clean drops each partition's copy of its parent's primary key or unique constraint
    // before the parent's; PostgreSQL refuses (the parent's drop removes it), and the parent's
    // constraint, recreated later, attaches to the partitions again.
    why: "a partition's inherited constraint goes with its partitioned table's",
    test: (error) =>
      /cannot drop inherited constraint /.test(error) && /Command was: ALTER TABLE /.test(error),
  },
  {
    // The archive creates a schema the database always has (public, from template0 or a dump
    // with --schema public): it is there, with the archive's owner and grants applied after.
    why: "the schema exists already",
    test: (error) => /schema "[^"]+" already exists/.test(error) && /Command was: CREATE SCHEMA /.test(error),
  },
  {
    // A drop of something that is not there (a clean restore into a database that lacks part of
    // the archive; IF EXISTS does not cover the table an ALTER TABLE ... DROP names).
    why: "dropping an object that does not exist",
    test: (error) =>
      /does not exist/.test(error) &&
      /Command was: (DROP |ALTER TABLE (IF EXISTS )?(ONLY )?\S+ DROP )/.test(error),
  },
];

/**
 * pg_restore's errors split into those that count and those known to be benign (with why). With
 * the supabase preset, the platform's extensions a plain server lacks (pg_graphql in graphql,
 * supabase_vault in vault, pg_cron in pg_catalog) and the comments on them are benign too: the dump
 * carries their CREATE EXTENSION IF NOT EXISTS, and the catalog comparison leaves them out.
 */
export function classifyRestoreErrors(
  errors: readonly string[],
  preset: Preset = "none",
): {
  real: string[];
  benign: { error: string; why: string }[];
} {
  const real: string[] = [];
  const benign: { error: string; why: string }[] = [];
  const platformExtensions = new Set<string>();
  for (const error of errors) {
    const known = BENIGN_RESTORE_ERRORS.find((pattern) => pattern.test(error));
    const platform = preset === "supabase" ? failedPlatformExtension(error) : undefined;
    const comment = /Command was: COMMENT ON EXTENSION ("(?:[^"]|"")+"|[^\s;]+) IS /.exec(error)?.[1];
    if (known) benign.push({ error, why: known.why });
    else if (preset === "supabase" && isPlatformEventTriggerOwner(error)) {
      benign.push({
        error,
        why: "a platform's event trigger stays with the restoring superuser: its owner, a role of the Supabase platform's, is no superuser on this server",
      });
    } else if (platform) {
      platformExtensions.add(platform.extension);
      benign.push({
        error,
        why: `an extension the Supabase platform installs (in schema ${platform.schema}), which this server lacks`,
      });
    } else if (comment && platformExtensions.has(unquoteName(comment))) {
      benign.push({ error, why: "the comment on a platform extension this server lacks" });
    } else real.push(error);
  }
  return { real, benign };
}

/**
 * ALTER EVENT TRIGGER ... OWNER TO a platform role (supabase_admin, a superuser in a project) that
 * the target has as an ordinary role: refused, and the trigger, created by the restoring superuser,
 * works as it is. The catalog comparison lists the owner as a warning.
 */
function isPlatformEventTriggerOwner(error: string): boolean {
  const owner =
    /permission denied to change owner of event trigger .*Command was: ALTER EVENT TRIGGER \S+ OWNER TO ("(?:[^"]|"")+"|[^\s;]+);/.exec(
      error,
    );
  return owner !== null && isReservedRole(unquoteName(owner[1]!), "supabase");
}
