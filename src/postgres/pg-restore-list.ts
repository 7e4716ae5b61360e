/**
 * `pg_restore --list` fed from a stream: the archive's table of contents. pg_restore stops reading
 * once it has the TOC; the sink keeps accepting (and dropping) the rest, so the caller's hashes
 * still see every byte.
 */
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { OperationError } from "../domain/errors.js";
import { archiveEncoding } from "./archive/format.js";
import { pgToolEnv } from "./child-env.js";
import { toolSpawn, type ToolRef } from "./pg-dump-finder.js";

export interface ArchiveListing {
  sink: Writable;
  /**
   * pg_restore's listing, as the bytes it printed: names are in the dumped database's encoding
   * (see archive/text-encoding.ts). Rejects when pg_restore cannot read the archive.
   */
  listing: Promise<Buffer>;
  /** The encoding the archive's ENCODING entry names, read from its first bytes; null when none. */
  encoding(): string | null;
}

/** The ENCODING entry comes first in the TOC: it is looked for in this many bytes at most. */
const ENCODING_WITHIN = 1024 * 1024;

/**
 * `afterWrite` is called with each chunk once nothing here holds it any more (pg_restore's pipe
 * took it, or it was dropped), in order; e.g. releaseDecompressed.
 */
export function listArchive(
  pgRestore: ToolRef,
  options: { afterWrite?: (chunk: Buffer) => void } = {},
): ArchiveListing {
  const afterWrite = options.afterWrite ?? (() => undefined);
  const tool = toolSpawn(pgRestore, pgToolEnv(process.env));
  const child = spawn(tool.path, ["--list"], { stdio: ["pipe", "pipe", "pipe"], env: tool.env });
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-16_384)));
  let stdinOpen = true;
  child.stdin.on("error", () => {
    // EPIPE once pg_restore has read what it needs: expected.
    stdinOpen = false;
  });
  child.stdin.on("close", () => (stdinOpen = false));
  const listing = new Promise<Buffer>((resolve, reject) => {
    child.on("error", (error) => reject(new OperationError(`pg_restore could not start: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(stdout));
      const line =
        stderr
          .split("\n")
          .map((text) => text.trim())
          .filter(Boolean)
          .at(-1) ?? (signal ? `killed by ${signal}` : `exit status ${code}`);
      reject(new OperationError(`pg_restore cannot read the archive: ${line}`));
    });
  });
  listing.catch(() => undefined);
  const head: Buffer[] = [];
  let headBytes = 0;
  let encoding: string | null | undefined;
  const sniff = (chunk: Buffer) => {
    if (encoding !== undefined) return;
    head.push(chunk);
    headBytes += chunk.length;
    encoding = archiveEncoding(Buffer.concat(head));
    if (encoding === undefined && headBytes >= ENCODING_WITHIN) encoding = null;
    if (encoding !== undefined) head.length = 0;
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      sniff(chunk);
      if (!stdinOpen || !child.stdin.writable) {
        // Dropped. Once the pipe is closed, no earlier write to it is pending any more.
        if (child.stdin.closed) afterWrite(chunk);
        return callback();
      }
      // write() returning true does not mean the pipe has the bytes yet; its callback does.
      const accepted = child.stdin.write(chunk, (error) => {
        if (!error) afterWrite(chunk);
      });
      if (accepted) return callback();
      const proceed = () => {
        child.stdin.off("drain", proceed);
        child.stdin.off("close", proceed);
        callback();
      };
      child.stdin.once("drain", proceed);
      child.stdin.once("close", proceed);
    },
    final(callback) {
      if (stdinOpen) child.stdin.end();
      callback();
    },
    destroy(error, callback) {
      // Also called after a normal finish (autoDestroy): only a failure stops pg_restore.
      if (error && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      callback(error);
    },
  });
  return { sink, listing, encoding: () => encoding ?? null };
}

/**
 * The tables a listing holds data for. Listing lines read `<id>; <oid> <oid> TABLE DATA <schema>
 * <table> <owner>` with names unquoted (they may hold spaces), so a table is found by its prefix.
 * pg_restore prints a name's line breaks (CR and LF) as spaces, to keep one entry per line.
 * `listings` are the same listing decoded more than one way: a table found in any is there (the
 * archive's encoding; and UTF-8, as manifests of non-UTF-8 databases were read before).
 */
export function missingTableData(
  listings: string | readonly string[],
  tables: readonly { schema: string; table: string }[],
): string[] {
  const entries = (typeof listings === "string" ? [listings] : listings)
    .flatMap((listing) => listing.split("\n"))
    .map((line) => /^\d+; \d+ \d+ TABLE DATA (.*)$/.exec(line)?.[1])
    .filter((entry): entry is string => entry !== undefined);
  const listed = (name: string) => entries.some((entry) => entry === name || entry.startsWith(`${name} `));
  const asListed = (name: string) => name.replace(/[\r\n]/g, " ");
  return tables
    .filter(({ schema, table }) => !listed(`${asListed(schema)} ${asListed(table)}`))
    .map(({ schema, table }) => `${schema}.${table}`);
}
