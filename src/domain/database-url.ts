import { resolveSslMode, type SslMode } from "./connection-rules.js";
import { InputError } from "./errors.js";

/**
 * A PostgreSQL connection URL, split so that the password travels apart from everything else:
 * pg_dump gets `PGPASSWORD` in its environment and the rest as `--dbname`, so no password ever
 * shows in a process list, a log line or a manifest.
 */
export interface DatabaseUrl {
  /** The URL without the password (user kept), safe to pass on a command line. */
  withoutPassword: string;
  /** The URL for display and manifests: no user info at all, no query string. */
  redacted: string;
  password: string | undefined;
  host: string;
  port: number;
  database: string;
  user: string | undefined;
  /** The query parameters libpq gets: password and node-postgres's `ssl` left out, sslmode resolved. */
  params: Record<string, string>;
  /**
   * The sslmode every connection uses, Lifeboat's and libpq's alike (docs/connections.md). When it
   * is not libpq's own default (prefer), `withoutPassword` carries it, so pg_dump gets it too.
   */
  sslmode: SslMode;
}

/** Prisma's own URL parameters for its connection pool: meaningless to pg_dump, refused by libpq. */
const PRISMA_POOL_PARAMS = [
  "pgbouncer",
  "connection_limit",
  "pool_timeout",
  "statement_cache_size",
  "socket_timeout",
] as const;

export function parseDatabaseUrl(text: string, input = "database-url"): DatabaseUrl {
  const flag = `--${input}`;
  const trimmed = text.trim();
  if (trimmed === "") {
    throw new InputError(`${flag}: expected postgresql://user:password@host:port/database, got nothing`, {
      input,
    });
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new InputError(`${flag}: not a URL; expected postgresql://user:password@host:port/database`, {
      input,
    });
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new InputError(
      `${flag}: scheme "${url.protocol.replace(/:$/, "")}" is not postgresql; expected postgresql://user:password@host:port/database`,
      { input },
    );
  }
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  let password = url.password ? decodeURIComponent(url.password) : undefined;
  if (params.password !== undefined) {
    password = params.password;
    delete params.password;
  }
  const host = params.host ?? (url.hostname ? decodeURIComponent(url.hostname) : "localhost");
  const portText = params.port ?? (url.port || "5432");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InputError(`${flag}: port "${portText}" is not a number from 1 to 65535`, { input });
  }
  const database = params.dbname ?? decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database === "") {
    throw new InputError(
      `${flag}: no database name; expected postgresql://user:password@host:port/database`,
      {
        input,
      },
    );
  }
  const user = params.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const ssl = resolveSslMode(params, host, input);
  // libpq refuses parameters it does not know: node-postgres's `ssl` and `uselibpqcompat`, and
  // the pool settings of Prisma's URLs (Supabase's guide for Prisma adds pgbouncer=true and
  // connection_limit), which tune that client only.
  delete params.ssl;
  delete params.uselibpqcompat;
  for (const name of PRISMA_POOL_PARAMS) delete params[name];
  // Lifeboat's default for a remote host (require) is stricter than libpq's (prefer): written out.
  if (ssl.explicit || ssl.mode === "require") params.sslmode = ssl.mode;

  const bare = new URL(url.toString());
  bare.password = "";
  bare.search = "";
  for (const [key, value] of Object.entries(params)) bare.searchParams.set(key, value);
  const display = new URL(url.toString());
  display.username = "";
  display.password = "";
  display.search = "";
  return {
    withoutPassword: bare.toString(),
    redacted: display.toString(),
    password,
    host,
    port,
    database,
    user,
    params,
    sslmode: ssl.mode,
  };
}

/** Replaces the password of any postgres URL in `text`, for messages that quote other tools. */
export function redactUrls(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}

/**
 * The full connection string, password included: only for in-process drivers and a child
 * process's DATABASE_URL, never for a log line or a command line.
 */
export function connectionString(url: DatabaseUrl): string {
  if (url.password === undefined) return url.withoutPassword;
  const full = new URL(url.withoutPassword);
  full.password = encodeURIComponent(url.password);
  return full.toString();
}
