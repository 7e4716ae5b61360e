/**
 * The extra arguments a user may hand to pg_dump (`--pg-dump-args`) and pg_restore
 * (`--pg-restore-args`): read exactly the way the tools' getopt_long reads them, then checked
 * against an allow-list, and passed on in one canonical form.
 *
 * A deny-list of spellings cannot work: glibc's getopt_long takes any unambiguous prefix of a long
 * option (`--dbn=x` is `--dbname=x`), a required argument either after `=` or as the next word
 * (even one that starts with `-`), and clustered short options whose argument is the rest of the
 * cluster (`-Od` is `-O -d`, `-Ofoo` is `-O -f oo`). So the words are tokenized with those rules
 * into (canonical long name, value) pairs, each pair is checked, and what goes on is
 * `--name` / `--name=value`: an exact long name is read the same way by every getopt_long (glibc,
 * BSD, PostgreSQL's own port, which takes no abbreviations), whatever the user typed.
 *
 * The option tables are the union of pg_dump's and pg_restore's `long_options[]` and short-option
 * strings from PostgreSQL 15 to 18, each option tagged with the major that added it. Resolving a
 * prefix against the union is the safe side: a prefix unique in the union is unique (or absent) in
 * every version, and one ambiguous in any version is refused.
 */
import { InputError } from "./errors.js";

export type PgArgsTool = "pg_dump" | "pg_restore";

export interface PgOptionDef {
  /** The long name, without dashes. */
  long: string;
  short?: string;
  takesValue: boolean;
  /** The name this one is another spelling of (`no-acl` for `no-privileges`). */
  aliasOf?: string;
  /** The first major that knows the option (15 when it is older). */
  since: number;
}

type Row = [long: string, short: string | undefined, takesValue: boolean, since?: number, aliasOf?: string];

function table(rows: Row[]): PgOptionDef[] {
  return rows.map(([long, short, takesValue, since, aliasOf]) => ({
    long,
    ...(short ? { short } : {}),
    takesValue,
    since: since ?? 15,
    ...(aliasOf ? { aliasOf } : {}),
  }));
}

// pg_dump.c, REL_15 to REL_18: short options "abBcCd:e:E:f:F:h:j:n:N:Op:RsS:t:T:U:vwWxZ:".
// `--restrict-key` came with 15.14, 16.10 and 17.6.
const PG_DUMP_OPTIONS = table([
  ["data-only", "a", false],
  ["blobs", "b", false],
  ["large-objects", undefined, false, 16, "blobs"],
  ["no-blobs", "B", false],
  ["no-large-objects", undefined, false, 16, "no-blobs"],
  ["clean", "c", false],
  ["create", "C", false],
  ["dbname", "d", true],
  ["extension", "e", true],
  ["file", "f", true],
  ["format", "F", true],
  ["host", "h", true],
  ["jobs", "j", true],
  ["no-reconnect", "R", false],
  ["no-owner", "O", false],
  ["port", "p", true],
  ["schema", "n", true],
  ["exclude-schema", "N", true],
  ["schema-only", "s", false],
  ["superuser", "S", true],
  ["table", "t", true],
  ["exclude-table", "T", true],
  ["no-password", "w", false],
  ["password", "W", false],
  ["username", "U", true],
  ["verbose", "v", false],
  ["no-privileges", "x", false],
  ["no-acl", undefined, false, 15, "no-privileges"],
  ["compress", "Z", true],
  ["encoding", "E", true],
  ["help", undefined, false],
  ["version", undefined, false],
  ["attribute-inserts", undefined, false, 15, "column-inserts"],
  ["binary-upgrade", undefined, false],
  ["column-inserts", undefined, false],
  ["disable-dollar-quoting", undefined, false],
  ["disable-triggers", undefined, false],
  ["enable-row-security", undefined, false],
  ["exclude-table-data", undefined, true],
  ["extra-float-digits", undefined, true],
  ["if-exists", undefined, false],
  ["inserts", undefined, false],
  ["lock-wait-timeout", undefined, true],
  ["no-table-access-method", undefined, false],
  ["no-tablespaces", undefined, false],
  ["quote-all-identifiers", undefined, false],
  ["load-via-partition-root", undefined, false],
  ["role", undefined, true],
  ["section", undefined, true],
  ["serializable-deferrable", undefined, false],
  ["snapshot", undefined, true],
  ["strict-names", undefined, false],
  ["use-set-session-authorization", undefined, false],
  ["no-comments", undefined, false],
  ["no-publications", undefined, false],
  ["no-security-labels", undefined, false],
  ["no-subscriptions", undefined, false],
  ["no-toast-compression", undefined, false],
  ["no-unlogged-table-data", undefined, false],
  ["no-sync", undefined, false],
  ["on-conflict-do-nothing", undefined, false],
  ["rows-per-insert", undefined, true],
  ["include-foreign-data", undefined, true],
  ["restrict-key", undefined, true],
  ["table-and-children", undefined, true, 16],
  ["exclude-table-and-children", undefined, true, 16],
  ["exclude-table-data-and-children", undefined, true, 16],
  ["sync-method", undefined, true, 17],
  ["filter", undefined, true, 17],
  ["exclude-extension", undefined, true, 17],
  ["statistics-only", undefined, false, 18],
  ["no-data", undefined, false, 18],
  ["no-schema", undefined, false, 18],
  ["no-statistics", undefined, false, 18],
  ["no-policies", undefined, false, 18],
  ["with-data", undefined, false, 18],
  ["with-schema", undefined, false, 18],
  ["with-statistics", undefined, false, 18],
  ["statistics", undefined, false, 18, "with-statistics"],
  ["sequence-data", undefined, false, 18],
]);

// pg_restore.c, REL_15 to REL_18: short options "acCd:ef:F:h:I:j:lL:n:N:Op:P:RsS:t:T:U:vwWx1".
// `help` and `version` are not in its long_options (only argv[1] is compared with them).
const PG_RESTORE_OPTIONS = table([
  ["clean", "c", false],
  ["create", "C", false],
  ["data-only", "a", false],
  ["dbname", "d", true],
  ["exit-on-error", "e", false],
  ["exclude-schema", "N", true],
  ["file", "f", true],
  ["format", "F", true],
  ["function", "P", true],
  ["host", "h", true],
  ["index", "I", true],
  ["jobs", "j", true],
  ["list", "l", false],
  ["no-privileges", "x", false],
  ["no-acl", undefined, false, 15, "no-privileges"],
  ["no-owner", "O", false],
  ["no-reconnect", "R", false],
  ["port", "p", true],
  ["no-password", "w", false],
  ["password", "W", false],
  ["schema", "n", true],
  ["schema-only", "s", false],
  ["superuser", "S", true],
  ["table", "t", true],
  ["trigger", "T", true],
  ["use-list", "L", true],
  ["username", "U", true],
  ["verbose", "v", false],
  ["single-transaction", "1", false],
  ["disable-triggers", undefined, false],
  ["enable-row-security", undefined, false],
  ["if-exists", undefined, false],
  ["no-data-for-failed-tables", undefined, false],
  ["no-table-access-method", undefined, false],
  ["no-tablespaces", undefined, false],
  ["role", undefined, true],
  ["section", undefined, true],
  ["strict-names", undefined, false],
  ["use-set-session-authorization", undefined, false],
  ["no-comments", undefined, false],
  ["no-publications", undefined, false],
  ["no-security-labels", undefined, false],
  ["no-subscriptions", undefined, false],
  ["restrict-key", undefined, true],
  ["transaction-size", undefined, true, 17],
  ["filter", undefined, true, 17],
  ["no-data", undefined, false, 18],
  ["no-schema", undefined, false, 18],
  ["no-statistics", undefined, false, 18],
  ["no-policies", undefined, false, 18],
  ["statistics-only", undefined, false, 18],
  ["with-data", undefined, false, 18],
  ["with-schema", undefined, false, 18],
  ["with-statistics", undefined, false, 18],
  ["statistics", undefined, false, 18, "with-statistics"],
  ["exclude-database", undefined, true, 18],
  ["no-globals", undefined, false, 18],
]);

/** The tool's options; with `major`, only those that major knows (for tests against a real binary). */
export function pgOptionTable(tool: PgArgsTool, major?: number): PgOptionDef[] {
  const all = tool === "pg_dump" ? PG_DUMP_OPTIONS : PG_RESTORE_OPTIONS;
  return major === undefined ? all : all.filter((option) => option.since <= major);
}

/** One option as getopt_long returned it, under its canonical long name. */
export interface PgOption {
  name: string;
  value: string | undefined;
  /** The word(s) the user wrote for it, for messages. */
  written: string;
}

/** Why getopt_long (or the allow-list) refused a word; `written` is the word as the user wrote it. */
export class PgArgsSyntaxError extends Error {
  constructor(
    readonly written: string,
    readonly reason: string,
    /** unknown: the tool has no such option; syntax: the words do not parse. */
    readonly kind: "unknown" | "syntax" = "syntax",
  ) {
    super(`"${written}": ${reason}`);
    this.name = "PgArgsSyntaxError";
  }
}

/**
 * getopt_long's reading of `argv` (glibc, permuting, no POSIXLY_CORRECT), except that anything that
 * is not an option (a positional word, `-`, `""`, or `--` and what follows it) is an error: pg_dump
 * would take it as the database name, pg_restore as the input file.
 */
export function tokenizePgArgs(
  argv: readonly string[],
  options: readonly PgOptionDef[],
  tool: PgArgsTool,
): PgOption[] {
  const byLong = new Map(options.map((option) => [option.long, option]));
  const byShort = new Map(options.filter((o) => o.short).map((option) => [option.short!, option]));
  const canonical = (option: PgOptionDef) => option.aliasOf ?? option.long;
  const positional =
    tool === "pg_dump"
      ? "pg_dump would take it as the database name"
      : "pg_restore would read it as the input file";
  const out: PgOption[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      const rest = tool === "pg_dump" ? "the database name" : "the input file";
      throw new PgArgsSyntaxError(arg, `it ends the options: what follows would be read as ${rest}`);
    }
    if (arg.startsWith("--")) {
      const body = arg.slice(2);
      const eq = body.indexOf("=");
      const name = eq < 0 ? body : body.slice(0, eq);
      const inline = eq < 0 ? undefined : body.slice(eq + 1);
      if (name === "") throw new PgArgsSyntaxError(arg, "not an option");
      let option = byLong.get(name);
      if (!option) {
        const matches = options.filter((candidate) => candidate.long.startsWith(name));
        // glibc calls a prefix ambiguous only when its matches differ: two spellings of one
        // option (--no-acl, --no-privileges) are one.
        const targets = [...new Set(matches.map(canonical))];
        if (targets.length === 0) {
          throw new PgArgsSyntaxError(arg, `${tool} has no option --${name}`, "unknown");
        }
        if (targets.length > 1) {
          throw new PgArgsSyntaxError(
            arg,
            `ambiguous: --${name} could be ${matches.map((m) => `--${m.long}`).join(", ")}`,
          );
        }
        option = matches[0]!;
      }
      if (!option.takesValue) {
        if (inline !== undefined) throw new PgArgsSyntaxError(arg, `--${option.long} takes no value`);
        out.push({ name: canonical(option), value: undefined, written: arg });
        continue;
      }
      if (inline !== undefined) {
        out.push({ name: canonical(option), value: inline, written: arg });
        continue;
      }
      if (i + 1 >= argv.length) throw new PgArgsSyntaxError(arg, `--${option.long} needs a value`);
      const value = argv[++i]!;
      out.push({ name: canonical(option), value, written: `${arg} ${value}` });
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const option = byShort.get(letter);
        if (!option) throw new PgArgsSyntaxError(arg, `${tool} has no option -${letter}`, "unknown");
        if (!option.takesValue) {
          out.push({ name: canonical(option), value: undefined, written: arg });
          continue;
        }
        const rest = arg.slice(j + 1);
        if (rest !== "") {
          out.push({ name: canonical(option), value: rest, written: arg });
        } else {
          if (i + 1 >= argv.length) throw new PgArgsSyntaxError(arg, `-${letter} needs a value`);
          const value = argv[++i]!;
          out.push({ name: canonical(option), value, written: `${arg} ${value}` });
        }
        break;
      }
      continue;
    }
    throw new PgArgsSyntaxError(arg, `not an option: ${positional}`);
  }
  return out;
}

type Policy =
  { allow: true; why: string; value?: (value: string) => string | undefined } | { allow: false; why: string };

const allow = (why: string, value?: (value: string) => string | undefined): Policy => ({
  allow: true,
  why,
  ...(value ? { value } : {}),
});
const refuse = (why: string): Policy => ({ allow: false, why });

/** A role name as SET ROLE takes it: a plain identifier of at most 63 bytes. */
function roleName(value: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(value)
    ? undefined
    : "expected a role name (letters, digits, _ $ -)";
}

/** A PostgreSQL time setting: a whole number with an optional unit (ms when none). */
function pgDuration(value: string): string | undefined {
  return /^\d{1,9}(us|ms|s|min|h|d)?$/.test(value)
    ? undefined
    : "expected a time such as 30s, 2min or 5000 (ms)";
}

function oneOf(...values: string[]) {
  return (value: string): string | undefined =>
    values.includes(value) ? undefined : `expected ${values.join(" or ")}`;
}

const CONNECTION = "the connection comes from --database-url";
const DUMP_SCOPE = "the dump's scope has options of its own, so the row counts follow it";

/**
 * pg_dump: what a user may pass is what leaves the destination (the store), the format (custom,
 * streamed), the connection and the scope (which rows are in the backup) alone.
 */
const PG_DUMP_POLICY: Record<string, Policy> = {
  "no-owner": allow("ownership is a restore-time choice; harmless in an archive"),
  "no-privileges": allow("leaves GRANTs out of the archive; no rows change"),
  "no-comments": allow("leaves COMMENTs out"),
  "no-publications": allow("leaves publications out"),
  "no-subscriptions": allow("leaves subscriptions out"),
  "no-security-labels": allow("leaves security labels out"),
  "no-tablespaces": allow("leaves tablespace assignments out"),
  "no-toast-compression": allow("leaves column compression methods out"),
  "no-table-access-method": allow("leaves table access methods out"),
  "no-policies": allow("leaves row-security policies out (pg_dump 18)"),
  "no-statistics": allow("leaves planner statistics out (pg_dump 18)"),
  "with-statistics": allow("adds planner statistics (pg_dump 18); no rows change"),
  "quote-all-identifiers": allow("only how names are quoted"),
  "disable-dollar-quoting": allow("only how function bodies are quoted"),
  "disable-triggers": allow("a restore-time choice; no effect on an archive"),
  "use-set-session-authorization": allow("a restore-time choice; no effect on what is dumped"),
  "load-via-partition-root": allow("rows are loaded through the partition root; the same rows"),
  "lock-wait-timeout": allow("fails early instead of waiting on a lock", pgDuration),
  role: allow("the role the dump runs as (SET ROLE)", roleName),
  "strict-names": allow("makes an include pattern that matches nothing an error"),
  verbose: allow("progress on stderr; pg_dump's error line is still its last one"),
  "no-sync": allow("only skips fsync of output files; a streamed dump writes none"),
  "sync-method": allow("only for output files; a streamed dump writes none", oneOf("fsync", "syncfs")),
  "no-reconnect": allow("an obsolete no-op"),

  file: refuse("the output goes to the store, never to a file"),
  format: refuse("the format is always custom"),
  jobs: refuse("a streamed dump is single-threaded"),
  compress: refuse("use --compression"),
  snapshot: refuse("lifeboat exports the snapshot itself"),
  "serializable-deferrable": refuse("the dump runs in lifeboat's exported snapshot"),
  "restrict-key": refuse("only for plain-text output, which lifeboat never writes"),
  superuser: refuse("only for plain-text output, which lifeboat never writes"),
  encoding: refuse("the dump keeps the database's encoding, so that a restore gives back the same text"),
  "extra-float-digits": refuse("below the default, floating-point values lose digits: a lossy backup"),
  inserts: refuse(
    "data as INSERT statements: restores far slower, and the archive's row counts read COPY data",
  ),
  "column-inserts": refuse(
    "data as INSERT statements: restores far slower, and the archive's row counts read COPY data",
  ),
  "rows-per-insert": refuse(
    "data as INSERT statements: restores far slower, and the archive's row counts read COPY data",
  ),
  "on-conflict-do-nothing": refuse(
    "data as INSERT statements: restores far slower, and the archive's row counts read COPY data",
  ),
  "enable-row-security": refuse(
    "dumps only the rows the role's policies show: a partial backup counted as whole; use a role with BYPASSRLS",
  ),
  "no-unlogged-table-data": refuse("leaves rows out that the manifest counts; use --exclude-table-data"),
  clean: refuse("a restore-time choice: restore has its own clean"),
  create: refuse("a restore-time choice"),
  "if-exists": refuse("needs --clean, a restore-time choice"),
  "binary-upgrade": refuse("for pg_upgrade only"),
  dbname: refuse(CONNECTION),
  host: refuse(CONNECTION),
  port: refuse(CONNECTION),
  username: refuse(CONNECTION),
  password: refuse("the password comes from --database-url"),
  "no-password": refuse("lifeboat passes it already"),
  schema: refuse(`use --include-schema: ${DUMP_SCOPE}`),
  "exclude-schema": refuse(`use --exclude-schema: ${DUMP_SCOPE}`),
  table: refuse(`use --include-table: ${DUMP_SCOPE}`),
  "exclude-table": refuse(`use --exclude-table: ${DUMP_SCOPE}`),
  "exclude-table-data": refuse(`use --exclude-table-data: ${DUMP_SCOPE}`),
  "table-and-children": refuse(`use --include-table: ${DUMP_SCOPE}`),
  "exclude-table-and-children": refuse(`use --exclude-table: ${DUMP_SCOPE}`),
  "exclude-table-data-and-children": refuse(`use --exclude-table-data: ${DUMP_SCOPE}`),
  "data-only": refuse(`use --data-only: ${DUMP_SCOPE}`),
  "schema-only": refuse(`use --schema-only: ${DUMP_SCOPE}`),
  extension: refuse(DUMP_SCOPE),
  "exclude-extension": refuse(DUMP_SCOPE),
  filter: refuse(DUMP_SCOPE),
  section: refuse(DUMP_SCOPE),
  blobs: refuse(DUMP_SCOPE),
  "no-blobs": refuse(DUMP_SCOPE),
  "include-foreign-data": refuse("foreign data is not counted or verified"),
  "statistics-only": refuse(DUMP_SCOPE),
  "no-data": refuse(`use --schema-only: ${DUMP_SCOPE}`),
  "no-schema": refuse(`use --data-only: ${DUMP_SCOPE}`),
  "with-data": refuse(DUMP_SCOPE),
  "with-schema": refuse(DUMP_SCOPE),
  "sequence-data": refuse(DUMP_SCOPE),
  help: refuse("not a dump option"),
  version: refuse("not a dump option"),
};

const SCRATCH =
  "Lifeboat names the database it restores into (restore-test's scratch database, restore's target)";
const WHOLE =
  "the whole backup is restored, to compare every table's row count with the manifest (restore takes --table and --schema)";
const OWN_ERRORS = "Lifeboat reads every pg_restore error itself and decides (restore-test: --tolerate)";

/** pg_restore (restore-test and restore): what changes how objects are created, never where or which. */
const PG_RESTORE_POLICY: Record<string, Policy> = {
  "no-owner": allow("objects owned by the restoring role; for servers without the source's roles"),
  "no-privileges": allow("GRANTs left out; for servers without the source's roles"),
  "no-tablespaces": allow("everything in the default tablespace"),
  "no-comments": allow("COMMENTs left out"),
  "no-publications": allow("publications left out"),
  "no-subscriptions": allow("subscriptions left out (they would try to connect)"),
  "no-security-labels": allow("security labels left out (providers a scratch server lacks)"),
  "no-table-access-method": allow("tables in the default access method"),
  "no-policies": allow("row-security policies left out (pg_restore 18)"),
  "no-statistics": allow("planner statistics left out (pg_restore 18)"),
  "with-statistics": allow("planner statistics restored (pg_restore 18)"),
  "disable-triggers": allow("triggers off while data loads (needs a superuser)"),
  "use-set-session-authorization": allow("ownership set by SET SESSION AUTHORIZATION, not ALTER OWNER"),
  "enable-row-security": allow("restores with row security on, for a role without BYPASSRLS"),
  "no-data-for-failed-tables": allow(
    "a table that failed to be created gets no data; the row check still sees it",
  ),
  "strict-names": allow("only affects name patterns, which are refused anyway"),
  role: allow("the role the restore runs as (SET ROLE)", roleName),
  "no-reconnect": allow("an obsolete no-op"),

  dbname: refuse(SCRATCH),
  create: refuse(SCRATCH),
  clean: refuse("restore-test's scratch database is new; restore has its own --clean and --strategy"),
  "if-exists": refuse("goes with --clean, which restore sets itself"),
  host: refuse(SCRATCH),
  port: refuse(SCRATCH),
  username: refuse("the connection comes from the database URL"),
  password: refuse("the password comes from the database URL"),
  "no-password": refuse("lifeboat passes it already"),
  file: refuse(SCRATCH),
  format: refuse("the archive is always custom format"),
  list: refuse("prints the table of contents instead of restoring"),
  "use-list": refuse(WHOLE),
  jobs: refuse("use --jobs"),
  "exit-on-error": refuse(OWN_ERRORS),
  "single-transaction": refuse(`${OWN_ERRORS}; it stops at the first one, and rules out --jobs`),
  "transaction-size": refuse(`${OWN_ERRORS}; it stops at the first one`),
  section: refuse(WHOLE),
  schema: refuse(WHOLE),
  "exclude-schema": refuse(WHOLE),
  table: refuse(WHOLE),
  index: refuse(WHOLE),
  function: refuse(WHOLE),
  trigger: refuse(WHOLE),
  filter: refuse(WHOLE),
  "data-only": refuse(WHOLE),
  "schema-only": refuse(WHOLE),
  "no-data": refuse(WHOLE),
  "no-schema": refuse(WHOLE),
  "statistics-only": refuse(WHOLE),
  "with-data": refuse(WHOLE),
  "with-schema": refuse(WHOLE),
  verbose: refuse("its progress lines would push pg_restore's errors out of the log Lifeboat keeps"),
  superuser: refuse("only for script output, which Lifeboat never writes"),
  "restrict-key": refuse("only for script output, which Lifeboat never writes"),
  "exclude-database": refuse("only for pg_dumpall archives"),
  "no-globals": refuse("only for pg_dumpall archives"),
};

const POLICIES: Record<PgArgsTool, Record<string, Policy>> = {
  pg_dump: PG_DUMP_POLICY,
  pg_restore: PG_RESTORE_POLICY,
};

/** The canonical long names a user may pass to `tool`. */
export function allowedPgOptions(tool: PgArgsTool): string[] {
  return Object.entries(POLICIES[tool])
    .filter(([, policy]) => policy.allow)
    .map(([name]) => name)
    .sort();
}

/** Each option the tool knows, with the decision and its reason (for docs and tests). */
export function pgOptionDecisions(tool: PgArgsTool): { name: string; allowed: boolean; why: string }[] {
  const names = new Set(pgOptionTable(tool).map((option) => option.aliasOf ?? option.long));
  return [...names].map((name) => {
    const policy = POLICIES[tool][name];
    return { name, allowed: policy?.allow ?? false, why: policy?.why ?? "not in the allowed list" };
  });
}

/**
 * The user's extra arguments for `tool`, checked against the allow-list, as the canonical words to
 * pass on (`--name` or `--name=value`). Anything else throws an InputError (exit 2) that names the
 * argument as the user wrote it. `input` is the flag or action input they came from.
 */
export function parsePgArgs(tool: PgArgsTool, argv: readonly string[], input: string): string[] {
  const policies = POLICIES[tool];
  const fail = (written: string, why: string): never => {
    throw new InputError(`--${input}: "${written}" is not allowed (${why})`, { input });
  };
  let options: PgOption[];
  try {
    options = tokenizePgArgs(argv, pgOptionTable(tool), tool);
  } catch (error) {
    if (error instanceof PgArgsSyntaxError) {
      return fail(error.written, error.kind === "unknown" ? notAllowed(tool) : error.reason);
    }
    throw error;
  }
  return options.map((option) => {
    const policy = policies[option.name];
    if (!policy) return fail(option.written, notAllowed(tool));
    if (!policy.allow) return fail(option.written, `--${option.name}: ${policy.why}`);
    if (option.value === undefined) return `--${option.name}`;
    // An allowed option that takes a value must say what a good one is.
    const problem = policy.value ? policy.value(option.value) : "takes no value here";
    if (problem) return fail(option.written, `--${option.name}: ${problem}`);
    return `--${option.name}=${option.value}`;
  });
}

/** `--pg-dump-args`, split on whitespace as the option is written. */
export function parsePgDumpArgs(text: string | readonly string[], input = "pg-dump-args"): string[] {
  return parsePgArgs("pg_dump", words(text), input);
}

/** `--pg-restore-args` for restore-test, split on whitespace as the option is written. */
export function parsePgRestoreArgs(text: string | readonly string[], input = "pg-restore-args"): string[] {
  return parsePgArgs("pg_restore", words(text), input);
}

function notAllowed(tool: PgArgsTool): string {
  return `not in the allowed list: ${allowedPgOptions(tool)
    .map((name) => `--${name}`)
    .join(", ")}`;
}

function words(text: string | readonly string[]): string[] {
  return typeof text === "string" ? text.split(/\s+/).filter(Boolean) : [...text];
}
