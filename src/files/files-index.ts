/**
 * The index of a files archive: JSON lines, one header line then one line per entry, stored as the
 * archive's last tar entry under a reserved name so that it travels encrypted with the files (file
 * names can be personal data; the manifest is plaintext and only gets counts).
 *
 *   {"lifeboatFilesIndex":1,"source":"s3://photos"}
 *   {"path":"a/b.jpg","type":"file","size":123,"sha256":"…","mtime":"2026-…Z","etag":"\"…\""}
 *   {"path":"a","type":"directory","mtime":"…"}
 *   {"path":"l","type":"symlink","linkTarget":"a/b.jpg","mtime":"…"}
 *   {"path":"c.txt","type":"file","size":10,"sha256":"…","mtime":"…","changed":"grew"}
 *   {"path":"gone.txt","type":"file","size":0,"mtime":"…","changed":"vanished"}
 *
 * For a file, `size` and `sha256` describe the bytes stored in the archive. A file marked
 * `changed` was not read consistently: "grew" (truncated to the announced size), "shrank" (padded
 * with zeros to it), "modified" (same size, but changed while read) or "vanished" (no tar entry).
 */
import { OperationError } from "../domain/errors.js";
import type { EntryType } from "./tar-format.js";

/** The reserved name of the index entry, at the archive's root. */
export const INDEX_NAME = ".lifeboat-index.jsonl";
export const INDEX_VERSION = 1;

export type ChangeReason = "grew" | "shrank" | "modified" | "vanished";

export interface IndexHeader {
  lifeboatFilesIndex: number;
  source?: string;
}

export interface IndexRecord {
  path: string;
  type: EntryType;
  size?: number;
  sha256?: string;
  mtime: string;
  etag?: string;
  linkTarget?: string;
  changed?: ChangeReason;
}

export function indexHeaderLine(source: string | undefined): string {
  const header: IndexHeader = { lifeboatFilesIndex: INDEX_VERSION };
  if (source !== undefined) header.source = source;
  return `${JSON.stringify(header)}\n`;
}

export function indexLine(record: IndexRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export class IndexFormatError extends OperationError {}

/** Parses a whole index; throws IndexFormatError on anything that is not one. */
export function parseIndex(text: string): { header: IndexHeader; records: IndexRecord[] } {
  const lines = text.split("\n").filter((line) => line !== "");
  const first = lines.shift();
  let header: IndexHeader;
  try {
    header = JSON.parse(first ?? "") as IndexHeader;
  } catch {
    throw new IndexFormatError(`${INDEX_NAME}: the first line is not JSON`);
  }
  if (header.lifeboatFilesIndex !== INDEX_VERSION) {
    throw new IndexFormatError(
      `${INDEX_NAME}: format version ${String(header.lifeboatFilesIndex)}, expected ${INDEX_VERSION}`,
    );
  }
  const records = lines.map((line, number) => {
    let record: IndexRecord;
    try {
      record = JSON.parse(line) as IndexRecord;
    } catch {
      throw new IndexFormatError(`${INDEX_NAME}: line ${number + 2} is not JSON`);
    }
    if (typeof record.path !== "string" || !["file", "directory", "symlink"].includes(record.type)) {
      throw new IndexFormatError(`${INDEX_NAME}: line ${number + 2} is not an index record`);
    }
    return record;
  });
  return { header, records };
}
