/**
 * The CLI's flags, derived from the option table: `--name value` for strings (also --name=value),
 * repeatable for lists, bare for booleans; the environment fills what the flags leave out. A flag
 * given with an empty value is refused: the user typed it, so the default is not what they meant
 * (in an action an empty input cannot be told from a missing one, and means the default).
 */
import { parseArgs } from "node:util";
import { InputError } from "../domain/errors.js";
import { describeOption, GLOBAL_CLI_OPTIONS, type CommandSpec, type OptionSpec } from "../settings/spec.js";
import type { RawOptions } from "../settings/types.js";

export function cliOptions(spec: CommandSpec): OptionSpec[] {
  return [...spec.options.filter((option) => !option.actionOnly), ...GLOBAL_CLI_OPTIONS];
}

export function parseCommandArgs(spec: CommandSpec, argv: string[], env: NodeJS.ProcessEnv): RawOptions {
  const options = cliOptions(spec);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: Object.fromEntries(
        options.map((option) => [
          option.name,
          { type: option.type === "boolean" ? "boolean" : "string", multiple: option.type === "list" },
        ]),
      ),
    });
  } catch (error) {
    throw new InputError(`${cleanParseError(error as Error, options)}; see lifeboat ${spec.command} --help`);
  }
  const raw: RawOptions = { ...(parsed.values as RawOptions) };
  for (const option of options) refuseEmpty(option, raw[option.name]);
  for (const option of spec.options) {
    // An empty environment variable counts as unset, as a shell user would expect.
    const fromEnv = option.env ? env[option.env]?.trim() || undefined : undefined;
    // Secrets that only the action takes as inputs reach the CLI through their environment variable.
    if (fromEnv !== undefined && (option.actionOnly || raw[option.name] === undefined)) {
      raw[option.name] = env[option.env!];
    }
    if (raw[option.name] === undefined && option.cliDefault !== undefined) {
      raw[option.name] = option.cliDefault;
    }
  }
  return raw;
}

/** `--label ""`, `--storage=`: exit 2 naming the option, never a silent default. */
function refuseEmpty(option: OptionSpec, value: RawOptions[string]): void {
  const values = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
  if (!values.some((item) => item.trim() === "")) return;
  const fallback = option.cliDefault ?? option.default;
  const instead =
    fallback === undefined ? "leave the option out" : `leave the option out for the default "${fallback}"`;
  throw new InputError(`--${option.name} "": expected a value, or ${instead}`, { input: option.name });
}

function cleanParseError(error: Error, options: OptionSpec[]): string {
  const message = error.message.split("\n")[0]!;
  const unknown = /Unknown option '(--?[^']+)'/.exec(message);
  if (unknown) {
    const name = unknown[1]!.replace(/^-+/, "");
    const names = options.map((option) => option.name);
    // A typo, or the start of one option's name (--out for --output, --identity for --identity-file).
    const starting = name.length >= 3 ? names.filter((candidate) => candidate.startsWith(name)) : [];
    const close = closest(name, names) ?? (starting.length === 1 ? starting[0] : undefined);
    return `unknown option ${unknown[1]}${close ? ` (did you mean --${close}?)` : ""}`;
  }
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) return `unexpected argument "${positional[1]}" (options take the form --name value)`;
  const ambiguous = /Option '(--[^ ']+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous) {
    return `${ambiguous[1]}: a value that starts with "-" must be attached with "=", as in ${ambiguous[1]}="-value"`;
  }
  const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
  if (missing) return `${missing[1]}: a value is required`;
  return message.replace(/^TypeError \[[A-Z_]+\]: /, "");
}

/** The candidate within two edits of `text`, for "did you mean" hints. */
export function closest(text: string, candidates: readonly string[]): string | undefined {
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(candidate, text) }))
    .filter((entry) => entry.distance <= 2)
    .sort((a, b) => a.distance - b.distance)[0]?.candidate;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: lifeboat ${spec.command} [options]`, "", spec.summary, "", "Options:"];
  for (const option of cliOptions(spec)) {
    const head =
      option.type === "boolean" ? `--${option.name}` : `--${option.name} ${option.value ?? "VALUE"}`;
    const notes: string[] = [];
    const fallback = option.cliDefault ?? option.default;
    if (option.env) notes.push(`env ${option.env}`);
    if (fallback !== undefined && option.type !== "boolean") notes.push(`default "${fallback}"`);
    if (option.type === "list") notes.push("repeatable");
    const description = describeOption(option) + (notes.length ? ` [${notes.join("; ")}]` : "");
    lines.push(`  ${head.padEnd(34)} ${description}`);
  }
  const hidden = spec.options.filter((option) => option.actionOnly && option.env);
  if (hidden.length) {
    lines.push("", "Environment:");
    for (const option of hidden) lines.push(`  ${option.env!.padEnd(34)} ${describeOption(option)}`);
  }
  lines.push("", "Exit codes: 0 success, 1 the operation ran and failed, 2 bad input or configuration.");
  return lines.join("\n");
}
