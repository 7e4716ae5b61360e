/**
 * The storage location the user names: `s3://bucket/prefix`, `file:///absolute/path` or a plain
 * directory path. Pure: the working directory comes in as an argument. The parsing itself is each
 * driver's (registry.ts); this module keeps the names the rest of the code uses.
 */
import { formatLocation, parseLocation, type StoreLocation } from "./registry.js";

export { problemWithBucketName } from "./s3-driver.js";

export type StorageUrl = StoreLocation;

export interface ParseStorageUrlOptions {
  /** The directory a relative path is resolved against. */
  cwd: string;
  /** The input named in error messages; default "storage". */
  input?: string;
}

export function parseStorageUrl(text: string, options: ParseStorageUrlOptions): StorageUrl {
  return parseLocation(text, options);
}

/** The canonical text of a location, without credentials: `s3://bucket/prefix` or `file:///path`. */
export function formatStorageUrl(url: StorageUrl): string {
  return formatLocation(url);
}
