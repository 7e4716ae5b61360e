/**
 * The keys every store accepts: the same rules for the local directory and S3, so a layout that
 * works on one works on the other. Keys come from our own layout code, never straight from the user,
 * so a bad key is a bug: it fails with an OperationError rather than an InputError.
 */
import { OperationError } from "../domain/errors.js";

/** Local stores write temporary files with this name prefix; no key segment may use it. */
export const TEMP_FILE_PREFIX = ".partial-";

function problemWithSegments(segments: string[], partialLast: boolean): string | undefined {
  for (const [index, segment] of segments.entries()) {
    const isLast = index === segments.length - 1;
    if (segment === "" && !(isLast && partialLast)) return "empty path segment";
    if (segment === "." || segment === "..") return `"${segment}" segment`;
    if (segment.startsWith(TEMP_FILE_PREFIX)) return `segment starting with "${TEMP_FILE_PREFIX}"`;
  }
  return undefined;
}

function problemWithText(text: string): string | undefined {
  if (text.startsWith("/")) return "leading slash";
  if (text.includes("\\")) return "backslash";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return "control character";
  return undefined;
}

/** Throws unless `key` is a relative, "/"-separated key without "", "." or ".." segments. */
export function assertValidKey(key: string): void {
  const problem =
    key === "" ? "empty key" : (problemWithText(key) ?? problemWithSegments(key.split("/"), false));
  if (problem) throw new OperationError(`invalid storage key ${JSON.stringify(key)}: ${problem}`);
}

/** Like a key, but may be empty, end with "/" or end in the middle of a segment. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === "") return;
  const problem = problemWithText(prefix) ?? problemWithSegments(prefix.split("/"), true);
  if (problem) throw new OperationError(`invalid storage prefix ${JSON.stringify(prefix)}: ${problem}`);
}

/** Orders keys the way S3 lists them: by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
