/**
 * One definition per command, served by both edges: the action runner (src/actions/run-action.ts)
 * and the CLI runner (src/cli/main.ts). A definition says which options the command takes (its
 * spec), how they parse, what it runs, what counts as a failure, and how its result is shown: as
 * action outputs, as CLI text and JSON, and as a report. Everything the two edges have in common
 * (parsing, opening the store, cancellation, the run itself, the failure verdict) happens once, in
 * executeCommand; an edge differs only in what it injects (actions/cache's restoreImpl pattern).
 */
import { OperationError, type LifeboatError } from "../domain/errors.js";
import type { ToolCache } from "../postgres/pg-install.js";
import type { Report, ReportContext } from "../report/report.js";
import type { RawOptions, StorageSettings } from "../settings/types.js";
import type { CommandSpec } from "../settings/spec.js";
import { openStore } from "../storage/open-store.js";
import type { Store } from "../storage/store.js";
import type { Logger } from "./logger.js";

/** What an edge injects into every command. */
export interface CommandContext {
  env: NodeJS.ProcessEnv;
  /** Where relative storage paths resolve (the workspace in Actions, the working directory in the CLI). */
  cwd: string;
  now: () => Date;
  log: Logger;
  /** Aborted by the first SIGINT or SIGTERM: the command stops its children and commits nothing. */
  signal: AbortSignal;
  /** Where an installed PostgreSQL client is cached between runs (actions/cache); none in the CLI. */
  toolCache?: ToolCache;
  /** How often long work logs a progress line; the command's own default when absent. */
  progressEveryMs?: number;
}

/** What a command's run function gets: the context, plus the store when the command has one. */
export interface CommandDeps extends CommandContext {
  store: Store;
}

/** What the report of a finished command is built from. */
export interface CommandReportContext extends ReportContext {
  storageUrl: string;
}

export interface CommandDefinition<S, R> {
  spec: CommandSpec;
  parse(raw: RawOptions): S;
  /** The storage a command reads or writes; absent for commands without one (doctor, keygen). */
  storage?(settings: S): StorageSettings;
  run(settings: S, deps: CommandDeps): Promise<R>;
  /**
   * Why a command that ran counts as failed, or undefined when it passed. A string is an
   * OperationError (exit 1); a LifeboatError keeps its own exit code.
   */
  failure?(result: R): string | LifeboatError | undefined;
  /** The action's outputs, by the names in `spec.outputs`. */
  outputs?(result: R, failure: string | undefined): Record<string, string | number | boolean>;
  /** Lines the action writes to the job log once the command has run (the CLI prints `text`). */
  logLines?(result: R): string[];
  /** The CLI's text on stdout. */
  text(result: R, context: { storageUrl?: string; settings: S }): string;
  /** The CLI's JSON on stdout (without ok/exitCode/error, which the runner adds). */
  json(result: R, context: { storageUrl?: string; settings: S }): Record<string, unknown>;
  /** The report for the job summary, the PR comment and the channels. */
  report?(result: R, context: CommandReportContext): Report;
  /** Files the action uploads as a workflow artifact beside the report (logs too long for it). */
  artifact?(result: R, report: Report): ReportArtifact;
}

/** A workflow artifact: its name (the runner adds the job and attempt) and files by name. */
export interface ReportArtifact {
  name: string;
  /** What the artifact is, for log lines: "restore-test report". */
  title: string;
  files: Record<string, string>;
}

/**
 * The values of the command's secret options as given (database URLs, passphrases, identities,
 * webhook URLs): what every edge redacts from everything it prints, writes or sends.
 */
export function secretValues(spec: CommandSpec, raw: RawOptions): string[] {
  return spec.options
    .filter((option) => option.secret)
    .flatMap((option) => {
      const value = raw[option.name];
      return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    })
    .filter((value) => value.trim() !== "");
}

/** A definition with its types erased, for the tables that list every command. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandDefinition<any, any>;

export interface CommandOutcome<S, R> {
  settings: S;
  store: Store | undefined;
  result: R;
  failure: LifeboatError | undefined;
}

/**
 * Parses the raw options, opens the store when the command has one (reported through `opened`,
 * so a report of a later failure can still read the label's history), runs the command and
 * judges the result. Bad input throws InputError before anything is read or written.
 */
export async function executeCommand<S, R>(
  command: CommandDefinition<S, R>,
  raw: RawOptions,
  context: CommandContext,
  opened?: (store: Store) => void,
): Promise<CommandOutcome<S, R>> {
  const settings = command.parse(raw);
  let store: Store | undefined;
  const storage = command.storage?.(settings);
  if (storage) {
    store = await openStore(storage.storage, { cwd: context.cwd, s3: storage.s3, env: context.env });
    opened?.(store);
  }
  context.signal.throwIfAborted();
  const result = await command.run(settings, { ...context, store: store as Store });
  const failure = command.failure?.(result);
  return {
    settings,
    store,
    result,
    failure: typeof failure === "string" ? new OperationError(failure) : failure,
  };
}
