/**
 * The GitHub edge: action inputs read by the names of the option table, secrets masked before
 * anything is logged, failures reported for any thrown value. The only place importing @actions/*.
 */
import * as core from "@actions/core";
import { describeError, InputError, LifeboatError } from "../domain/errors.js";
import type { RawOptions } from "../settings/settings.js";
import type { CommandSpec } from "../settings/spec.js";
import { secretValues as commandSecretValues } from "../commands/command.js";
import type { Logger } from "../commands/logger.js";
import { secretForms } from "../domain/redact.js";

/** Every secret input's value, as given (each line of a multi-line one is a form of it too). */
export function secretValues(spec: CommandSpec): string[] {
  return commandSecretValues(spec, readInputs(spec));
}

/**
 * Masks every form a secret input can take in a log line (raw, percent-encoded, JSON-escaped,
 * a URL's password, each line of an identity), before anything else is logged.
 */
export function maskSecrets(spec: CommandSpec): void {
  for (const value of secretValues(spec)) for (const form of secretForms(value)) core.setSecret(form);
}

export function readInputs(spec: CommandSpec): RawOptions {
  const raw: RawOptions = {};
  for (const option of spec.options) {
    if (option.cliOnly) continue;
    const value = core.getInput(option.name);
    if (value === "") continue;
    raw[option.name] = option.type === "list" ? value.split(/\r?\n/) : value;
  }
  return raw;
}

export const actionLogger: Logger = {
  info: (message) => core.info(message),
  warn: (message) => core.warning(message),
};

/** Marks the step failed for any thrown value, with the same one-line message as the CLI. */
export function fail(error: unknown): void {
  const kind = error instanceof LifeboatError && error.exitCode === 2 ? "bad input: " : "";
  core.setFailed(`${kind}${describeError(error)}`);
  if (error instanceof Error && error.stack && core.isDebug()) core.debug(error.stack);
}

/** CLI-only options and the action input that does the same job. */
const ACTION_EQUIVALENTS: [RegExp, string][] = [
  [/--identity-file (?:or|\/) LIFEBOAT_IDENTITY/g, "the identity input"],
  [/--passphrase-file (?:or|\/) LIFEBOAT_PASSPHRASE/g, "the passphrase input"],
  [/--identity-file\b/g, "identity"],
  [/--passphrase-file\b/g, "passphrase"],
  [/--no-encryption\b/g, "encryption: none"],
];

/**
 * The error as an action user should read it: the inputs by their names in the workflow
 * (`identity`, not `--identity-file`), since messages are written once, in the CLI's words.
 */
export function inActionWords(error: unknown, spec: CommandSpec): unknown {
  if (!(error instanceof InputError)) return error;
  let message = error.message;
  for (const [pattern, replacement] of ACTION_EQUIVALENTS) message = message.replace(pattern, replacement);
  const names = new Set(spec.options.filter((option) => !option.cliOnly).map((option) => option.name));
  message = message.replace(/--([a-z][a-z0-9-]*)\b/g, (whole, name: string) =>
    names.has(name) ? name : whole,
  );
  if (message === error.message) return error;
  const input =
    error.input === "identity-file"
      ? "identity"
      : error.input === "passphrase-file"
        ? "passphrase"
        : error.input;
  return new InputError(message, { ...(input ? { input } : {}), cause: error });
}
