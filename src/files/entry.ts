/**
 * What a files source yields and what the tar writer takes: one entry per file, directory or
 * symbolic link, in the order they go into the archive.
 */
import type { Readable } from "node:stream";
import type { EntryType } from "./tar-format.js";

/** A file as it was when `open()` opened it: the size the archive announces is this one. */
export interface OpenedFile {
  stream: Readable;
  /** The size of the version opened (default: the entry's listed size). */
  size?: number;
  /** The S3 ETag of the version opened. */
  etag?: string;
  mtime?: Date;
  /**
   * Called once the stream has been read to its announced end: says whether the file changed
   * meanwhile (for instance its mtime moved on), so a file rewritten in place in the same size
   * is not stored as if it were consistent.
   */
  changedSince?: () => Promise<boolean>;
}

export interface FileEntry {
  /** Relative, "/"-separated, no leading "/". For a directory, without the trailing "/". */
  path: string;
  type: EntryType;
  /** Bytes announced by the listing (0 for directories and links). */
  size: number;
  mtime: Date;
  /** Permission bits; default 0644 for files, 0755 for directories, 0777 for links. */
  mode?: number;
  /** For symbolic links: the target, stored as is. */
  linkTarget?: string;
  /** The S3 ETag from the listing, kept in the index. */
  etag?: string;
  /** For files: opens the content. May throw `VanishedError` when the file is gone. */
  open?: () => Promise<Readable | OpenedFile>;
}

/** The file listed by a source no longer exists when it is opened. */
export class VanishedError extends Error {
  constructor(path: string, options?: { cause?: unknown }) {
    super(`"${path}" vanished before it could be read`, options);
    this.name = "VanishedError";
  }
}

export function defaultMode(type: EntryType): number {
  return type === "file" ? 0o644 : type === "directory" ? 0o755 : 0o777;
}

/**
 * Whether a path is safe to create under a directory: relative, no "." or ".." segment, no empty
 * segment, no NUL (a backslash is an ordinary character on Linux). Keys such as "a//b" or "../x" are legal in S3 and kept in archives as they
 * are; they can be restored into a bucket but not into a directory.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\0")) return false;
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}
