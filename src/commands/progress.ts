/**
 * Progress lines for long work (backup, verify, restore-test, restore): one line at a steady
 * interval through the command's logger, which is stderr in the CLI (never stdout, so `--json`
 * stays one object; `--quiet` silences it) and the job log in Actions. What a line says is read
 * live from the pipeline's taps when it is due, so a stalled pipeline shows as a stalled count.
 */
import { tapStage, type Stage } from "../pipeline/stage.js";
import { formatBytes } from "../report/format.js";
import type { Logger } from "./logger.js";

/** The interval when the edge sets none (CommandContext.progressEveryMs). */
export const DEFAULT_PROGRESS_EVERY_MS = 5000;

/** What the pipeline has done so far; every field is optional but `read`. */
export interface ProgressSample {
  /** Bytes read from the source: pg_dump's archive when backing up, the stored object when reading. */
  read: number;
  /** How many bytes `read` will reach, when known (a restore knows the stored size). */
  readTotal?: number;
  /** Bytes written to the store (backup). */
  stored?: number;
  /** Tables whose data went by, of those the archive (or the manifest) lists. */
  tables?: { done?: number; total: number };
  /** What happens now when no bytes move (e.g. "pg_restore -j2 running"). */
  phase?: string;
}

export interface Progress {
  /** Stops the lines; safe to call twice. */
  stop(): void;
}

/**
 * Logs `progressLine(what, sample())` every `everyMs` until stop(). The timer does not keep the
 * process alive, and a sample that throws is skipped rather than failing the command.
 */
export function startProgress(options: {
  what: string;
  log: Logger;
  everyMs?: number | undefined;
  sample: () => ProgressSample;
  /** performance.now() at the start; default now. */
  startedMs?: number;
}): Progress {
  const started = options.startedMs ?? performance.now();
  const every = options.everyMs ?? DEFAULT_PROGRESS_EVERY_MS;
  const timer = setInterval(() => {
    let sample: ProgressSample;
    try {
      sample = options.sample();
    } catch {
      return;
    }
    options.log.info(progressLine(options.what, sample, (performance.now() - started) / 1000));
  }, every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** `backup: 1.2 GB read, 150 MB stored, 210 MB/s, 12 of 40 tables, 6s elapsed` */
export function progressLine(what: string, sample: ProgressSample, elapsedSeconds: number): string {
  const seconds = Math.max(elapsedSeconds, 0.001);
  const parts: string[] = [];
  if (sample.readTotal !== undefined && sample.readTotal > 0) {
    const percent = Math.min(100, Math.floor((sample.read / sample.readTotal) * 100));
    parts.push(`${formatBytes(sample.read)} of ${formatBytes(sample.readTotal)} read (${percent}%)`);
  } else {
    parts.push(`${formatBytes(sample.read)} read`);
  }
  if (sample.stored !== undefined) parts.push(`${formatBytes(sample.stored)} stored`);
  parts.push(`${formatBytes(Math.round(sample.read / seconds))}/s`);
  if (sample.tables) {
    parts.push(
      sample.tables.done === undefined
        ? `${sample.tables.total} tables`
        : `${sample.tables.done} of ${sample.tables.total} tables`,
    );
  }
  if (sample.phase) parts.push(sample.phase);
  parts.push(`${Math.round(seconds)}s elapsed`);
  return `${what}: ${parts.join(", ")}`;
}

/** The live byte count of the pipeline's digest stage by that name (digestStage's bytesSoFar); 0 when none. */
export function liveBytes(stages: readonly Stage[], name: string): number {
  const stage = stages.find((candidate) => candidate.name === name) as { bytesSoFar?: unknown } | undefined;
  return typeof stage?.bytesSoFar === "number" ? stage.bytesSoFar : 0;
}

/** A tap that adds every chunk's length to `counter.bytes`, for a pipeline with no digest stage to read. */
export function countingStage(counter: { bytes: number }): Stage<number> {
  return tapStage("progress", {
    update: (chunk) => (counter.bytes += chunk.length),
    finish: () => counter.bytes,
  });
}
