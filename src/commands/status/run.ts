/**
 * status: reads a store into the inputs of the status model (src/report/status/model.ts), then
 * writes the page and the metrics when asked. Reads only: one listing (of the whole store, or of
 * each named label), every committed backup's manifest, and for the backups in the window the
 * check records that carry a figure (a passing restore-test's restore time, a failure's first line).
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describeError, InputError } from "../../domain/errors.js";
import { groupBackupFolders, type BackupFolder, type CheckRecordRef } from "../../domain/layout.js";
import { backupStoredBytes } from "../../domain/manifest.js";
import { redactUrl } from "../../domain/redact.js";
import { BackupRepository, mapBounded } from "../../repository/backup-repository.js";
import { restoreSecondsFromRecord, IN_FLIGHT_MS } from "../../report/history.js";
import {
  buildStatus,
  type StatusBackupInput,
  type StatusCheckInput,
  type StatusCheckKind,
  type StatusLabelInput,
  type StatusModel,
} from "../../report/status/model.js";
import { renderStatusHtml } from "../../report/status/html.js";
import { renderPrometheus, writeFileAtomic } from "../../report/status/prometheus.js";
import type { StatusSettings } from "../../settings/types.js";
import type { ObjectInfo, Store } from "../../storage/store.js";
import type { CommandDeps } from "../command.js";

const READS_IN_PARALLEL = 8;
const KINDS = new Set<string>(["verify", "verify-deep", "restore-test"]);

export interface StatusResult {
  model: StatusModel;
  /** The files written, as given. */
  written: { html?: string; prometheus?: string };
}

/**
 * Every label in a listing of the whole store: the first segment of each key under which a backup
 * folder (a second segment that parses as a backup id) lies. Other keys are not ours.
 */
export function labelsOf(objects: readonly ObjectInfo[]): Map<string, ObjectInfo[]> {
  const byLabel = new Map<string, ObjectInfo[]>();
  for (const object of objects) {
    const slash = object.key.indexOf("/");
    if (slash <= 0) continue;
    const label = object.key.slice(0, slash);
    const list = byLabel.get(label) ?? [];
    list.push(object);
    byLabel.set(label, list);
  }
  for (const [label, list] of byLabel) {
    if (groupBackupFolders(label, list).length === 0) byLabel.delete(label);
  }
  return byLabel;
}

async function listAll(store: Store, prefix: string): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  for await (const object of store.list(prefix)) objects.push(object);
  return objects;
}

/** The records worth reading: per folder, the newest of each kind and outcome. */
function deciding(checks: readonly CheckRecordRef[]): CheckRecordRef[] {
  const newest = new Map<string, CheckRecordRef>();
  for (const check of checks) newest.set(`${check.kind}:${check.passed}`, check);
  return [...newest.values()];
}

async function labelInput(
  repository: BackupRepository,
  label: string,
  folders: BackupFolder[],
  window: number,
  now: Date,
): Promise<StatusLabelInput> {
  // The same window as the model's: committed folders and those past the in-flight hour.
  const inWindow = new Set(
    folders
      .filter((folder) => folder.committed || now.getTime() - folder.startedAt.getTime() >= IN_FLIGHT_MS)
      .slice(0, window)
      .map((folder) => folder.backupId),
  );
  const backups = await mapBounded(folders, READS_IN_PARALLEL, async (folder): Promise<StatusBackupInput> => {
    const refs = folder.checks.filter((check) => KINDS.has(check.kind));
    const details = new Map<CheckRecordRef, { restoreSeconds: number | null; failures: string[] }>();
    if (inWindow.has(folder.backupId)) {
      for (const ref of deciding(refs)) {
        const text = await repository.readText(ref.key).catch(() => undefined);
        if (text === undefined) continue;
        let failures: string[] = [];
        try {
          const parsed = JSON.parse(text) as { failures?: unknown };
          if (Array.isArray(parsed.failures)) failures = parsed.failures.map(String);
        } catch {
          // A damaged record still counts by its name; it just has no failure line to show.
        }
        details.set(ref, { restoreSeconds: restoreSecondsFromRecord(text), failures });
      }
    }
    const checks: StatusCheckInput[] = refs.map((ref) => ({
      kind: ref.kind as StatusCheckKind,
      passed: ref.passed,
      at: ref.time,
      restoreSeconds: details.get(ref)?.restoreSeconds ?? null,
      ...(details.get(ref)?.failures.length ? { failures: details.get(ref)!.failures } : {}),
    }));
    let manifest: StatusBackupInput["manifest"] = null;
    if (folder.committed) {
      // A manifest that cannot be read leaves the folder out of the backups (verify names the damage).
      const inspected = await repository.inspectFolder(label, folder);
      if (inspected.manifest) {
        const finishedAt = new Date(inspected.manifest.finishedAt);
        manifest = {
          finishedAt: Number.isNaN(finishedAt.getTime()) ? folder.startedAt : finishedAt,
          durationSeconds: inspected.manifest.durationSeconds,
          storedBytes: backupStoredBytes(inspected.manifest),
        };
      }
    }
    return { backupId: folder.backupId, startedAt: folder.startedAt, manifest, checks };
  });
  return { label, backups };
}

export async function runStatus(settings: StatusSettings, deps: CommandDeps): Promise<StatusResult> {
  const repository = new BackupRepository(deps.store, settings.evidence);
  await repository.check("read");
  const now = deps.now();
  const window = settings.window;
  let inputs: StatusLabelInput[];
  if (settings.labels.length === 0) {
    const byLabel = labelsOf(await listAll(deps.store, ""));
    inputs = [];
    for (const [label, objects] of byLabel) {
      deps.signal.throwIfAborted();
      inputs.push(await labelInput(repository, label, groupBackupFolders(label, objects), window, now));
    }
  } else {
    inputs = [];
    for (const label of settings.labels) {
      deps.signal.throwIfAborted();
      try {
        const folders = groupBackupFolders(label, await listAll(deps.store, `${label}/`));
        inputs.push(await labelInput(repository, label, folders, window, now));
      } catch (error) {
        inputs.push({ label, backups: [], error: describeError(error) });
      }
    }
  }
  const model = buildStatus(inputs, {
    now,
    storage: redactUrl(deps.store.url),
    thresholds: {
      ...(settings.maxAgeSeconds !== undefined ? { maxAgeSeconds: settings.maxAgeSeconds } : {}),
      ...(settings.maxRestoreAgeSeconds !== undefined
        ? { maxRestoreAgeSeconds: settings.maxRestoreAgeSeconds }
        : {}),
      minSuccessRate: settings.minSuccessRate,
      window,
    },
  });
  const written: StatusResult["written"] = {};
  if (settings.html !== undefined) {
    const path = settings.html;
    await writeOutput("html", path, () => writeFile(resolve(deps.cwd, path), renderStatusHtml(model)));
    written.html = path;
    deps.log.info(`wrote the status page to ${path}`);
  }
  if (settings.prometheus !== undefined) {
    const path = settings.prometheus;
    await writeOutput("prometheus", path, () =>
      writeFileAtomic(resolve(deps.cwd, path), renderPrometheus(model)),
    );
    written.prometheus = path;
    deps.log.info(`wrote the metrics to ${path}`);
  }
  return { model, written };
}

/** A file the user named that cannot be written is bad input: the option and the reason. */
async function writeOutput(option: string, path: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    throw new InputError(
      `--${option} "${path}": cannot write it (${(error as NodeJS.ErrnoException).code ?? describeError(error)})`,
      { input: option },
    );
  }
}
