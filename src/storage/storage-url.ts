/**
 * The storage location the user names: `s3://bucket/prefix`, `file:///absolute/path` or a plain
 * directory path. Pure: the working directory comes in as an argument.
 */
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InputError } from "../domain/errors.js";

export type StorageUrl =
  /** `prefix` has no leading or trailing slash; "" is the bucket's root. */
  | { kind: "s3"; bucket: string; prefix: string }
  /** `path` is absolute. */
  | { kind: "local"; path: string };

export interface ParseStorageUrlOptions {
  /** The directory a relative path is resolved against. */
  cwd: string;
  /** The input named in error messages; default "storage". */
  input?: string;
}

const EXPECTED = "expected s3://bucket/prefix, file:///absolute/path or a directory path";

/** A scheme of two or more characters, so a Windows drive letter ("C:") is not one. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;

export function parseStorageUrl(text: string, options: ParseStorageUrlOptions): StorageUrl {
  const input = options.input ?? "storage";
  const fail = (why?: string): never => {
    const detail = why ? `${why}; ${EXPECTED}` : EXPECTED;
    throw new InputError(`--${input} ${JSON.stringify(text)}: ${detail}`, { input });
  };
  const value = text.trim();
  if (value === "") return fail("empty");

  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "local", path: resolve(options.cwd, value) };

  if (scheme === "s3") {
    const rest = value.slice("s3:".length);
    if (!rest.startsWith("//")) return fail();
    const [bucket = "", ...path] = rest.slice(2).split("/");
    if (bucket === "") return fail("no bucket");
    const bucketProblem = problemWithBucketName(bucket);
    if (bucketProblem) return fail(`bucket "${bucket}" ${bucketProblem}`);
    return { kind: "s3", bucket, prefix: path.join("/").replace(/^\/+|\/+$/g, "") };
  }

  if (scheme === "file") {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail();
    }
    if (url.host !== "") return fail(`a file URL names no host ("${url.host}")`);
    if (url.search !== "" || url.hash !== "") return fail("a file URL has no query or fragment");
    const path = fileURLToPath(url);
    return { kind: "local", path: path.length > 1 ? path.replace(/\/+$/, "") : path };
  }

  return fail();
}

/**
 * Why `name` is not a valid S3 bucket name, or undefined when it is. The general-purpose bucket
 * rules: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or
 * digit, no two adjacent dots, not an IP address.
 */
export function problemWithBucketName(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9.-]+$/.test(name)) return "may only contain lowercase letters, digits, dots and hyphens";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return "must start and end with a letter or digit";
  if (name.includes("..")) return "must not contain two adjacent dots";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not be an IP address";
  return undefined;
}

/** The canonical text of a location, without credentials: `s3://bucket/prefix` or `file:///path`. */
export function formatStorageUrl(url: StorageUrl): string {
  if (url.kind === "s3") return url.prefix ? `s3://${url.bucket}/${url.prefix}` : `s3://${url.bucket}`;
  return pathToFileURL(url.path).href;
}
