/**
 * `npm run bench` (restore part): how long `lifeboat restore-test` takes next to a plain parallel
 * pg_restore of the same archive from a local file, and how fast a deep verify reads.
 *
 *   a  pg_restore -j2 of the same archive (pg_dump -Fc -Z0, what lifeboat stores compressed and
 *      encrypted) from a local file                                              the floor
 *   b  lifeboat restore-test from the local directory store                     target b <= 1.1x a
 *   b' lifeboat restore-test from the S3 test server
 *   c  lifeboat verify --identity-file (deep verify)                            MB/s of the stored object
 *
 * Environment: LIFEBOAT_BENCH_RESTORE_GB (database size in GB, default 1), LIFEBOAT_BENCH_QUICK=1
 * (0.1 GB, to try the script), LIFEBOAT_BENCH_CLI_DIR (the CLI bundle, default dist/cli),
 * LIFEBOAT_BENCH_ARCHIVE_OUT (keep a copy of the -Z0 archive there, e.g. for bench-stages.ts),
 * LIFEBOAT_BENCH_RUNS (how many times a and b run, alternating; default 1), LIFEBOAT_BENCH_S3=0
 * (skip b'), LIFEBOAT_BENCH_COMPARE_CLI_DIR (a second CLI bundle, e.g. the main branch's, run as
 * b0 next to b in the same session, for before/after figures at the same load).
 * Each restore-test prints its phases (wall and lifeboat's CPU seconds) from its --json result.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startCluster } from "../test/helpers/postgres-cluster.js";
import { startS3Server } from "../test/helpers/s3-server.js";

const GB = 1e9;
const quick = process.env.LIFEBOAT_BENCH_QUICK === "1";
const targetBytes = (quick ? 0.1 : Number(process.env.LIFEBOAT_BENCH_RESTORE_GB ?? "1")) * GB;
const cli = join(resolve(process.env.LIFEBOAT_BENCH_CLI_DIR ?? "dist/cli"), "index.js");
const compareCli = process.env.LIFEBOAT_BENCH_COMPARE_CLI_DIR
  ? join(resolve(process.env.LIFEBOAT_BENCH_COMPARE_CLI_DIR), "index.js")
  : undefined;
const runs = Math.max(1, Number(process.env.LIFEBOAT_BENCH_RUNS ?? "1"));
const withS3 = process.env.LIFEBOAT_BENCH_S3 !== "0";
const TARGET = 1.1;

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Runs the bundled CLI; asynchronously, so that the S3 test server in this process keeps answering. */
async function lifeboat(
  args: string[],
  env: NodeJS.ProcessEnv,
  bundle = cli,
): Promise<{ seconds: number; json: Record<string, unknown> }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ["--openssl-legacy-provider", bundle, ...args, "--json"], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const elapsed = seconds(started);
  if (code !== 0) throw new Error(`lifeboat ${args[0]} failed: ${stderr}`);
  return { seconds: elapsed, json: JSON.parse(stdout) as Record<string, unknown> };
}

const work = mkdtempSync(join(tmpdir(), "lifeboat-bench-restore-"));
const cluster = await startCluster({ settings: ["-c max_wal_size=4GB", "-c maintenance_work_mem=256MB"] });
const s3 = await startS3Server({ directory: join(work, "s3") });
try {
  const pgbench = join(cluster.binDir, "pgbench");
  await cluster.createDatabase("bench");
  // As in the backup benchmark: pgbench tables plus rows of md5 text, which compress about as
  // much as real data does (pgbench_accounts alone compresses ~35x).
  const scale = Math.max(1, Math.round(targetBytes / 23.5e6));
  console.log(
    `Building a database of about ${(targetBytes / GB).toFixed(1)} GB (pgbench scale ${scale}) ...`,
  );
  execFileSync(pgbench, ["-i", "-q", "-s", String(scale), cluster.url("bench")], { stdio: "ignore" });
  await cluster.sql(
    "bench",
    `CREATE TABLE md5_rows AS SELECT i, md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text) || md5((i + 3)::text) AS v
       FROM generate_series(1, ${scale * 40_000}) i`,
  );
  const [size] = await cluster.sql<{ bytes: string }>("bench", "SELECT pg_database_size('bench') AS bytes");
  const databaseBytes = Number(size!.bytes);
  const pgRestore = join(cluster.binDir, "pg_restore");
  const pgDump = join(cluster.binDir, "pg_dump");

  const identity = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
  const env = { ...process.env, DATABASE_URL: cluster.url("bench"), ...s3.env };
  const s3Args = ["--s3-endpoint", s3.endpoint, "--s3-force-path-style"];
  const localStore = join(work, "store");
  await lifeboat(["backup", "--storage", localStore, "--recipient", recipient], env);
  if (withS3) {
    await lifeboat(
      ["backup", "--storage", `s3://${s3.bucket}/bench`, "--recipient", recipient, ...s3Args],
      env,
    );
  }

  // a: the same archive from a local file, pg_restore -j2 into a fresh database: lifeboat stores
  // age(zstd(pg_dump -Fc -Z0)), so the archive pg_restore reads is the uncompressed one.
  const dumpFile = join(work, "dump.pgdump");
  execFileSync(pgDump, ["-Fc", "-Z0", "-f", dumpFile, cluster.url("bench")]);
  if (process.env.LIFEBOAT_BENCH_ARCHIVE_OUT) copyFileSync(dumpFile, process.env.LIFEBOAT_BENCH_ARCHIVE_OUT);
  const floorOnce = async (): Promise<number> => {
    await cluster.createDatabase("floor");
    const started = process.hrtime.bigint();
    execFileSync(pgRestore, ["-j2", "--no-owner", "-d", cluster.url("floor"), dumpFile], {
      env: { ...process.env, PGPASSWORD: cluster.password },
    });
    const elapsed = seconds(started);
    await cluster.sql("postgres", "DROP DATABASE floor");
    return elapsed;
  };

  const restoreArgs = [
    "--identity-file",
    identity,
    "--scratch-database-url",
    cluster.url("postgres"),
    "--jobs",
    "2",
  ];
  type Run = Awaited<ReturnType<typeof lifeboat>>;
  const floors: number[] = [];
  const locals: Run[] = [];
  const compares: Run[] = [];
  const remotes: Run[] = [];
  const loads: number[] = [];
  for (let run = 0; run < runs; run++) {
    floors.push(await floorOnce());
    // The compared bundle goes first in odd rounds and second in even ones: the run after the
    // floor's drop is not always the same one.
    const compare = async () => {
      if (compareCli) {
        compares.push(
          await lifeboat(["restore-test", "--storage", localStore, ...restoreArgs], env, compareCli),
        );
      }
    };
    if (run % 2 === 0) await compare();
    locals.push(await lifeboat(["restore-test", "--storage", localStore, ...restoreArgs], env));
    if (run % 2 === 1) await compare();
    if (withS3) {
      remotes.push(
        await lifeboat(
          ["restore-test", "--storage", `s3://${s3.bucket}/bench`, ...restoreArgs, ...s3Args],
          env,
        ),
      );
    }
    loads.push(loadavg()[0]!);
  }
  const floor = Math.min(...floors);
  const local = locals.reduce((best, run) => (run.seconds < best.seconds ? run : best));
  const verify = await lifeboat(["verify", "--storage", localStore, "--identity-file", identity], env);
  const stored = Number(verify.json.storedBytes);

  const row = (name: string, wall: number, note = "") =>
    console.log(
      `${name.padEnd(48)} ${wall.toFixed(2).padStart(8)} s  ${(wall / floor).toFixed(2).padStart(6)}x a  ${note}`,
    );
  console.log(
    `\nDatabase ${(databaseBytes / GB).toFixed(2)} GB; archive ${(statSync(dumpFile).size / 1e6).toFixed(0)} MB; stored object ${(stored / 1e6).toFixed(0)} MB${quick ? " (quick mode)" : ""}`,
  );
  for (const [run, seconds] of floors.entries()) {
    row(`a  pg_restore -j2 from a local file (floor) #${run + 1}`, seconds);
  }
  const phases = (result: Run) =>
    ((result.json.phases ?? []) as { phase: string; wallSeconds: number; cpuSeconds: number }[])
      .map((p) => `${p.phase} ${p.wallSeconds.toFixed(2)}/${p.cpuSeconds.toFixed(2)}`)
      .join(", ");
  const each = (name: string, results: Run[]) => {
    for (const [run, result] of results.entries()) {
      row(
        `${name} #${run + 1}`,
        result.seconds,
        `restore ${String(result.json.restoreSeconds)} s, ${String(result.json.mode)} mode`,
      );
      if (!result.json.phases) continue;
      const restore = (result.json.phases as { phase: string; wallSeconds: number }[]).find(
        (p) => p.phase === "pg_restore",
      );
      console.log(`     phases (wall/cpu s): ${phases(result)}`);
      if (restore) {
        console.log(
          `     beyond its own pg_restore: ${(result.seconds - restore.wallSeconds).toFixed(2)} s (${((result.seconds - restore.wallSeconds) / floor).toFixed(2)}x a)`,
        );
      }
    }
  };
  each("b0 lifeboat restore-test (compare bundle), local", compares);
  each("b  lifeboat restore-test, local directory store", locals);
  each("b' lifeboat restore-test, S3 test server", remotes);
  console.log(
    `best b ${local.seconds.toFixed(2)} s against best a ${floor.toFixed(2)} s: ${(local.seconds / floor).toFixed(2)}x; target <= ${TARGET}x a: ${local.seconds <= TARGET * floor ? "PASS" : "MISS"}`,
  );
  console.log(`1-minute load average after each round: ${loads.map((l) => l.toFixed(2)).join(", ")}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(", ")}`,
  );
  console.log(
    `c  deep verify (decrypt + sha256 + pg_restore --list): ${(stored / 1e6 / verify.seconds).toFixed(0)} MB/s of stored object (${verify.seconds.toFixed(2)} s)`,
  );
} finally {
  await s3.stop();
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
