/**
 * Rules between options (a passphrase or recipients, not both; object-lock mode and days
 * together...), kept as data: each command's settings parser lists its rules and checks them in
 * one call, after every option has been read on its own. The first broken rule is the error.
 */
import { InputError } from "../domain/errors.js";
import type { OptionSpec } from "./spec.js";

export interface Rule<V> {
  /** What the rule keeps out, in a few words (for the reader of the list and for tests). */
  name: string;
  /** The option the error names (InputError.input), from the table. */
  input: Pick<OptionSpec, "name">;
  /** True when the values break the rule. */
  broken: (values: V) => boolean;
  /** The one-line error: what is wrong and what to do. */
  message: (values: V) => string;
}

/** Throws the InputError of the first rule the values break. */
export function checkRules<V>(values: V, rules: readonly Rule<V>[]): void {
  for (const rule of rules) {
    if (rule.broken(values)) throw new InputError(rule.message(values), { input: rule.input.name });
  }
}
