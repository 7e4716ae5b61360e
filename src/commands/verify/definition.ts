/** verify (the verify-backup action): a backup against its manifest, plus freshness and size gates. */
import { renderJUnit, verifyJUnit, writeJUnitFile } from "../../report/junit.js";
import { buildVerifyReport } from "../../report/report.js";
import { parseVerifySettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";
import { runVerify, verifyFailureMessage, type VerifyResult } from "../verify/run.js";
import type { VerifySettings } from "../../settings/types.js";
import type { GateSettings } from "../../domain/verify-gates.js";

export const verifyCommand: CommandDefinition<VerifySettings, VerifyResult & { gates?: GateSettings }> = {
  spec: commandSpec("verify"),
  parse: parseVerifySettings,
  storage: (settings) => settings,
  run: async (settings, deps) => {
    const result = await runVerify(settings, deps);
    if (settings.junit !== undefined) {
      const suite = verifyJUnit(result, { label: settings.label, gates: settings.gates, now: deps.now() });
      const secrets = [settings.keys.passphrase, settings.keys.identityText].filter(
        (secret): secret is string => secret !== undefined,
      );
      await writeJUnitFile(deps.cwd, settings.junit, renderJUnit(suite, secrets));
    }
    // The gates as given go with the result: the job summary lists which were checked.
    return { ...result, gates: settings.gates };
  },
  failure: verifyFailureMessage,
  outputs: (result, failure) => ({
    verified: result.verified,
    "backup-id": result.backupId,
    "backup-age-seconds": result.backupAgeSeconds,
    "stored-bytes": result.storedBytes,
    reason: failure ?? "",
  }),
  text: (result) =>
    result.verified
      ? `${result.backupId}: verified (${result.kind === "verify-deep" ? "decrypted, archive readable" : "stored object"})`
      : result.failures.map((line) => `${result.backupId}: ${line}`).join("\n"),
  json: (result) => ({ ...result }),
  report: (result, context) => buildVerifyReport(result, context),
};
