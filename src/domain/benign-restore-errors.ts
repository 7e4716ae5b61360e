/**
 * pg_restore errors that are known not to change the result, so that a restore is judged by its
 * row and catalog checks rather than failed by noise. Each pattern is an error pg_restore reports
 * although the database ends up as the archive describes it; anything else is a real error.
 * The errors are errorLines() entries: the message, then "Command was: ..." and any DETAIL/HINT.
 */

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

/** pg_restore's errors split into those that count and those known to be benign (with why). */
export function classifyRestoreErrors(errors: readonly string[]): {
  real: string[];
  benign: { error: string; why: string }[];
} {
  const real: string[] = [];
  const benign: { error: string; why: string }[] = [];
  for (const error of errors) {
    const known = BENIGN_RESTORE_ERRORS.find((pattern) => pattern.test(error));
    if (known) benign.push({ error, why: known.why });
    else real.push(error);
  }
  return { real, benign };
}
