/** Opens the store a storage URL names, through the driver registered for its scheme. */
import { InputError } from "../domain/errors.js";
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
  /**
   * Where `credentialsEnv` is read (default process.env): credentials from
   * `<prefix>_AWS_ACCESS_KEY_ID` and `<prefix>_AWS_SECRET_ACCESS_KEY` for this store alone.
   */
  env?: NodeJS.ProcessEnv;
}

/** The S3 options with a store's own credentials (docs/offsite.md), read from the environment. */
function withCredentials(
  s3: (S3Options & { credentialsEnv?: { prefix: string; optional: boolean } | undefined }) | undefined,
  env: NodeJS.ProcessEnv,
  input: string,
): S3Options | undefined {
  const wanted = s3?.credentialsEnv;
  if (!s3 || !wanted) return s3;
  const read = (name: string) => env[`${wanted.prefix}_${name}`]?.trim() || undefined;
  const accessKeyId = read("AWS_ACCESS_KEY_ID");
  const secretAccessKey = read("AWS_SECRET_ACCESS_KEY");
  const sessionToken = read("AWS_SESSION_TOKEN");
  if (accessKeyId === undefined && wanted.optional) return s3;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = accessKeyId === undefined ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY";
    throw new InputError(`--${input}: ${wanted.prefix}_${missing} is not set (the store's own credentials)`, {
      input,
    });
  }
  return { ...s3, credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } };
}

/** Parses `urlText` (InputError when malformed) and opens the matching store. */
export async function openStore(urlText: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseLocation(urlText, {
    cwd: options.cwd ?? process.cwd(),
    input: options.input ?? "storage",
  });
  const s3 = withCredentials(options.s3, options.env ?? process.env, options.input ?? "storage");
  return openLocation(location, { ...options, ...(s3 ? { s3 } : {}) });
}
