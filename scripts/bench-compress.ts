/**
 * The compression engine against the zstd CLI, in one run on one input: a `pg_dump -Fc -Z0` archive
 * of a pgbench database (scale 40 plus a 2M-row md5 text table, ~0.9 GB of database, ~690 MB of
 * archive), built once in a throwaway cluster and kept under .bench/compress/.
 *
 * Each candidate runs in a child process of its own (so its peak RSS is its own), reading the
 * archive from the page cache and counting the compressed bytes: the zstd CLI (what the shell
 * one-liner uses), zlib's single-threaded zstd stream (Node 24), our worker-thread engine at several
 * levels, thread counts and frame sizes, and gzip both ways. Sizes are reported against `zstd -1`.
 *
 * Usage: npm run bench:compress [-- --input FILE] [-- --repeat N]
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { constants, createZstdCompress } from "node:zlib";
import { createCompressor } from "../src/compress/index.js";
import { ParallelCompressStream } from "../src/compress/parallel-compress.js";
import { startCluster } from "../test/helpers/postgres-cluster.js";

const MB = 1e6;
const MiB = 1024 * 1024;
const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Candidate {
  label: string;
  kind: "cli" | "zlib-stream" | "engine" | "read";
  method: "zstd" | "gzip";
  level: number;
  threads?: number;
  frameMiB?: number;
  /** zlib stream only: libzstd's own worker threads (ZSTD_c_nbWorkers). */
  zstdWorkers?: number;
  cliArgs?: string[];
}

interface Result {
  ms: number;
  /** null for the CLI: its CPU and memory are another process's. */
  cpuMs: number | null;
  outBytes: number;
  maxRssMb: number | null;
}

const threads = Math.min(availableParallelism(), 8);
const CANDIDATES: Candidate[] = [
  { label: "read only (baseline)", kind: "read", method: "zstd", level: 0 },
  { label: "zstd CLI -1", kind: "cli", method: "zstd", level: 1, cliArgs: ["-1", "-q", "-c"] },
  { label: "zstd CLI -3", kind: "cli", method: "zstd", level: 3, cliArgs: ["-3", "-q", "-c"] },
  { label: "zstd CLI -1 -T0", kind: "cli", method: "zstd", level: 1, cliArgs: ["-1", "-T0", "-q", "-c"] },
  { label: "zlib zstd stream, level 1", kind: "zlib-stream", method: "zstd", level: 1 },
  { label: "zlib zstd stream, level 2", kind: "zlib-stream", method: "zstd", level: 2 },
  { label: "zlib zstd stream, level 3", kind: "zlib-stream", method: "zstd", level: 3 },
  {
    label: `zlib zstd stream, level 1, nbWorkers ${threads}`,
    kind: "zlib-stream",
    method: "zstd",
    level: 1,
    zstdWorkers: threads,
  },
  { label: "engine zstd:1, 1 thread (= zlib stream)", kind: "engine", method: "zstd", level: 1, threads: 1 },
  {
    label: "engine zstd:1, 1 worker, 4 MiB",
    kind: "engine",
    method: "zstd",
    level: 1,
    threads: 1,
    frameMiB: 4,
  },
  {
    label: `engine zstd:1, ${threads} workers, 1 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 1,
  },
  {
    label: `engine zstd:1, ${threads} workers, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 4,
  },
  {
    label: `engine zstd:1, ${threads} workers, 16 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 16,
  },
  {
    label: `engine zstd:2, ${threads} workers, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 2,
    threads,
    frameMiB: 4,
  },
  {
    label: `engine zstd:3, ${threads} workers, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 3,
    threads,
    frameMiB: 4,
  },
  { label: "zlib gzip stream, level 1", kind: "zlib-stream", method: "gzip", level: 1 },
  {
    label: `engine gzip:1, ${threads} workers, 4 MiB`,
    kind: "engine",
    method: "gzip",
    level: 1,
    threads,
    frameMiB: 4,
  },
];

function progress(text: string): void {
  process.stderr.write(`[bench:compress] ${text}\n`);
}

/** Counts bytes, as a store would take them. */
function counter(): Writable & { bytes: number } {
  const sink = new Writable({
    highWaterMark: 4 * MiB,
    write(chunk: Buffer, _encoding, callback) {
      sink.bytes += chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

/** Child mode: runs one candidate on the input and prints its Result as JSON. */
async function runOne(candidate: Candidate, input: string): Promise<void> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const sink = counter();
  if (candidate.kind === "cli") {
    const child = spawn("zstd", [...candidate.cliArgs!, input], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((done) => child.on("close", done));
    await pipeline(child.stdout, sink);
    if ((await exited) !== 0) throw new Error("zstd failed");
  } else {
    const source = createReadStream(input, { highWaterMark: 1 * MiB });
    if (candidate.kind === "read") {
      await pipeline(source, sink);
    } else if (candidate.kind === "zlib-stream" && candidate.method === "zstd") {
      const params: Record<number, number> = { [constants.ZSTD_c_compressionLevel]: candidate.level };
      if (candidate.zstdWorkers) params[constants.ZSTD_c_nbWorkers] = candidate.zstdWorkers;
      await pipeline(source, createZstdCompress({ chunkSize: 256 * 1024, params }), sink);
    } else if (candidate.kind === "zlib-stream" || candidate.frameMiB === undefined) {
      const spec = { method: candidate.method, level: candidate.level };
      await pipeline(source, createCompressor(spec, { threads: 1 }), sink);
    } else {
      const engine = new ParallelCompressStream({
        method: candidate.method,
        level: candidate.level,
        threads: candidate.threads!,
        chunkSize: candidate.frameMiB * MiB,
      });
      await pipeline(source, engine, sink);
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const children = process.resourceUsage();
  const result: Result = {
    ms: performance.now() - started,
    // The CLI's CPU is its own process's; ours is this process's, worker threads included.
    cpuMs: candidate.kind === "cli" ? null : (cpu.user + cpu.system) / 1000,
    outBytes: sink.bytes,
    maxRssMb: candidate.kind === "cli" ? null : (children.maxRSS * 1024) / MB,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** The candidate's result, or the first line of its error when it fails. */
function measure(candidate: Candidate, input: string): Result | string {
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--one", JSON.stringify(candidate), input],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: repoDir },
  );
  if (child.status !== 0) {
    return /\b(ERR_[A-Z_]+|Error: .*)/.exec(child.stderr)?.[1] ?? `exited with ${child.status}`;
  }
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as Result;
}

/** The archive, built once: pgbench -i -s 40 plus 2M md5 rows, dumped with pg_dump -Fc -Z0. */
async function buildInput(path: string): Promise<void> {
  progress(`building ${path} (a throwaway cluster, pgbench -i -s 40, 2M md5 rows) ...`);
  mkdirSync(dirname(path), { recursive: true });
  const cluster = await startCluster({ settings: ["-c autovacuum=off", "-c max_wal_size=8GB"] });
  try {
    await cluster.createDatabase("bench");
    const env = {
      ...process.env,
      PGHOST: cluster.host,
      PGPORT: String(cluster.port),
      PGUSER: cluster.user,
      PGPASSWORD: cluster.password,
      PGDATABASE: "bench",
    };
    const pgbench = spawnSync(join(cluster.binDir, "pgbench"), ["-i", "-I", "dtGvp", "-s", "40", "-q"], {
      env,
      stdio: "inherit",
    });
    if (pgbench.status !== 0) throw new Error("pgbench -i failed");
    // 128 hex characters a row: far less compressible than pgbench_accounts, like real text.
    await cluster.sql(
      "bench",
      `CREATE TABLE bench_md5 (id bigint NOT NULL, payload text NOT NULL);
       INSERT INTO bench_md5
         SELECT i, md5(i::text) || md5((-i)::text) || md5((i + 0.5)::text) || md5((i - 0.5)::text)
           FROM generate_series(1, 2000000) i`,
    );
    const partial = `${path}.partial`;
    const dump = spawnSync("pg_dump", ["-Fc", "-Z0", "-f", partial], { env, stdio: "inherit" });
    if (dump.status !== 0) throw new Error("pg_dump failed");
    renameSync(partial, path);
  } finally {
    await cluster.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--one") {
    await runOne(JSON.parse(args[1]!) as Candidate, args[2]!);
    return;
  }
  const inputIndex = args.indexOf("--input");
  const repeatIndex = args.indexOf("--repeat");
  const repeat = repeatIndex >= 0 ? Number(args[repeatIndex + 1]) : 3;
  const input =
    inputIndex >= 0
      ? resolve(args[inputIndex + 1]!)
      : join(repoDir, ".bench", "compress", "pgbench-s40.dump");
  if (!existsSync(input)) await buildInput(input);
  const inputBytes = statSync(input).size;
  // Warm the page cache, so the first candidate does not pay for the disk.
  measure(CANDIDATES[0]!, input);

  const zstdVersion = spawnSync("zstd", ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(
    `Compression engine, ${new Date().toISOString()}: Node ${process.version} (libzstd ${process.versions.zstd}), ` +
      `${zstdVersion}; ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}); ` +
      `input ${(inputBytes / MB).toFixed(0)} MB (pg_dump -Fc -Z0); median of ${repeat} runs\n`,
  );
  console.log("| candidate | time | MB/s in | CPU s | stored | ratio | vs zstd -1 | peak RSS |");
  console.log("|---|---|---|---|---|---|---|---|");
  let reference: number | undefined;
  for (const candidate of CANDIDATES) {
    progress(candidate.label);
    const outcomes = Array.from({ length: repeat }, () => measure(candidate, input));
    const failure = outcomes.find((outcome): outcome is string => typeof outcome === "string");
    if (failure) {
      console.log(`| ${candidate.label} | fails: ${failure} | | | | | | |`);
      continue;
    }
    const runs = outcomes as Result[];
    const ms = median(runs.map((run) => run.ms));
    const outBytes = runs[0]!.outBytes;
    if (candidate.label === "zstd CLI -1") reference = outBytes;
    const cpu = runs[0]!.cpuMs === null ? null : median(runs.map((run) => run.cpuMs!));
    const rss = runs[0]!.maxRssMb === null ? null : Math.max(...runs.map((run) => run.maxRssMb!));
    const isRead = candidate.kind === "read";
    console.log(
      `| ${candidate.label} | ${(ms / 1000).toFixed(2)} s | ${((inputBytes / MB) * (1000 / ms)).toFixed(0)} | ` +
        `${cpu === null ? "-" : (cpu / 1000).toFixed(2)} | ${isRead ? "-" : `${(outBytes / MB).toFixed(1)} MB`} | ` +
        `${isRead ? "-" : ((100 * outBytes) / inputBytes).toFixed(2) + "%"} | ` +
        `${isRead || !reference ? "-" : (outBytes / reference).toFixed(3) + "x"} | ` +
        `${rss === null ? "-" : `${rss.toFixed(0)} MB`} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
