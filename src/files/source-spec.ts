/**
 * The form of a `--files SOURCE` (and of restore-files' `--to`): `s3://BUCKET[/PREFIX]`, `s3://*`,
 * `file:///abs/path` or a directory path. Pure and light, so the settings reader can check it
 * without loading the S3 client.
 */
import { InputError } from "../domain/errors.js";
import { parseStorageUrl } from "../storage/storage-url.js";

export type FilesSourceSpec =
  | { kind: "s3"; bucket: string; prefix: string; input: string }
  | { kind: "directory"; path: string; input: string };

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
