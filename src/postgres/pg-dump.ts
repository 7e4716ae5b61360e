/**
 * Runs pg_dump with its output as a stream. The stream only ends cleanly once pg_dump has exited
 * with status 0 and what it wrote starts like a custom-format archive: an exit with an error, a
 * kill, or an empty output turns into a stream error, so a cut-short dump can never be stored as
 * a complete one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { createBulkPipe } from "../streams/bulk-pipe.js";
import { OperationError } from "../domain/errors.js";
import { redactUrls, type DatabaseUrl } from "../domain/database-url.js";
import { pgConnection, pgToolEnv } from "./child-env.js";
import { toolSpawn, type ToolRef } from "./pg-dump-finder.js";

const ARCHIVE_MAGIC = Buffer.from("PGDMP");
const STDERR_KEEP = 64 * 1024;
const COALESCE_BYTES = 256 * 1024;

export interface RunningDump {
  /** The archive bytes; errors if pg_dump fails in any way. */
  output: Transform;
  /** Stops pg_dump (SIGTERM) and fails the output. */
  kill(reason: string): void;
  /**
   * Gives a chunk of `output` back for reuse once the stage that copies or compresses it is done
   * with it (bulk-pipe.ts says why); a no-op on an ordinary pipe.
   */
  release(chunk: Buffer): void;
}

/**
 * The TimeZone pg_dump's session runs in. pg_dump sets DateStyle and extra_float_digits but not
 * the zone, so timestamptz values reach the archive in whatever zone the role, the database or the
 * server default says, and restore-test could not print them again the same way to recompute a
 * table's digest. In UTC they can (the manifest records it as `dump.timeZone`), and UTC's text does
 * not depend on the time zone database of either server. The values are the same instants in any
 * zone, so what a restore puts in the database does not change.
 */
export const DUMP_TIME_ZONE = "UTC";

export function startPgDump(options: {
  /** The pg_dump to run: a path, or a found tool with the environment it needs. */
  pgDump: ToolRef;
  args: string[];
  url: DatabaseUrl;
  env: NodeJS.ProcessEnv;
  /** Read pg_dump's output from an ordinary pipe even where a FIFO is available (tests). */
  ordinaryPipe?: boolean;
}): RunningDump {
  // An allow-listed environment: the password in PGPASSWORD (never on the command line), and
  // nothing of ours (identities, tokens, other PG* variables) that pg_dump has no use for.
  const connection = pgConnection(options.url);
  const { path, env } = toolSpawn(options.pgDump, {
    ...pgToolEnv(options.env, {
      password: options.url.password,
      sslmode: options.url.sslmode,
      appName: "lifeboat pg_dump",
      connectTimeoutSeconds: 15,
      timeZone: DUMP_TIME_ZONE,
    }),
    ...connection.env,
  });
  // The archive through a FIFO read in 1 MiB chunks where the platform has one (bulk-pipe.ts says
  // why), else an ordinary pipe.
  const bulk = options.ordinaryPipe ? undefined : createBulkPipe();
  let child: ChildProcess;
  try {
    // Its own process group: a terminal's Ctrl-C reaches us, not pg_dump, and stopping it stops
    // anything it started (a wrapper script's children too).
    child = spawn(path, [...options.args, `--dbname=${connection.dbname}`], {
      env,
      stdio: ["ignore", bulk ? bulk.writeFd : "pipe", "pipe"],
      detached: true,
    });
  } catch (error) {
    bulk?.output.destroy();
    throw error;
  } finally {
    bulk?.closeWriteEnd();
  }
  const archive: Readable = bulk ? bulk.output : child.stdout!;
  const stderrStream = child.stderr!;
  child.on("close", connection.dispose);
  child.on("error", connection.dispose);
  const running = () => child.exitCode === null && child.signalCode === null;
  const terminate = () => {
    if (!running() || child.pid === undefined) return;
    signalGroup(child.pid, "SIGTERM");
    // A pg_dump that ignores SIGTERM must not keep the backup (and the process) waiting.
    setTimeout(() => running() && signalGroup(child.pid!, "SIGKILL"), KILL_AFTER_MS).unref();
  };

  let stderr = "";
  stderrStream.setEncoding("utf8");
  stderrStream.on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP);
  });
  let killedFor: string | undefined;
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error) => reject(new OperationError(`pg_dump could not start: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve();
      const why = killedFor ?? (signal ? `killed by ${signal}` : `exited with status ${code}`);
      reject(new OperationError(`pg_dump ${why}${lastError(stderr)}${accessHint(stderr, options.url.user)}`));
    });
  });
  // Observed through the output stream; this keeps an early rejection from being "unhandled".
  exited.catch(() => undefined);

  let seen = 0;
  const head: Buffer[] = [];
  // pg_dump writes in pieces of a few KiB; gathering them into larger chunks here saves every
  // stage after it (hashing, encryption, the store) most of its per-chunk cost.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      // A copy: the chunk itself is refilled once the stages are done with it (release).
      if (seen < ARCHIVE_MAGIC.length) head.push(Buffer.from(chunk.subarray(0, ARCHIVE_MAGIC.length)));
      seen += chunk.length;
      if (pendingBytes === 0 && chunk.length >= COALESCE_BYTES) return callback(null, chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < COALESCE_BYTES) return callback();
      const gathered = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      callback(null, gathered);
    },
    flush(callback: TransformCallback) {
      exited.then(
        () => {
          if (pendingBytes > 0) this.push(Buffer.concat(pending, pendingBytes));
          const start = Buffer.concat(head).subarray(0, ARCHIVE_MAGIC.length);
          if (seen === 0) return callback(new OperationError("pg_dump exited 0 but wrote nothing"));
          if (!start.equals(ARCHIVE_MAGIC)) {
            return callback(new OperationError("pg_dump's output is not a custom-format archive"));
          }
          callback();
        },
        (error: unknown) => callback(error as Error),
      );
    },
  });
  archive.on("error", (error) => output.destroy(error));
  archive.pipe(output);
  // A child that failed to start never closes the FIFO's read end by itself.
  child.on("error", () => archive.destroy());
  // The consumer went away (store failure, abort): pg_dump must not keep running.
  output.on("close", terminate);

  return {
    output,
    release: bulk ? (chunk) => bulk.release(chunk) : () => undefined,
    kill(reason: string) {
      killedFor ??= `was stopped: ${reason}`;
      terminate();
    },
  };
}

const KILL_AFTER_MS = 5_000;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * What to do when pg_dump stopped at a table its role may not read: the commonest failure of a
 * backup run as a dedicated, least-privileged role. pg_dump reads every table in the scope with row
 * security off, so a policy that would hide rows fails the dump rather than thinning it.
 */
function accessHint(stderr: string, role: string | undefined): string {
  const who = role ? `role ${role}` : "the role";
  if (/query would be affected by row-level security policy/.test(stderr)) {
    return ` (the backup's ${who} must see every row: give it BYPASSRLS or ownership of the table, or leave the table out with --exclude-table; lifeboat doctor lists every table it cannot read)`;
  }
  if (/permission denied for (table|sequence|schema|large object|view|materialized view)/.test(stderr)) {
    return ` (the backup's ${who} must read everything in the dump's scope: GRANT pg_read_all_data (PostgreSQL 14 and later) or SELECT and USAGE, or narrow the scope with --exclude-table / --exclude-schema; lifeboat doctor lists what it cannot read)`;
  }
  return "";
}

/** The last "error:" line pg_dump printed, or its last line, as ": <text>". */
function lastError(stderr: string): string {
  const lines = redactUrls(stderr)
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const at = lines.findLastIndex((line) => /error:|FATAL:|fatal:/.test(line));
  const error = at < 0 ? lines.at(-1) : lines[at];
  // The server's DETAIL and HINT lines after it say why, and often what to do.
  const advice = at < 0 ? [] : lines.slice(at + 1).filter((line) => /^(DETAIL|HINT):/.test(line));
  return error ? `: ${[error, ...advice].join(" ")}` : "";
}
