import * as core from "@actions/core";
import { runBackup } from "../../commands/backup.js";
import { formatBytes } from "../../report/format.js";
import { parseBackupSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import { openStore } from "../../storage/open-store.js";
import { actionLogger, maskSecrets, readInputs } from "../inputs.js";

export async function run(): Promise<void> {
  const spec = commandSpec("backup");
  maskSecrets(spec);
  const settings = parseBackupSettings(readInputs(spec));
  const store = await openStore(settings.storage, {
    cwd: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    s3: settings.s3,
  });
  const controller = new AbortController();
  process.once("SIGTERM", () => controller.abort(new Error("the job was cancelled (SIGTERM)")));
  process.once("SIGINT", () => controller.abort(new Error("the job was cancelled (SIGINT)")));
  const result = await runBackup(settings, {
    store,
    env: process.env,
    now: () => new Date(),
    log: actionLogger,
    signal: controller.signal,
  });
  core.setOutput("backup-id", result.backupId);
  core.setOutput("backup-key", result.backupKey);
  core.setOutput("manifest-key", result.manifestKey);
  core.setOutput("stored-bytes", String(result.storedBytes));
  core.setOutput("sha256", result.sha256);
  core.setOutput("duration-seconds", String(result.durationSeconds));

  const { manifest } = result;
  await core.summary
    .addHeading(`Lifeboat backup: ${manifest.label}`, 2)
    .addTable([
      [
        { data: "Backup", header: true },
        { data: "Storage", header: true },
        { data: "Stored", header: true },
        { data: "Tables", header: true },
        { data: "Rows", header: true },
        { data: "Duration", header: true },
        { data: "Encryption", header: true },
      ],
      [
        result.backupId,
        `${store.url}/${result.backupKey}`,
        formatBytes(result.storedBytes),
        String(manifest.tables.length),
        String(manifest.totalRows),
        `${result.durationSeconds}s`,
        manifest.encryption.format === "none"
          ? "none"
          : manifest.encryption.passphrase
            ? "age (passphrase)"
            : `age, ${manifest.encryption.recipients.length} recipient(s)`,
      ],
    ])
    .addRaw(
      `PostgreSQL ${manifest.source.serverVersion} (${manifest.source.database}), pg_dump ${manifest.tool.pgDumpVersion}, compression ${manifest.dump.compression}. sha256 of the stored object: \`${result.sha256}\``,
      true,
    )
    .write();
}
