/**
 * `lifeboat <command> [options]`: the CLI runner over the command definitions (src/commands/), the
 * same ones the actions run. One JSON object on stdout with --json; progress on stderr; errors are
 * one line (a stack trace only with --debug).
 */
import {
  executeCommand,
  secretValues,
  type AnyCommand,
  type CommandDefinition,
  type CommandOutcome,
} from "../commands/command.js";
import { CancelledError } from "../commands/signals.js";
import { COMMAND_DEFINITIONS } from "../commands/index.js";
import type { Logger } from "../commands/logger.js";
import { describeError, InputError, LifeboatError } from "../domain/errors.js";
import { createRedactor, redactDeep } from "../domain/redact.js";
import { provenanceFromEnv } from "../domain/provenance.js";
import { deliverToChannels, pingStart, type DeliveryOptions } from "../report/channels/deliver.js";
import { NOTIFY_ON_OPTION } from "../report/channels/index.js";
import { buildErrorReport, type ReportAction } from "../report/report.js";
import { givenText } from "../settings/read-option.js";
import { parseChannelSettings } from "../settings/report-settings.js";
import { OPTIONS } from "../settings/spec.js";
import type { RawOptions } from "../settings/types.js";
import { LIFEBOAT_VERSION } from "../version.js";
import { closest, commandHelp, parseCommandArgs } from "./args.js";

export interface CliIo {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborted by the first SIGINT or SIGTERM (src/cli/index.ts). */
  signal?: AbortSignal;
}

function mainHelp(): string {
  const specs = COMMAND_DEFINITIONS.map((command) => command.spec);
  const width = Math.max(...specs.map((spec) => spec.command.length));
  return [
    "Usage: lifeboat <command> [options]",
    "",
    "Encrypted, verified PostgreSQL backups in S3 or a local directory.",
    "",
    "Commands:",
    ...specs.map((spec) => `  ${spec.command.padEnd(width)}  ${spec.summary}`),
    "",
    "Run lifeboat <command> --help for its options.",
  ].join("\n");
}

function findCommand(name: string): AnyCommand {
  const command = COMMAND_DEFINITIONS.find((candidate) => candidate.spec.command === name);
  if (command) return command;
  const names = COMMAND_DEFINITIONS.map((candidate) => candidate.spec.command);
  const close = closest(name, names);
  throw new InputError(
    `unknown command "${name}"${close ? ` (did you mean ${close}?)` : ""}; expected one of ${names.join(", ")}`,
  );
}

/** How often long work logs a progress line, from LIFEBOAT_PROGRESS_SECONDS (tests set it low). */
function progressEveryMs(env: NodeJS.ProcessEnv): number | undefined {
  const every = Number(env.LIFEBOAT_PROGRESS_SECONDS);
  return every > 0 ? every * 1000 : undefined;
}

export async function main(io: CliIo): Promise<number> {
  const [name, ...rest] = io.argv;
  const wantsJson = rest.includes("--json");
  const debug = rest.includes("--debug");
  const quiet = rest.includes("--quiet");
  // Until the options are read, URL passwords are still caught by their shape.
  let redact = createRedactor([]);
  const stdout = (text: string) => io.stdout(redact(text));
  const stderr = (text: string) => io.stderr(redact(text));
  const loggedWarnings: string[] = [];
  const log: Logger = {
    info: (message) => {
      if (!quiet) stderr(message);
    },
    warn: (message) => {
      loggedWarnings.push(message);
      stderr(`warning: ${message}`);
    },
  };
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      stdout(mainHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === "--version" || name === "-V") {
      io.stdout(LIFEBOAT_VERSION);
      return 0;
    }
    const command = findCommand(name);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(commandHelp(command.spec));
      return 0;
    }
    const raw = parseCommandArgs(command.spec, rest, io.env);
    const secrets = secretValues(command.spec, raw);
    redact = createRedactor(secrets);
    const every = progressEveryMs(io.env);
    const outcome = await withChannels(command, raw, io, { log, secrets, loggedWarnings }, () =>
      executeCommand(command, raw, {
        env: io.env,
        cwd: io.cwd,
        now: () => new Date(),
        log,
        signal: io.signal ?? new AbortController().signal,
        ...(every ? { progressEveryMs: every } : {}),
      }),
    );
    const shown = { storageUrl: outcome.store?.url, settings: outcome.settings };
    const { failure } = outcome;
    if (wantsJson) {
      const head = failure ? { ok: false, exitCode: failure.exitCode, error: failure.message } : { ok: true };
      io.stdout(JSON.stringify(redactDeep({ ...head, ...command.json(outcome.result, shown) }, redact)));
    } else {
      const text = command.text(outcome.result, shown);
      if (text) stdout(text);
    }
    // A command that ran and failed (a verification that did not pass, keys prune could not
    // delete) printed its whole result above; then the one-line error.
    if (failure) {
      stderr(`lifeboat: error: ${failure.message}`);
      return failure.exitCode;
    }
    return 0;
  } catch (error) {
    // Whatever a cancelled command threw, the run ends with the signal's conventional code.
    const cancelled = io.signal?.aborted && io.signal.reason instanceof CancelledError;
    const exitCode = cancelled
      ? (io.signal!.reason as CancelledError).exitCode
      : error instanceof LifeboatError
        ? error.exitCode
        : 1;
    const message = describeError(error);
    if (wantsJson) stdout(JSON.stringify({ ok: false, exitCode, error: message }));
    stderr(`lifeboat: error: ${message}`);
    if (debug && error instanceof Error && error.stack) stderr(error.stack);
    return exitCode;
  }
}

/**
 * The notification channels around a command that reports (one with a report and the channel
 * options): their options are read before it runs (a bad one is exit 2), their start hooks (pings)
 * run before it, and its report, or the error it threw, is delivered after it. Delivery never
 * changes the exit code.
 */
async function withChannels<S, R>(
  command: CommandDefinition<S, R>,
  raw: RawOptions,
  io: CliIo,
  delivery: DeliveryOptions & { loggedWarnings: string[] },
  run: () => Promise<CommandOutcome<S, R>>,
): Promise<CommandOutcome<S, R>> {
  const { spec } = command;
  if (
    !spec.action ||
    !command.report ||
    !spec.options.some((option) => option.name === NOTIFY_ON_OPTION.name)
  ) {
    return run();
  }
  const action = spec.action as ReportAction;
  const channels = parseChannelSettings(raw);
  const context = {
    label: givenText(raw, OPTIONS.label) ?? OPTIONS.label.default,
    runUrl: provenanceFromEnv(io.env)?.runUrl ?? null,
    loggedWarnings: delivery.loggedWarnings,
  };
  await pingStart(channels, { action, label: context.label }, delivery);
  let outcome: CommandOutcome<S, R>;
  try {
    outcome = await run();
  } catch (error) {
    await deliverToChannels(buildErrorReport(action, error, context), channels, delivery);
    throw error;
  }
  const report = command.report(outcome.result, { ...context, storageUrl: outcome.store?.url ?? "" });
  await deliverToChannels(report, channels, delivery);
  return outcome;
}
