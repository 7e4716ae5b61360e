/**
 * Opens the store a storage URL names. The S3 implementation (and the AWS SDK with it) is loaded
 * only when the URL asks for it, which keeps the start of local-only runs fast.
 */
import { LocalStore } from "./local-store.js";
import type { S3Options } from "./s3-store.js";
import type { Store } from "./store.js";
import { parseStorageUrl } from "./storage-url.js";

export interface OpenStoreOptions {
  /** The directory a relative path is resolved against. Default: process.cwd(). */
  cwd?: string;
  /** Options for `s3://` URLs; ignored for local directories. */
  s3?: S3Options;
  /** The input named in error messages; default "storage". */
  input?: string;
}

/** Parses `urlText` (InputError when malformed) and creates the matching store. */
export async function openStore(urlText: string, options: OpenStoreOptions = {}): Promise<Store> {
  const url = parseStorageUrl(urlText, {
    cwd: options.cwd ?? process.cwd(),
    input: options.input ?? "storage",
  });
  if (url.kind === "local") return new LocalStore(url.path);
  const { createS3Store } = await import("./s3-store.js");
  return createS3Store({ bucket: url.bucket, prefix: url.prefix }, options.s3);
}
