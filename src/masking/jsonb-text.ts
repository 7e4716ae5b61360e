/**
 * Editing jsonb documents as the text jsonb_out prints (what pg_dump's COPY data holds, once COPY's
 * own escaping is undone), without parsing them into JavaScript values: numbers keep every digit
 * and every byte outside the replaced value stays as it was.
 *
 * Called per row and per path while masking a dump stream, so the scanner walks the text with
 * charCodeAt and allocates nothing but the result; it assumes valid JSON (jsonb_out's output) and
 * accepts any JSON whitespace, not only jsonb_out's ", " and ": ".
 *
 * What PostgreSQL 15 does, and this module matches (test/masking/jsonb-text.test.ts checks it
 * against a real server):
 * - jsonb_out prints no whitespace outside strings but the space in ", " and ": ", keys sorted by
 *   byte length and then bytes, no duplicate keys, numbers as numeric_out prints them (1e400 comes
 *   out as 1 and 400 zeros, -0 as 0). Replacing one value's text by the canonical text of another
 *   value (jsonString's, for a string) therefore leaves a canonical document.
 * - On an array, a path element is read as C's strtol would (leading ASCII whitespace, a sign,
 *   decimal digits, nothing after them, within a 32-bit int): "01", "+1", " 1" and "-0" are
 *   indexes, "1 ", "abc", "" and "1.0" are not, a negative index counts from the end.
 */

export type JsonKind = "object" | "array" | "string" | "number" | "boolean" | "null";

export interface Located {
  /** Index in the document of the value's first character. */
  start: number;
  /** Index just past the value's last character. */
  end: number;
  kind: JsonKind;
  /**
   * What `doc::jsonb #>> path` returns: a string unescaped, any other value its text as it sits in
   * the document (equal to #>>'s for jsonb_out's text). A JSON null is reported with kind "null"
   * and text "null" although #>> returns SQL NULL for it: the caller decides what null means.
   */
  text: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const INT_MAX = 2147483647;

/**
 * The value at `path` as `doc::jsonb #> path` finds it, or undefined where #> returns NULL (a key
 * not there, an index out of range or not an integer, a step into a scalar). An empty path is the
 * whole document, as for #>. Duplicate keys, which jsonb_out never prints, resolve to the first
 * (PostgreSQL keeps the last when it reads such text).
 */
export function locate(doc: string, path: readonly string[]): Located | undefined {
  let at = skipWhitespace(doc, 0);
  for (const step of path) {
    const c = doc.charCodeAt(at);
    if (c === OPEN_BRACE) at = findMember(doc, at, step);
    else if (c === OPEN_BRACKET) at = findElement(doc, at, step);
    else return undefined;
    if (at < 0) return undefined;
  }
  const first = doc.charCodeAt(at);
  const end = valueEnd(doc, at);
  if (first === QUOTE) return { start: at, end, kind: "string", text: unescapeString(doc, at + 1, end - 1) };
  const text = doc.slice(at, end);
  const kind: JsonKind =
    first === OPEN_BRACE
      ? "object"
      : first === OPEN_BRACKET
        ? "array"
        : first === 0x74 || first === 0x66
          ? "boolean"
          : first === 0x6e
            ? "null"
            : "number";
  return { start: at, end, kind, text };
}

/** The document with the located value's text replaced by `replacement` (JSON text, e.g. jsonString's). */
export function splice(doc: string, located: Pick<Located, "start" | "end">, replacement: string): string {
  return doc.slice(0, located.start) + replacement + doc.slice(located.end);
}

/**
 * The JSON string literal jsonb_out prints for `to_jsonb(value)` (PostgreSQL's escape_json): quote
 * and backslash escaped, \b \f \n \r \t by name, other characters below U+0020 as \u00xx in
 * lowercase hex, everything else (DEL, non-ASCII, U+2028) as it is. PostgreSQL text never holds
 * U+0000, and jsonb refuses \u0000: a value with one would make a document no server can load.
 */
export function jsonString(value: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) continue;
    if (i > from) out += value.slice(from, i);
    from = i + 1;
    out += escapeFor(c);
  }
  if (from === 0) return '"' + value + '"';
  if (from < value.length) out += value.slice(from);
  return out + '"';
}

function escapeFor(c: number): string {
  switch (c) {
    case QUOTE:
      return '\\"';
    case BACKSLASH:
      return "\\\\";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    default:
      return c < 0x10 ? "\\u000" + c.toString(16) : "\\u001" + (c - 0x10).toString(16);
  }
}

function skipWhitespace(doc: string, at: number): number {
  for (;;) {
    const c = doc.charCodeAt(at);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
    else return at;
  }
}

/** Where the value starting at `at` ends (one past its last character). */
function valueEnd(doc: string, at: number): number {
  const c = doc.charCodeAt(at);
  if (c === QUOTE) return stringEnd(doc, at);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return containerEnd(doc, at);
  if (c === 0x74 || c === 0x6e) return at + 4; // true, null
  if (c === 0x66) return at + 5; // false
  let i = at + 1;
  for (;;) {
    const d = doc.charCodeAt(i);
    // Digits, '+', '-', '.', 'e', 'E': nothing else can continue a JSON number.
    if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d || d === 0x2e || d === 0x65 || d === 0x45) i++;
    else return i;
  }
}

/** One past the closing quote of the string whose opening quote is at `at`. */
function stringEnd(doc: string, at: number): number {
  const length = doc.length;
  let i = at + 1;
  while (i < length) {
    const c = doc.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
  return length;
}

function containerEnd(doc: string, at: number): number {
  let depth = 0;
  let i = at;
  const length = doc.length;
  while (i < length) {
    const c = doc.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(doc, i);
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
    i++;
  }
  return length;
}

/** The start of the member value whose key is `key` in the object at `at`, or -1. */
function findMember(doc: string, at: number, key: string): number {
  let i = skipWhitespace(doc, at + 1);
  if (doc.charCodeAt(i) !== QUOTE) return -1; // "{}"
  for (;;) {
    const keyEnd = stringEnd(doc, i);
    const matches = keyEquals(doc, i + 1, keyEnd - 1, key);
    i = skipWhitespace(doc, skipWhitespace(doc, keyEnd) + 1); // past ':'
    if (matches) return i;
    i = skipWhitespace(doc, valueEnd(doc, i));
    if (doc.charCodeAt(i) !== COMMA) return -1;
    i = skipWhitespace(doc, i + 1);
  }
}

/** Whether the raw key text doc[from, to) unescapes to `key`, decoding escapes only when present. */
function keyEquals(doc: string, from: number, to: number, key: string): boolean {
  const rawLength = to - from;
  if (rawLength < key.length) return false;
  if (rawLength === key.length) {
    // Every escape is longer than what it stands for, so a key this long matches only unescaped.
    for (let j = 0; j < rawLength; j++) {
      const c = doc.charCodeAt(from + j);
      if (c !== key.charCodeAt(j) || c === BACKSLASH) return false;
    }
    return true;
  }
  let i = from;
  let j = 0;
  while (i < to) {
    if (j >= key.length) return false;
    let c = doc.charCodeAt(i);
    if (c === BACKSLASH) {
      const e = doc.charCodeAt(i + 1);
      if (e === 0x75) {
        c = hexValue(doc, i + 2);
        i += 6;
      } else {
        c = unescapeChar(e);
        i += 2;
      }
    } else i++;
    if (c !== key.charCodeAt(j++)) return false;
  }
  return j === key.length;
}

/** The start of the element at the index `step` names in the array at `at`, or -1. */
function findElement(doc: string, at: number, step: string): number {
  let index = parseIndex(step);
  if (index === undefined) return -1;
  if (index < 0) {
    const count = countElements(doc, at);
    if (-index > count) return -1;
    index += count;
  }
  let i = skipWhitespace(doc, at + 1);
  if (doc.charCodeAt(i) === CLOSE_BRACKET) return -1;
  for (let n = 0; n < index; n++) {
    i = skipWhitespace(doc, valueEnd(doc, i));
    if (doc.charCodeAt(i) !== COMMA) return -1;
    i = skipWhitespace(doc, i + 1);
  }
  return i;
}

function countElements(doc: string, at: number): number {
  let i = skipWhitespace(doc, at + 1);
  if (doc.charCodeAt(i) === CLOSE_BRACKET) return 0;
  let count = 1;
  for (;;) {
    i = skipWhitespace(doc, valueEnd(doc, i));
    if (doc.charCodeAt(i) !== COMMA) return count;
    i = skipWhitespace(doc, i + 1);
    count++;
  }
}

/**
 * A path element as an array index the way PostgreSQL's strtoint reads it, or undefined where
 * #> gives NULL: no digits, anything after them, or outside int (INT_MIN too, which #> refuses).
 */
function parseIndex(step: string): number | undefined {
  let i = 0;
  const length = step.length;
  for (;;) {
    const c = step.charCodeAt(i);
    // C isspace: space, \t, \n, \v, \f, \r.
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) i++;
    else break;
  }
  let negative = false;
  const sign = step.charCodeAt(i);
  if (sign === 0x2d || sign === 0x2b) {
    negative = sign === 0x2d;
    i++;
  }
  if (i >= length) return undefined;
  let value = 0;
  for (; i < length; i++) {
    const d = step.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    if (value <= INT_MAX) value = value * 10 + d;
  }
  if (value > INT_MAX) return undefined;
  return negative ? -value : value;
}

function unescapeString(doc: string, from: number, to: number): string {
  let out = "";
  let copied = from;
  // Bounded by hand: indexOf would run on past the string's end to the document's.
  for (let i = from; i < to; i++) {
    if (doc.charCodeAt(i) !== BACKSLASH) continue;
    if (i > copied) out += doc.slice(copied, i);
    const e = doc.charCodeAt(i + 1);
    if (e === 0x75) {
      out += String.fromCharCode(hexValue(doc, i + 2));
      i += 5;
    } else {
      out += String.fromCharCode(unescapeChar(e));
      i += 1;
    }
    copied = i + 1;
  }
  return copied === from ? doc.slice(from, to) : out + doc.slice(copied, to);
}

function unescapeChar(e: number): number {
  switch (e) {
    case 0x62:
      return 0x08; // b
    case 0x66:
      return 0x0c; // f
    case 0x6e:
      return 0x0a; // n
    case 0x72:
      return 0x0d; // r
    case 0x74:
      return 0x09; // t
    default:
      return e; // " \ /
  }
}

function hexValue(doc: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const c = doc.charCodeAt(i);
    value = value * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
  }
  return value;
}
