/** audit: a label's audit trail, oldest first, with what each record's signature says. */
import { readAuditTrail, type AuditEntry } from "../../repository/audit-trail.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { formatTable } from "../../report/format.js";
import { parseStorageSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { StorageSettings } from "../../settings/types.js";
import type { CommandDefinition } from "../command.js";

interface AuditResult {
  label: string;
  /** Whether signatures were checked (a trusted key was given). */
  checked: boolean;
  entries: AuditEntry[];
}

function who(entry: AuditEntry): string {
  const actor = entry.record?.who;
  if (!actor) return "-";
  const run = actor.runId ? ` run ${actor.runId}` : "";
  return `${actor.actor ?? "?"}@${actor.host}${run}`;
}

function target(entry: AuditEntry): string {
  const value = entry.record?.target;
  if (!value) return "-";
  return value.kind === "database" ? `${value.host}:${value.port}/${value.database}` : value.url;
}

export const auditCommand: CommandDefinition<StorageSettings, AuditResult> = {
  spec: commandSpec("audit"),
  parse: parseStorageSettings,
  storage: (settings) => settings,
  run: async (settings, deps) => {
    const repository = new BackupRepository(deps.store, settings.evidence);
    await repository.check("read");
    return {
      label: settings.label,
      checked: repository.evidence.requiresSignatures,
      entries: await readAuditTrail(repository, settings.label),
    };
  },
  failure: (result) => {
    if (!result.checked) return undefined;
    const bad = result.entries.filter((entry) => entry.signature.state !== "verified");
    if (bad.length === 0) return undefined;
    return `${bad.length} audit record(s) not signed by a trusted key: ${bad
      .map((entry) => `${entry.key} (${entry.signature.detail ?? entry.signature.state})`)
      .join("; ")}`;
  },
  text: (result, { storageUrl }) =>
    result.entries.length
      ? formatTable(
          ["STARTED (UTC)", "KIND", "OUTCOME", "SECONDS", "WHO", "BACKUPS", "TARGET", "SIGNATURE"],
          result.entries.map((entry) => [
            entry.record?.startedAt.replace("T", " ").replace(/\.\d{3}Z$/, "") ?? entry.key,
            entry.record?.kind ?? "?",
            entry.record?.outcome ?? "unreadable",
            String(entry.record?.durationSeconds ?? "-"),
            who(entry),
            entry.record?.backups.join(",") || "-",
            target(entry),
            entry.signature.state,
          ]),
        )
      : `no audit records under ${storageUrl}/${result.label}/_audit/`,
  json: (result, { storageUrl }) => ({ storage: storageUrl, ...result }),
};
