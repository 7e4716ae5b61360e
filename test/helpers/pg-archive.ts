/**
 * Helpers for the archive-reader tests: real pg_dump archives and COPY output from a throwaway
 * cluster, feeding bytes through the tap, and small synthetic archives written the way
 * pg_backup_archiver.c lays them out (for archive versions no local pg_dump writes).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArchiveParser, createArchiveTap, type ArchiveSummary } from "../../src/postgres/archive/index.js";
import type { Cluster } from "./postgres-cluster.js";

function clientEnv(cluster: Cluster): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: cluster.password, PGHOST: cluster.host, PGPORT: String(cluster.port) };
}

/** Runs a client tool and returns its stdout bytes (stdout is a pipe, as in the backup pipeline). */
function runClient(cluster: Cluster, command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: clientEnv(cluster), stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} exited ${code}: ${Buffer.concat(err).toString()}`));
    });
  });
}

/** `pg_dump -Fc <args> <database>` into memory; -Z0 unless args say otherwise. */
export function dumpArchive(cluster: Cluster, database: string, args: string[] = []): Promise<Buffer> {
  const compression = args.some((arg) => arg.startsWith("-Z")) ? [] : ["-Z0"];
  return runClient(cluster, "pg_dump", ["-Fc", ...compression, "-U", cluster.user, ...args, database]);
}

/** `pg_dump -Fc -Z0 -f <file>`: pg_dump can seek back and rewrite the TOC with each block's offset. */
export async function dumpArchiveToFile(cluster: Cluster, database: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-archive-"));
  try {
    const file = join(dir, "dump.custom");
    await runClient(cluster, "pg_dump", ["-Fc", "-Z0", "-U", cluster.user, "-f", file, database]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `COPY <table> TO STDOUT` through psql: the bytes a table's digest must match. */
export function copyOut(cluster: Cluster, database: string, table: string): Promise<Buffer> {
  return runClient(cluster, "psql", [
    "-X",
    "-q",
    "-U",
    cluster.user,
    "-d",
    database,
    "-c",
    `COPY ${table} TO STDOUT`,
  ]);
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Streams `archive` through the tap in `chunkSize` pieces; returns the summary and what came out. */
export async function tapArchive(
  archive: Buffer,
  chunkSize = 64 * 1024,
): Promise<{ summary: ArchiveSummary; output: Buffer }> {
  const tap = createArchiveTap();
  const out: Buffer[] = [];
  const chunks = function* () {
    for (let i = 0; i < archive.length; i += chunkSize) yield archive.subarray(i, i + chunkSize);
  };
  await pipeline(
    Readable.from(chunks()),
    tap.stream,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { summary: await tap.summary, output: Buffer.concat(out) };
}

/** Feeds the parser directly in pieces of the given sizes (cycled). */
export function parseInPieces(archive: Buffer, sizes: number[]): ArchiveSummary {
  const parser = new ArchiveParser();
  let at = 0;
  for (let n = 0; at < archive.length; n++) {
    const size = sizes[n % sizes.length]!;
    parser.write(archive.subarray(at, at + size));
    at += size;
  }
  return parser.end();
}

/** Where the data block for `dumpId` starts: its type byte, then the dump id as an int. */
export function findBlock(archive: Buffer, dumpId: number, type = 1): number {
  const header = Buffer.from([
    type,
    0,
    dumpId & 255,
    (dumpId >> 8) & 255,
    (dumpId >> 16) & 255,
    dumpId >>> 24,
  ]);
  const at = archive.lastIndexOf(header);
  if (at < 0) throw new Error(`no data block for dump id ${dumpId}`);
  return at;
}

// ---- Synthetic archives, as WriteHead / WriteToc / _StartData write them ----

export interface SyntheticEntry {
  dumpId: number;
  tag: string;
  desc: string;
  namespace?: string;
  copyStatement?: string | null;
  /** The data block's chunks; none means the entry has no data (K_OFFSET_NO_DATA). */
  chunks?: string[];
  dependencies?: number[];
}

export interface SyntheticArchive {
  minor: number;
  intSize?: number;
  format?: number;
  /** 1.15+: the algorithm byte; before: the zlib level int. */
  compression?: number;
  entries?: SyntheticEntry[];
}

/** An archive of the given 1.<minor> version, built byte by byte from the source's description. */
export function syntheticArchive(spec: SyntheticArchive): Buffer {
  const intSize = spec.intSize ?? 4;
  const version = (1 * 256 + spec.minor) * 256;
  const parts: Buffer[] = [];
  const byte = (value: number) => parts.push(Buffer.from([value]));
  const int = (value: number) => {
    const bytes = [value < 0 ? 1 : 0];
    let magnitude = Math.abs(value);
    for (let i = 0; i < intSize; i++) {
      bytes.push(magnitude % 256);
      magnitude = Math.floor(magnitude / 256);
    }
    parts.push(Buffer.from(bytes));
  };
  const str = (value: string | null) => {
    if (value === null) return int(-1);
    const bytes = Buffer.from(value, "utf8");
    int(bytes.length);
    parts.push(bytes);
  };
  parts.push(Buffer.from("PGDMP"));
  byte(1);
  byte(spec.minor);
  byte(0);
  byte(intSize);
  byte(8); // offSize (1.7+)
  byte(spec.format ?? 1);
  if (version >= (1 * 256 + 15) * 256) byte(spec.compression ?? 0);
  else int(spec.compression ?? 0);
  for (const value of [5, 4, 3, 28, 10, 126, 0]) int(value); // 2026-11-28 03:04:05
  str("appdb");
  str("15.4");
  str("15.4");
  const entries = spec.entries ?? [];
  int(entries.length);
  for (const entry of entries) {
    int(entry.dumpId);
    int(entry.chunks ? 1 : 0);
    str("1259");
    str(String(16384 + entry.dumpId));
    str(entry.tag);
    str(entry.desc);
    if (spec.minor >= 11) int(entry.desc === "TABLE DATA" || entry.desc === "BLOBS" ? 3 : 2);
    str(entry.chunks ? "" : `CREATE SOMETHING ${entry.tag};`);
    str("");
    str(entry.copyStatement ?? null);
    str(entry.namespace ?? "public");
    str(""); // tablespace (1.10+)
    if (spec.minor >= 14) str("heap");
    if (spec.minor >= 16) int(114); // relkind 'r'
    str("owner");
    str("false"); // with-oids (1.9+)
    for (const dependency of entry.dependencies ?? []) str(String(dependency));
    str(null);
    byte(entry.chunks ? 1 : 3); // K_OFFSET_POS_NOT_SET or K_OFFSET_NO_DATA
    for (let i = 0; i < 8; i++) byte(0);
  }
  for (const entry of entries) {
    if (!entry.chunks) continue;
    byte(1);
    int(entry.dumpId);
    for (const chunk of entry.chunks) str(chunk);
    int(0);
  }
  return Buffer.concat(parts);
}
