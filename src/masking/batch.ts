/**
 * One batch of a masked table's rows turned into the fakes table's COPY text, with the digests of
 * the source values: the same pure function whether it runs on the job's main thread or in a
 * worker of fake-pool.ts, so a batch computes the same bytes wherever it runs.
 */
import type { ValueStrategy } from "../domain/masking-rules.js";
import { copyField } from "./copy.js";
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

/** What a batch is made of; plain data, so that it crosses into a worker as it is. */
export interface BatchSpec {
  /** The strategy of each value a row carries after its tableoid and ctid. */
  read: ValueStrategy[];
  /** Which of those values are faked, in the fakes table's column order. */
  fakedAt: number[];
  /** Each faked value's column width in characters (left() as PostgreSQL counts), if it has one. */
  sizes: (number | undefined)[];
  /** Whether the read values are source values whose digests are to be taken. */
  digests: boolean;
}

export interface BatchResult {
  /** Rows of (tableoid, ctid, fakes...) in COPY's text format, each ending in a newline. */
  text: string;
  /** The source values' digests as (h1, h2, flag) triples. */
  digests: Int32Array;
}

export type Row = (string | null)[];

export function maskBatch(key: MaskingKey, spec: BatchSpec, rows: Row[]): BatchResult {
  const { read, fakedAt, sizes } = spec;
  const escaped = fakedAt.map((at) => !PLAIN_FAKES.has(read[at]!.kind));
  const digests = new Int32Array(spec.digests ? rows.length * read.length * 3 : 0);
  let taken = 0;
  const lines: string[] = [];
  for (const row of rows) {
    if (spec.digests) {
      for (let i = 0; i < read.length; i++) {
        const flag = sourceFlag(read[i]!, row[2 + i]!);
        if (flag === 0) continue;
        digestInto(row[2 + i]!, digests, taken);
        digests[taken + 2] = flag;
        taken += 3;
      }
    }
    let line = `${row[0]}\t${row[1]}`;
    for (let i = 0; i < fakedAt.length; i++) {
      const source = row[2 + fakedAt[i]!]!;
      let fake: string | null = null;
      if (source !== null) {
        fake = fakeOf(key, read[fakedAt[i]!]!, source);
        if (sizes[i] !== undefined) fake = leftChars(fake, sizes[i]!);
      }
      line += fake === null ? "\t\\N" : escaped[i] ? `\t${copyField(fake)}` : `\t${fake}`;
    }
    lines.push(line);
  }
  lines.push("");
  return { text: lines.join("\n"), digests: digests.subarray(0, taken) };
}

/**
 * Strategies whose fakes are made of letters, digits, spaces, dots, dashes, `@` and `_` only, so
 * never hold what COPY's text format escapes (a test holds them to it): their fakes are written
 * as they are (measured: the escaping regex on every fake was 5% of the workers' time). A phone
 * fake keeps the source's separators, and a cut (left()) keeps a prefix of the fake.
 */
export const PLAIN_FAKES: ReadonlySet<ValueStrategy["kind"]> = new Set([
  "email",
  "name",
  "hash",
  "uuid",
  "text",
]);

export const HAS_DIGIT = /[0-9]/;

/**
 * Which source a value's digest is recorded as, or 0 when it identifies no one: empty, shaped like
 * our own fakes, or a phone number without a digit.
 */
export function sourceFlag(strategy: ValueStrategy, value: string | null): number {
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
