/**
 * The S3 driver: `s3://bucket/prefix` on AWS or any S3-compatible store. Parsing needs no SDK; the
 * store (and the AWS SDK with it) is loaded only when a URL asks for it, which keeps the start of
 * local-only runs fast.
 */
import type { StoreDriver } from "./driver.js";
import type { S3Options } from "./s3-store.js";

/** `prefix` has no leading or trailing slash; "" is the bucket's root. */
export interface S3Location {
  kind: "s3";
  bucket: string;
  prefix: string;
}

export const s3Driver: StoreDriver<S3Location, { s3?: S3Options }> = {
  kind: "s3",
  schemes: ["s3"],
  forms: ["s3://bucket/prefix"],
  options: ["s3-endpoint", "s3-region", "s3-force-path-style", "s3-checksums", "s3-sse", "s3-sse-kms-key-id"],
  parse(text, { fail }) {
    const rest = text.slice("s3:".length);
    if (!rest.startsWith("//")) return fail();
    const [bucket = "", ...path] = rest.slice(2).split("/");
    if (bucket === "") return fail("no bucket");
    const bucketProblem = problemWithBucketName(bucket);
    if (bucketProblem) return fail(`bucket "${bucket}" ${bucketProblem}`);
    return { kind: "s3", bucket, prefix: path.join("/").replace(/^\/+|\/+$/g, "") };
  },
  format: (location) =>
    location.prefix ? `s3://${location.bucket}/${location.prefix}` : `s3://${location.bucket}`,
  async open(location, options) {
    const { createS3Store } = await import("./s3-store.js");
    return createS3Store({ bucket: location.bucket, prefix: location.prefix }, options.s3);
  },
};

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
