/**
 * The environments child processes get: an allow-list of what each needs, nothing inherited by
 * default. Lifeboat runs with secrets in its environment (DATABASE_URL, LIFEBOAT_PASSPHRASE,
 * LIFEBOAT_IDENTITY, the action's INPUT_* values, AWS credentials, the runner's
 * ACTIONS_RUNTIME_TOKEN and OIDC request token, GITHUB_TOKEN), and a child sees all of it unless
 * told otherwise.
 *
 * PostgreSQL's tools (pg_dump, pg_dumpall, pg_restore, psql) get the connection from the URL on
 * their command line and the password from PGPASSWORD, and no inherited PG* variable at all: a
 * PGHOSTADDR, PGSERVICE, PGPASSFILE, PGSSLROOTCERT or PGOPTIONS in the outer environment would
 * make pg_dump connect differently from Lifeboat's own connection (the one that took the row
 * counts and checked TLS), possibly to another server. What the connection needs goes in the URL.
 *
 * The user's `--run` command (restore-test) is often a pull request's own code: it gets a working
 * shell (PATH, HOME, locale, the runner's non-secret context), the scratch database (DATABASE_URL
 * and PG*), and the names the user passes through explicitly, never a secret-bearing one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../domain/errors.js";
import { connectionString, type DatabaseUrl } from "../domain/database-url.js";

/** What any child needs to run at all: finding programs, a home, a temp dir, the time zone. */
const BASICS = ["PATH", "HOME", "TMPDIR", "TZ"];

/** Locale: LANG, LANGUAGE and LC_* (LC_ALL included). */
const LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+)$/;

/**
 * The PostgreSQL tools, besides BASICS and the locale: the dynamic loader's path (a client
 * installed into the tool cache finds its libpq through it, added by toolSpawn), and OpenSSL's CA
 * store for `sslrootcert=system`.
 */
const PG_TOOL_NAMES = ["LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR"];

export interface PgToolEnvOptions {
  /** The connection's password, as PGPASSWORD (never on the command line). */
  password?: string | undefined;
  /** The sslmode Lifeboat's own connection used (DatabaseUrl.sslmode), as PGSSLMODE. */
  sslmode?: string;
  /** PGAPPNAME, so the server's pg_stat_activity says who is connected. */
  appName?: string;
  /** PGCONNECT_TIMEOUT in seconds. */
  connectTimeoutSeconds?: number;
  /** PGTZ: the session's TimeZone, over the role's and the database's (pg_dump prints timestamptz in it). */
  timeZone?: string;
}

/**
 * The environment for pg_dump, pg_dumpall, pg_restore and psql: BASICS, the locale with messages
 * in English (Lifeboat reads their "error:" lines), what the tool needs to load, and the PG*
 * variables set here. Pass the result as `base` to toolSpawn, which adds the tool's own
 * LD_LIBRARY_PATH in front.
 */
export function pgToolEnv(base: NodeJS.ProcessEnv, options: PgToolEnvOptions = {}): NodeJS.ProcessEnv {
  const env = pick(
    base,
    (name) => BASICS.includes(name) || PG_TOOL_NAMES.includes(name) || LOCALE.test(name),
  );
  // A translated "error:" would hide pg_restore's errors from errorLines() and pg_dump's from the
  // failure message; LC_ALL would override LC_MESSAGES, so its value moves to LANG.
  if (env.LC_ALL !== undefined) {
    env.LANG = env.LC_ALL;
    delete env.LC_ALL;
  }
  env.LC_MESSAGES = "C";
  if (options.password !== undefined) env.PGPASSWORD = options.password;
  if (options.sslmode !== undefined) env.PGSSLMODE = options.sslmode;
  if (options.appName !== undefined) env.PGAPPNAME = options.appName;
  if (options.connectTimeoutSeconds !== undefined)
    env.PGCONNECT_TIMEOUT = String(options.connectTimeoutSeconds);
  if (options.timeZone !== undefined) env.PGTZ = options.timeZone;
  return env;
}

/** The connection a PostgreSQL tool gets: its `--dbname`, what its environment adds, and the cleanup. */
export interface PgConnection {
  dbname: string;
  env: NodeJS.ProcessEnv;
  /** Removes the service file, if any; call once the tool has exited. */
  dispose(): void;
}

/**
 * The connection for a PostgreSQL tool's command line, with nothing secret on it (a command line
 * is readable in /proc by every user of the machine). The password goes in PGPASSWORD
 * (pgToolEnv); libpq has no environment variable for `sslpassword` (the client key's passphrase),
 * so when the URL has one it goes in a service file of its own, 0600 in a 0700 directory, named
 * by PGSERVICEFILE, and the command line says only `service=lifeboat`. Parameters on the command
 * line win over the service file's, and it holds nothing else.
 */
export function pgConnection(url: DatabaseUrl): PgConnection {
  const sslpassword = url.params.sslpassword;
  if (sslpassword === undefined) return { dbname: url.withoutPassword, env: {}, dispose: () => undefined };
  if (/[\r\n]/.test(sslpassword) || sslpassword !== sslpassword.trim()) {
    // A service file line cannot carry these, and libpq would read another passphrase.
    throw new InputError(
      "sslpassword: a key passphrase with a line break or surrounding spaces cannot be passed to PostgreSQL's tools",
      { input: "database-url" },
    );
  }
  const bare = new URL(url.withoutPassword);
  bare.searchParams.delete("sslpassword");
  bare.searchParams.set("service", "lifeboat");
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-pgservice-"));
  const file = join(dir, "pg_service.conf");
  writeFileSync(file, `[lifeboat]\nsslpassword=${sslpassword}\n`, { mode: 0o600 });
  const dispose = () => {
    rmSync(dir, { recursive: true, force: true });
    process.off("exit", dispose);
  };
  // A run that ends without the tool's exit being seen (an uncaught error) still removes it.
  process.on("exit", dispose);
  return { dbname: bare.toString(), env: { PGSERVICEFILE: file }, dispose };
}

/** The runner's context a command may read: which repository, commit, run; no token, no file commands. */
const RUNNER_CONTEXT = new Set([
  "CI",
  "GITHUB_ACTIONS",
  "GITHUB_ACTOR",
  "GITHUB_ACTOR_ID",
  "GITHUB_API_URL",
  "GITHUB_BASE_REF",
  "GITHUB_EVENT_NAME",
  "GITHUB_GRAPHQL_URL",
  "GITHUB_HEAD_REF",
  "GITHUB_JOB",
  "GITHUB_REF",
  "GITHUB_REF_NAME",
  "GITHUB_REF_PROTECTED",
  "GITHUB_REF_TYPE",
  "GITHUB_REPOSITORY",
  "GITHUB_REPOSITORY_ID",
  "GITHUB_REPOSITORY_OWNER",
  "GITHUB_REPOSITORY_OWNER_ID",
  "GITHUB_RETENTION_DAYS",
  "GITHUB_RUN_ATTEMPT",
  "GITHUB_RUN_ID",
  "GITHUB_RUN_NUMBER",
  "GITHUB_SERVER_URL",
  "GITHUB_SHA",
  "GITHUB_TRIGGERING_ACTOR",
  "GITHUB_WORKFLOW",
  "GITHUB_WORKFLOW_REF",
  "GITHUB_WORKFLOW_SHA",
  "GITHUB_WORKSPACE",
  "RUNNER_ARCH",
  "RUNNER_DEBUG",
  "RUNNER_ENVIRONMENT",
  "RUNNER_NAME",
  "RUNNER_OS",
  "RUNNER_TEMP",
  "RUNNER_TOOL_CACHE",
]);

/** A working shell for the user's command. */
const SHELL_NAMES = ["USER", "LOGNAME", "SHELL", "TERM"];

/**
 * Names no child outside PostgreSQL's tools ever gets, even when passed through: credentials
 * (cloud, runner, GitHub), Lifeboat's own inputs and keys, and the connection variables that
 * Lifeboat sets to the scratch database (a passed-through PGHOST or PGSERVICE could point a
 * migration at production). GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STATE and
 * GITHUB_STEP_SUMMARY are the runner's file commands: a command that writes to them changes the
 * job's later steps.
 */
const DENIED: readonly RegExp[] = [
  /^AWS_/,
  /^ACTIONS_/,
  /^GITHUB_TOKEN$/,
  /^GH_TOKEN$/,
  /^GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY)$/,
  /^INPUT_/,
  /^LIFEBOAT_/,
  /^DATABASE_URL$/,
  /^PG/,
];

export function isDeniedName(name: string): boolean {
  return DENIED.some((pattern) => pattern.test(name));
}

const NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|(?:[A-Za-z_][A-Za-z0-9_]*)?\*)$/;

/**
 * The names (or `PREFIX_*` patterns) a user passes through to the `--run` command, checked:
 * InputError (exit 2) for a malformed or secret-bearing one, naming `input`.
 */
export function parsePassThrough(names: readonly string[], input = "run-env"): string[] {
  const out: string[] = [];
  for (const raw of names.flatMap((entry) => entry.split(/[\s,]+/)).filter(Boolean)) {
    if (!NAME.test(raw)) {
      throw new InputError(
        `--${input}: "${raw}" is not a variable name (letters, digits, _; a trailing * for a prefix)`,
        {
          input,
        },
      );
    }
    const prefix = raw.endsWith("*") ? raw.slice(0, -1) : undefined;
    // A pattern is refused when it could match a denied name: `AWS*`, `PG*`, `*`, `GITHUB_*`.
    const denied = prefix === undefined ? isDeniedName(raw) : coversDenied(prefix);
    if (denied) {
      throw new InputError(
        `--${input}: "${raw}" is not passed to the command (credentials, Lifeboat's inputs and the scratch database's connection never are)`,
        { input },
      );
    }
    out.push(raw);
  }
  return out;
}

/** The denied names as literals: a whole name, or a prefix (AWS_...). */
const DENIED_LITERALS: readonly { text: string; prefix: boolean }[] = [
  { text: "AWS_", prefix: true },
  { text: "ACTIONS_", prefix: true },
  { text: "INPUT_", prefix: true },
  { text: "LIFEBOAT_", prefix: true },
  { text: "PG", prefix: true },
  ...["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE"]
    .concat(["GITHUB_STEP_SUMMARY", "DATABASE_URL"])
    .map((text) => ({ text, prefix: false })),
];

/** Whether some name starting with `prefix` is denied (`GITHUB_*` reaches GITHUB_TOKEN). */
function coversDenied(prefix: string): boolean {
  return DENIED_LITERALS.some(
    (denied) => denied.text.startsWith(prefix) || (denied.prefix && prefix.startsWith(denied.text)),
  );
}

/**
 * The environment of restore-test's `--run` command: a working shell, the runner's non-secret
 * context, the names passed through (never a denied one, even if asked), and the scratch database
 * as DATABASE_URL and PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD/PGSSLMODE, which win over
 * anything else.
 */
export function userCommandEnv(
  base: NodeJS.ProcessEnv,
  options: { databaseUrl: DatabaseUrl; passThrough?: readonly string[] },
): NodeJS.ProcessEnv {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const name of options.passThrough ?? []) {
    if (name.endsWith("*")) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  const env = pick(base, (name) => {
    if (isDeniedName(name)) return false;
    return (
      BASICS.includes(name) ||
      SHELL_NAMES.includes(name) ||
      LOCALE.test(name) ||
      RUNNER_CONTEXT.has(name) ||
      exact.has(name) ||
      prefixes.some((prefix) => name.startsWith(prefix))
    );
  });
  const url = options.databaseUrl;
  env.DATABASE_URL = connectionString(url);
  env.PGHOST = url.host;
  env.PGPORT = String(url.port);
  env.PGDATABASE = url.database;
  if (url.user !== undefined) env.PGUSER = url.user;
  if (url.password !== undefined) env.PGPASSWORD = url.password;
  env.PGSSLMODE = url.sslmode;
  return env;
}

function pick(base: NodeJS.ProcessEnv, keep: (name: string) => boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && keep(name)) env[name] = value;
  }
  return env;
}
