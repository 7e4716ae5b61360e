/**
 * Cold start of the action bundles: from spawning `node dist/<action>/index.js` the way the runner
 * does to the first line the action prints, against bare Node printing one line, in the same run.
 * The target is under 300 ms; heavy modules (the AWS SDK, pg, @actions/github, @actions/artifact,
 * @actions/cache) are loaded lazily so they cost nothing before the first line.
 *
 * Each action gets inputs it accepts but cannot act on (storage in an empty temporary directory, a
 * database URL whose port nothing listens on), so it prints its first lines and stops at once.
 *
 * Environment: LIFEBOAT_BENCH_START_RUNS (default 15) runs per bundle; medians are reported.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const RUNS = Number(process.env.LIFEBOAT_BENCH_START_RUNS ?? "15");
const TARGET_MS = 300;

interface Sample {
  firstLineMs: number;
  firstVisibleMs: number;
  exitMs: number;
}

function timeFirstLine(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let firstLineMs = NaN;
    let firstVisibleMs = NaN;
    let pending = "";
    const onData = (chunk: Buffer) => {
      const now = performance.now() - started;
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (Number.isNaN(firstLineMs)) firstLineMs = now;
        if (Number.isNaN(firstVisibleMs) && !line.startsWith("::add-mask::")) firstVisibleMs = now;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", fail);
    child.on("close", () => {
      const exitMs = performance.now() - started;
      if (Number.isNaN(firstLineMs)) return fail(new Error(`${args.join(" ")} printed nothing`));
      done({ firstLineMs, firstVisibleMs: Number.isNaN(firstVisibleMs) ? exitMs : firstVisibleMs, exitMs });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "lifeboat-bench-start-"));
  try {
    const output = join(work, "output");
    const summary = join(work, "summary");
    writeFileSync(output, "");
    writeFileSync(summary, "");
    const unreachable = "postgresql://postgres:bench-password@127.0.0.1:9/postgres";
    const common = { storage: join(work, "backups"), label: "bench" };
    const actions: Record<string, Record<string, string>> = {
      "backup-db": { ...common, "database-url": unreachable, encryption: "none" },
      "verify-backup": common,
      "restore-test": { ...common, "scratch-database-url": unreachable },
      prune: { ...common, "keep-last": "1" },
      "restore-db": { ...common, "target-database-url": unreachable, confirm: "postgres" },
    };
    const baseEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_WORKSPACE: work,
    };
    const bare = await measure(["-e", "console.log('ready')"], baseEnv);
    const rows: string[][] = [["bare node", ...format(bare), "1.00x", "-", "-"]];
    let worst = 0;
    for (const [action, inputs] of Object.entries(actions)) {
      const bundle = resolve("dist", action, "index.js");
      const env = { ...baseEnv };
      for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
      const samples = await measure([bundle], env);
      worst = Math.max(worst, samples.firstLineMs);
      rows.push([
        action,
        ...format(samples),
        `${(samples.firstLineMs / bare.firstLineMs).toFixed(2)}x`,
        `${(statSync(bundle).size / 1024 ** 2).toFixed(1)} MB`,
        samples.firstLineMs < TARGET_MS ? "yes" : "NO",
      ]);
    }
    const header = [
      "bundle",
      "first line",
      "first visible line",
      "exit",
      "first line / bare",
      "index.js",
      `< ${TARGET_MS} ms`,
    ];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column]!.length)),
    );
    const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ");
    console.log(
      `Cold start, median of ${RUNS} runs (Node ${process.versions.node}; first line = the first thing the runner reads, usually ::add-mask::)`,
    );
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    console.log(
      `\ntarget: first line under ${TARGET_MS} ms for every action: ${worst < TARGET_MS ? "met" : "MISSED"} (slowest ${worst.toFixed(0)} ms)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measure(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  await timeFirstLine(args, env); // warm the file cache: cold start means a new process, not a cold disk
  const samples: Sample[] = [];
  for (let run = 0; run < RUNS; run++) samples.push(await timeFirstLine(args, env));
  return {
    firstLineMs: median(samples.map((sample) => sample.firstLineMs)),
    firstVisibleMs: median(samples.map((sample) => sample.firstVisibleMs)),
    exitMs: median(samples.map((sample) => sample.exitMs)),
  };
}

function format(sample: Sample): string[] {
  return [sample.firstLineMs, sample.firstVisibleMs, sample.exitMs].map((ms) => `${ms.toFixed(0)} ms`);
}

await main();
