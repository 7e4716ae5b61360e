/**
 * Runs pg_restore into a database, from a file (which allows --jobs) or from a stream. pg_restore
 * keeps going past errors here, so that the caller can tell tolerated errors (a missing role on a
 * scratch server) from real ones; every "error:" line it printed comes back.
 */
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { redactUrls, type DatabaseUrl } from "../domain/database-url.js";
import { OperationError } from "../domain/errors.js";
import { pgConnection, pgToolEnv } from "./child-env.js";
import { toolSpawn, type ToolRef } from "./pg-dump-finder.js";

export interface PgRestoreOutcome {
  exitCode: number | null;
  /** pg_restore's error lines (the line after "pg_restore: error:" and its detail lines). */
  errors: string[];
  /** The tail of everything pg_restore printed, for reports. */
  log: string;
}

const LOG_KEEP = 64 * 1024;

export async function runPgRestore(options: {
  /** The pg_restore to run: a path, or a found tool with the environment it needs. */
  pgRestore: ToolRef;
  target: DatabaseUrl;
  args: string[];
  /** A file path (parallel restore possible), or the chain of streams that yields the archive. */
  input: string | (NodeJS.ReadableStream | NodeJS.ReadWriteStream)[];
  jobs: number;
  env: NodeJS.ProcessEnv;
  /** Aborting stops pg_restore (SIGTERM) and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * With streamed input: called with each chunk once nothing here holds it any more (the pipe took
   * it, or pg_restore had already exited and it was dropped), in order; e.g. releaseDecompressed.
   */
  afterWrite?: ((chunk: Buffer) => void) | undefined;
  /**
   * Settings for pg_restore's sessions (PGOPTIONS), over the role's and the database's: names and
   * values of letters, digits, underscores and dots only.
   */
  sessionSettings?: Record<string, string>;
}): Promise<PgRestoreOutcome> {
  options.signal?.throwIfAborted();
  const connection = pgConnection(options.target);
  const tool = toolSpawn(options.pgRestore, {
    ...pgToolEnv(options.env, {
      password: options.target.password,
      sslmode: options.target.sslmode,
      appName: "lifeboat pg_restore",
    }),
    ...connection.env,
  });
  const env = tool.env;
  const settings = Object.entries(options.sessionSettings ?? {});
  if (settings.length > 0) env.PGOPTIONS = settings.map(([name, value]) => `-c ${name}=${value}`).join(" ");
  const fromFile = typeof options.input === "string";
  const args = [
    `--dbname=${connection.dbname}`,
    "--no-password",
    ...(fromFile && options.jobs > 1 ? [`--jobs=${options.jobs}`] : []),
    ...options.args,
    ...(fromFile ? [options.input as string] : []),
  ];
  const child = spawn(tool.path, args, {
    env,
    stdio: [fromFile ? "ignore" : "pipe", "pipe", "pipe"],
  });
  let log = "";
  const keep = (text: string) => (log = (log + text).slice(-LOG_KEEP));
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on("error", (error) => reject(new OperationError(`pg_restore could not start: ${error.message}`)));
    child.on("close", (code) => resolve(code));
  });
  void closed.finally(connection.dispose).catch(() => undefined);
  const { signal } = options;
  const stop = () => {
    child.kill("SIGTERM");
    // A pg_restore stuck in a server call must not hold the interrupted run.
    const timer = setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), KILL_AFTER_MS);
    timer.unref();
  };
  signal?.addEventListener("abort", stop, { once: true });
  try {
    return await finish();
  } finally {
    signal?.removeEventListener("abort", stop);
  }

  async function finish(): Promise<PgRestoreOutcome> {
    if (!fromFile) {
      try {
        await pipeline([
          ...(options.input as NodeJS.ReadableStream[]),
          stdinSink(child.stdin!, closed, options.afterWrite),
        ]);
      } catch (error) {
        child.kill("SIGTERM");
        await closed.catch(() => undefined);
        if (signal?.aborted) throw signal.reason;
        // pg_restore that gave up closes its input: its own error says why, not our EPIPE.
        const own = errorLines(redactUrls(log))[0];
        const code = (error as { code?: string }).code;
        if (own && (code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE")) {
          throw new OperationError(`pg_restore stopped reading the archive: ${own}`);
        }
        throw error;
      }
    }
    const exitCode = await closed;
    if (signal?.aborted) throw signal.reason;
    log = redactUrls(log);
    return { exitCode, errors: errorLines(log), log };
  }
}

const KILL_AFTER_MS = 5_000;

/**
 * pg_restore's stdin as the end of the read pipeline. pg_restore with --table or --schema exits 0
 * once it has what it needs and closes its input early (the rest of an uncompressed archive does
 * not fit in the pipe's buffer): the rest is then read and dropped, so the artifact's digests are
 * still checked whole. A pg_restore that closes its input and fails keeps the pipe error, which
 * the caller turns into pg_restore's own.
 */
function stdinSink(
  stdin: Writable,
  exited: Promise<number | null>,
  afterWrite: (chunk: Buffer) => void = () => undefined,
): Writable {
  let gone: Promise<void> | undefined;
  const whenGone = (error: Error): Promise<void> =>
    (gone ??= exited.then((code) => {
      if (code !== 0) throw error;
    }));
  stdin.on("error", (error) => void whenGone(error).catch(() => undefined));
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (gone) {
        // Dropped. Once the pipe is closed, no earlier write to it is pending any more.
        if (stdin.closed) afterWrite(chunk);
        return void gone.then(() => callback(), callback);
      }
      // The write's own callback, not write()'s return value, says the pipe has the bytes.
      stdin.write(chunk, (error) => {
        if (!error) {
          afterWrite(chunk);
          return callback();
        }
        whenGone(error).then(() => callback(), callback);
      });
    },
    final(callback) {
      if (gone) return void gone.then(() => callback(), callback);
      stdin.end((error?: Error | null) => {
        if (!error) return callback();
        whenGone(error).then(() => callback(), callback);
      });
    },
    destroy(error, callback) {
      if (!gone) stdin.destroy();
      callback(error);
    },
  });
}

/** Each "pg_restore: error: ..." with the lines that detail it (Command was: ..., DETAIL: ...). */
export function errorLines(log: string): string[] {
  const errors: string[] = [];
  for (const line of log.split("\n")) {
    const match = /^pg_restore: error: (.*)$/.exec(line);
    if (match) errors.push(match[1]!.trim());
    else if (errors.length > 0 && /^(DETAIL|HINT|Command was):/.test(line.trim())) {
      errors[errors.length - 1] += ` ${line.trim()}`;
    }
  }
  // "errors ignored on restore: N" is the summary of the others, not an error of its own.
  return errors.filter((error) => !/^errors ignored on restore: \d+$/.test(error));
}
