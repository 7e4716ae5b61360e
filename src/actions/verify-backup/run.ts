import * as core from "@actions/core";
import { runVerify, verifyFailureMessage } from "../../commands/verify.js";
import { OperationError } from "../../domain/errors.js";
import { formatBytes } from "../../report/format.js";
import { parseVerifySettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { actionLogger, maskSecrets, readInputs } from "../inputs.js";

export async function run(): Promise<void> {
  const spec = commandSpec("verify");
  maskSecrets(spec);
  const settings = parseVerifySettings(readInputs(spec));
  const store = await openStore(settings.storage, {
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    s3: settings.s3,
  });
  const result = await runVerify(settings, {
    store,
    env: process.env,
    now: () => new Date(),
    log: actionLogger,
  });
  const failure = verifyFailureMessage(result);
  core.setOutput("verified", String(result.verified));
  core.setOutput("backup-id", result.backupId);
  core.setOutput("backup-age-seconds", String(result.backupAgeSeconds));
  core.setOutput("stored-bytes", String(result.storedBytes));
  core.setOutput("reason", failure ?? "");
  for (const warning of result.warnings) core.warning(warning);

  await core.summary
    .addHeading(`Lifeboat verify: ${settings.label} ${result.verified ? "passed" : "FAILED"}`, 2)
    .addTable([
      [
        { data: "Backup", header: true },
        { data: "Check", header: true },
        { data: "Result", header: true },
        { data: "Stored", header: true },
        { data: "Age", header: true },
      ],
      [
        result.backupId,
        result.kind === "verify-deep" ? "decrypted, archive read" : "stored object sha256",
        result.verified ? "pass" : "fail",
        formatBytes(result.storedBytes),
        `${(result.backupAgeSeconds / 3600).toFixed(1)}h`,
      ],
    ])
    .addList([...result.failures, ...result.warnings.map((warning) => `warning: ${warning}`)])
    .write();
  if (failure) throw new OperationError(failure);
}
