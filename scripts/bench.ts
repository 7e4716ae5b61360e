/**
 * `npm run bench`: how fast and how lean `lifeboat backup` is next to plain pg_dump, on this machine.
 *
 * A throwaway PostgreSQL cluster gets a pgbench-style database (pgbench -i plus a table of md5 text
 * rows, which compresses less), grown to each size in turn; at each size the same run measures
 *   a  pg_dump -Fc -Z0 > /dev/null                       the floor: reading the database, no compression
 *   b  pg_dump -Fc | age -r KEY > file                   what people do today (pg_dump's default gzip)
 *   c  pg_dump -Fc -Z0 | zstd -1 | age -r KEY > file     the best shell pipeline
 *   d  lifeboat backup into a local directory            the bundled CLI
 *   e  lifeboat backup into an S3 test server            Ceph radosgw when installed, else s3rver
 *   f  lifeboat backup --compression none -> local       no target: lifeboat's own cost without compression
 * and prints wall time, throughput, stored size, lifeboat's own peak RSS, the load average and the
 * targets. See docs/benchmarks.md for what the columns mean and for results.
 *
 * Environment:
 *   LIFEBOAT_BENCH_SIZES_GB  database sizes in GB (10^9 bytes, pg_database_size), default "1,2"
 *   LIFEBOAT_BENCH_QUICK=1   try the script: sizes 0.1 and 0.2 GB
 *   LIFEBOAT_BENCH_REPEAT    runs of a-f per size (medians are reported), default 3 (quick: 1)
 *   LIFEBOAT_BENCH_JSON      also write the raw results to this file
 *   LIFEBOAT_BENCH_CLI_DIR   the CLI bundle to measure, default dist/cli (e.g. one built with
 *                            `node scripts/build.mjs --out DIR`, then DIR/dist/cli)
 *   LIFEBOAT_BENCH_S3=mock   use the in-process s3rver even when radosgw is installed
 *   LIFEBOAT_BENCH_ATTEMPTS  attempts at a run that other processes disturbed, default 3
 *   LIFEBOAT_BENCH_QUIET_WAIT_SECONDS  how long to wait for a quiet machine before each run, default 60
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LIFEBOAT_VERSION } from "../src/version.js";
import { startCluster, type Cluster } from "../test/helpers/postgres-cluster.js";
import { rgwUnavailableReason, startRgwServer } from "../test/helpers/rgw-server.js";
import { startS3Server } from "../test/helpers/s3-server.js";

const MB = 1e6;
const GB = 1e9;
const DATABASE = "bench";
const LABEL = "bench";
const S3_PREFIX = "bench";

/** The issue's targets (issue 13). */
const TARGETS = {
  /** lifeboat's wall time at most this many times the floor's (a). */
  vsFloor: 1.2,
  /** lifeboat's wall time at most this many times the best shell pipeline's (c). */
  vsShell: 1.05,
  /** lifeboat's wall time at most this many times today's pipeline's (b). */
  vsToday: 0.5,
  /** lifeboat's stored bytes at most this many times the shell pipeline's (c). */
  storedVsShell: 1.05,
  /** lifeboat's stored bytes at most this many times today's pipeline's (b). */
  storedVsToday: 0.8,
  /** lifeboat's own peak RSS, in bytes, to a local directory and to S3. */
  peakRssLocalBytes: 150 * MB,
  peakRssS3Bytes: 200 * MB,
  /** "Flat when the database doubles": the largest size's peak RSS at most this times the smallest's. */
  rssGrowth: 1.1,
};

/** The store that run e writes to, whichever S3 test server it is. */
interface S3Target {
  kind: "radosgw" | "s3rver";
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
  /** Removes the benchmark's objects (and unfinished uploads) after a run. */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * pgbench rows per scale unit, and md5 rows added per unit, as in FIELD-NOTES' database (scale 100,
 * 4M md5 rows). Each md5 row carries four md5s (128 hex characters) so that the dump compresses
 * about as much as FIELD-NOTES' did (pg_dump's default gzip: ~13% of the database size):
 * pgbench_accounts alone compresses ~35x and would make every compressor look fast.
 */
const ACCOUNTS_PER_SCALE = 100_000;
const MD5_ROWS_PER_SCALE = 40_000;
/** First guess of pg_database_size per unit; corrected from the measured size as the database grows. */
const ESTIMATED_BYTES_PER_SCALE = 23.5 * MB;

const scriptDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(scriptDir, "..");
const bundleDir = resolve(process.env.LIFEBOAT_BENCH_CLI_DIR ?? join(repoDir, "dist", "cli"));
const cli = join(bundleDir, "index.js");
/** A run starts once the rest of the machine keeps fewer cores than this busy (or after a while). */
const QUIET_BUSY_CORES = 0.25;
/** A run counts as disturbed when processes other than the benchmark's used this many cores on average. */
const DISTURBED_CORES = 0.1;
/** Attempts at a run that other processes disturb. */
const MAX_ATTEMPTS = Number(process.env.LIFEBOAT_BENCH_ATTEMPTS ?? "3");
const QUIET_WAIT_SECONDS = Number(process.env.LIFEBOAT_BENCH_QUIET_WAIT_SECONDS ?? "60");
const rssPreload = pathToFileURL(join(scriptDir, "bench-rss.mjs")).href;

// ---------------------------------------------------------------------------------------------
// Configuration

interface Config {
  sizesGb: number[];
  repeat: number;
  jsonFile: string | undefined;
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const quick = env.LIFEBOAT_BENCH_QUICK === "1" || env.LIFEBOAT_BENCH_QUICK === "true";
  const sizesText = env.LIFEBOAT_BENCH_SIZES_GB?.trim() || (quick ? "0.1,0.2" : "1,2");
  const sizesGb = sizesText.split(",").map((part) => Number(part.trim()));
  if (sizesGb.length === 0 || sizesGb.some((size) => !Number.isFinite(size) || size < 0.02 || size > 100)) {
    throw new Error(
      `LIFEBOAT_BENCH_SIZES_GB="${sizesText}": expected sizes in GB from 0.02 to 100, e.g. 1,2`,
    );
  }
  const repeat = Number(env.LIFEBOAT_BENCH_REPEAT ?? (quick ? "1" : "3"));
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) {
    throw new Error(
      `LIFEBOAT_BENCH_REPEAT="${env.LIFEBOAT_BENCH_REPEAT}": expected a whole number from 1 to 20`,
    );
  }
  // The larger databases are grown from the smaller ones.
  return { sizesGb: [...new Set(sizesGb)].sort((x, y) => x - y), repeat, jsonFile: env.LIFEBOAT_BENCH_JSON };
}

// ---------------------------------------------------------------------------------------------
// Child processes: bounded in time, killed as a whole process group on timeout or interruption

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Where standard output goes: captured (default) or an open file descriptor. */
  stdout?: "pipe" | number;
  timeoutSeconds: number;
}

interface RunResult extends CpuUse {
  seconds: number;
  stdout: string;
}

async function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const cpuBefore = sampleCpu();
  const started = performance.now();
  // Its own process group, so that a shell pipeline dies with all its members.
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ["ignore", options.stdout ?? "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-8192)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, options.timeoutSeconds * 1000);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolveExit, reject) => {
        child.on("error", reject);
        child.on("close", (exitCode, exitSignal) => resolveExit({ code: exitCode, signal: exitSignal }));
      },
    );
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      const why = timedOut
        ? `timed out after ${options.timeoutSeconds} s`
        : signal
          ? `was killed by ${signal}`
          : `exited with status ${code}`;
      throw new Error(`${command} ${why}\n${stderr.trim()}`);
    }
    return { seconds, stdout, ...cpuSince(cpuBefore) };
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
}

async function withTimeout<T>(what: string, seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting, from /proc: the machine's busy time, and how much of it was the benchmark's own

/** Clock ticks per second, the unit of /proc/stat and /proc/<pid>/stat. */
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/**
 * Roots of the benchmark's own processes: this one (the S3 test server runs in it; the commands it
 * measures are its children) and the PostgreSQL server (added once started). The CPU time of a
 * process tree is what its live members used plus what their exited children did (cutime, cstime).
 */
const ownRoots = new Set<number>([process.pid]);

interface CpuSample {
  /** Clock ticks, summed over all cores. */
  machineTotal: number;
  /** Everything but idle, iowait and steal. */
  machineBusy: number;
  /** user, nice and system: the time processes are charged with (not irq or softirq). */
  processes: number;
  /** Time the hypervisor gave this machine's CPUs to someone else. */
  steal: number;
  /** The benchmark's own processes. */
  own: number;
}

function machineTicks(): { total: number; busy: number; processes: number; steal: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return {
    total,
    busy: total - fields[3]! - fields[4]! - (fields[7] ?? 0),
    processes: fields[0]! + fields[1]! + fields[2]!,
    steal: fields[7] ?? 0,
  };
}

function ownTicks(): number {
  const processes = new Map<number, { parent: number; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after "(comm) ": state ppid ... utime(14) stime cutime cstime, counted from 3.
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
      processes.set(Number(entry), { parent: Number(fields[1]), ticks });
    } catch {
      // exited meanwhile
    }
  }
  let sum = 0;
  for (const [pid, info] of processes) {
    for (let ancestor: number | undefined = pid; ancestor !== undefined && ancestor > 1;) {
      if (ownRoots.has(ancestor)) {
        sum += info.ticks;
        break;
      }
      ancestor = processes.get(ancestor)?.parent;
    }
  }
  return sum;
}

function sampleCpu(): CpuSample {
  const machine = machineTicks();
  return {
    machineTotal: machine.total,
    machineBusy: machine.busy,
    processes: machine.processes,
    steal: machine.steal,
    own: ownTicks(),
  };
}

interface CpuUse {
  /** Average number of the machine's cores that were busy. */
  busyCores: number;
  /**
   * CPU seconds charged to processes outside the benchmark's (other work, kernel threads), plus
   * time the hypervisor stole: what slowed the run down that the benchmark did not cause.
   */
  otherCpuSeconds: number;
}

function cpuSince(before: CpuSample): CpuUse {
  const after = sampleCpu();
  const total = after.machineTotal - before.machineTotal;
  const busy = after.machineBusy - before.machineBusy;
  // Interrupt time (the benchmark's loopback traffic and disk writes, mostly) is nobody's.
  const others = after.processes - before.processes - (after.own - before.own);
  const stolen = after.steal - before.steal;
  return {
    busyCores: total > 0 ? (busy / total) * availableParallelism() : NaN,
    otherCpuSeconds: (Math.max(0, others) + stolen) / CLOCK_TICKS,
  };
}

/**
 * Waits until the rest of the machine is nearly idle, for at most QUIET_WAIT_SECONDS: on a small
 * shared machine a compiler or a test run next to the benchmark changes its numbers. Returns the
 * cores that other processes kept busy in the last second.
 */
async function waitForQuietMachine(): Promise<number> {
  const deadline = performance.now() + QUIET_WAIT_SECONDS * 1000;
  for (;;) {
    const before = sampleCpu();
    await new Promise((wake) => setTimeout(wake, 1000));
    const otherCores = cpuSince(before).otherCpuSeconds;
    if (otherCores < QUIET_BUSY_CORES || performance.now() > deadline) return otherCores;
  }
}

function loadAverageText(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
}

function output(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return result.status === 0 ? `${result.stdout}${result.stderr}`.trim() : "unavailable";
}

function progress(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// The database: pgbench -i, then grown in place (faster than building every size from nothing)

interface DatabaseState {
  /** pgbench scale factor; the md5 table has MD5_ROWS_PER_SCALE rows per unit. */
  scale: number;
  bytes: number;
}

function pgEnv(cluster: Cluster): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: cluster.host,
    PGPORT: String(cluster.port),
    PGUSER: cluster.user,
    PGPASSWORD: cluster.password,
    PGDATABASE: DATABASE,
  };
}

async function growDatabase(
  cluster: Cluster,
  from: number,
  to: number,
  timeoutSeconds: number,
): Promise<void> {
  if (from === 0) {
    // pgbench's own schema and data: branches, tellers, accounts (100,000 rows per unit), history.
    // Server-side generation (G) is the fastest; v vacuums, p adds the primary keys.
    await run(join(cluster.binDir, "pgbench"), ["-i", "-I", "dtGvp", "-s", String(to), "-q"], {
      env: pgEnv(cluster),
      timeoutSeconds,
    });
    await cluster.sql(DATABASE, "CREATE TABLE bench_md5 (id bigint NOT NULL, payload text NOT NULL)");
  } else {
    // What pgbench -i -I G inserts, for the units from+1..to (the primary keys are already there).
    await withTimeout(
      "growing the pgbench tables",
      timeoutSeconds,
      cluster.sql(
        DATABASE,
        `INSERT INTO pgbench_branches (bid, bbalance) SELECT bid, 0 FROM generate_series(${from + 1}, ${to}) bid;
         INSERT INTO pgbench_tellers (tid, bid, tbalance)
           SELECT tid, (tid - 1) / 10 + 1, 0 FROM generate_series(${10 * from + 1}, ${10 * to}) tid;
         INSERT INTO pgbench_accounts (aid, bid, abalance, filler)
           SELECT aid, (aid - 1) / ${ACCOUNTS_PER_SCALE} + 1, 0, ''
             FROM generate_series(${ACCOUNTS_PER_SCALE * from + 1}, ${ACCOUNTS_PER_SCALE * to}) aid;`,
      ),
    );
  }
  // 128 hex characters a row: gzip gets about 2.3x out of them, against ~35x for pgbench_accounts.
  await withTimeout(
    "filling bench_md5",
    timeoutSeconds,
    cluster.sql(
      DATABASE,
      `INSERT INTO bench_md5
         SELECT i, md5(i::text) || md5((-i)::text) || md5((i + 0.5)::text) || md5((i - 0.5)::text)
           FROM generate_series(${MD5_ROWS_PER_SCALE * from + 1}, ${MD5_ROWS_PER_SCALE * to}) i`,
    ),
  );
}

/** Grows the database until pg_database_size reaches about `targetBytes`. */
async function buildDatabase(
  cluster: Cluster,
  state: DatabaseState | undefined,
  targetBytes: number,
): Promise<DatabaseState> {
  let { scale, bytes } = state ?? { scale: 0, bytes: 0 };
  const timeoutSeconds = 300 + (600 * targetBytes) / GB;
  for (let attempt = 0; attempt < 4 && bytes < 0.97 * targetBytes; attempt++) {
    const perUnit = scale > 0 ? bytes / scale : ESTIMATED_BYTES_PER_SCALE;
    const next = scale + Math.max(1, Math.ceil((targetBytes - bytes) / perUnit));
    progress(`growing the database to pgbench scale ${next} (+${MD5_ROWS_PER_SCALE * next} md5 rows) ...`);
    await growDatabase(cluster, scale, next, timeoutSeconds);
    scale = next;
    bytes = await databaseBytes(cluster);
  }
  // Settle it before timing anything: hint bits and visibility map set (VACUUM), statistics
  // (ANALYZE), dirty pages on disk (CHECKPOINT, sync), and the tables in the page cache.
  await withTimeout(
    "settling the database",
    timeoutSeconds,
    (async () => {
      await cluster.sql(DATABASE, "VACUUM ANALYZE");
      await cluster.sql(DATABASE, "CHECKPOINT");
      spawnSync("sync");
      await cluster.sql(DATABASE, "SELECT count(*) FROM pgbench_accounts; SELECT count(*) FROM bench_md5");
    })(),
  );
  return { scale, bytes: await databaseBytes(cluster) };
}

async function databaseBytes(cluster: Cluster): Promise<number> {
  const [row] = await cluster.sql<{ bytes: string }>(
    DATABASE,
    "SELECT pg_database_size(current_database()) AS bytes",
  );
  return Number(row!.bytes);
}

// ---------------------------------------------------------------------------------------------
// The runs: a-e are the issue's, f (no target) shows lifeboat's cost without compression

type MethodId = "a" | "b" | "c" | "d" | "e" | "f";

const METHODS: { id: MethodId; title: string }[] = [
  { id: "a", title: "pg_dump -Fc -Z0 > /dev/null" },
  { id: "b", title: "pg_dump -Fc | age -r KEY > file" },
  { id: "c", title: "pg_dump -Fc -Z0 | zstd -1 | age -r KEY > file" },
  { id: "d", title: "lifeboat backup -> local directory" },
  { id: "e", title: "lifeboat backup -> S3 test server" },
  { id: "f", title: "lifeboat backup --compression none -> local" },
];

interface Measurement extends CpuUse {
  wallSeconds: number;
  storedBytes?: number;
  /** lifeboat's own process (d, e, f). */
  peakRssBytes?: number;
  lifeboatCpuSeconds?: number;
  /** CPU time of the S3 test server during e (radosgw's daemons, or this process for s3rver). */
  s3ServerCpuSeconds?: number;
}

interface Bench {
  /** A copy of the bundle taken at start, so that a rebuild of dist/ meanwhile changes nothing. */
  cli: string;
  cluster: Cluster;
  s3: S3Target;
  workDir: string;
  recipient: string;
  pgDump: string;
  timeoutSeconds: number;
}

/** pg_dump alone into /dev/null: -Z0 is the floor (a). */
async function runPgDumpOnly(bench: Bench, compressLevel: number): Promise<Measurement> {
  const devNull = openSync("/dev/null", "w");
  try {
    const result = await run(bench.pgDump, ["-Fc", `-Z${compressLevel}`], {
      env: pgEnv(bench.cluster),
      stdout: devNull,
      timeoutSeconds: bench.timeoutSeconds,
    });
    return {
      wallSeconds: result.seconds,
      busyCores: result.busyCores,
      otherCpuSeconds: result.otherCpuSeconds,
    };
  } finally {
    closeSync(devNull);
  }
}

/** A shell pipeline from pg_dump into age into a file: today's (b) or the best one (c). */
async function runShell(bench: Bench, pipeline: "today" | "zstd"): Promise<Measurement> {
  const file = join(bench.workDir, `${pipeline}.dump.age`);
  const script =
    pipeline === "today"
      ? 'set -o pipefail; "$0" -Fc | age -r "$1" > "$2"'
      : 'set -o pipefail; "$0" -Fc -Z0 | zstd -1 -q | age -r "$1" > "$2"';
  try {
    const result = await run("bash", ["-c", script, bench.pgDump, bench.recipient, file], {
      env: pgEnv(bench.cluster),
      timeoutSeconds: bench.timeoutSeconds,
    });
    return {
      wallSeconds: result.seconds,
      busyCores: result.busyCores,
      otherCpuSeconds: result.otherCpuSeconds,
      storedBytes: statSync(file).size,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

interface RssReport {
  maxRssKiB: number;
  userCpuSeconds: number;
  systemCpuSeconds: number;
}

async function runLifeboat(
  bench: Bench,
  target: "local" | "s3",
  extraArgs: string[] = [],
): Promise<Measurement> {
  const storageDir = join(bench.workDir, "store");
  const rssFile = join(bench.workDir, "lifeboat-rss.json");
  const storage =
    target === "local"
      ? ["--storage", storageDir]
      : [
          "--storage",
          `s3://${bench.s3.bucket}/${S3_PREFIX}`,
          "--s3-endpoint",
          bench.s3.endpoint,
          "--s3-force-path-style",
        ];
  const env: NodeJS.ProcessEnv = { ...process.env, ...bench.s3.env, LIFEBOAT_BENCH_RSS_FILE: rssFile };
  for (const name of ["DATABASE_URL", "LIFEBOAT_STORAGE", "LIFEBOAT_LABEL", "LIFEBOAT_RECIPIENTS"])
    delete env[name];
  const args = [
    "--import",
    rssPreload,
    bench.cli,
    "backup",
    ...storage,
    "--label",
    LABEL,
    "--recipient",
    bench.recipient,
    "--database-url",
    bench.cluster.url(DATABASE),
    "--json",
    ...extraArgs,
  ];
  const cpuBefore = target === "s3" ? s3CpuSeconds(bench.s3) : 0;
  try {
    const result = await run(process.execPath, args, { env, timeoutSeconds: bench.timeoutSeconds });
    const s3Cpu = target === "s3" ? s3CpuSeconds(bench.s3) - cpuBefore : 0;
    const json = JSON.parse(result.stdout) as { ok?: boolean; storedBytes?: number };
    if (json.ok !== true || typeof json.storedBytes !== "number") {
      throw new Error(`lifeboat backup printed no result: ${result.stdout}`);
    }
    const rss = JSON.parse(readFileSync(rssFile, "utf8")) as RssReport;
    return {
      wallSeconds: result.seconds,
      busyCores: result.busyCores,
      otherCpuSeconds: result.otherCpuSeconds,
      storedBytes: json.storedBytes,
      peakRssBytes: rss.maxRssKiB * 1024,
      lifeboatCpuSeconds: rss.userCpuSeconds + rss.systemCpuSeconds,
      ...(target === "s3" ? { s3ServerCpuSeconds: s3Cpu } : {}),
    };
  } finally {
    rmSync(rssFile, { force: true });
    if (target === "local") rmSync(storageDir, { recursive: true, force: true });
    else await bench.s3.clear();
  }
}

/** radosgw's daemons (by their directory on the command line); none for s3rver, which runs in this process. */
function s3ServerPids(s3: S3Target & { directory?: string }): number[] {
  if (s3.kind !== "radosgw" || !s3.directory) return [process.pid];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(s3.directory)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function s3CpuSeconds(s3: S3Target): number {
  let ticks = 0;
  for (const pid of s3ServerPids(s3)) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

/** radosgw when its binaries are installed (a real S3 implementation in processes of its own), else s3rver. */
async function startS3Target(workDir: string): Promise<S3Target & { directory?: string }> {
  if (process.env.LIFEBOAT_BENCH_S3 !== "mock" && rgwUnavailableReason() === undefined) {
    // memstore holds objects in RAM: room for the largest size's dump and a spare.
    const rgw = await startRgwServer({ memstoreBytes: 2 * 2 ** 30, timeoutMs: 300_000 });
    const client = rgw.client();
    const {
      ListObjectsV2Command,
      DeleteObjectsCommand,
      ListMultipartUploadsCommand,
      AbortMultipartUploadCommand,
    } = await import("@aws-sdk/client-s3");
    return {
      kind: "radosgw",
      endpoint: rgw.endpoint,
      bucket: rgw.bucket,
      env: rgw.env,
      directory: rgw.directory,
      async clear() {
        const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: rgw.bucket }));
        for (const upload of uploads.Uploads ?? []) {
          await client.send(
            new AbortMultipartUploadCommand({
              Bucket: rgw.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
            }),
          );
        }
        const listed = await client.send(new ListObjectsV2Command({ Bucket: rgw.bucket, Prefix: S3_PREFIX }));
        const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
        if (keys.length) {
          await client.send(new DeleteObjectsCommand({ Bucket: rgw.bucket, Delete: { Objects: keys } }));
        }
      },
      stop: () => rgw.stop(),
    };
  }
  const s3 = await startS3Server({ directory: join(workDir, "s3rver") });
  return {
    kind: "s3rver",
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    env: s3.env,
    clear() {
      // Deletes the benchmark's objects, and any multipart upload left over, from s3rver's directory.
      const bucketDir = join(s3.directory, s3.bucket);
      rmSync(join(bucketDir, S3_PREFIX), { recursive: true, force: true });
      rmSync(join(bucketDir, "._S3rver_uploads"), { recursive: true, force: true });
      return Promise.resolve();
    },
    stop: () => s3.stop(),
  };
}

async function measure(bench: Bench, method: MethodId): Promise<Measurement> {
  switch (method) {
    case "a":
      return runPgDumpOnly(bench, 0);
    case "b":
      return runShell(bench, "today");
    case "c":
      return runShell(bench, "zstd");
    case "d":
      return runLifeboat(bench, "local");
    case "e":
      return runLifeboat(bench, "s3");
    case "f":
      return runLifeboat(bench, "local", ["--compression", "none"]);
  }
}

/** One run in a line, so that a run cut short still leaves its numbers in the log. */
function describeMeasurement(m: Measurement): string {
  return [
    `${fixed(m.wallSeconds, 1)} s`,
    ...(m.storedBytes === undefined ? [] : [`stored ${fixed(m.storedBytes / MB, 1)} MB`]),
    ...(m.peakRssBytes === undefined ? [] : [`peak RSS ${fixed(m.peakRssBytes / MB, 0)} MB`]),
    ...(m.lifeboatCpuSeconds === undefined ? [] : [`lifeboat CPU ${fixed(m.lifeboatCpuSeconds, 1)} s`]),
    ...(m.s3ServerCpuSeconds === undefined ? [] : [`S3 server CPU ${fixed(m.s3ServerCpuSeconds, 1)} s`]),
    `busy cores ${fixed(m.busyCores, 2)}`,
    `other processes ${fixed(m.otherCpuSeconds, 1)} CPU s`,
  ].join(", ");
}

const isDisturbed = (m: Measurement): boolean => m.otherCpuSeconds > DISTURBED_CORES * m.wallSeconds;

/**
 * Measures once the machine is quiet, and again when other processes took CPU time during the run
 * (up to MAX_ATTEMPTS in all); keeps the least disturbed measurement.
 */
async function measureUndisturbed(bench: Bench, method: MethodId, what: string): Promise<Measurement> {
  let best: Measurement | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const background = await waitForQuietMachine();
    const busy =
      background >= QUIET_BUSY_CORES ? `; other processes keep ${fixed(background, 2)} cores busy` : "";
    progress(`${what}${attempt > 1 ? ` (attempt ${attempt})` : ""}${busy}`);
    const result = await measure(bench, method);
    progress(`  ${describeMeasurement(result)}`);
    if (!best || result.otherCpuSeconds / result.wallSeconds < best.otherCpuSeconds / best.wallSeconds) {
      best = result;
    }
    if (!isDisturbed(result)) break;
  }
  return best!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of each field over repeated runs. */
function medianMeasurement(runs: Measurement[]): Measurement {
  const field = (key: keyof Measurement): number | undefined => {
    const values = runs.map((run) => run[key]).filter((value): value is number => value !== undefined);
    return values.length ? median(values) : undefined;
  };
  const result: Measurement = {
    wallSeconds: field("wallSeconds")!,
    busyCores: field("busyCores")!,
    otherCpuSeconds: field("otherCpuSeconds")!,
  };
  for (const key of ["storedBytes", "peakRssBytes", "lifeboatCpuSeconds", "s3ServerCpuSeconds"] as const) {
    const value = field(key);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

interface SizeResult {
  targetGb: number;
  databaseBytes: number;
  pgbenchScale: number;
  md5Rows: number;
  runs: number;
  s3Kind: string;
  /** 1, 5 and 15 minutes, when the size's runs finished. */
  loadAverage: string;
  /** Runs (after MAX_ATTEMPTS) during which other processes used more than DISTURBED_CORES on average. */
  disturbedRuns: number;
  /** Medians of `raw`. */
  results: Record<MethodId, Measurement>;
  /** Every kept measurement, in run order. */
  raw: Record<MethodId, Measurement[]>;
}

interface Check {
  name: string;
  measured: string;
  target: string;
  pass: boolean;
}

function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          rightAligned[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits);
const verdict = (pass: boolean): string => (pass ? "PASS" : "MISS");

function checksFor(size: SizeResult): Check[] {
  const { a, b, c, d, e } = size.results;
  const checks: Check[] = [];
  const ratio = (name: string, value: number, limit: number, unit = "x") =>
    checks.push({
      name,
      // A third decimal where two would show the limit itself for a value just over it.
      measured: `${value.toFixed(value !== limit && value.toFixed(2) === limit.toFixed(2) ? 3 : 2)}${unit}`,
      target: `<= ${limit.toFixed(2)}${unit}`,
      pass: value <= limit,
    });
  for (const [id, m, where] of [
    ["d", d, "local"],
    ["e", e, "S3"],
  ] as const) {
    ratio(`${id} wall / a wall (lifeboat ${where} vs floor)`, m.wallSeconds / a.wallSeconds, TARGETS.vsFloor);
    ratio(
      `${id} wall / c wall (lifeboat ${where} vs zstd shell)`,
      m.wallSeconds / c.wallSeconds,
      TARGETS.vsShell,
    );
    ratio(`${id} wall / b wall (lifeboat ${where} vs today)`, m.wallSeconds / b.wallSeconds, TARGETS.vsToday);
  }
  ratio("stored d / stored c", d.storedBytes! / c.storedBytes!, TARGETS.storedVsShell);
  ratio("stored d / stored b", d.storedBytes! / b.storedBytes!, TARGETS.storedVsToday);
  for (const [id, m, limit] of [
    ["d", d, TARGETS.peakRssLocalBytes],
    ["e", e, TARGETS.peakRssS3Bytes],
  ] as const) {
    checks.push({
      name: `peak RSS ${id} (lifeboat's own process)`,
      measured: `${fixed(m.peakRssBytes! / MB, 0)} MB`,
      target: `<= ${limit / MB} MB`,
      pass: m.peakRssBytes! <= limit,
    });
  }
  return checks;
}

function growthChecks(sizes: SizeResult[]): Check[] {
  if (sizes.length < 2) return [];
  const first = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  const growth = last.databaseBytes / first.databaseBytes;
  return (["d", "e"] as const).map((id) => {
    const from = first.results[id].peakRssBytes!;
    const to = last.results[id].peakRssBytes!;
    return {
      name: `peak RSS ${id}, ${fixed(first.databaseBytes / GB, 2)} -> ${fixed(last.databaseBytes / GB, 2)} GB database (${growth.toFixed(2)}x)`,
      measured: `${fixed(from / MB, 0)} -> ${fixed(to / MB, 0)} MB (${(to / from).toFixed(2)}x)`,
      target: `<= ${TARGETS.rssGrowth.toFixed(2)}x`,
      pass: to / from <= TARGETS.rssGrowth,
    };
  });
}

function checkTable(checks: Check[]): string {
  return table(
    [
      ["target", "measured", "target", "result"],
      ...checks.map((check) => [check.name, check.measured, check.target, verdict(check.pass)]),
    ],
    [false, true, false, false],
  );
}

const ratio = (x: Measurement, y: Measurement): string => `${(x.wallSeconds / y.wallSeconds).toFixed(2)}x`;

function sizeReport(size: SizeResult): string {
  const dbMb = size.databaseBytes / MB;
  const rows = [
    [
      "run",
      "command",
      "wall s",
      "MB/s",
      "stored MB",
      "peak RSS MB",
      "lifeboat CPU s",
      "busy cores",
      "other CPU s",
    ],
  ];
  for (const method of METHODS) {
    const m = size.results[method.id];
    rows.push([
      method.id,
      method.title,
      fixed(m.wallSeconds, 1),
      fixed(dbMb / m.wallSeconds, 0),
      fixed(m.storedBytes === undefined ? undefined : m.storedBytes / MB, 1),
      fixed(m.peakRssBytes === undefined ? undefined : m.peakRssBytes / MB, 0),
      fixed(m.lifeboatCpuSeconds, 1),
      fixed(m.busyCores, 2),
      fixed(m.otherCpuSeconds, 1),
    ]);
  }
  const { a, b, c, d, e, f } = size.results;
  return [
    `Database ${fixed(size.databaseBytes / GB, 2)} GB (pg_database_size; target ${size.targetGb} GB): ` +
      `pgbench scale ${size.pgbenchScale} + ${size.md5Rows.toLocaleString("en-US")} md5 rows` +
      (size.runs > 1 ? `; medians of ${size.runs} runs` : ""),
    "",
    table(rows, [false, false, true, true, true, true, true, true, true]),
    "",
    `d/a = ${ratio(d, a)}, d/c = ${ratio(d, c)}, d/b = ${ratio(d, b)}; e/a = ${ratio(e, a)}, e/c = ${ratio(e, c)}, ` +
      `e/b = ${ratio(e, b)}; stored d/c = ${(d.storedBytes! / c.storedBytes!).toFixed(3)}x, ` +
      `d/b = ${(d.storedBytes! / b.storedBytes!).toFixed(3)}x.`,
    `f has no target: f/a = ${ratio(f, a)} is lifeboat's cost (archive tap, sha256, age, write) without compression.`,
    `The S3 test server (${size.s3Kind}) used ${fixed(e.s3ServerCpuSeconds, 1)} CPU s during e, on the same cores.`,
    `Load average when this size finished: ${size.loadAverage}.`,
    ...(size.disturbedRuns > 0
      ? [
          `warning: in ${size.disturbedRuns} of ${size.runs * METHODS.length} runs, other processes or the ` +
            `hypervisor (steal) took more than ${DISTURBED_CORES} core on average (column "other CPU s").`,
        ]
      : []),
    "",
    checkTable(checksFor(size)),
  ].join("\n");
}

interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  kernel: string;
  node: string;
  pgDump: string;
  server: string;
  age: string;
  lifeboat: string;
}

function describeMachine(cluster: Cluster, serverVersion: string): Machine {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  return {
    cpus: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? "unknown",
    kernel: release(),
    node: process.version,
    pgDump: output(join(cluster.binDir, "pg_dump"), ["--version"]),
    server: serverVersion,
    age: output("age", ["--version"]),
    lifeboat: `${LIFEBOAT_VERSION} (dist/cli/index.js built ${statSync(cli).mtime.toISOString()})`,
  };
}

function machineReport(machine: Machine): string {
  return [
    `CPU:       ${machine.cpus} x ${machine.cpuModel}`,
    `memory:    ${machine.memoryGb} GiB`,
    `OS:        ${machine.os}, Linux ${machine.kernel}`,
    `node:      ${machine.node}`,
    `pg_dump:   ${machine.pgDump}`,
    `server:    ${machine.server}`,
    `age:       ${machine.age}`,
    `lifeboat:  ${machine.lifeboat}; default compression (zstd:1 by lifeboat, pg_dump -Z0)`,
    `zstd:      ${output("zstd", ["--version"])}`,
    `load:      ${loadAverageText()} (1, 5, 15 min) at the start`,
  ].join("\n");
}

/** Warns when the bundle the benchmark runs is older than the sources it is built from. */
function warnIfStale(): void {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  const newer = spawnSync("find", [join(repoDir, "src"), "-type", "f", "-newer", cli], { encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean);
  if (newer.length > 0) {
    process.stderr.write(
      `warning: ${newer.length} file(s) in src/ are newer than dist/cli/index.js (e.g. ${newer[0]}): run npm run build\n`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const config = readConfig(process.env);
  warnIfStale();
  const workDir = mkdtempSync(join(tmpdir(), "lifeboat-bench-"));
  let cluster: Cluster | undefined;
  let s3: S3Target | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const child of running) killGroup(child);
      await s3?.stop().catch(() => undefined);
      await cluster?.stop().catch(() => undefined);
      rmSync(workDir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping and cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    progress(
      `sizes ${config.sizesGb.join(", ")} GB; ${config.repeat} run(s) each; work directory ${workDir}`,
    );
    cluster = await startCluster({
      // No autovacuum racing the measurements (the build vacuums explicitly), few checkpoints.
      settings: ["-c autovacuum=off", "-c max_wal_size=8GB", "-c checkpoint_timeout=1h"],
    });
    // The server's processes are the benchmark's own: the postmaster's pid heads postmaster.pid.
    ownRoots.add(Number(readFileSync(join(cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]));
    await cluster.createDatabase(DATABASE);
    progress("starting the S3 test server ...");
    s3 = await startS3Target(workDir);
    progress(`S3 test server: ${s3.kind} at ${s3.endpoint}`);
    // radosgw's daemons work for the benchmark: their CPU time is not a neighbour's.
    for (const pid of s3ServerPids(s3)) ownRoots.add(pid);
    cpSync(bundleDir, join(workDir, "cli"), { recursive: true });
    const keyFile = join(workDir, "key.txt");
    await run("age-keygen", ["-o", keyFile], { timeoutSeconds: 30 });
    const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(readFileSync(keyFile, "utf8"))?.[1];
    if (!recipient) throw new Error("age-keygen wrote no public key");
    const [version] = await cluster.sql<{ server_version: string }>("postgres", "SHOW server_version");
    const machine = describeMachine(cluster, `PostgreSQL ${version!.server_version}`);
    console.log(`lifeboat benchmark, ${new Date().toISOString()}\n\n${machineReport(machine)}\n`);

    const sizes: SizeResult[] = [];
    let state: DatabaseState | undefined;
    for (const targetGb of config.sizesGb) {
      progress(`building a ${targetGb} GB database ...`);
      state = await buildDatabase(cluster, state, targetGb * GB);
      progress(`database: ${fixed(state.bytes / GB, 2)} GB at pgbench scale ${state.scale}`);
      const bench: Bench = {
        cli: join(workDir, "cli", "index.js"),
        cluster,
        s3,
        workDir,
        recipient,
        pgDump: join(cluster.binDir, "pg_dump"),
        timeoutSeconds: Math.ceil(120 + (120 * state.bytes) / GB),
      };
      progress("warming up: one untimed pg_dump -Fc -Z0 > /dev/null");
      await runPgDumpOnly(bench, 0);
      const runs: Record<MethodId, Measurement[]> = { a: [], b: [], c: [], d: [], e: [], f: [] };
      let disturbedRuns = 0;
      for (let round = 1; round <= config.repeat; round++) {
        for (const method of METHODS) {
          const what = `${fixed(state.bytes / GB, 2)} GB, run ${round}/${config.repeat}: ${method.id}  ${method.title}`;
          const result = await measureUndisturbed(bench, method.id, what);
          if (isDisturbed(result)) disturbedRuns++;
          runs[method.id].push(result);
        }
      }
      const size: SizeResult = {
        targetGb,
        databaseBytes: state.bytes,
        pgbenchScale: state.scale,
        md5Rows: state.scale * MD5_ROWS_PER_SCALE,
        runs: config.repeat,
        s3Kind: s3.kind,
        loadAverage: loadAverageText(),
        disturbedRuns,
        results: {
          a: medianMeasurement(runs.a),
          b: medianMeasurement(runs.b),
          c: medianMeasurement(runs.c),
          d: medianMeasurement(runs.d),
          e: medianMeasurement(runs.e),
          f: medianMeasurement(runs.f),
        },
        raw: runs,
      };
      sizes.push(size);
      console.log(`${sizeReport(size)}\n`);
    }

    const growth = growthChecks(sizes);
    if (growth.length) console.log(`Across sizes\n\n${checkTable(growth)}\n`);
    const all = [...sizes.flatMap(checksFor), ...growth];
    const missed = all.filter((check) => !check.pass).length;
    console.log(
      `${all.length - missed} of ${all.length} targets met. Load average at the end: ${loadAverageText()}.`,
    );
    if (config.jsonFile) {
      writeFileSync(
        config.jsonFile,
        JSON.stringify({ machine, targets: TARGETS, sizes, checks: all }, null, 2) + "\n",
      );
    }
  } finally {
    progress("cleaning up ...");
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
