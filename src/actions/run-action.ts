/**
 * The action runner: every action's entry is `runAction(definition).catch(fail)`. It masks the
 * secret inputs before anything is logged, reads the inputs by the names of the command's option
 * table, turns the first SIGINT/SIGTERM into a cancellation the command honours, runs the command
 * through the same executeCommand as the CLI, sets the outputs, and delivers the report (job
 * summary, PR comment, channels) whether the command passed, failed or threw. The step's result
 * is the command's; reporting never changes it.
 */
import * as core from "@actions/core";
import {
  executeCommand,
  secretValues as commandSecretValues,
  type CommandDefinition,
} from "../commands/command.js";
import { cancelOnSignals } from "../commands/signals.js";
import type { ReportAction } from "../report/report.js";
import type { Store } from "../storage/store.js";
import { createRedactor } from "../domain/redact.js";
import { inActionWords, maskSecrets, readInputs } from "./inputs.js";
import { createReporter } from "./report.js";
import { actionsToolCache } from "./tool-cache.js";

export async function runAction<S, R>(command: CommandDefinition<S, R>): Promise<void> {
  const { spec } = command;
  if (!spec.action) throw new Error(`command ${spec.command} has no action`);
  maskSecrets(spec);
  const raw = readInputs(spec);
  let reporter;
  try {
    reporter = createReporter(spec.action as ReportAction, spec, raw);
  } catch (error) {
    throw inActionWords(error, spec);
  }
  const signal = cancelOnSignals(process);
  await reporter.start();
  let store: Store | undefined;
  let outcome;
  try {
    outcome = await executeCommand(
      command,
      raw,
      {
        env: process.env,
        cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
        now: () => new Date(),
        log: reporter.log,
        signal,
        toolCache: actionsToolCache(reporter.log),
      },
      (opened) => (store = opened),
    );
  } catch (thrown) {
    const error = inActionWords(thrown, spec);
    await reporter.deliver(reporter.errorReport(error), { store });
    throw error;
  }
  const { result, failure } = outcome;
  for (const line of command.logLines?.(result) ?? []) core.info(line);
  // Outputs land in a file the runner does not mask: a `reason` quoting an error must not carry
  // a secret there.
  const redact = createRedactor(commandSecretValues(spec, raw));
  for (const [name, value] of Object.entries(command.outputs?.(result, failure?.message) ?? {})) {
    core.setOutput(name, redact(String(value)));
  }
  if (command.report) {
    const report = command.report(result, {
      label: reporter.label,
      runUrl: reporter.runUrl,
      loggedWarnings: reporter.loggedWarnings,
      storageUrl: store?.url ?? "",
    });
    const artifact = command.artifact?.(result, report);
    await reporter.deliver(report, { store, ...(artifact ? { artifact } : {}) });
  }
  if (failure) throw failure;
}
