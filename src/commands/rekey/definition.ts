/** rekey: re-wrap existing backups for new recipients (docs/evidence.md, key rotation). */
import { readOptions } from "../../settings/read-option.js";
import { parseDecryptionKeys, parseStorageSettings } from "../../settings/settings.js";
import { commandSpec, OPTIONS } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";
import { runRekey, type RekeyResult, type RekeySettings } from "./run.js";

export const rekeyCommand: CommandDefinition<RekeySettings, RekeyResult> = {
  spec: commandSpec("rekey"),
  parse: (raw) => ({
    ...parseStorageSettings(raw),
    ...readOptions(raw, { backup: OPTIONS.backup, recipients: OPTIONS.recipient }),
    keys: parseDecryptionKeys(raw),
  }),
  storage: (settings) => settings,
  run: runRekey,
  text: (result) =>
    result.backups.length
      ? result.backups
          .map((backup) =>
            [
              `${backup.backupId}: ${backup.status}`,
              ...backup.artifacts.map((artifact) => `  ${artifact.from} -> ${artifact.to}`),
              ...backup.leftovers.map((key) => `  left behind: ${key}`),
            ].join("\n"),
          )
          .join("\n")
      : `no backups under ${result.label}/ to rekey`,
  json: (result) => ({ ...result }),
};
