/**
 * A `--files SOURCE`: `s3://BUCKET[/PREFIX]`, `s3://*`, `file:///abs/path` or a directory path.
 */
import { DirectorySource } from "./directory-source.js";
import type { FileEntry } from "./entry.js";
import type { FilesS3Options } from "./s3-client.js";
import { S3Source } from "./s3-source.js";
import type { FilesSourceSpec } from "./source-spec.js";

export { parseFilesSource, type FilesSourceSpec } from "./source-spec.js";

/** What backup needs from a source: a preflight check and the entries in archive order. */
export interface FilesSource {
  /** A description safe to print and to put in the manifest (no credentials). */
  readonly url: string;
  check(): Promise<void>;
  entries(): AsyncIterable<FileEntry>;
  /** Paths left out because they hold no file data (a directory's sockets, FIFOs, devices), once entries() ran. */
  readonly skipped?: readonly string[];
  /** Frees the source's connections, if any. */
  destroy(): void;
}

export function openFilesSource(spec: FilesSourceSpec, s3: FilesS3Options = {}): FilesSource {
  if (spec.kind === "s3") return new S3Source({ bucket: spec.bucket, prefix: spec.prefix }, s3, spec.input);
  return new DirectorySource(spec.path, spec.input);
}
