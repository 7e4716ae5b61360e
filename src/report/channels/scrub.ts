/**
 * Secrets out of everything a report sends or prints, with the one redactor every output uses
 * (src/domain/redact.ts: every spelling of each secret, raw, percent-encoded or JSON-escaped, and
 * the password of any URL). Payloads are scrubbed string by string before they are encoded:
 * scrubbing JSON text would miss a secret whose JSON form is escaped.
 */
import { createRedactor, MIN_SECRET_LENGTH } from "../../domain/redact.js";

/** Secrets shorter than this are not replaced in report text (it would mangle every word). */
export { MIN_SECRET_LENGTH };

/**
 * The parts of a webhook URL that give access, to scrub wherever they turn up: the whole URL, its
 * path (the token of Slack, Discord and ping URLs) and each long query value (the `sig` of a Teams
 * workflow URL).
 */
export function urlSecrets(url: string): string[] {
  const secrets = [url];
  try {
    const parsed = new URL(url);
    if (parsed.pathname.length >= 8) secrets.push(parsed.pathname);
    for (const value of parsed.searchParams.values()) if (value.length >= 8) secrets.push(value);
    if (parsed.password) secrets.push(parsed.password);
  } catch {
    // not a URL: the whole value is already listed
  }
  return secrets;
}

/**
 * Replaces every known secret (and, for one given percent-encoded, its decoded form), and the
 * password of any URL with credentials, by `***`.
 */
export function scrubber(secrets: string[]): (text: string) => string {
  return createRedactor(secrets.flatMap((value) => [value, ...decoded(value)]));
}

function decoded(value: string): string[] {
  try {
    const plain = decodeURIComponent(value);
    return plain === value ? [] : [plain];
  } catch {
    // not percent-encoded
    return [];
  }
}

/** A payload with every string scrubbed (object keys are ours and stay). */
export function scrubPayload<T>(payload: T, scrub: (text: string) => string): T {
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return scrub(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
    }
    return value;
  };
  return walk(payload) as T;
}
