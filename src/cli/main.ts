/**
 * `lifeboat <command> [options]`: the same commands and options as the actions. One JSON object on
 * stdout with --json; progress on stderr; errors are one line (a stack trace only with --debug).
 */
import { existsSync, writeFileSync } from "node:fs";
import { runBackup } from "../commands/backup.js";
import { parseDoctorSettings, runDoctorCommand } from "../commands/doctor.js";
import { listBackups } from "../commands/list.js";
import { runVerify, verifyFailureMessage } from "../commands/verify.js";
import { restoreTestFailureMessage, runRestoreTest } from "../commands/restore-test.js";
import { restoreFailureMessage, runRestore } from "../commands/restore.js";
import { pruneFailureMessage, runPrune } from "../commands/prune.js";
import { formatPruneDecisions, formatPruneTotals } from "../report/prune-report.js";
import type { Logger } from "../commands/logger.js";
import { describeError, InputError, LifeboatError, OperationError } from "../domain/errors.js";
import { generateIdentity } from "../crypto/age/index.js";
import { formatAge, formatBytes, formatTable } from "../report/format.js";
import {
  parseBackupSettings,
  parsePruneSettings,
  parseStorageSettings,
  parseRestoreTestSettings,
  parseRestoreSettings,
  parseVerifySettings,
  required,
  text,
  type RawOptions,
} from "../settings/settings.js";
import { COMMANDS, commandSpec, type CommandSpec } from "../settings/spec.js";
import { deliverToChannels, pingStart, type DeliveryOptions } from "../report/channels/deliver.js";
import {
  buildBackupReport,
  buildErrorReport,
  buildPruneReport,
  buildRestoreReport,
  buildRestoreTestReport,
  buildVerifyReport,
  type Report,
  type ReportAction,
  type ReportContext,
} from "../report/report.js";
import { parseChannelSettings } from "../settings/report-settings.js";
import { provenanceFromEnv } from "../domain/provenance.js";
import { openStore } from "../storage/open-store.js";
import { LIFEBOAT_VERSION } from "../version.js";
import { closest, commandHelp, parseCommandArgs } from "./args.js";

export interface CliIo {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((spec) => spec.command.length));
  return [
    "Usage: lifeboat <command> [options]",
    "",
    "Encrypted, verified PostgreSQL backups in S3 or a local directory.",
    "",
    "Commands:",
    ...COMMANDS.map((spec) => `  ${spec.command.padEnd(width)}  ${spec.summary}`),
    "",
    "Run lifeboat <command> --help for its options.",
  ].join("\n");
}

export async function main(io: CliIo): Promise<number> {
  const [command, ...rest] = io.argv;
  const wantsJson = rest.includes("--json");
  const debug = rest.includes("--debug");
  const loggedWarnings: string[] = [];
  const log: Logger = {
    info: (message) => io.stderr(message),
    warn: (message) => {
      loggedWarnings.push(message);
      io.stderr(`warning: ${message}`);
    },
  };
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      io.stdout(mainHelp());
      return command === undefined ? 2 : 0;
    }
    if (command === "--version" || command === "-V") {
      io.stdout(LIFEBOAT_VERSION);
      return 0;
    }
    const known = COMMANDS.find((spec) => spec.command === command);
    if (!known) {
      const names = COMMANDS.map((spec) => spec.command);
      const close = closest(command, names);
      throw new InputError(
        `unknown command "${command}"${close ? ` (did you mean ${close}?)` : ""}; expected one of ${names.join(", ")}`,
      );
    }
    const spec = commandSpec(command);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(commandHelp(spec));
      return 0;
    }
    const raw = parseCommandArgs(spec, rest, io.env);
    const result = await withChannels(spec, raw, io, log, loggedWarnings, (context) =>
      runCommand(command, raw, io, log, context),
    );
    if (wantsJson) io.stdout(JSON.stringify(result.json));
    else if (result.text) io.stdout(result.text);
    // A command that ran and failed (a verification that did not pass, keys prune could not
    // delete) printed its whole result above; then the one-line error.
    if (result.failure) {
      io.stderr(`lifeboat: error: ${result.failure.message}`);
      return result.failure.exitCode;
    }
    return 0;
  } catch (error) {
    const exitCode = error instanceof LifeboatError ? error.exitCode : 1;
    const message = describeError(error);
    if (wantsJson) io.stdout(JSON.stringify({ ok: false, exitCode, error: message }));
    io.stderr(`lifeboat: error: ${message}`);
    if (debug && error instanceof Error && error.stack) io.stderr(error.stack);
    return exitCode;
  }
}

interface CommandOutcome {
  json: unknown;
  text: string;
  failure?: LifeboatError;
  /** What the notification channels are sent, for the commands that report. */
  report?: Report;
}

/**
 * The notification channels around a command that reports (the ones whose options include
 * notify-on): their options are read before it runs (bad ones are exit 2), their start hooks run
 * before it, and its report (or the error it threw) is delivered after it. Delivery never changes
 * the exit code.
 */
async function withChannels(
  spec: CommandSpec,
  raw: RawOptions,
  io: CliIo,
  log: Logger,
  loggedWarnings: string[],
  run: (context: ReportContext) => Promise<CommandOutcome>,
): Promise<CommandOutcome> {
  const context: ReportContext = {
    label: text(raw, "label") ?? "default",
    runUrl: provenanceFromEnv(io.env)?.runUrl ?? null,
    loggedWarnings,
  };
  if (!spec.action || !spec.options.some((option) => option.name === "notify-on")) return run(context);
  const action = spec.action as ReportAction;
  const channels = parseChannelSettings(raw);
  const delivery: DeliveryOptions = {
    log,
    secrets: spec.options.flatMap((option) => (option.secret ? (text(raw, option.name) ?? []) : [])),
  };
  await pingStart(channels, { action, label: context.label }, delivery);
  let outcome: CommandOutcome;
  try {
    outcome = await run(context);
  } catch (error) {
    await deliverToChannels(buildErrorReport(action, error, context), channels, delivery);
    throw error;
  }
  if (outcome.report) await deliverToChannels(outcome.report, channels, delivery);
  return outcome;
}

async function runCommand(
  command: string,
  raw: RawOptions,
  io: CliIo,
  log: Logger,
  context: ReportContext,
): Promise<CommandOutcome> {
  const now = () => new Date();
  switch (command) {
    case "backup": {
      const settings = parseBackupSettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const result = await runBackup(settings, { store, env: io.env, now, log, signal: io.signal });
      return {
        json: {
          ok: true,
          backupId: result.backupId,
          label: result.label,
          storage: store.url,
          backupKey: result.backupKey,
          manifestKey: result.manifestKey,
          storedBytes: result.storedBytes,
          sha256: result.sha256,
          durationSeconds: result.durationSeconds,
          tables: result.manifest.tables.length,
          totalRows: result.manifest.totalRows,
        },
        text: result.backupId,
        report: buildBackupReport(result, { ...context, label: result.label, storageUrl: store.url }),
      };
    }
    case "list": {
      const settings = parseStorageSettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const backups = await listBackups(settings, { store, now });
      const text = backups.length
        ? formatTable(
            ["BACKUP ID", "STARTED (UTC)", "SIZE", "AGE", "LAST CHECK"],
            backups.map((backup) => [
              backup.backupId,
              backup.startedAt.replace("T", " ").replace(/\.\d{3}Z$/, ""),
              formatBytes(backup.storedBytes),
              formatAge(backup.ageSeconds),
              backup.lastCheck
                ? `${backup.lastCheck.kind} ${backup.lastCheck.passed ? "pass" : "FAIL"}`
                : "-",
            ]),
          )
        : `no backups under ${store.url}/${settings.label}/`;
      return { json: { ok: true, storage: store.url, label: settings.label, backups }, text };
    }
    case "prune": {
      const settings = parsePruneSettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const result = await runPrune(settings, { store, now, log });
      const failure = pruneFailureMessage(result);
      return {
        json: failure ? { ok: false, exitCode: 1, error: failure, ...result } : { ok: true, ...result },
        text: `${formatPruneDecisions(result)}\n${formatPruneTotals(result)}`,
        report: buildPruneReport(result, context),
        ...(failure ? { failure: new OperationError(failure) } : {}),
      };
    }
    case "verify": {
      const settings = parseVerifySettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const result = await runVerify(settings, { store, env: io.env, now, log });
      const failure = verifyFailureMessage(result);
      return {
        json: failure ? { ok: false, exitCode: 1, error: failure, ...result } : { ok: true, ...result },
        text: result.verified
          ? `${result.backupId}: verified (${result.kind === "verify-deep" ? "decrypted, archive readable" : "stored object"})`
          : result.failures.map((line) => `${result.backupId}: ${line}`).join("\n"),
        report: buildVerifyReport(result, context),
        ...(failure ? { failure: new OperationError(failure) } : {}),
      };
    }
    case "restore-test": {
      const settings = parseRestoreTestSettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const result = await runRestoreTest(settings, { store, env: io.env, now, log });
      const failure = restoreTestFailureMessage(result);
      const summary = `${result.backupId}: restored in ${result.restoreSeconds}s (${result.mode}), ${result.tablesChecked} tables checked, ${result.mismatches.length} mismatches, ${result.assertions.filter((a) => a.passed).length}/${result.assertions.length} assertions passed${result.run ? `, run exited ${result.run.exitCode}` : ""}`;
      const { pgRestoreLog: _log, ...json } = result;
      return {
        json: failure ? { ok: false, exitCode: 1, error: failure, ...json } : { ok: true, ...json },
        text: [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n"),
        report: buildRestoreTestReport(result, context),
        ...(failure ? { failure: new OperationError(failure) } : {}),
      };
    }
    case "restore": {
      const settings = parseRestoreSettings(raw);
      const store = await openStore(settings.storage, { cwd: io.cwd, s3: settings.s3 });
      const every = Number(io.env.LIFEBOAT_PROGRESS_SECONDS);
      const result = await runRestore(settings, {
        store,
        env: io.env,
        now,
        log,
        signal: io.signal,
        ...(every > 0 ? { progressEveryMs: every * 1000 } : {}),
      });
      const failure = restoreFailureMessage(result);
      const safety = result.safetyBackup
        ? `; safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
        : "; no safety backup";
      const summary = `${result.backupId}: ${result.passed ? "restored" : "restore FAILED"} into ${result.targetDatabase} in ${result.restoreSeconds}s${safety}`;
      const { pgRestoreLog: _log, ...json } = result;
      return {
        json: failure ? { ok: false, exitCode: 1, error: failure, ...json } : { ok: true, ...json },
        text: [summary, ...result.failures.map((line) => `${result.backupId}: ${line}`)].join("\n"),
        report: buildRestoreReport(result, context),
        ...(failure ? { failure: new OperationError(failure) } : {}),
      };
    }
    case "doctor":
      return runDoctorCommand(parseDoctorSettings(raw), { env: io.env, log });
    case "keygen": {
      const output = required(raw, "output", "a path for the new identity file");
      if (existsSync(output)) {
        throw new InputError(`--output "${output}": the file exists; refusing to overwrite a key`, {
          input: "output",
        });
      }
      const { identity, recipient } = generateIdentity();
      const created = new Date().toISOString();
      writeFileSync(output, `# created: ${created}\n# public key: ${recipient}\n${identity}\n`, {
        mode: 0o600,
        flag: "wx",
      });
      log.info(`Identity written to ${output} (keep it secret); the public key (recipient) is:`);
      return { json: { ok: true, identityFile: output, recipient }, text: recipient };
    }
    default:
      throw new Error(`unhandled command ${command}`);
  }
}
