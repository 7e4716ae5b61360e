/**
 * What an AWS SDK S3 error means, read the same way by every S3 client of ours (the backup store
 * and the files sources): its name or code, its HTTP status, whether the network failed, whether
 * the key or bucket is missing, and one line describing it.
 */
import { describeError } from "../domain/errors.js";

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function shapeOf(error: unknown): ErrorShape {
  return typeof error === "object" && error !== null ? (error as ErrorShape) : {};
}

export function s3StatusOf(error: unknown): number | undefined {
  return shapeOf(error).$metadata?.httpStatusCode;
}

/** The S3 error code (`NoSuchBucket`), else the SDK's error name. */
export function s3NameOf(error: unknown): string {
  const { name, Code } = shapeOf(error);
  return typeof Code === "string" ? Code : typeof name === "string" ? name : "";
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
]);

/** The network failure behind an error (ECONNREFUSED, ...; a timeout is ETIMEDOUT), if it is one. */
export function networkCodeOf(error: unknown): string | undefined {
  const { code, name } = shapeOf(error);
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  if (name === "TimeoutError") return "ETIMEDOUT";
  return undefined;
}

export function isS3NotFound(error: unknown): boolean {
  const name = s3NameOf(error);
  return s3StatusOf(error) === 404 || name === "NotFound" || name === "NoSuchKey" || name === "NoSuchBucket";
}

/** The codes S3 answers when the credentials are wrong or lack the right. */
export const S3_DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "Forbidden",
]);

/** One line for any S3 SDK error: its code, its message and the HTTP status. */
export function describeS3Error(error: unknown): string {
  const name = s3NameOf(error);
  const status = s3StatusOf(error);
  let text = describeError(error);
  const { code } = shapeOf(error);
  if (typeof code === "string" && !text.includes(code)) text = `${code}: ${text}`;
  // Responses without a body (HEAD) carry no code: the SDK names them "Unknown"/"UnknownError".
  if (name === "Unknown" || (text === "UnknownError" && !name)) {
    return status ? `HTTP ${status}` : "unknown error";
  }
  // A code with an empty message (radosgw sends `<Message/>`): the code says it all.
  if (text === "UnknownError") text = name;
  if (name && name !== "Error" && !text.startsWith(name)) text = `${name}: ${text}`;
  return status && status >= 300 ? `${text} (HTTP ${status})` : text;
}

/** Why a preflight check of a bucket failed, in the terms a user can act on. */
export type S3CheckProblem =
  "unreachable" | "no-credentials" | "no-region" | "no-bucket" | "denied" | "other-region" | "other";

/** The one reading of a failed bucket check; each caller words it for its own input. */
export function classifyS3CheckError(error: unknown): S3CheckProblem {
  if (networkCodeOf(error) !== undefined) return "unreachable";
  const name = s3NameOf(error);
  const status = s3StatusOf(error);
  const text = describeError(error);
  if (name === "CredentialsProviderError" || (/credential/i.test(text) && !status)) return "no-credentials";
  if (/region is missing/i.test(text)) return "no-region";
  if (isS3NotFound(error)) return "no-bucket";
  if (status === 401 || status === 403 || S3_DENIED.has(name)) return "denied";
  if (status === 301 || name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed") {
    return "other-region";
  }
  return "other";
}
