/**
 * One batch of a masked table's COPY rows, as pg_dump wrote them into its archive, turned into the
 * masked rows the masked copy's archive carries instead: the same pure function whether it runs
 * on the job's main thread or in a worker of fake-pool.ts, so a batch gives the same bytes
 * wherever it runs.
 *
 * Only the masked fields are decoded; every other field is copied byte for byte. A masked field's
 * fake is written as COPY TO would print the value once restored (escaped as CopyAttributeOutText
 * escapes, char(n) padded, jsonb as jsonb_out prints it), so the masked copy's own table digests
 * hold when staging restores and checks it.
 *
 * Besides the bytes, a batch hands back what the verification needs (archive-mask.ts): the
 * digests of the source values, the digests of the masked values that could be a source value
 * (those that are not shaped like a fake: see `mustLookUp`), and per unique key that a fake could
 * break, the digests of each row's key before and after masking.
 */
import type { ValueStrategy } from "../domain/masking-rules.js";
import { digestInto, OTHER_SOURCE, PHONE_SOURCE } from "./digest-set.js";
import {
  fakeEmail,
  fakeHash,
  fakeName,
  fakePhone,
  fakeText,
  fakeUuid,
  looksFake,
  type MaskingKey,
} from "./fakes.js";
import { jsonString, locate, splice } from "./jsonb-text.js";

/** A value rule: at the top of a field, or at a jsonb path. */
export interface ValueRule {
  strategy: ValueStrategy;
  /** Index of `table.column[ path]` in the rewriter's list: what a failure is reported under. */
  label: number;
  /** For `fixed`: the value's text as the column type prints it (at a jsonb path: its JSON text). */
  fixed?: string;
}

export interface FieldRule extends Partial<ValueRule> {
  /** Position of the field in the COPY row. */
  field: number;
  /** jsonb paths in the order of the rules, each read in the document as the ones before left it. */
  paths?: (ValueRule & { path: string[] })[];
  /** Whether two paths overlap, so the source values are read in the source document first. */
  overlapping?: boolean;
  /** varchar(n) and char(n): the fake is cut to n characters, as left() cuts. */
  cut?: number;
  /** char(n): the fake is padded with spaces to n characters, as bpchar prints it. */
  pad?: number;
}

export interface RelationSpec {
  /** Fields a row has: a row with another count is not COPY data this rewriter understands. */
  fields: number;
  rules: FieldRule[];
  /**
   * How the archive's text is read and written: "utf8", or "latin1" for a SQL_ASCII database,
   * whose bytes are in no encoding: one character a byte keeps every byte of the unmasked parts
   * of a field (a jsonb document's, a phone number's separators) as it was.
   */
  encoding?: "utf8" | "latin1";
  /** Unique keys that a fake could break: their fields, and whether NULLs are equal in them. */
  uniques: { fields: number[]; nullsNotDistinct: boolean }[];
}

export interface RowsResult {
  output: Buffer;
  rows: number;
  /** Source values' digests as (h1, h2, flag) triples. */
  sources: Int32Array;
  /** Masked values to look up among the sources, as (h1, h2, label) triples. */
  lookups: Int32Array;
  /** Per row and unique key: (key index, masked h1, h2, source h1, h2). */
  uniques: Int32Array;
}

const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;

export function maskCopyRows(key: MaskingKey, spec: RelationSpec, input: Buffer): RowsResult {
  const encoding = spec.encoding ?? "utf8";
  const out = new Output(input.length + (input.length >> 1) + 1024, encoding);
  const sources = new Growing();
  const lookups = new Growing();
  const uniques = new Growing();
  const starts = new Int32Array(spec.fields + 1);
  const masked: (string | null | undefined)[] = new Array(spec.fields);
  const original: (string | null | undefined)[] = new Array(spec.fields);
  const inUnique = new Set(spec.uniques.flatMap((unique) => unique.fields));
  let rows = 0;
  let at = 0;
  while (at < input.length) {
    let end = input.indexOf(NEWLINE, at);
    if (end === -1) end = input.length;
    // Field boundaries: COPY text escapes a tab inside a value, so every raw tab separates fields.
    let count = 0;
    starts[0] = at;
    for (let i = at; i < end; i++) {
      if (input[i] === TAB) {
        if (++count >= spec.fields) break;
        starts[count] = i + 1;
      }
    }
    if (count !== spec.fields - 1) {
      throw new Error(`a row of ${count + 1} fields where the COPY statement names ${spec.fields}`);
    }
    starts[spec.fields] = end + 1;
    let copied = at;
    masked.fill(undefined);
    original.fill(undefined);
    for (const rule of spec.rules) {
      const from = starts[rule.field]!;
      const to = starts[rule.field + 1]! - 1;
      const source = decodeField(input, from, to, encoding);
      if (inUnique.has(rule.field)) original[rule.field] = source;
      const fake = maskField(key, rule, source, sources, lookups);
      masked[rule.field] = fake;
      out.bytes(input, copied, from);
      out.field(fake);
      copied = to;
    }
    out.bytes(input, copied, end);
    out.byte(NEWLINE);
    spec.uniques.forEach(({ fields, nullsNotDistinct }, index) => {
      let before = "";
      let after = "";
      for (const field of fields) {
        const value =
          original[field] !== undefined
            ? original[field]
            : decodeField(input, starts[field]!, starts[field + 1]! - 1, encoding);
        const fake = masked[field] !== undefined ? masked[field] : value;
        // A key with a NULL never collides, unless the key says NULLS NOT DISTINCT.
        if ((value === null || fake === null) && !nullsNotDistinct) return;
        before += value === null ? "\u0001" : `${value}\u0000`;
        after += fake === null ? "\u0001" : `${fake}\u0000`;
      }
      const i = uniques.reserve(5);
      uniques.values[i] = index;
      digestInto(after, uniques.values, i + 1);
      digestInto(before, uniques.values, i + 3);
    });
    rows++;
    at = end + 1;
  }
  return {
    output: out.done(),
    rows,
    sources: sources.done(),
    lookups: lookups.done(),
    uniques: uniques.done(),
  };
}

/** The field's masked value (null for NULL), recording the digests the verification needs. */
function maskField(
  key: MaskingKey,
  rule: FieldRule,
  source: string | null,
  sources: Growing,
  lookups: Growing,
): string | null {
  if (rule.paths !== undefined) {
    if (source === null) return null;
    return maskDocument(key, rule, source, sources, lookups);
  }
  const value = rule as ValueRule & FieldRule;
  if (value.strategy.kind === "fixed") return value.fixed!;
  if (value.strategy.kind === "null" || source === null) return null;
  // char(n) prints its values padded; the fake is of the value as ::text reads it, unpadded.
  if (rule.pad !== undefined) source = trimEndSpaces(source);
  addSource(sources, value.strategy, source);
  const whole = fakeOf(key, value.strategy, source);
  const fake = rule.cut === undefined ? whole : leftChars(whole, rule.cut);
  if (mustLookUp(value.strategy, fake, fake !== whole)) addLookup(lookups, fake, value.label);
  return rule.pad === undefined ? fake : padChars(fake, rule.pad);
}

function maskDocument(key: MaskingKey, rule: FieldRule, source: string, sources: Growing, lookups: Growing) {
  let document = source;
  if (rule.overlapping) {
    for (const path of rule.paths!) {
      const found = locate(source, path.path);
      if (found && found.kind !== "null") addSource(sources, path.strategy, found.text);
    }
  }
  for (const path of rule.paths!) {
    const found = locate(document, path.path);
    if (!found || found.kind === "null") continue;
    let replacement: string;
    if (path.strategy.kind === "null") replacement = "null";
    else if (path.strategy.kind === "fixed") replacement = path.fixed!;
    else {
      if (!rule.overlapping) addSource(sources, path.strategy, found.text);
      const fake = fakeOf(key, path.strategy, found.text);
      if (mustLookUp(path.strategy, fake, false)) addLookup(lookups, fake, path.label);
      replacement = jsonString(fake);
    }
    document = splice(document, found, replacement);
  }
  return document;
}

/**
 * Whether a masked value must be looked up among the source values. A value shaped like our own
 * fakes (looksFake) never is one: such source values are not recorded (they identify no one), so
 * looking it up could find nothing. Email, name and text fakes are always so shaped (a test holds
 * them to it), unless a column's width cut them; phone fakes, hashes, UUIDs and cut fakes are
 * looked up, except a phone value without a digit, which is its own fake and identifies no one.
 */
function mustLookUp(strategy: ValueStrategy, fake: string, cut: boolean): boolean {
  switch (strategy.kind) {
    case "phone":
      return HAS_DIGIT.test(fake);
    case "email":
    case "name":
    case "text":
      if (!cut) return false;
  }
  return fake !== "" && !looksFake(fake);
}

function addSource(sources: Growing, strategy: ValueStrategy, value: string): void {
  const flag = sourceFlag(strategy, value);
  if (flag === 0) return;
  const i = sources.reserve(3);
  digestInto(value, sources.values, i);
  sources.values[i + 2] = flag;
}

function addLookup(lookups: Growing, fake: string, label: number): void {
  const i = lookups.reserve(3);
  digestInto(fake, lookups.values, i);
  lookups.values[i + 2] = label;
}

const HAS_DIGIT = /[0-9]/;

/**
 * Which source a value's digest is recorded as, or 0 when it identifies no one: empty, shaped like
 * our own fakes, or a phone number without a digit.
 */
function sourceFlag(strategy: ValueStrategy, value: string | null): number {
  if (value === null || value === "" || looksFake(value)) return 0;
  if (strategy.kind === "phone") return HAS_DIGIT.test(value) ? PHONE_SOURCE : 0;
  return OTHER_SOURCE;
}

export function fakeOf(key: MaskingKey, strategy: ValueStrategy, value: string): string {
  switch (strategy.kind) {
    case "email":
      return fakeEmail(key, value);
    case "name":
      return fakeName(key, value, strategy.part, strategy.unique);
    case "phone":
      return fakePhone(key, value);
    case "text":
      return fakeText(key, value);
    case "hash":
      return fakeHash(key, value);
    case "uuid":
      return fakeUuid(key, value);
    case "null":
    case "fixed":
      throw new Error(`no fake is computed for ${strategy.kind}`);
  }
}

/** left(value, n) as PostgreSQL counts: characters, not UTF-16 units. */
function leftChars(value: string, n: number): string {
  if (value.length <= n) return value;
  return Array.from(value).slice(0, n).join("");
}

function trimEndSpaces(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x20) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** char(n) as bpchar prints it: padded with spaces to n characters. */
function padChars(value: string, n: number): string {
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // A surrogate pair is one character, as PostgreSQL counts them.
    if (c < 0xdc00 || c > 0xdfff) length++;
  }
  return length >= n ? value : value + " ".repeat(n - length);
}

/**
 * A COPY text field's value: null for `\N`, else the text with COPY's backslash escapes undone
 * (those COPY TO writes, and the octal and hex forms COPY FROM also reads).
 */
export function decodeField(
  input: Buffer,
  from: number,
  to: number,
  encoding: "utf8" | "latin1" = "utf8",
): string | null {
  if (to - from === 2 && input[from] === BACKSLASH && input[from + 1] === 0x4e) return null;
  let escaped = false;
  for (let i = from; i < to; i++) {
    if (input[i] === BACKSLASH) {
      escaped = true;
      break;
    }
  }
  if (!escaped) return input.toString(encoding, from, to);
  const bytes: number[] = [];
  for (let i = from; i < to; i++) {
    const c = input[i]!;
    if (c !== BACKSLASH || i + 1 >= to) {
      bytes.push(c);
      continue;
    }
    const e = input[++i]!;
    if (e >= 0x30 && e <= 0x37) {
      let n = e - 0x30;
      for (let k = 0; k < 2 && i + 1 < to && input[i + 1]! >= 0x30 && input[i + 1]! <= 0x37; k++)
        n = n * 8 + input[++i]! - 0x30;
      bytes.push(n & 0xff);
    } else if (e === 0x78 && i + 1 < to && isHex(input[i + 1]!)) {
      let n = hexValue(input[++i]!);
      if (i + 1 < to && isHex(input[i + 1]!)) n = n * 16 + hexValue(input[++i]!);
      bytes.push(n);
    } else {
      bytes.push(ESCAPES[e] ?? e);
    }
  }
  return Buffer.from(bytes).toString(encoding);
}

const ESCAPES: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11 };

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

/** COPY TO's escapes (CopyAttributeOutText): backslash and the control characters it names. */
const NEEDS_ESCAPE = /[\\\b\f\n\r\t\v]/;
const OUT_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

export function encodeField(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\b\f\n\r\t\v]/g, (c) => OUT_ESCAPES[c]!);
}

/** The masked rows' bytes, grown as needed: fakes can be longer than the values they replace. */
class Output {
  private buffer: Buffer;
  private length = 0;

  constructor(
    size: number,
    private readonly encoding: "utf8" | "latin1",
  ) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  bytes(source: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.room(to - from);
    this.length += source.copy(this.buffer, this.length, from, to);
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }

  field(value: string | null): void {
    if (value === null) {
      this.room(2);
      this.buffer[this.length++] = BACKSLASH;
      this.buffer[this.length++] = 0x4e;
      return;
    }
    const text = encodeField(value);
    this.room(text.length * 3);
    this.length += this.buffer.write(text, this.length, this.encoding);
  }

  done(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** An Int32Array appended to, doubled as it fills. */
class Growing {
  values = new Int32Array(3 * 1024);
  private length = 0;

  reserve(n: number): number {
    if (this.length + n > this.values.length) {
      const grown = new Int32Array(Math.max(this.values.length * 2, this.length + n));
      grown.set(this.values.subarray(0, this.length));
      this.values = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  done(): Int32Array {
    return this.values.slice(0, this.length);
  }
}
