/** Opens the store a storage URL names, through the driver registered for its scheme. */
import { openLocation, parseLocation, type StoreOptions } from "./registry.js";
import type { S3Options } from "./s3-store.js";
import type { Store } from "./store.js";

export interface OpenStoreOptions extends StoreOptions {
  /** The directory a relative path is resolved against. Default: process.cwd(). */
  cwd?: string;
  /** Options for `s3://` URLs; ignored for local directories. */
  s3?: S3Options;
  /** The input named in error messages; default "storage". */
  input?: string;
}

/** Parses `urlText` (InputError when malformed) and opens the matching store. */
export async function openStore(urlText: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseLocation(urlText, {
    cwd: options.cwd ?? process.cwd(),
    input: options.input ?? "storage",
  });
  return openLocation(location, options);
}
