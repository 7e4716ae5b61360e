/**
 * Puts archive entries back into an S3 bucket, under an optional prefix: each file becomes the
 * object `PREFIX/PATH`.
 *
 * - Never overwrites: an existing object (HeadObject) is skipped unless `overwrite`. The check and
 *   the write are two requests, so a writer racing the restore can still be overwritten.
 * - Objects up to 64 MiB go up in one streamed PutObject with their exact length; larger ones as a
 *   multipart upload whose parts grow with the size (memory stays near 256 MiB at most).
 *   A failed upload leaves no object.
 * - Directories are not objects: they are skipped unless `directoryMarkers` asks for "PATH/"
 *   zero-byte markers. Symbolic links cannot be stored and count as unsupported.
 */
import type { Readable } from "node:stream";
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { describeS3Error } from "../storage/s3-errors.js";
import { uploadShape, MIN_PART_SIZE_BYTES } from "../storage/s3-store.js";
import type { FilesTarget, PutOutcome } from "./restore-files.js";
import { createFilesS3Client, isS3NotFound, s3CheckError } from "./s3-client.js";
import type { FilesS3Options } from "./s3-client.js";
import type { TarHeader } from "./tar-format.js";

const SINGLE_PUT_LIMIT = 64 * 1024 * 1024;

export interface S3TargetOptions extends FilesS3Options {
  overwrite?: boolean;
  directoryMarkers?: boolean;
  /** The input named by preflight errors; default "to". */
  input?: string;
}

export class S3Target implements FilesTarget {
  readonly description: string;
  readonly client: S3Client;
  private readonly keyPrefix: string;

  constructor(
    private readonly location: { bucket: string; prefix: string },
    private readonly options: S3TargetOptions = {},
  ) {
    const prefix = location.prefix.replace(/^\/+|\/+$/g, "");
    this.keyPrefix = prefix ? `${prefix}/` : "";
    this.description = `s3://${location.bucket}${prefix ? `/${prefix}` : ""}`;
    this.client = createFilesS3Client(options);
  }

  async check(): Promise<void> {
    try {
      await this.client.send(
        new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.keyPrefix, MaxKeys: 1 }),
      );
    } catch (error) {
      throw s3CheckError(error, {
        input: this.options.input ?? "to",
        value: this.description,
        bucket: this.location.bucket,
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
      });
    }
  }

  async put(entry: TarHeader, body: Readable): Promise<PutOutcome> {
    if (entry.type === "directory" && !this.options.directoryMarkers) return "unsupported";
    if (entry.type !== "file" && entry.type !== "directory") return "unsupported";
    const key = this.keyPrefix + entry.path + (entry.type === "directory" ? "/" : "");
    const Bucket = this.location.bucket;
    if (!this.options.overwrite && (await this.exists(key))) return "skipped-existing";
    try {
      if (entry.type === "directory" || entry.size === 0) {
        body.resume();
        await this.client.send(
          new PutObjectCommand({ Bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 }),
        );
      } else if (entry.size <= SINGLE_PUT_LIMIT) {
        await this.client.send(
          new PutObjectCommand({ Bucket, Key: key, Body: body, ContentLength: entry.size }),
        );
      } else {
        const shape = uploadShape({ partSizeBytes: MIN_PART_SIZE_BYTES * 2, queueSize: 2 }, entry.size);
        await new Upload({ client: this.client, params: { Bucket, Key: key, Body: body }, ...shape }).done();
      }
    } catch (error) {
      throw new Error(describeS3Error(error), { cause: error });
    }
    return "written";
  }

  /** Frees the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isS3NotFound(error)) return false;
      throw error;
    }
  }
}
