/**
 * The compression engine against the zstd CLI, in one run on one input: a `pg_dump -Fc -Z0` archive
 * of a pgbench database (scale 40 plus a 2M-row md5 text table, ~0.9 GB of database, ~690 MB of
 * archive), built once in a throwaway cluster and kept under .bench/compress/.
 *
 * Each candidate runs in a child process of its own (so its peak RSS is its own), reading the
 * archive from the page cache and counting the compressed bytes: the zstd CLI (what the shell
 * one-liner uses), zlib's single-threaded zstd stream (Node 24), our engine (frames compressed at
 * once on the thread pool) at several levels, thread counts and frame sizes, and gzip both ways.
 * Sizes are reported against `zstd -1`.
 *
 * On a shared machine the wall time varies with the load: the best of the runs is printed beside
 * the median, and the CPU time (which the load barely changes) is the cost to compare.
 *
 * Usage: npm run bench:compress [-- --input FILE] [--repeat N] [--only TEXT[;TEXT...]]
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { constants, createZstdCompress } from "node:zlib";
import { createCompressor, MAX_THREADS } from "../src/compress/index.js";
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
  cpuMs: number;
  outBytes: number;
  maxRssMb: number;
}

const threads = Math.min(availableParallelism(), MAX_THREADS);
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
    label: "engine zstd:1, 1 at once, 4 MiB",
    kind: "engine",
    method: "zstd",
    level: 1,
    threads: 1,
    frameMiB: 4,
  },
  {
    label: `engine zstd:1, ${threads} at once, 1 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 1,
  },
  {
    label: `engine zstd:1, ${threads} at once, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 4,
  },
  {
    label: `engine zstd:1, ${threads} at once, 16 MiB`,
    kind: "engine",
    method: "zstd",
    level: 1,
    threads,
    frameMiB: 16,
  },
  {
    label: `engine zstd:2, ${threads} at once, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 2,
    threads,
    frameMiB: 4,
  },
  {
    label: `engine zstd:3, ${threads} at once, 4 MiB`,
    kind: "engine",
    method: "zstd",
    level: 3,
    threads,
    frameMiB: 4,
  },
  { label: "zlib gzip stream, level 1", kind: "zlib-stream", method: "gzip", level: 1 },
  {
    label: `engine gzip:1, ${threads} at once, 4 MiB`,
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
  let cliUsage: { cpuMs: number; maxRssMb: number } | undefined;
  if (candidate.kind === "cli") {
    // GNU time reports the CLI's own CPU time and peak RSS on stderr.
    const child = spawn("/usr/bin/time", ["-f", "USAGE %U %S %M", "zstd", ...candidate.cliArgs!, input], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    await pipeline(child.stdout, sink);
    if ((await exited) !== 0) throw new Error(`zstd failed: ${stderr}`);
    const [user, system, rssKb] = /USAGE (\S+) (\S+) (\d+)/.exec(stderr)!.slice(1).map(Number) as [
      number,
      number,
      number,
    ];
    cliUsage = { cpuMs: (user + system) * 1000, maxRssMb: (rssKb * 1024) / MB };
  } else {
    // 64 KiB reads, as pg_dump's output arrives from its pipe.
    const source = createReadStream(input, { highWaterMark: 64 * 1024 });
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
  const result: Result = {
    ms: performance.now() - started,
    // Ours: this process, worker threads included; the CLI: its own process.
    cpuMs: cliUsage ? cliUsage.cpuMs : (cpu.user + cpu.system) / 1000,
    outBytes: sink.bytes,
    maxRssMb: cliUsage ? cliUsage.maxRssMb : (process.resourceUsage().maxRSS * 1024) / MB,
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
  const onlyIndex = args.indexOf("--only");
  const only = onlyIndex >= 0 ? args[onlyIndex + 1]!.split(";") : undefined;
  const candidates = CANDIDATES.filter(
    // The baseline and the CLI's -1 (the size reference) always run.
    (candidate, index) => index <= 1 || !only || only.some((text) => candidate.label.includes(text)),
  );
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
  console.log("| candidate | time | best | MB/s in | CPU s | stored | ratio | vs zstd -1 | peak RSS |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  let reference: number | undefined;
  for (const candidate of candidates) {
    progress(candidate.label);
    const outcomes = Array.from({ length: repeat }, () => measure(candidate, input));
    const failure = outcomes.find((outcome): outcome is string => typeof outcome === "string");
    if (failure) {
      console.log(`| ${candidate.label} | fails: ${failure} | | | | | | | |`);
      continue;
    }
    const runs = outcomes as Result[];
    const ms = median(runs.map((run) => run.ms));
    const best = Math.min(...runs.map((run) => run.ms));
    const outBytes = runs[0]!.outBytes;
    if (candidate.label === "zstd CLI -1") reference = outBytes;
    const cpu = median(runs.map((run) => run.cpuMs));
    const rss = Math.max(...runs.map((run) => run.maxRssMb));
    const isRead = candidate.kind === "read";
    console.log(
      `| ${candidate.label} | ${(ms / 1000).toFixed(2)} s | ${(best / 1000).toFixed(2)} s | ` +
        `${((inputBytes / MB) * (1000 / ms)).toFixed(0)} | ` +
        `${(cpu / 1000).toFixed(2)} | ${isRead ? "-" : `${(outBytes / MB).toFixed(1)} MB`} | ` +
        `${isRead ? "-" : ((100 * outBytes) / inputBytes).toFixed(2) + "%"} | ` +
        `${isRead || !reference ? "-" : (outBytes / reference).toFixed(3) + "x"} | ` +
        `${rss.toFixed(0)} MB |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
