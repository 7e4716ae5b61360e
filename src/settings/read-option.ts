/**
 * The one reader of option values: what a value may be, its default, and the error for a bad one
 * all come from the option's entry in the table (spec.ts). Errors are one line naming the option,
 * the value as given (never a secret's) and what was expected:
 * `--s3-checksums "sometimes": expected when-required or when-supported`.
 *
 * An empty value reads as absent, so as the default: in an action an empty input cannot be told
 * from a missing one. The CLI refuses an explicitly empty flag before it gets here (args.ts).
 */
import { parseDatabaseUrl, type DatabaseUrl } from "../domain/database-url.js";
import { DURATION_FORMS, formatDuration, parseDuration } from "../domain/duration.js";
import { InputError } from "../domain/errors.js";
import { parsePercent, parseSize } from "../domain/size.js";
import type { OptionSpec } from "./option-spec.js";
import type { RawOptions } from "./types.js";

type Keyword<S> = S extends { choices: readonly (infer C)[] } ? C : never;
/** Options with a default or required always have a value; the others may be absent. */
type Maybe<S, T> = S extends { default: string } | { required: true } ? T : T | undefined;

/** The value `readOption` returns for an option, derived from its table entry. */
export type OptionValue<S extends OptionSpec> = S["type"] extends "boolean"
  ? boolean
  : S["type"] extends "list"
    ? string[]
    : S["type"] extends "true-false"
      ? Maybe<S, boolean | Keyword<S>>
      : S["type"] extends "choice"
        ? Maybe<S, Keyword<S>>
        : S["type"] extends "integer"
          ? Maybe<S, number | Keyword<S>>
          : S["type"] extends "duration" | "size" | "percent"
            ? Maybe<S, number>
            : S["type"] extends "database-url"
              ? Maybe<S, DatabaseUrl>
              : Maybe<S, string>;

export type OptionValues<T extends Record<string, OptionSpec>> = { [K in keyof T]: OptionValue<T[K]> };

const TRUE_WORDS = ["true", "yes", "1", "on"];
const FALSE_WORDS = ["false", "no", "0", "off"];

/** The option's value as given (the last one when repeated), trimmed; undefined when absent or empty. */
export function givenText(raw: RawOptions, spec: Pick<OptionSpec, "name">): string | undefined {
  const value = raw[spec.name];
  const last = Array.isArray(value) ? value.at(-1) : typeof value === "boolean" ? String(value) : value;
  return last?.trim() || undefined;
}

/** Whether the user gave the option at all (as opposed to it taking its default). */
export function isGiven(raw: RawOptions, spec: OptionSpec): boolean {
  if (spec.type === "list") return readList(raw, spec).length > 0;
  return givenText(raw, spec) !== undefined;
}

/** A list: repeated flags, and each value split on new lines (action inputs) and commas. */
function readList(raw: RawOptions, spec: OptionSpec): string[] {
  const value = raw[spec.name];
  const values = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return values
    .flatMap((item) => item.split(spec.linesOnly ? /\n/ : /[\n,]/))
    .map((item) => item.trim())
    .filter((item) => item !== "" && !item.startsWith("#"));
}

/** `a or b or c`: how every error lists accepted values. */
export function alternatives(values: readonly string[]): string {
  return values.join(" or ");
}

/** What a valid value looks like, for the option's errors. */
export function expectation(spec: OptionSpec): string {
  if (spec.expected !== undefined) return spec.expected;
  const keywords = spec.choices ?? [];
  switch (spec.type) {
    case "choice":
      return alternatives(keywords);
    case "boolean":
    case "true-false":
      return alternatives([...keywords, "true", "false"]);
    case "integer": {
      const range =
        spec.max === undefined
          ? `a whole number >= ${spec.min ?? 0}`
          : `a whole number from ${spec.min ?? 0} to ${spec.max}`;
      return alternatives([...keywords, range]);
    }
    case "duration":
      return DURATION_FORMS;
    case "size":
      return "a size such as 500MB, 2GiB or 1048576";
    case "percent":
      return "a percentage such as 50%";
    case "url":
      return "an http:// or https:// URL";
    case "database-url":
      return "postgresql://user:password@host:port/database";
    case "path":
      return spec.value ?? "a path";
    default:
      return spec.value ?? "a value";
  }
}

/** The InputError for a bad value of this option; a secret's value is never repeated. */
export function badValue(spec: OptionSpec, text: string, expected = expectation(spec)): InputError {
  const shown = spec.secret ? "" : ` "${text}"`;
  const hidden = spec.secret ? " (the value is not shown: it is a secret)" : "";
  return new InputError(`--${spec.name}${shown}: expected ${expected}${hidden}`, { input: spec.name });
}

function matchKeyword(spec: OptionSpec, text: string): string | undefined {
  const lower = text.toLowerCase();
  return spec.choices?.find((choice) => choice.toLowerCase() === lower);
}

function parseBoolean(spec: OptionSpec, text: string): boolean {
  const lower = text.toLowerCase();
  if (TRUE_WORDS.includes(lower)) return true;
  if (FALSE_WORDS.includes(lower)) return false;
  throw badValue(spec, text);
}

/** Parses one value of the option (the user's, or its default), by its type. */
function parseText(spec: OptionSpec, text: string): unknown {
  switch (spec.type) {
    case "choice": {
      const choice = matchKeyword(spec, text);
      if (choice === undefined) throw badValue(spec, text);
      return choice;
    }
    case "boolean":
      return parseBoolean(spec, text);
    case "true-false":
      return matchKeyword(spec, text) ?? parseBoolean(spec, text);
    case "integer": {
      const keyword = matchKeyword(spec, text);
      if (keyword !== undefined) return keyword;
      const number = Number(text);
      const inRange =
        /^\d+$/.test(text) &&
        Number.isSafeInteger(number) &&
        number >= (spec.min ?? 0) &&
        (spec.max === undefined || number <= spec.max);
      if (!inRange) throw badValue(spec, text);
      return number;
    }
    case "duration": {
      const ms = parseDuration(text);
      if (ms === undefined) throw badValue(spec, text);
      const least = spec.atLeast === undefined ? undefined : parseDuration(spec.atLeast);
      if (least !== undefined && ms < least) {
        const why = spec.atLeastWhy ? `, ${spec.atLeastWhy}` : "";
        throw badValue(spec, text, `at least ${formatDuration(least)}${why}`);
      }
      return ms;
    }
    case "size":
      return parseSize(text, spec.name);
    case "percent":
      return parsePercent(text, spec.name);
    case "url": {
      let protocol = "";
      let host = "";
      try {
        ({ protocol, host } = new URL(text));
      } catch {
        // refused below
      }
      if ((protocol !== "https:" && protocol !== "http:") || host === "") throw badValue(spec, text);
      return text;
    }
    case "database-url":
      return parseDatabaseUrl(text, spec.name);
    default:
      return text;
  }
}

/**
 * The option's value: the user's, else its default (read by the same rules), else false for a
 * boolean, [] for a list, undefined for the rest; a required option without either is an error.
 */
export function readOption<S extends OptionSpec>(raw: RawOptions, spec: S): OptionValue<S> {
  if (spec.type === "list") {
    const items = readList(raw, spec);
    if (items.length === 0 && spec.required) {
      throw new InputError(`--${spec.name}: required; expected ${expectation(spec)}`, { input: spec.name });
    }
    return items as OptionValue<S>;
  }
  const text = givenText(raw, spec) ?? spec.default;
  if (text === undefined) {
    if (spec.required) {
      throw new InputError(`--${spec.name}: required; expected ${expectation(spec)}`, { input: spec.name });
    }
    return (spec.type === "boolean" ? false : undefined) as OptionValue<S>;
  }
  return parseText(spec, text) as OptionValue<S>;
}

/** Every option of a record of table entries, read in the record's order. */
export function readOptions<T extends Record<string, OptionSpec>>(
  raw: RawOptions,
  specs: T,
): OptionValues<T> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) values[key] = readOption(raw, spec);
  return values as OptionValues<T>;
}
