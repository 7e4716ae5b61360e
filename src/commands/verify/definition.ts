/** verify (the verify-backup action): a backup against its manifest, plus freshness and size gates. */
import { buildVerifyReport } from "../../report/report.js";
import { parseVerifySettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";
import { runVerify, verifyFailureMessage, type VerifyResult } from "../verify/run.js";
import type { VerifySettings } from "../../settings/types.js";

export const verifyCommand: CommandDefinition<VerifySettings, VerifyResult> = {
  spec: commandSpec("verify"),
  parse: parseVerifySettings,
  storage: (settings) => settings,
  run: (settings, deps) => runVerify(settings, deps),
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
