/**
 * Secrets out of every output: error lines, --json, check records, reports, the runner's log.
 *
 * A secret rarely shows up as written. A password with `/`, `@` or `%` in it appears
 * percent-encoded in a URL (and each URL serializer encodes a different set of characters: `new
 * URL()`'s userinfo set, encodeURIComponent, a form's `+` for a space, lower- or upper-case hex),
 * JSON-escaped inside a JSON document (`\"`, `\\`, `\n`, `\u00e9`), or both at once (a URL inside
 * a JSON error inside a JSON record). So the redactor does not compare strings: for each character
 * of the secret it accepts every spelling of that character (itself, the percent-encoding of its
 * UTF-8 bytes in either case, `+` for a space, its JSON escapes), so any mixture of them matches.
 * Multi-line secrets (an age identity file) are matched line by line.
 *
 * base64 is covered for the runner's mask and the redactor as the three "cores" of the secret's
 * encoding (one per byte alignment), which appear verbatim whatever precedes the secret (a
 * `user:` in Basic auth, say); cores shorter than 8 characters are left out, they would match
 * ordinary words. No Lifeboat output base64-encodes a secret today: this is a safety net.
 *
 * Secrets (and lines) shorter than MIN_SECRET_LENGTH are not matched in free text: replacing every
 * "ab" would make every message unreadable. The password of any URL is still redacted by shape.
 */

import type { DatabaseUrl } from "./database-url.js";

/** Shorter secrets are only redacted by shape (a URL's password, a password= parameter). */
export const MIN_SECRET_LENGTH = 4;
const MIN_BASE64_CORE = 8;
const MASK = "***";

/** The secret itself, then each of its lines (an identity file), trimmed, long enough to match. */
function pieces(secret: string): string[] {
  const out = new Set<string>();
  const lines = secret.split(/\r?\n/).map((line) => line.trim());
  if (lines.length === 1) {
    out.add(secret);
    out.add(secret.trim());
  }
  for (const line of lines) out.add(line);
  // A secret connection URL carries secrets of its own that show up apart from it.
  for (const piece of [...out]) for (const inner of urlSecrets(piece)) out.add(inner);
  return [...out].filter((piece) => [...piece].length >= MIN_SECRET_LENGTH);
}

/** The password (as written and decoded) and password-like query parameters of a URL. */
function urlSecrets(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return [];
  }
  const found: string[] = [];
  if (url.password) {
    found.push(url.password);
    try {
      found.push(decodeURIComponent(url.password));
    } catch {
      // Not valid percent-encoding: kept as written above.
    }
  }
  for (const [key, value] of url.searchParams) if (SECRET_PARAM_KEY.test(key) && value) found.push(value);
  return found;
}

function hexByte(byte: number, lower: boolean): string {
  const hex = byte.toString(16).padStart(2, "0");
  return `%${lower ? hex : hex.toUpperCase()}`;
}

function percentEncode(text: string, keep: (char: string) => boolean, lower = false): string {
  let out = "";
  for (const char of text) {
    if (keep(char)) out += char;
    else for (const byte of Buffer.from(char, "utf8")) out += hexByte(byte, lower);
  }
  return out;
}

/** The WHATWG URL serializer's userinfo encoding, as `new URL()` writes a password. */
function userinfoForm(text: string): string {
  const url = new URL("postgresql://host/");
  url.username = "u";
  url.password = text;
  return url.password;
}

/** What a URL parser leaves of raw text in a query string (the query percent-encode set). */
function queryForm(text: string): string {
  return percentEncode(text, (char) => char > " " && char <= "~" && !`"#<>'`.includes(char));
}

function safely(encode: () => string): string[] {
  try {
    return [encode()];
  } catch {
    // A lone surrogate: encodeURIComponent throws; the other forms still apply.
    return [];
  }
}

/** The base64 of the secret's whole 3-byte groups, for each of the three alignments. */
function base64Cores(text: string): string[] {
  const bytes = Buffer.from(text, "utf8");
  const cores: string[] = [];
  for (let start = 0; start < 3; start++) {
    const whole = Math.floor((bytes.length - start) / 3) * 3;
    if (whole <= 0) continue;
    const core = bytes.subarray(start, start + whole).toString("base64");
    if (core.length < MIN_BASE64_CORE) continue;
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

/**
 * Every concrete form of `secret` worth registering with the runner's mask (core.setSecret): each
 * is one line, at least MIN_SECRET_LENGTH long. The redactor below matches more (any mixture of
 * these spellings), but the runner's mask compares plain strings.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>();
  for (const piece of pieces(secret)) {
    const json = JSON.stringify(piece).slice(1, -1);
    const candidates = [
      piece,
      json,
      JSON.stringify(json).slice(1, -1),
      userinfoForm(piece),
      queryForm(piece),
      new URLSearchParams({ p: piece }).toString().slice(2),
      ...safely(() => encodeURIComponent(piece)),
      ...safely(() => encodeURIComponent(piece).replaceAll("%20", "+")),
      ...safely(() => encodeURI(piece)),
      ...base64Cores(piece),
    ];
    for (const form of candidates) {
      forms.add(form);
      // Percent-encoders differ in the case of their hex digits.
      forms.add(form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
    }
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH && !/[\r\n]/.test(form));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** A hex digit in either case. */
function hexDigit(digit: string): string {
  const lower = digit.toLowerCase();
  const upper = digit.toUpperCase();
  return lower === upper ? digit : `[${lower}${upper}]`;
}

function hexPattern(hex: string): string {
  return [...hex].map(hexDigit).join("");
}

const JSON_SHORT_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  "\n": "n",
  "\r": "r",
  "\t": "t",
  "\b": "b",
  "\f": "f",
};

/**
 * Every spelling of one character: JSON-escaped (first, so that the longest spelling wins),
 * percent-encoded in either case, `+` for a space, itself.
 */
function charPattern(char: string): string {
  const options: string[] = [];
  // JSON escapes, nested any number of times (a JSON string inside a JSON string doubles the
  // backslashes): one or more backslashes before the escape.
  const short = JSON_SHORT_ESCAPES[char];
  if (short !== undefined) options.push(`\\\\+${escapeRegExp(short)}`);
  const units = [];
  for (let i = 0; i < char.length; i++) units.push(char.charCodeAt(i).toString(16).padStart(4, "0"));
  options.push(units.map((unit) => `\\\\+u${hexPattern(unit)}`).join(""));
  const bytes = Buffer.from(char, "utf8");
  options.push([...bytes].map((byte) => `%${hexPattern(byte.toString(16).padStart(2, "0"))}`).join(""));
  if (char === " ") options.push("\\+");
  options.push(escapeRegExp(char));
  return `(?:${options.join("|")})`;
}

function secretPattern(piece: string): string {
  return [...piece].map(charPattern).join("");
}

/** URL credentials (any scheme): `scheme://user:SECRET@` keeps the user, drops the password. */
// The password runs to the authority's last `@`: a raw `@` in it must not leave its tail behind.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@?#"'<>]*):[^\s/?#"'<>]*@/gi;
/** Names of secret-bearing parameters in URLs, libpq connection strings and the like. */
const SECRET_PARAM_NAME =
  "(?:ssl)?passw(?:or)?d|pwd|pass|passphrase|secret|token|access_token|api_?key|x-amz-(?:signature|security-token|credential)";
const SECRET_PARAM_KEY = new RegExp(`^(?:${SECRET_PARAM_NAME})$`, "i");
/** `name=value` (a libpq conninfo value may be quoted), after a separator. */
const SECRET_PARAMS = new RegExp(
  `(^|[?&;\\s"'(,])(${SECRET_PARAM_NAME})=('(?:[^'\\\\]|\\\\.)*'|[^\\s&"'#<>,)]*)`,
  "gi",
);

/**
 * A function that replaces every form of each secret in a text by `***`, and any URL's password
 * and any `password=`-like parameter whatever its value.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const patterns = new Set<string>();
  const literals = new Set<string>();
  for (const secret of secrets) {
    for (const piece of pieces(secret)) {
      patterns.add(secretPattern(piece));
      for (const core of base64Cores(piece)) literals.add(core);
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  const sources = [
    ...[...patterns].sort((a, b) => b.length - a.length),
    ...[...literals].sort((a, b) => b.length - a.length).map(escapeRegExp),
  ];
  const any = sources.length > 0 ? new RegExp(sources.join("|"), "g") : undefined;
  return (text: string) => {
    let out = any ? text.replace(any, MASK) : text;
    out = out.replace(URL_CREDENTIALS, `$1:${MASK}@`);
    out = out.replace(SECRET_PARAMS, (_match, lead: string, name: string, value: string) =>
      value === MASK || value === "" ? `${lead}${name}=${value}` : `${lead}${name}=${MASK}`,
    );
    return out;
  };
}

/**
 * A URL safe to show: no user info, secret-bearing query parameters masked. Text that does not
 * parse as a URL gets the redactor's shape rules (a `user:password@` anywhere in it).
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return createRedactor([])(text);
  }
  url.username = "";
  url.password = "";
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAM_KEY.test(key)) url.searchParams.set(key, MASK);
  }
  return url.toString();
}

/**
 * A copy of a JSON-able value with every string (keys too) redacted: for --json output and check
 * records. Values with toJSON (Dates) are taken as JSON would take them; Error objects as their
 * name and message; cycles become "[Circular]".
 */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  const seen = new WeakSet<object>();
  const walk = (input: unknown): unknown => {
    if (typeof input === "string") return redact(input);
    if (input === null || typeof input !== "object") return input;
    if (seen.has(input)) return "[Circular]";
    seen.add(input);
    try {
      if (input instanceof Error) {
        return { ...walkObject(input), name: redact(input.name), message: redact(input.message) };
      }
      const json = (input as { toJSON?: () => unknown }).toJSON;
      if (typeof json === "function") return walk(json.call(input));
      if (Array.isArray(input)) return input.map(walk);
      return walkObject(input);
    } finally {
      seen.delete(input);
    }
  };
  const walkObject = (input: object): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(input)) out[redact(key)] = walk(item);
    return out;
  };
  return walk(value) as T;
}

/**
 * The secrets of a parsed connection URL: its password and the key passphrase `sslpassword`. The
 * redactor matches every spelling of each (percent-encoded in a child's DATABASE_URL, say), and the
 * rest of the URL stays readable.
 */
export function databaseUrlSecrets(url: DatabaseUrl): string[] {
  return [url.password, url.params.sslpassword].filter(
    (secret): secret is string => secret !== undefined && secret !== "",
  );
}
