/**
 * The S3 client a files source or target uses: its own endpoint, region, path-style and
 * credentials, separate from the backup store's, so reading Supabase Storage never needs the
 * backup bucket's keys and vice versa.
 *
 * Credentials: explicit ones, else LIFEBOAT_FILES_AWS_ACCESS_KEY_ID and
 * LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY (and LIFEBOAT_FILES_AWS_SESSION_TOKEN), else the SDK's
 * default chain. Checksums only where the API requires them (see s3-store.ts and FIELD-NOTES.md:
 * the SDK's default flexible checksums break several S3-compatible stores).
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { InputError, OperationError } from "../domain/errors.js";
import { classifyS3CheckError, describeS3Error } from "../storage/s3-errors.js";

export { isS3NotFound, s3NameOf, s3StatusOf } from "../storage/s3-errors.js";

export interface FilesS3Options {
  /** An S3-compatible endpoint, e.g. `https://<ref>.storage.supabase.co/storage/v1/s3`. */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's; "us-east-1" with an endpoint. */
  region?: string;
  /** Path-style requests (`endpoint/bucket/key`), which Supabase Storage and MinIO need. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request, retries included (the SDK's default is 3). */
  maxAttempts?: number;
  /** Keys per ListObjectsV2 page, at most 1000 (the default). */
  listPageSize?: number;
  /** Where the LIFEBOAT_FILES_AWS_* variables are read; default process.env. */
  env?: Record<string, string | undefined>;
}

export const ACCESS_KEY_VAR = "LIFEBOAT_FILES_AWS_ACCESS_KEY_ID";
export const SECRET_KEY_VAR = "LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY";
export const SESSION_TOKEN_VAR = "LIFEBOAT_FILES_AWS_SESSION_TOKEN";

const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 120_000;

function credentialsFrom(options: FilesS3Options): S3ClientConfig["credentials"] {
  if (options.credentials) return options.credentials;
  const env = options.env ?? process.env;
  const accessKeyId = env[ACCESS_KEY_VAR];
  const secretAccessKey = env[SECRET_KEY_VAR];
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    const missing = accessKeyId ? SECRET_KEY_VAR : ACCESS_KEY_VAR;
    throw new InputError(`${missing} is not set: the files source's keys come as a pair`, { input: missing });
  }
  const sessionToken = env[SESSION_TOKEN_VAR];
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

export function createFilesS3Client(options: FilesS3Options): S3Client {
  const env = options.env ?? process.env;
  const region =
    options.region ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    (options.endpoint ? "us-east-1" : undefined);
  const config: S3ClientConfig = {
    forcePathStyle: options.forcePathStyle ?? false,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
  };
  const credentials = credentialsFrom(options);
  if (credentials) config.credentials = credentials;
  if (options.endpoint) config.endpoint = options.endpoint;
  if (region) config.region = region;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return new S3Client(config);
}

/**
 * The error a preflight check raises: an InputError (exit 2) naming the input for what the user
 * can fix (endpoint, bucket, credentials, region), an OperationError otherwise.
 */
export function s3CheckError(
  error: unknown,
  context: { input: string; value: string; bucket?: string; endpoint?: string },
): InputError | OperationError {
  const named = `--${context.input} "${context.value}"`;
  const options = { input: context.input, cause: error };
  if (error instanceof InputError) return error;
  switch (classifyS3CheckError(error)) {
    case "unreachable": {
      const where = context.endpoint ? `the S3 endpoint ${context.endpoint}` : "AWS S3";
      return new InputError(`${named}: cannot reach ${where}: ${describeS3Error(error)}`, options);
    }
    case "no-credentials":
      return new InputError(
        `${named}: no S3 credentials found: set ${ACCESS_KEY_VAR} and ${SECRET_KEY_VAR}, or AWS credentials`,
        options,
      );
    case "no-region":
      return new InputError(
        `${named}: no S3 region set: set the files S3 region option or AWS_REGION`,
        options,
      );
    case "no-bucket":
      return new InputError(`${named}: bucket "${context.bucket ?? ""}" does not exist`, options);
    case "denied":
      return new InputError(
        `${named}: access denied (${describeS3Error(error)}): check ${ACCESS_KEY_VAR} and ${SECRET_KEY_VAR} ` +
          "(or the AWS credentials in use) and the bucket's policy",
        options,
      );
    case "other-region":
      return new InputError(`${named}: the bucket is in another region (${describeS3Error(error)})`, options);
    case "other":
      break;
  }
  return new OperationError(`${named}: checking failed: ${describeS3Error(error)}`, { cause: error });
}
