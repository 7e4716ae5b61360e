/**
 * A throwaway PostgreSQL cluster for tests, the demo and the benchmark: initdb into a temporary
 * directory, start on a free loopback port, tear down (and delete) afterwards.
 *
 * initdb and postgres refuse to run as root, so when we are root (CI containers, this machine)
 * the server runs as the `postgres` system user; clients (pg_dump, ours) still run as we are.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface Cluster {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  binDir: string;
  /** A connection URL for a database of this cluster (default `postgres`). */
  url(database?: string, overrides?: { user?: string; password?: string }): string;
  /** Runs SQL (several statements allowed) in a database and returns the last result's rows. */
  sql<Row = Record<string, unknown>>(database: string, text: string, values?: unknown[]): Promise<Row[]>;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** The server binaries: an explicit dir, then the newest /usr/lib/postgresql/<major>/bin, then PATH. */
export function findServerBinDir(preferred?: string): string {
  const candidates = [preferred, process.env.LIFEBOAT_TEST_PG_BIN_DIR];
  for (const major of [18, 17, 16, 15, 14, 13]) candidates.push(`/usr/lib/postgresql/${major}/bin`);
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return join(found, "..");
  throw new Error("no PostgreSQL server binaries (initdb, pg_ctl) found: install the postgresql package");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function asServerUser(command: string, args: string[]): [string, string[]] {
  return isRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

export async function startCluster(options: { binDir?: string; settings?: string[] } = {}): Promise<Cluster> {
  const binDir = findServerBinDir(options.binDir);
  const dataDir = mkdtempSync(join(tmpdir(), "lifeboat-pg-"));
  const user = "postgres";
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const pwFile = join(dataDir, "..", `${dataDir.split("/").pop()}.pw`);
  writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (isRoot) {
    const { uid, gid } = postgresIds();
    chownSync(dataDir, uid, gid);
    chownSync(pwFile, uid, gid);
  }
  chmodSync(dataDir, 0o700);
  try {
    const [cmd, args] = asServerUser(join(binDir, "initdb"), [
      "-D",
      dataDir,
      "-U",
      user,
      "--pwfile",
      pwFile,
      "--auth-host=scram-sha-256",
      "--auth-local=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    await run(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
  } finally {
    rmSync(pwFile, { force: true });
  }
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    ...(options.settings ?? []),
  ].join(" ");
  const [cmd, args] = asServerUser(join(binDir, "pg_ctl"), [
    "-D",
    dataDir,
    "-o",
    settings,
    "-l",
    join(dataDir, "server.log"),
    "-w",
    "-t",
    "60",
    "start",
  ]);
  await run(cmd, args);

  const host = "127.0.0.1";
  const url = (database = "postgres", overrides: { user?: string; password?: string } = {}) =>
    `postgresql://${encodeURIComponent(overrides.user ?? user)}:${encodeURIComponent(
      overrides.password ?? password,
    )}@${host}:${port}/${encodeURIComponent(database)}`;

  let stopped = false;
  const cluster: Cluster = {
    host,
    port,
    user,
    password,
    dataDir,
    binDir,
    url,
    async sql<Row>(database: string, text: string, values?: unknown[]) {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      try {
        const result = await client.query(text, values);
        const last = Array.isArray(result) ? result[result.length - 1] : result;
        return (last?.rows ?? []) as Row[];
      } finally {
        await client.end();
      }
    },
    async createDatabase(name: string) {
      await cluster.sql("postgres", `CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const [stopCmd, stopArgs] = asServerUser(join(binDir, "pg_ctl"), [
        "-D",
        dataDir,
        "-m",
        "immediate",
        "-w",
        "stop",
      ]);
      await run(stopCmd, stopArgs).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

function postgresIds(): { uid: number; gid: number } {
  const result = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gidResult = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (result.status !== 0 || gidResult.status !== 0) {
    throw new Error("running as root needs a `postgres` system user to run the test server");
  }
  return { uid: Number(result.stdout.trim()), gid: Number(gidResult.stdout.trim()) };
}
