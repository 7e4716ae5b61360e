/**
 * What can be told about a connection URL before connecting: Supabase's host forms and poolers,
 * the sslmode to use, and the address families a host needs. Pure: DNS answers and what the
 * machine's network can reach are passed in. docs/connections.md describes every rule.
 */
import { InputError } from "./errors.js";

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Stands in for the password wherever a URL is suggested: the real one is never printed. */
export const PASSWORD_PLACEHOLDER = "[YOUR-PASSWORD]";

/** localhost, 127.0.0.0/8, ::1 and Unix socket directories: traffic that never leaves the machine. */
export function isLocalHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return (
    isSocketPath(host) ||
    bare === "localhost" ||
    bare.endsWith(".localhost") ||
    bare === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
  );
}

/** A host that is a directory holding the server's Unix socket (libpq's convention). */
export function isSocketPath(host: string): boolean {
  return host.startsWith("/");
}

export interface ResolvedSslMode {
  mode: SslMode;
  /** Given in the URL (sslmode, ssl or sslrootcert=system), rather than Lifeboat's default. */
  explicit: boolean;
}

/**
 * The sslmode a connection uses: the URL's `sslmode` (or node-postgres's `ssl=true|false`) when
 * given, else `require` for a host across a network and `prefer` (libpq's own default) for a local
 * one; a Unix socket is never encrypted. `sslrootcert=system` implies verify-full, as in libpq 16.
 */
export function resolveSslMode(
  params: Record<string, string>,
  host: string,
  input = "database-url",
): ResolvedSslMode {
  const flag = `--${input}`;
  let explicit: SslMode | undefined;
  const given = params.sslmode;
  if (given !== undefined) {
    if (!(SSL_MODES as readonly string[]).includes(given)) {
      throw new InputError(`${flag}: sslmode "${given}" is not one of ${SSL_MODES.join(", ")}`, { input });
    }
    explicit = given as SslMode;
  } else if (params.ssl !== undefined) {
    const ssl = params.ssl.toLowerCase();
    if (["true", "1", "require", "no-verify"].includes(ssl)) explicit = "require";
    else if (["false", "0", "disable"].includes(ssl)) explicit = "disable";
    else {
      throw new InputError(
        `${flag}: ssl "${params.ssl}" is not true or false; use sslmode=${SSL_MODES.join("|")} instead`,
        { input },
      );
    }
  }
  if (params.sslrootcert === "system") {
    if (explicit !== undefined && explicit !== "verify-full") {
      throw new InputError(
        `${flag}: sslrootcert=system needs sslmode=verify-full (got sslmode=${explicit})`,
        {
          input,
        },
      );
    }
    return { mode: "verify-full", explicit: true };
  }
  if (explicit !== undefined) return { mode: explicit, explicit: true };
  if (isSocketPath(host)) return { mode: "disable", explicit: false };
  return { mode: isLocalHost(host) ? "prefer" : "require", explicit: false };
}

export type SupabaseHost =
  { kind: "direct"; ref: string } | { kind: "pooler"; region: string | undefined; host: string };

/**
 * `db.<ref>.supabase.co` (the project's own server, IPv6 only unless the IPv4 add-on is on) and
 * `aws-0-<region>.pooler.supabase.com` (Supavisor: session mode on 5432, transaction mode on 6543).
 */
export function supabaseHost(host: string): SupabaseHost | undefined {
  const name = host.toLowerCase().replace(/\.$/, "");
  const direct = /^db\.([a-z0-9]+)\.supabase\.co$/.exec(name);
  if (direct) return { kind: "direct", ref: direct[1]! };
  if (name.endsWith(".pooler.supabase.com")) {
    const region = /^aws-\d+-([a-z0-9-]+)\.pooler\.supabase\.com$/.exec(name);
    return { kind: "pooler", region: region?.[1], host: name };
  }
  return undefined;
}

export interface UrlParts {
  host: string;
  port: number;
  database: string;
  user: string | undefined;
  params: Record<string, string>;
}

/**
 * The session pooler form of a direct Supabase URL, password left as a placeholder. The pooler's
 * host names the project's region, which only the dashboard knows (Connect -> Session pooler).
 */
export function sessionPoolerUrl(url: UrlParts, ref: string, poolerHost?: string): string {
  const user = `${(url.user ?? "postgres").replace(/\.[a-z0-9]+$/, "")}.${ref}`;
  const query = Object.entries(url.params)
    .filter(([key]) => !["host", "port", "user", "dbname", "password"].includes(key))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join("&");
  return `postgresql://${encodeURIComponent(user)}:${PASSWORD_PLACEHOLDER}@${poolerHost ?? "aws-0-<region>.pooler.supabase.com"}:5432/${encodeURIComponent(url.database)}${query ? `?${query}` : ""}`;
}

export interface RuleFinding {
  level: "fail" | "warn";
  message: string;
}

/**
 * Rules that need no network: poolers in transaction mode, where every transaction may run in
 * another server session, so pg_dump's snapshot and its session settings would not hold.
 */
export function urlRules(url: UrlParts, input = "database-url"): RuleFinding[] {
  const flag = `--${input}`;
  const findings: RuleFinding[] = [];
  const supabase = supabaseHost(url.host);
  const onSupabase = supabase !== undefined || /\.supabase\.(co|com)$/i.test(url.host);
  const needsSession = "pg_dump needs one server session for its whole run (its snapshot and settings)";
  if (url.port === 6543 && onSupabase) {
    const instead =
      supabase?.kind === "pooler"
        ? `the session pooler on the same host: port 5432, user ${url.user ?? "postgres.<project-ref>"}`
        : supabase?.kind === "direct"
          ? `port 5432 on the same host (IPv6 only), or the session pooler: ${sessionPoolerUrl(url, supabase.ref)} (copy the host from the dashboard: Connect -> Session pooler)`
          : "the session pooler (port 5432; dashboard: Connect -> Session pooler)";
    findings.push({
      level: "fail",
      message: `${flag}: port 6543 is Supabase's transaction pooler, and ${needsSession}; use ${instead}`,
    });
  } else if (url.port === 6543) {
    findings.push({
      level: "warn",
      message: `${flag}: port 6543 is where Supabase and others run a transaction-mode pooler, which breaks pg_dump; if ${url.host} is one, use its session mode (or the server itself)`,
    });
  }
  const neon = /^(ep-[a-z0-9-]+)-pooler(\..*\.neon\.tech)$/i.exec(url.host);
  if (neon) {
    findings.push({
      level: "fail",
      message: `${flag}: ${url.host} is Neon's pooled host (PgBouncer in transaction mode), and ${needsSession}; use the direct host ${neon[1]}${neon[2]}`,
    });
  }
  return findings;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Whether an IPv6 address is a global unicast one (2000::/3): reachable only over a global route. */
export function isGlobalIpv6(address: string): boolean {
  return /^[23][0-9a-f]{0,3}:/i.test(address);
}

/**
 * A host that resolves only to global IPv6 addresses, on a machine with no global IPv6 route
 * (GitHub-hosted runners have none): fails with what to use instead.
 */
export function addressFamilyProblem(
  url: UrlParts,
  addresses: ResolvedAddress[],
  hasIpv6Route: boolean,
  input = "database-url",
): string | undefined {
  if (addresses.length === 0 || hasIpv6Route) return undefined;
  if (addresses.some((entry) => entry.family === 4)) return undefined;
  if (!addresses.every((entry) => isGlobalIpv6(entry.address))) return undefined;
  const flag = `--${input}`;
  const supabase = supabaseHost(url.host);
  const why = `has only IPv6 addresses (${addresses[0]!.address}) and this machine has no IPv6 route`;
  if (supabase?.kind === "direct") {
    return `${flag}: ${url.host} ${why} (GitHub-hosted runners have none); use Supabase's session pooler instead: ${sessionPoolerUrl(url, supabase.ref)} (copy the pooler host from the dashboard: Connect -> Session pooler)`;
  }
  return `${flag}: host "${url.host}" ${why}; use a host name or address that is reachable over IPv4`;
}

/** One line for a host name that does not resolve, with the likely cause. */
export function unresolvedHostMessage(url: UrlParts, input = "database-url"): string {
  const flag = `--${input}`;
  const supabase = supabaseHost(url.host);
  if (supabase?.kind === "direct") {
    return `${flag}: host "${url.host}" does not resolve: the project ref "${supabase.ref}" may be wrong, or the project is paused (copy the URL from the dashboard: Connect)`;
  }
  if (supabase?.kind === "pooler") {
    return `${flag}: host "${url.host}" does not resolve: the pooler's region may be wrong (copy the host from the dashboard: Connect -> Session pooler)`;
  }
  return `${flag}: host "${url.host}" could not be resolved (check the host name)`;
}

/** Supavisor's answer to a user it cannot map to a project: the user part names the project. */
export function poolerUserMessage(url: UrlParts, input = "database-url"): string {
  const flag = `--${input}`;
  const user = url.user ?? "(default user)";
  if (!user.includes(".")) {
    return `${flag}: the pooler does not know user "${user}" ("Tenant or user not found"); on Supabase's pooler the user is ${user === "(default user)" ? "postgres" : user}.<project-ref>, e.g. postgres.abcdefghijklmnop`;
  }
  const ref = user.slice(user.lastIndexOf(".") + 1);
  return `${flag}: the pooler does not know user "${user}" ("Tenant or user not found"): the project ref "${ref}" in the user part may be wrong, or the pooler host is in another region than the project (copy both from the dashboard: Connect -> Session pooler)`;
}

/** Node's TLS error codes for certificates it refuses, as one line naming the problem and the fix. */
export function certificateProblem(code: string | undefined, mode: SslMode): string | undefined {
  const problems: Record<string, string> = {
    DEPTH_ZERO_SELF_SIGNED_CERT: "is self-signed",
    SELF_SIGNED_CERT_IN_CHAIN: "is signed by a CA that is not trusted (self-signed root in the chain)",
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "is signed by an unknown CA",
    UNABLE_TO_GET_ISSUER_CERT: "is signed by an unknown CA",
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "is signed by an unknown CA",
    CERT_HAS_EXPIRED: "has expired",
    CERT_NOT_YET_VALID: "is not valid yet",
    ERR_TLS_CERT_ALTNAME_INVALID: "does not name this host (host name mismatch)",
    CERT_SIGNATURE_FAILURE: "has a bad signature",
  };
  const problem = code ? problems[code] : undefined;
  if (!problem) return undefined;
  const fix =
    code === "ERR_TLS_CERT_ALTNAME_INVALID"
      ? "connect by the name in the certificate, use sslmode=verify-ca (CA checked, name not), or sslmode=require (encrypted, not verified)"
      : "pass the CA that signed it with sslrootcert=/path/to/ca.crt, or use sslmode=require (encrypted, not verified)";
  return `the server's TLS certificate ${problem} (sslmode=${mode}); ${fix}`;
}
