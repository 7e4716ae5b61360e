/**
 * Puts a files archive back into a target (a directory or a bucket), entry by entry, as it
 * streams: nothing is staged. Each file's bytes are hashed on the way and checked against the
 * archive's index once it arrives (it is the last entry), so a damaged file is reported.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeError } from "../domain/errors.js";
import { INDEX_NAME, parseIndex } from "./files-index.js";
import { readTar } from "./tar-reader.js";
import type { TarHeader } from "./tar-format.js";

export type PutOutcome = "written" | "skipped-existing" | "unsupported";

export interface FilesTarget {
  /** Printable: a directory path or an s3:// URL. */
  readonly description: string;
  /** Preflight: an InputError (exit 2) when the target cannot be written, before anything is. */
  check(): Promise<void>;
  /**
   * Puts one entry. Returns "skipped-existing" without reading `body` when something is already
   * there (unless overwriting), "unsupported" for what the target cannot hold (links in a bucket).
   * Throws when writing fails, leaving nothing half-written.
   */
  put(entry: TarHeader, body: Readable): Promise<PutOutcome>;
}

export interface RestoreFilesResult {
  /** Files and links written (directories are counted apart). */
  written: number;
  skippedExisting: number;
  failed: number;
  directories: number;
  unsupported: number;
  bytes: number;
  /** The archive's index was found and compared. */
  indexChecked: boolean;
  /** Written files whose bytes do not match the index (named: keep out of plaintext records). */
  damaged: string[];
  failures: { path: string; reason: string }[];
}

class Digest extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

export async function restoreFiles(
  archive: AsyncIterable<Buffer | Uint8Array | string>,
  target: FilesTarget,
  options: { filter?: (path: string) => boolean } = {},
): Promise<RestoreFilesResult> {
  const result: RestoreFilesResult = {
    written: 0,
    skippedExisting: 0,
    failed: 0,
    directories: 0,
    unsupported: 0,
    bytes: 0,
    indexChecked: false,
    damaged: [],
    failures: [],
  };
  await target.check();
  const digests = new Map<string, string>();
  let index: Buffer | undefined;
  for await (const entry of readTar(archive)) {
    if (entry.path === INDEX_NAME && entry.type === "file") {
      const parts: Buffer[] = [];
      for await (const chunk of entry.body) parts.push(chunk as Buffer);
      index = Buffer.concat(parts);
      continue;
    }
    if (options.filter && !options.filter(entry.path)) continue;
    const digest = new Digest();
    const feeding = pipeline(entry.body, digest).catch(() => undefined);
    try {
      const outcome = await target.put(entry, digest);
      if (outcome === "written" && entry.type === "file") {
        await feeding;
        digests.set(entry.path, digest.hash.digest("hex"));
        result.bytes += digest.bytes;
      }
      if (outcome === "skipped-existing") result.skippedExisting += 1;
      else if (outcome === "unsupported") result.unsupported += 1;
      else if (entry.type === "directory") result.directories += 1;
      else result.written += 1;
    } catch (error) {
      result.failed += 1;
      result.failures.push({ path: entry.path, reason: describeError(error) });
    } finally {
      // Whatever the target did not read is skipped by the reader.
      if (!digest.readableEnded) digest.destroy();
      await feeding;
    }
  }
  if (index !== undefined) {
    const { records } = parseIndex(index.toString("utf8"));
    result.indexChecked = true;
    for (const record of records) {
      const written = digests.get(record.path);
      if (written !== undefined && record.type === "file" && written !== record.sha256) {
        result.damaged.push(record.path);
      }
    }
  }
  return result;
}
