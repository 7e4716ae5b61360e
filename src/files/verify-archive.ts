/**
 * Checks a files archive against its own index: every file's size and sha256, every directory and
 * link, nothing missing, nothing extra. Reads the archive once, as a stream; keeps one small record
 * per entry.
 */
import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { describeError } from "../domain/errors.js";
import { INDEX_NAME, IndexFormatError, parseIndex } from "./files-index.js";
import type { ChangeReason, IndexRecord } from "./files-index.js";
import { readTar } from "./tar-reader.js";
import { TarFormatError } from "./tar-format.js";
import type { TarHeader } from "./tar-format.js";

export interface DamagedFile {
  path: string;
  reason: string;
}

/** A verification's result. The lists name files: keep them out of plaintext records. */
export interface ArchiveVerification {
  ok: boolean;
  /** The archive's index was found and parsed. */
  indexFound: boolean;
  indexSha256?: string;
  /** Set when an expected index digest was given and differs. */
  indexMismatch?: boolean;
  /** Why the archive could not be read to its end (damaged, truncated, not a tar). */
  unreadable?: string;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  missing: string[];
  extra: string[];
  damaged: DamagedFile[];
  /** Files the backup recorded as changed while read (stored as recorded; not a failure here). */
  changed: { path: string; reason: ChangeReason }[];
}

interface Seen {
  type: TarHeader["type"];
  size: number;
  sha256?: string;
  linkTarget?: string;
}

async function digest(body: AsyncIterable<Buffer>): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts);
}

function compare(record: IndexRecord, seen: Seen | undefined): string | undefined {
  if (!seen) return undefined;
  if (seen.type !== record.type) return `is a ${seen.type}, the index says ${record.type}`;
  if (record.type === "file") {
    if (seen.size !== record.size) return `${seen.size} bytes, the index says ${String(record.size)}`;
    if (seen.sha256 !== record.sha256) return "sha256 differs from the index";
  }
  if (record.type === "symlink" && seen.linkTarget !== record.linkTarget)
    return "link target differs from the index";
  return undefined;
}

export async function verifyArchive(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  options: { expectedIndexSha256?: string } = {},
): Promise<ArchiveVerification> {
  const seen = new Map<string, Seen>();
  const duplicates = new Set<string>();
  let indexBytes: Buffer | undefined;
  let unreadable: string | undefined;
  try {
    for await (const entry of readTar(input)) {
      if (entry.path === INDEX_NAME && entry.type === "file") {
        indexBytes = await collect(entry.body);
        continue;
      }
      if (seen.has(entry.path)) duplicates.add(entry.path);
      const record: Seen = { type: entry.type, size: entry.size };
      if (entry.type === "file") Object.assign(record, await digest(entry.body));
      if (entry.linkTarget !== undefined) record.linkTarget = entry.linkTarget;
      seen.set(entry.path, record);
    }
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    unreadable = describeError(error);
  }

  const result: ArchiveVerification = {
    ok: false,
    indexFound: false,
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    missing: [],
    extra: [],
    damaged: [],
    changed: [],
  };
  if (unreadable !== undefined) result.unreadable = unreadable;
  for (const [path, entry] of seen) {
    if (entry.type === "file") {
      result.files += 1;
      result.bytes += entry.size;
    } else if (entry.type === "directory") result.directories += 1;
    else if (entry.type === "symlink") result.symlinks += 1;
    if (duplicates.has(path)) result.damaged.push({ path, reason: "appears more than once in the archive" });
  }
  if (indexBytes === undefined) {
    if (result.unreadable === undefined) result.unreadable = `the archive holds no ${INDEX_NAME}`;
    return result;
  }
  result.indexSha256 = createHash("sha256").update(indexBytes).digest("hex");
  if (options.expectedIndexSha256 !== undefined && options.expectedIndexSha256 !== result.indexSha256) {
    result.indexMismatch = true;
  }
  let records: IndexRecord[];
  try {
    records = parseIndex(indexBytes.toString("utf8")).records;
  } catch (error) {
    if (!(error instanceof IndexFormatError)) throw error;
    result.unreadable = describeError(error);
    return result;
  }
  result.indexFound = true;

  const listed = new Set<string>();
  for (const record of records) {
    listed.add(record.path);
    if (record.changed) result.changed.push({ path: record.path, reason: record.changed });
    const actual = seen.get(record.path);
    if (record.changed === "vanished") {
      if (actual)
        result.damaged.push({ path: record.path, reason: "the index says it vanished, yet it is stored" });
      continue;
    }
    if (!actual) {
      result.missing.push(record.path);
      continue;
    }
    const reason = compare(record, actual);
    if (reason) result.damaged.push({ path: record.path, reason });
  }
  for (const path of seen.keys()) if (!listed.has(path)) result.extra.push(path);

  result.ok =
    result.unreadable === undefined &&
    !result.indexMismatch &&
    result.missing.length === 0 &&
    result.extra.length === 0 &&
    result.damaged.length === 0;
  return result;
}

/**
 * A sink for a read pipeline that verifies the archive flowing into it: `result` settles once the
 * archive was read through. Whatever the verifier leaves unread is drained, so the pipeline
 * feeding the sink always finishes.
 */
export function verifyArchiveSink(options: { expectedIndexSha256?: string } = {}): {
  sink: PassThrough;
  result: Promise<ArchiveVerification>;
} {
  const sink = new PassThrough();
  const result = verifyArchive(sink, options).finally(() => {
    if (!sink.destroyed) sink.resume();
  });
  result.catch(() => undefined);
  return { sink, result };
}

/** What the manifest says of a files artifact, for comparing with a verification. */
export interface FilesArtifactFacts {
  name: string;
  files: number;
  bytes: number;
  indexSha256: string;
}

/**
 * A verification's problems, one sentence each, with counts only: file names stay out of check
 * records and reports, which are plaintext.
 */
export function archiveProblems(artifact: FilesArtifactFacts, report: ArchiveVerification): string[] {
  const problems: string[] = [];
  const where = artifact.name;
  if (report.unreadable !== undefined)
    problems.push(`${where}: the archive cannot be read: ${report.unreadable}`);
  if (report.indexMismatch) problems.push(`${where}: its index differs from the one the manifest names`);
  if (report.damaged.length > 0) {
    problems.push(`${where}: ${report.damaged.length} file(s) differ from the index (size or sha256)`);
  }
  if (report.missing.length > 0)
    problems.push(`${where}: ${report.missing.length} file(s) of the index are missing`);
  if (report.extra.length > 0) problems.push(`${where}: ${report.extra.length} file(s) are not in the index`);
  if (problems.length === 0 && (report.files !== artifact.files || report.bytes !== artifact.bytes)) {
    problems.push(
      `${where}: holds ${report.files} files, ${report.bytes} bytes; the manifest says ${artifact.files} files, ${artifact.bytes} bytes`,
    );
  }
  return problems;
}
