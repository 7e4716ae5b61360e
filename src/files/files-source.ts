/**
 * A `--files SOURCE`: `s3://BUCKET[/PREFIX]`, `s3://*`, `file:///abs/path` or a directory path.
 */
import { InputError } from "../domain/errors.js";
import { parseStorageUrl } from "../storage/storage-url.js";
import { DirectorySource } from "./directory-source.js";
import type { FileEntry } from "./entry.js";
import type { FilesS3Options } from "./s3-client.js";
import { S3Source } from "./s3-source.js";

export type FilesSourceSpec =
  | { kind: "s3"; bucket: string; prefix: string; input: string }
  | { kind: "directory"; path: string; input: string };

/** What backup needs from a source: a preflight check and the entries in archive order. */
export interface FilesSource {
  /** A description safe to print and to put in the manifest (no credentials). */
  readonly url: string;
  check(): Promise<void>;
  entries(): AsyncIterable<FileEntry>;
  /** Frees the source's connections, if any. */
  destroy(): void;
}

export function parseFilesSource(text: string, options: { cwd: string; input?: string }): FilesSourceSpec {
  const input = options.input ?? "files";
  const value = text.trim();
  if (/^s3:\/\/\*\/*$/i.test(value)) return { kind: "s3", bucket: "*", prefix: "", input: value };
  if (/^s3:\/\/\*\//i.test(value)) {
    throw new InputError(
      `--${input} ${JSON.stringify(text)}: s3://* means every bucket and takes no prefix`,
      {
        input,
      },
    );
  }
  const parsed = parseStorageUrl(value, { cwd: options.cwd, input });
  return parsed.kind === "s3"
    ? { kind: "s3", bucket: parsed.bucket, prefix: parsed.prefix, input: value }
    : { kind: "directory", path: parsed.path, input: value };
}

export function openFilesSource(spec: FilesSourceSpec, s3: FilesS3Options = {}): FilesSource {
  if (spec.kind === "s3") return new S3Source({ bucket: spec.bucket, prefix: spec.prefix }, s3, spec.input);
  return new DirectorySource(spec.path, spec.input);
}
