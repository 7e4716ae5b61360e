import pg from "pg";
import { InputError, describeError } from "../domain/errors.js";
import { connectionString, type DatabaseUrl } from "../domain/database-url.js";

export interface ServerInfo {
  version: string;
  /** pg_database_size() of the current database, for sizing uploads. */
  databaseBytes: number;
  versionNum: number;
  major: number;
  database: string;
  user: string;
}

/**
 * Connects, or fails with a one-line InputError that says which part of the URL is wrong.
 * The password is never part of the message.
 */
export async function connect(url: DatabaseUrl, input = "database-url"): Promise<pg.Client> {
  const client = new pg.Client({
    // pg lets the URL's fields override separate ones, so the password goes back into the URL
    // (in memory only) rather than beside it.
    connectionString: connectionString(url),
    connectionTimeoutMillis: 15_000,
    application_name: "lifeboat",
  });
  // A server that goes away later must not crash the process through an unhandled 'error' event;
  // the query in flight rejects on its own.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(error, url, input);
  }
  return client;
}

export function connectionError(error: unknown, url: DatabaseUrl, input: string): InputError {
  const flag = `--${input}`;
  const code = (error as { code?: string }).code;
  const where = `${url.host}:${url.port}`;
  const user = url.user ?? "(default user)";
  let message: string;
  switch (code) {
    case "28P01":
    case "28000":
      message = `${flag}: authentication failed for user "${user}" at ${where} (check the user and password)`;
      break;
    case "3D000":
      message = `${flag}: database "${url.database}" does not exist on ${where}`;
      break;
    case "ECONNREFUSED":
      message = `${flag}: nothing accepts connections at ${where} (connection refused: check host and port)`;
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      message = `${flag}: host "${url.host}" could not be resolved (check the host name)`;
      break;
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      message = `${flag}: ${where} is unreachable (${code}); check the host, the port and the network`;
      break;
    default:
      message = `${flag}: cannot connect to ${where}: ${describeError(error)}`;
  }
  return new InputError(message, { input, cause: error });
}

export async function readServerInfo(client: pg.Client): Promise<ServerInfo> {
  const result = await client.query<{
    version: string;
    num: string;
    database: string;
    user: string;
    bytes: string;
  }>(
    "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num, current_database() AS database, current_user AS user, pg_catalog.pg_database_size(current_database()) AS bytes",
  );
  const row = result.rows[0]!;
  const versionNum = Number(row.num);
  return {
    version: row.version,
    databaseBytes: Number(row.bytes),
    versionNum,
    major: Math.floor(versionNum / 10000),
    database: row.database,
    user: row.user,
  };
}
