/**
 * `npm run bench` (many tables): `lifeboat backup` of a database with 5,000 and then 10,000 small
 * tables, on a cluster at PostgreSQL's default lock settings (max_locks_per_transaction 64), next to
 * plain `pg_dump -Fc` of the same database: wall time, and the manifest's size. Row counts and
 * per-table digests come from the archive stream, so lifeboat takes no lock beyond pg_dump's own.
 *
 * Environment:
 *   LIFEBOAT_BENCH_TABLES     table counts, default "5000,10000"
 *   LIFEBOAT_BENCH_CLI_DIR    the CLI bundle to measure, default dist/cli
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startCluster } from "../test/helpers/postgres-cluster.js";

const counts = (process.env.LIFEBOAT_BENCH_TABLES ?? "5000,10000").split(",").map(Number);
const cli = join(resolve(process.env.LIFEBOAT_BENCH_CLI_DIR ?? "dist/cli"), "index.js");
/** Tables created per transaction: each CREATE holds a lock until commit, and the lock table is small. */
const CREATE_BATCH = 500;

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");

async function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  return { seconds: (performance.now() - started) / 1000, code, stdout, stderr };
}

function findManifest(dir: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findManifest(path);
      if (found) return found;
    } else if (entry.name === "manifest.json") return path;
  }
  return undefined;
}

if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
const work = mkdtempSync(join(tmpdir(), "lifeboat-bench-tables-"));
// No settings: the lock table is PostgreSQL's default size.
const cluster = await startCluster();
try {
  const [locks] = await cluster.sql<{ max_locks_per_transaction: string }>(
    "postgres",
    "SHOW max_locks_per_transaction",
  );
  const [connections] = await cluster.sql<{ max_connections: string }>("postgres", "SHOW max_connections");
  console.log(
    `Many tables, load average ${load()} at the start; max_locks_per_transaction ${locks!.max_locks_per_transaction}, ` +
      `max_connections ${connections!.max_connections}`,
  );
  await cluster.createDatabase("tables");
  const identity = join(work, "key.txt");
  const keygen = await timed("age-keygen", ["-o", identity], process.env);
  const recipient = /age1[0-9a-z]+/.exec(keygen.stderr + keygen.stdout)?.[0];
  if (!recipient) throw new Error("age-keygen printed no recipient");
  const pgDump = join(cluster.binDir, "pg_dump");
  let created = 0;
  for (const count of counts) {
    for (let from = created + 1; from <= count; from += CREATE_BATCH) {
      const to = Math.min(count, from + CREATE_BATCH - 1);
      await cluster.sql(
        "tables",
        `DO $$ BEGIN
           FOR i IN ${from}..${to} LOOP
             EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, v text NOT NULL)', i);
             EXECUTE format('INSERT INTO t_%s SELECT g, md5(g::text) FROM generate_series(1, 10) g', i);
           END LOOP;
         END $$`,
      );
    }
    created = count;
    const env = { ...process.env, PGPASSWORD: cluster.password };
    const plain = await timed(pgDump, ["-Fc", "-f", join(work, "plain.dump"), cluster.url("tables")], env);
    const store = join(work, `store-${count}`);
    const backup = await timed(
      process.execPath,
      [
        cli,
        "backup",
        "--storage",
        store,
        "--recipient",
        recipient,
        "--database-url",
        cluster.url("tables"),
        "--json",
      ],
      env,
    );
    const manifest = backup.code === 0 ? findManifest(store) : undefined;
    const tables = manifest
      ? (JSON.parse(readFileSync(manifest, "utf8")) as { tables: unknown[] }).tables.length
      : 0;
    console.log(
      [
        `${count.toLocaleString("en-US")} tables:`,
        `  pg_dump -Fc: ${plain.code === 0 ? `${plain.seconds.toFixed(1)} s` : `FAILED (${plain.stderr.trim().split("\n").at(-1)})`}`,
        `  lifeboat backup: ${backup.code === 0 ? `${backup.seconds.toFixed(1)} s` : `FAILED (${backup.stderr.trim().split("\n").at(-1)})`}` +
          (manifest
            ? `, manifest ${(statSync(manifest).size / 1e6).toFixed(2)} MB for ${tables.toLocaleString("en-US")} tables`
            : ""),
        `  load average ${load()}`,
      ].join("\n"),
    );
    rmSync(store, { recursive: true, force: true });
    rmSync(join(work, "plain.dump"), { force: true });
  }
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
