/**
 * Secrets out of everything a report sends or prints. Each known secret is replaced as written,
 * percent-encoded and percent-decoded (a password inside a URL is usually encoded), and the password
 * of any scheme://user:password@ URL is replaced too. Payloads are scrubbed string by string before
 * they are encoded: scrubbing JSON text would miss a secret whose JSON form is escaped.
 */
/** Secrets shorter than this are not replaced in report text (it would mangle every word). */
export const MIN_SECRET_LENGTH = 4;

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

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;

function variants(value: string): string[] {
  const out = [value, encodeURIComponent(value)];
  try {
    out.push(decodeURIComponent(value));
  } catch {
    // not percent-encoded
  }
  return out;
}

/** Replaces every known secret, and the password of any URL with credentials, by `***`. */
export function scrubber(secrets: string[]): (text: string) => string {
  const values = [...new Set(secrets.flatMap(variants))]
    .filter((value) => value.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  return (input: string) => {
    let out = input;
    for (const value of values) out = out.split(value).join("***");
    return out.replace(URL_PASSWORD, "$1:***@");
  };
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
