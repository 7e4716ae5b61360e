/**
 * The connection doctor: `preflight` runs before any connection (backup, restore) and turns what
 * can be known from the URL and DNS into one-line exit-2 errors; `runDoctor` goes on through TCP,
 * TLS, authentication, the server, its session settings, privileges and pg_dump, and reports
 * every check (docs/connections.md).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type pg from "pg";
import {
  addressFamilyProblem,
  isGlobalIpv6,
  isLocalHost,
  isSocketPath,
  resolveSslMode,
  unresolvedHostMessage,
  urlRules,
  type ResolvedAddress,
} from "../domain/connection-rules.js";
import type { DatabaseUrl } from "../domain/database-url.js";
import { describeError, InputError, LifeboatError } from "../domain/errors.js";
import type { Logger } from "../commands/logger.js";
import {
  certificateProblemFor,
  connect,
  connectionError,
  DUMP_TIMEOUTS,
  readServerInfo,
  tlsOptions,
  type ServerInfo,
} from "./connect.js";
import { SUPABASE_PLATFORM_SCHEMAS, type Preset } from "../domain/supabase-preset.js";
import { findPgDumpFor, type PgClientSettings } from "./pg-dump-finder.js";

export interface NetworkDeps {
  /** Every address of a host, both families (default: dns.lookup, as the connection will). */
  lookup?: (host: string) => Promise<ResolvedAddress[]>;
  /** Whether this machine has a global IPv6 address, hence a route (default: os.networkInterfaces). */
  hasIpv6Route?: () => boolean;
  log?: Logger;
}

export async function systemLookup(host: string): Promise<ResolvedAddress[]> {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
}

export function systemHasIpv6Route(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some(
      (entry) => String(entry.family).endsWith("6") && !entry.internal && isGlobalIpv6(entry.address),
    ),
  );
}

/**
 * Before anything connects: the URL's own rules (a transaction pooler is refused), then DNS (a
 * host that is unknown, or reachable only over IPv6 from a machine without IPv6). Throws a
 * one-line InputError naming the part of the URL that is wrong.
 */
export async function preflight(
  url: DatabaseUrl,
  input = "database-url",
  deps: NetworkDeps = {},
): Promise<void> {
  const rules = checkUrl(url, input);
  if (rules.error) throw rules.error;
  for (const warning of rules.warnings) deps.log?.warn(warning);
  const dns = await checkDns(url, input, deps);
  if (dns.error) throw dns.error;
}

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorSettings extends PgClientSettings {
  databaseUrl: DatabaseUrl;
  /** The backup's preset: its excluded schemas are not the doctor's business either. */
  preset: Preset;
}

export interface DoctorDeps extends NetworkDeps {
  env: NodeJS.ProcessEnv;
}

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  ok: boolean;
  /** 0 when ok; 2 when a check failed because of the input or configuration; 1 otherwise. */
  exitCode: number;
  checks: DoctorCheck[];
  /** The first failure, as the one-line error the CLI prints. */
  failure?: LifeboatError;
  server?: { version: string; database: string; user: string };
  pgDump?: { version: string; path: string };
}

interface Step {
  status: CheckStatus;
  detail: string;
  error?: LifeboatError;
}

const ok = (detail: string): Step => ({ status: "ok", detail });
const warn = (detail: string): Step => ({ status: "warn", detail });
const fail = (error: LifeboatError): Step => ({ status: "fail", detail: error.message, error });

function checkUrl(url: DatabaseUrl, input: string): Step & { warnings: string[] } {
  const findings = urlRules(url, input);
  const failure = findings.find((finding) => finding.level === "fail");
  const warnings = findings.filter((finding) => finding.level === "warn").map((finding) => finding.message);
  if (failure) return { ...fail(new InputError(failure.message, { input })), warnings };
  const byDefault = resolveSslMode({}, url.host, input).mode === url.sslmode;
  const ssl = `sslmode=${url.sslmode}${byDefault ? ` (the default for ${isSocketPath(url.host) ? "a Unix socket" : isLocalHost(url.host) ? "a local host" : "a remote host"})` : ""}`;
  const summary = `${url.host}:${url.port}/${url.database} as ${url.user ?? "(default user)"}, ${ssl}`;
  if (warnings.length) return { ...warn(`${summary}; ${warnings.join("; ")}`), warnings };
  return { ...ok(summary), warnings };
}

function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1");
}

async function checkDns(url: DatabaseUrl, input: string, deps: NetworkDeps): Promise<Step> {
  if (isSocketPath(url.host)) return { status: "skip", detail: `Unix socket in ${url.host}: no lookup` };
  const host = bareHost(url.host);
  const hasRoute = (deps.hasIpv6Route ?? systemHasIpv6Route)();
  let addresses: ResolvedAddress[];
  const family = isIP(host);
  if (family !== 0) {
    addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (deps.lookup ?? systemLookup)(host);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOTFOUND" || code === "ENODATA" || code === "EAI_NONAME") {
        return fail(new InputError(unresolvedHostMessage(url, input), { input, cause: error }));
      }
      // A resolver that is down for a moment: let the connection try and report.
      return warn(
        `looking up ${host} failed (${code ?? describeError(error)}); the connection will try again`,
      );
    }
    if (addresses.length === 0) {
      return fail(new InputError(unresolvedHostMessage(url, input), { input }));
    }
  }
  const problem = addressFamilyProblem(url, addresses, hasRoute, input);
  if (problem) return fail(new InputError(problem, { input }));
  const listed = addresses.map((entry) => `${entry.family === 6 ? "AAAA" : "A"} ${entry.address}`).join(", ");
  const v6Only = addresses.every((entry) => entry.family === 6);
  return ok(
    `${family !== 0 ? "an IP address" : listed}${v6Only && hasRoute ? " (IPv6 only; this machine has an IPv6 route)" : ""}`,
  );
}

/** The first line of a connection from this machine: a TCP socket to the host and port. */
async function checkTcp(url: DatabaseUrl, input: string): Promise<Step> {
  const started = performance.now();
  try {
    const socket = await openSocket(url);
    socket.destroy();
  } catch (error) {
    return fail(connectionError(error, url, input));
  }
  const where = isSocketPath(url.host) ? socketPath(url) : `${url.host}:${url.port}`;
  return ok(`${where} accepts connections (${Math.round(performance.now() - started)} ms)`);
}

function socketPath(url: DatabaseUrl): string {
  return join(url.host, `.s.PGSQL.${url.port}`);
}

function openSocket(url: DatabaseUrl): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = isSocketPath(url.host)
      ? netConnect({ path: socketPath(url) })
      : netConnect({ host: bareHost(url.host), port: url.port });
    socket.setTimeout(10_000, () =>
      socket.destroy(Object.assign(new Error("connection timed out"), { code: "ETIMEDOUT" })),
    );
    socket.once("connect", () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Asks the server for TLS the way libpq does and completes the handshake with the URL's sslmode,
 * apart from authentication, so a certificate problem is told apart from a password problem.
 */
async function checkTls(url: DatabaseUrl, input: string): Promise<Step> {
  const mode = url.sslmode;
  if (mode === "disable") {
    return {
      status: "skip",
      detail: isSocketPath(url.host)
        ? "a Unix socket: no TLS"
        : "sslmode=disable: the connection is not encrypted",
    };
  }
  let socket: Socket;
  try {
    socket = await openSocket(url);
  } catch (error) {
    return fail(connectionError(error, url, input));
  }
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      socket.once("data", (data) => resolve(data.subarray(0, 1).toString("latin1")));
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("the server closed the connection")));
      socket.write(SSL_REQUEST);
    });
    if (answer !== "S") {
      if (mode === "prefer" || mode === "allow") {
        const detail = `the server offers no TLS; sslmode=${mode} connects unencrypted`;
        return isLocalHost(url.host) ? ok(`${detail} (a local host)`) : warn(detail);
      }
      return fail(connectionError(new Error("The server does not support SSL connections"), url, input));
    }
    let options;
    try {
      options = tlsOptions(url, mode === "prefer" || mode === "allow" ? "require" : mode, input);
    } catch (error) {
      if (error instanceof LifeboatError) return fail(error);
      throw error;
    }
    const host = bareHost(url.host);
    const secure = await new Promise<{ protocol: string | null; verified: boolean }>((resolve, reject) => {
      const tls = tlsConnect({ ...options, socket, host, ...(isIP(host) ? {} : { servername: host }) });
      tls.once("secureConnect", () => {
        resolve({ protocol: tls.getProtocol(), verified: tls.authorized });
        tls.destroy();
      });
      tls.once("error", reject);
    }).catch((error: unknown) => {
      const problem = certificateProblemFor(error, url, input);
      if (problem) return problem;
      throw error;
    });
    if (secure instanceof LifeboatError) return fail(secure);
    const what =
      mode === "verify-full"
        ? "certificate and host name verified"
        : mode === "verify-ca" || (mode === "require" && options.rejectUnauthorized)
          ? "certificate chain verified, host name not checked"
          : "encrypted, certificate not verified";
    return ok(`${secure.protocol ?? "TLS"}, ${what} (sslmode=${mode})`);
  } catch (error) {
    return fail(
      new InputError(`--${input}: TLS with ${url.host}:${url.port} failed: ${describeError(error)}`, {
        input,
      }),
    );
  } finally {
    socket.destroy();
  }
}

async function checkTimeouts(client: pg.Client): Promise<Step> {
  const { rows } = await client.query<{
    name: string;
    reset_val: string;
    setting: string;
    unit: string | null;
  }>(
    "SELECT name, reset_val, setting, unit FROM pg_catalog.pg_settings WHERE name = ANY($1::text[]) ORDER BY name",
    [[...DUMP_TIMEOUTS]],
  );
  const set = rows.filter((row) => row.reset_val !== "0");
  const stillOn = rows.filter((row) => row.setting !== "0");
  if (stillOn.length) {
    return warn(
      `${stillOn.map((row) => `${row.name}=${row.setting}${row.unit ?? ""}`).join(", ")} could not be turned off in Lifeboat's session`,
    );
  }
  if (set.length === 0) return ok(`none set (${rows.map((row) => row.name).join(", ")} are 0)`);
  return ok(
    `${set.map((row) => `${row.name}=${row.reset_val}${row.unit ?? ""}`).join(", ")} for this user or database: Lifeboat turns them off in its own sessions, and pg_dump in its own`,
  );
}

/**
 * Tables and sequences pg_dump will read (user schemas, extension members left out) that this user
 * cannot: no USAGE on the schema, no SELECT, or row-level security that applies to it (pg_dump
 * runs with row_security off and stops at such a table).
 */
async function checkPrivileges(client: pg.Client, input: string, preset: Preset): Promise<Step> {
  // Schema names as LIKE patterns: `_` literal, the preset's `*` wildcard as `%`.
  const excluded = (preset === "supabase" ? SUPABASE_PLATFORM_SCHEMAS : []).map((name) =>
    name.replace(/[\\%_]/g, (char) => `\\${char}`).replace(/\*/g, "%"),
  );
  const { rows } = await client.query<{
    name: string;
    kind: string;
    usage: boolean;
    select: boolean;
    rls: boolean;
  }>(
    `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, c.relkind AS kind,
            pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS usage,
            pg_catalog.has_table_privilege(c.oid, 'SELECT') AS select,
            (c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
              AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE'))) AS rls
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_roles r ON r.rolname = current_user
      WHERE c.relkind IN ('r', 'p', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND NOT (n.nspname LIKE ANY ($1::text[]))
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
    [excluded],
  );
  const tables = rows.filter((row) => row.kind !== "S").length;
  const sequences = rows.length - tables;
  const blocked = rows
    .map((row) => {
      const why = !row.usage
        ? "no USAGE on its schema"
        : !row.select
          ? "no SELECT"
          : row.rls
            ? "row-level security"
            : "";
      return why ? `${row.name} (${why})` : "";
    })
    .filter(Boolean);
  if (blocked.length === 0) {
    return ok(`can read all ${tables} tables and ${sequences} sequences`);
  }
  const shown =
    blocked.slice(0, 5).join(", ") + (blocked.length > 5 ? `, and ${blocked.length - 5} more` : "");
  return fail(
    new InputError(
      `--${input}: ${blocked.length} of ${rows.length} tables and sequences cannot be read by this user: ${shown}; grant SELECT (or BYPASSRLS), or leave them out with --exclude-table / --exclude-schema`,
      { input },
    ),
  );
}

export async function runDoctor(settings: DoctorSettings, deps: DoctorDeps): Promise<DoctorReport> {
  const input = "database-url";
  const url = settings.databaseUrl;
  const checks: DoctorCheck[] = [];
  const report: DoctorReport = { ok: true, exitCode: 0, checks };
  let blocked = false;
  const record = (name: string, step: Step) => {
    checks.push({ name, status: step.status, detail: step.detail });
    if (step.status === "fail") {
      blocked = true;
      report.ok = false;
      report.failure ??= step.error;
    }
  };
  const run = async (name: string, step: () => Promise<Step>) => {
    if (blocked) {
      checks.push({ name, status: "skip", detail: "not checked: an earlier check failed" });
      return;
    }
    try {
      record(name, await step());
    } catch (error) {
      record(
        name,
        fail(
          error instanceof LifeboatError ? error : new LifeboatError(describeError(error), { cause: error }),
        ),
      );
    }
  };

  await run("url", () => Promise.resolve(checkUrl(url, input)));
  await run("dns", () => checkDns(url, input, deps));
  await run("tcp", () => checkTcp(url, input));
  await run("tls", () => checkTls(url, input));
  let client: pg.Client | undefined;
  await run("authentication", async () => {
    client = await connect(url, input);
    const who = await client.query<{ user: string; database: string; ssl: boolean | null }>(
      "SELECT current_user AS user, current_database() AS database, (SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()) AS ssl",
    );
    const row = who.rows[0]!;
    return ok(
      `connected as ${row.user} to database ${row.database}${row.ssl ? " over TLS" : row.ssl === false ? " without TLS" : ""}`,
    );
  });
  let server: ServerInfo | undefined;
  try {
    await run("server", async () => {
      server = await readServerInfo(client!);
      report.server = { version: server.version, database: server.database, user: server.user };
      return ok(`PostgreSQL ${server.version}`);
    });
    await run("timeouts", () => checkTimeouts(client!));
    await run("privileges", () => checkPrivileges(client!, input, settings.preset));
  } finally {
    await client?.end().catch(() => undefined);
  }
  // Whether a pg_dump fits is worth knowing even when a privilege is missing.
  if (server !== undefined) blocked = false;
  await run("pg_dump", async () => {
    const tool = await findPgDumpFor(server!, settings, deps);
    report.pgDump = { version: tool.version, path: tool.path };
    return ok(`pg_dump ${tool.version} (${tool.path}) can dump PostgreSQL ${server!.version}`);
  });
  if (report.failure) report.exitCode = report.failure.exitCode;
  return report;
}
