/**
 * A store in an S3 bucket (AWS S3 or an S3-compatible store: R2, B2, MinIO, Supabase Storage, GCS
 * interop), under an optional key prefix.
 *
 * - Credentials come from the AWS SDK's default chain only (environment, profile, web identity), so
 *   OIDC role assumption in GitHub Actions works unchanged.
 * - Checksums are sent only where the API requires them unless `checksums: "when-supported"`: the
 *   SDK's default flexible checksums break several S3-compatible stores.
 * - A put is a streaming multipart upload (lib-storage `Upload`). Memory is bounded by about
 *   (queueSize + 1) x partSize whatever the object's size. The default 8 MiB parts (4 in flight,
 *   ~40 MiB: issue 13's 200 MB peak RSS to S3) allow objects up to 8 MiB x 10,000 = 78.1 GiB
 *   (83.9 GB); a `maxObjectBytes` hint grows the part size for more.
 */
import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { ListObjectsV2CommandOutput, S3ClientConfig } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { InputError, NotFoundError, OperationError, describeError } from "../domain/errors.js";
import { assertValidKey, assertValidPrefix } from "./keys.js";
import { classifyS3CheckError, describeS3Error, isS3NotFound, s3NameOf, s3StatusOf } from "./s3-errors.js";

export { describeS3Error } from "./s3-errors.js";
import type { DeleteResult, ObjectInfo, ObjectLock, PutOptions, Store } from "./store.js";

export interface S3Options {
  /** An S3-compatible endpoint, e.g. `https://<account>.r2.cloudflarestorage.com`. Default: AWS. */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region; "us-east-1" with an endpoint. */
  region?: string;
  /** Path-style requests (`endpoint/bucket/key`), which many self-hosted stores need. */
  forcePathStyle?: boolean;
  /** Default "when-required": send and validate checksums only where the S3 API demands them. */
  checksums?: "when-required" | "when-supported";
  /** Server-side encryption requested on every object written. */
  sse?: "AES256" | "aws:kms";
  /** The KMS key for `sse: "aws:kms"` (implies it). Default: the bucket's or account's key. */
  sseKmsKeyId?: string;
  /** Multipart part size: at least 5 MiB, default 8 MiB (grown to honour maxObjectBytes). */
  partSizeBytes?: number;
  /** Parts uploaded in parallel (each holds one part in memory). Default 4. */
  queueSize?: number;
  /** The largest object expected: the part size grows so it fits in 10,000 parts. */
  maxObjectBytes?: number;
  /** Attempts per request, retries included (the SDK's default is 3). */
  maxAttempts?: number;
  /** Keys per ListObjectsV2 page, at most 1000 (the default). Smaller values exercise pagination. */
  listPageSize?: number;
  /** Keys per DeleteObjects request, at most 1000 (the default). */
  deleteBatchSize?: number;
  /** Static credentials (a second account for an offsite store); default: the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const MIB = 1024 * 1024;
/** S3's limits on multipart uploads. */
export const MIN_PART_SIZE_BYTES = 5 * MIB;
export const MAX_PART_SIZE_BYTES = 5 * 1024 * MIB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;
export const DEFAULT_PART_SIZE_BYTES = 8 * MIB;
export const DEFAULT_QUEUE_SIZE = 4;
/** The largest object the default part size allows: 10,000 x 8 MiB = 78.1 GiB (83.9 GB). */
export const DEFAULT_MAX_OBJECT_BYTES = DEFAULT_PART_SIZE_BYTES * MAX_PARTS;

const CONNECTION_TIMEOUT_MS = 10_000;
/** A socket idle this long is given up: a store that stops answering must not hang a backup. */
const SOCKET_TIMEOUT_MS = 120_000;

/**
 * The part size for an upload: the requested (or default) size, grown in whole MiB when needed so
 * that `maxObjectBytes` fits in S3's 10,000 parts.
 */
export function choosePartSize(options: { partSizeBytes?: number; maxObjectBytes?: number } = {}): number {
  const requested = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
  if (
    !Number.isSafeInteger(requested) ||
    requested < MIN_PART_SIZE_BYTES ||
    requested > MAX_PART_SIZE_BYTES
  ) {
    throw new InputError(
      `S3 part size ${options.partSizeBytes}: expected a whole number of bytes from 5 MiB (${MIN_PART_SIZE_BYTES}) to 5 GiB`,
    );
  }
  const { maxObjectBytes } = options;
  if (maxObjectBytes === undefined) return requested;
  if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes <= 0 || maxObjectBytes > MAX_OBJECT_BYTES) {
    throw new InputError(
      `maximum object size ${maxObjectBytes}: expected a whole number of bytes up to S3's limit of 5 TiB`,
    );
  }
  const needed = Math.ceil(maxObjectBytes / MAX_PARTS / MIB) * MIB;
  return Math.max(requested, needed);
}

function positiveInteger(value: number | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InputError(`${what} ${value}: expected a whole number from 1 to ${max}`);
  }
  return value;
}

/**
 * DeleteObjects is the one operation whose checksum S3 requires. The SDK now sends CRC32 there,
 * which several S3-compatible stores refuse ("MissingContentMD5"); the classic Content-MD5 works
 * everywhere, AWS included. Only installed when checksums are "when-required".
 */
function contentMd5ForDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && request.headers) {
        const body = request.body;
        if (typeof body === "string" || body instanceof Uint8Array) {
          for (const header of Object.keys(request.headers)) {
            const lower = header.toLowerCase();
            if (lower.startsWith("x-amz-checksum-") || lower.startsWith("x-amz-sdk-checksum-")) {
              delete request.headers[header];
            }
          }
          request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
        }
      }
      return next(args);
    },
    // After the flexible-checksums middleware (build step, normal priority), before signing.
    { step: "build", priority: "low", name: "lifeboatContentMd5ForDeleteObjects" },
  );
}

function createClient(options: S3Options): S3Client {
  const checksums = options.checksums === "when-supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  const region =
    options.region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    (options.endpoint ? "us-east-1" : undefined);
  const config: S3ClientConfig = {
    forcePathStyle: options.forcePathStyle ?? false,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
  };
  if (options.endpoint) config.endpoint = options.endpoint;
  if (region) config.region = region;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  if (options.credentials) config.credentials = options.credentials;
  const client = new S3Client(config);
  if (checksums === "WHEN_REQUIRED") contentMd5ForDeleteObjects(client);
  return client;
}

export class S3Store implements Store {
  readonly url: string;
  readonly bucket: string;
  /** The key prefix without leading or trailing slash; "" for the bucket's root. */
  readonly prefix: string;
  /** The SDK client (exposed for tests and for `client.destroy()` when done). */
  readonly client: S3Client;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  private readonly endpoint: string | undefined;
  private readonly keyPrefix: string;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  private readonly encryption: { ServerSideEncryption?: "AES256" | "aws:kms"; SSEKMSKeyId?: string };
  /** Whether the bucket can hold locked objects, asked once per store. */
  private bucketLock: Promise<"enabled" | "disabled" | "unknown"> | undefined;

  constructor(location: { bucket: string; prefix: string }, options: S3Options = {}) {
    this.bucket = location.bucket;
    this.prefix = location.prefix.replace(/^\/+|\/+$/g, "");
    this.keyPrefix = this.prefix ? `${this.prefix}/` : "";
    this.url = this.prefix ? `s3://${this.bucket}/${this.prefix}` : `s3://${this.bucket}`;
    this.endpoint = options.endpoint;
    this.partSizeBytes = choosePartSize(options);
    this.queueSize = positiveInteger(options.queueSize, DEFAULT_QUEUE_SIZE, 64, "S3 upload queue size");
    this.listPageSize = positiveInteger(options.listPageSize, 1000, 1000, "S3 list page size");
    this.deleteBatchSize = positiveInteger(options.deleteBatchSize, 1000, 1000, "S3 delete batch size");
    if (options.sseKmsKeyId && options.sse === "AES256") {
      throw new InputError("an SSE KMS key id needs server-side encryption aws:kms, not AES256");
    }
    const sse = options.sse ?? (options.sseKmsKeyId ? "aws:kms" : undefined);
    this.encryption = {};
    if (sse) this.encryption.ServerSideEncryption = sse;
    if (options.sseKmsKeyId) this.encryption.SSEKMSKeyId = options.sseKmsKeyId;
    this.client = createClient(options);
  }

  /**
   * Lists at most one key under the prefix: unlike HeadBucket, this works with policies that grant
   * s3:ListBucket for the prefix only, and a refusal comes with the store's error code.
   */
  async check(): Promise<void> {
    try {
      await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix, MaxKeys: 1 }),
      );
    } catch (error) {
      throw this.checkError(error);
    }
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ bytes: number }> {
    assertValidKey(key);
    const { signal } = options;
    const objectKey = this.keyPrefix + key;
    let bytes = 0;
    /** The first cause of failure: the body's error, the abort's reason or the store's error. */
    let failure: { error: unknown; from: "body" | "abort" | "store" } | undefined;
    /** Set once PutObject or CompleteMultipartUpload was sent: from then on the object may exist. */
    let committing = false;
    /** Cancels this upload's in-flight part requests as soon as anything fails. */
    const inFlight = new AbortController();
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const fail = (error: unknown, from: "body" | "abort" | "store"): void => {
      failure ??= { error, from };
      inFlight.abort();
      counted.destroy(error instanceof Error ? error : new Error(describeError(error)));
    };
    pipeline(body, counted, (error) => {
      if (error) fail(error, "body");
    });
    const onAbort = (): void => fail(signal?.reason ?? new Error("aborted"), "abort");
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });

    // lib-storage sends every request through `client.send`: this view of the client marks the
    // commit point, cancels parts in flight once the upload fails, and stops reading the body at
    // the first failed request instead of uploading the rest of it in vain.
    const client = this.client;
    const uploadClient = Object.create(client) as S3Client;
    const send = async (command: Parameters<S3Client["send"]>[0]): Promise<unknown> => {
      if (command instanceof PutObjectCommand || command instanceof CompleteMultipartUploadCommand) {
        committing = true;
      }
      const cancellable = command instanceof UploadPartCommand || command instanceof PutObjectCommand;
      try {
        return await client.send(command, cancellable ? { abortSignal: inFlight.signal } : {});
      } catch (error) {
        fail(error, "store");
        throw error;
      }
    };
    uploadClient.send = send as S3Client["send"];

    const upload = new Upload({
      client: uploadClient,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        Body: counted,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
        ...this.encryption,
        ...(options.retention
          ? { ObjectLockMode: options.retention.mode, ObjectLockRetainUntilDate: options.retention.until }
          : {}),
      },
      ...uploadShape(this, options.sizeHint),
      // We abort the multipart upload ourselves, so a failing abort cannot mask the first error.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
      if (signal?.aborted) fail(signal.reason, "abort");
      if (failure) throw failure.error;
      if (options.retention && upload.uploadId) await this.ensureRetention(objectKey, options.retention);
      return { bytes };
    } catch (error) {
      fail(error, "store");
      await this.discard(objectKey, upload.uploadId, committing);
      throw this.putError(key, failure ?? { error, from: "store" });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
      );
      const body = response.Body;
      if (body instanceof Readable) return body;
      if (body === undefined) return Readable.from([]);
      return Readable.fromWeb(body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
    } catch (error) {
      if (isS3NotFound(error)) throw new NotFoundError(`"${key}" does not exist in ${this.url}`);
      throw new OperationError(`reading "${key}" from ${this.url} failed: ${describeS3Error(error)}`, {
        cause: error,
      });
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const response = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
      );
      return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified ?? new Date(0) };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw new OperationError(`reading "${key}" in ${this.url} failed: ${describeS3Error(error)}`, {
        cause: error,
      });
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyPrefix + prefix,
            MaxKeys: this.listPageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw new OperationError(`listing ${this.url} failed: ${describeS3Error(error)}`, { cause: error });
      }
      for (const object of page.Contents ?? []) {
        // Keys ending in "/" are folder markers made by consoles and tools, not objects of ours.
        if (!object.Key || object.Key.endsWith("/")) continue;
        yield {
          key: object.Key.slice(this.keyPrefix.length),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteResult> {
    for (const key of keys) assertValidKey(key);
    const unique = [...new Set(keys)];
    const result: DeleteResult = { deleted: [], failed: [] };
    for (let start = 0; start < unique.length; start += this.deleteBatchSize) {
      const batch = unique.slice(start, start + this.deleteBatchSize);
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.keyPrefix + key })), Quiet: true },
          }),
        );
        const errors = new Map<string, string>();
        for (const error of response.Errors ?? []) {
          if (error.Key === undefined || error.Code === "NoSuchKey") continue;
          errors.set(error.Key, [error.Code, error.Message].filter(Boolean).join(": ") || "not deleted");
        }
        for (const key of batch) {
          const reason = errors.get(this.keyPrefix + key);
          if (reason === undefined) result.deleted.push(key);
          else result.failed.push({ key, reason });
        }
      } catch (error) {
        const reason = describeS3Error(error);
        for (const key of batch) result.failed.push({ key, reason });
      }
    }
    return result;
  }

  /**
   * One GetObjectLockConfiguration for the bucket: when object lock is not enabled (or the store
   * has no object lock at all), no object can be locked and no key is asked about. Otherwise, or
   * when the configuration cannot be read (access denied), one HeadObject per key (16 at a time)
   * reads its retention and legal hold. HeadObject reports them only to callers allowed
   * s3:GetObjectRetention and s3:GetObjectLegalHold.
   */
  async objectLocks(keys: readonly string[]): Promise<Map<string, ObjectLock>> {
    const locks = new Map<string, ObjectLock>();
    if (keys.length === 0) return locks;
    this.bucketLock ??= this.readBucketLock();
    if ((await this.bucketLock) === "disabled") return locks;
    const queue = [...new Set(keys)];
    for (const key of queue) assertValidKey(key);
    const worker = async (): Promise<void> => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        let response;
        try {
          response = await this.client.send(
            new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
          );
        } catch (error) {
          if (isS3NotFound(error)) continue;
          throw new OperationError(
            `reading the object lock of "${key}" in ${this.url} failed: ${describeS3Error(error)}`,
            { cause: error },
          );
        }
        const legalHold = response.ObjectLockLegalHoldStatus === "ON";
        const retainUntil = response.ObjectLockRetainUntilDate;
        if (!legalHold && !retainUntil) continue;
        const lock: ObjectLock = { legalHold };
        if (retainUntil) lock.retainUntil = retainUntil;
        if (response.ObjectLockMode) lock.mode = response.ObjectLockMode;
        locks.set(key, lock);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
    return locks;
  }

  private async readBucketLock(): Promise<"enabled" | "disabled" | "unknown"> {
    try {
      const response = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      return response.ObjectLockConfiguration?.ObjectLockEnabled === "Enabled" ? "enabled" : "disabled";
    } catch (error) {
      const name = s3NameOf(error);
      const status = s3StatusOf(error);
      // No configuration: object lock is not enabled on the bucket. Stores that do not implement
      // object lock (NotImplemented) cannot lock objects either.
      if (name === "ObjectLockConfigurationNotFoundError" || name === "NotImplemented" || status === 501) {
        return "disabled";
      }
      return "unknown";
    }
  }

  /**
   * Makes sure a multipart put asked to lock its object did lock it: Ceph radosgw (16.2) accepts
   * the lock headers on CreateMultipartUpload and then stores the object without a retention (it
   * honours them on PutObject). A retention missing or shorter than asked is set with
   * PutObjectRetention (which any caller allowed to put locked objects may send); if the store
   * refuses that too, the put fails rather than leave an unprotected backup that claims a lock.
   */
  private async ensureRetention(
    objectKey: string,
    retention: NonNullable<PutOptions["retention"]>,
  ): Promise<void> {
    const target = { Bucket: this.bucket, Key: objectKey };
    // Without s3:GetObject the lock cannot be read back: then it is set again, which is harmless.
    const head = await this.client.send(new HeadObjectCommand(target)).catch(() => undefined);
    const until = head?.ObjectLockRetainUntilDate?.getTime() ?? 0;
    // Stores keep whole seconds.
    if (head?.ObjectLockMode === retention.mode && until >= retention.until.getTime() - 1000) return;
    await this.client.send(
      new PutObjectRetentionCommand({
        ...target,
        ...(head?.VersionId ? { VersionId: head.VersionId } : {}),
        Retention: { Mode: retention.mode, RetainUntilDate: retention.until },
      }),
    );
  }

  /** Leaves nothing behind of a failed put. Best effort: the store may be gone. */
  private async discard(objectKey: string, uploadId: string | undefined, committing: boolean): Promise<void> {
    const target = { Bucket: this.bucket, Key: objectKey };
    if (uploadId) {
      await this.client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
        .catch(() => undefined);
    }
    // The commit may have reached the store even though we saw it fail (or were aborted meanwhile).
    if (committing) await this.client.send(new DeleteObjectCommand(target)).catch(() => undefined);
  }

  private putError(
    key: string,
    failure: { error: unknown; from: "body" | "abort" | "store" },
  ): OperationError {
    const what = `storing "${key}" in ${this.url}`;
    const message =
      failure.from === "abort"
        ? `${what} was aborted: ${describeError(failure.error)}`
        : failure.from === "body"
          ? `${what} failed: ${describeError(failure.error)}`
          : `${what} failed: ${describeS3Error(failure.error)}`;
    return new OperationError(message, { cause: failure.error });
  }

  private checkError(error: unknown): InputError | OperationError {
    const storage = `--storage "${this.url}"`;
    const options = { input: "storage", cause: error };
    switch (classifyS3CheckError(error)) {
      case "unreachable": {
        const where = this.endpoint ? `the S3 endpoint ${this.endpoint}` : "AWS S3";
        return new InputError(`${storage}: cannot reach ${where}: ${describeS3Error(error)}`, options);
      }
      case "no-credentials":
        return new InputError(
          `${storage}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role to assume`,
          options,
        );
      case "no-region":
        return new InputError(
          `${storage}: no AWS region set: set AWS_REGION or the S3 region option`,
          options,
        );
      case "no-bucket":
        return new InputError(`${storage}: bucket "${this.bucket}" does not exist`, options);
      case "denied": {
        const name = s3NameOf(error);
        const status = s3StatusOf(error);
        const detail = [status ? `HTTP ${status}` : "", name === "Unknown" ? "" : name]
          .filter(Boolean)
          .join(" ");
        return new InputError(
          `${storage}: access to s3://${this.bucket} denied (${detail}): check the credentials ` +
            "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the profile or the role) and the bucket's policy",
          options,
        );
      }
      case "other-region":
        return new InputError(
          `${storage}: bucket "${this.bucket}" is in another region (${describeS3Error(error)}): set AWS_REGION or the S3 region option`,
          options,
        );
      case "other":
        break;
    }
    return new OperationError(`checking ${this.url} failed: ${describeS3Error(error)}`, { cause: error });
  }
}

/**
 * Memory an upload aims to stay under as its parts grow for a large object: queue x part size. A
 * dump large enough to need bigger parts uploads fewer at once rather than holding more memory.
 */
const UPLOAD_MEMORY_TARGET_BYTES = 64 * MIB;

/**
 * Part size and queue for one upload. A size hint grows the part size so the object fits in
 * 10,000 parts; the queue then shrinks (down to 1) so the parts in flight stay near 64 MiB.
 */
export function uploadShape(
  base: { partSizeBytes: number; queueSize: number },
  sizeHint: number | undefined,
): { partSize: number; queueSize: number } {
  if (sizeHint === undefined || sizeHint <= 0)
    return { partSize: base.partSizeBytes, queueSize: base.queueSize };
  const partSize = choosePartSize({
    partSizeBytes: base.partSizeBytes,
    maxObjectBytes: Math.min(MAX_OBJECT_BYTES, Math.ceil(sizeHint)),
  });
  if (partSize === base.partSizeBytes) return { partSize, queueSize: base.queueSize };
  const queueSize = Math.max(1, Math.min(base.queueSize, Math.floor(UPLOAD_MEMORY_TARGET_BYTES / partSize)));
  return { partSize, queueSize };
}

export function createS3Store(
  location: { bucket: string; prefix: string },
  options: S3Options = {},
): S3Store {
  return new S3Store(location, options);
}
