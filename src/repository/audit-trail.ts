/**
 * The audit trail (docs/evidence.md): one JSON record per operation that changes or reads out a
 * label's data (restore, restore-files, prune, copy), under `<label>/_audit/<timestamp>-<kind>.json`,
 * signed like a check record when a signing key is set, and object-locked while the backup it
 * concerns is. `_audit/` is not a backup folder: listings, prune and retention never see it (a
 * folder counts only when its name is a backup id).
 *
 * Commands call `recordOperation` around their work; `readAuditTrail` lists the records with what
 * their signatures say.
 */
import { hostname, userInfo } from "node:os";
import { describeError } from "../domain/errors.js";
import { provenanceFromEnv } from "../domain/provenance.js";
import type { PutOptions } from "../storage/store.js";
import { LIFEBOAT_VERSION } from "../version.js";
import type { BackupRepository } from "./backup-repository.js";
import { mapBounded, READS_IN_PARALLEL } from "./backup-repository.js";
import { SIGNATURE_SUFFIX } from "./signatures.js";

export const AUDIT_FOLDER = "_audit";
export const AUDIT_RECORD_SCHEMA_VERSION = 1;

/** Who ran an operation: from the GitHub Actions environment, else the machine's user and host. */
export interface AuditActor {
  actor: string | null;
  host: string;
  repository: string | null;
  workflow: string | null;
  runId: string | null;
  runAttempt: string | null;
  runUrl: string | null;
  event: string | null;
  ref: string | null;
}

/** Where an operation wrote or read: a database server, or a bucket or directory. */
export type AuditTarget =
  { kind: "database"; host: string; port: number; database: string } | { kind: "storage"; url: string };

export interface AuditRecord {
  schemaVersion: typeof AUDIT_RECORD_SCHEMA_VERSION;
  /** restore, restore-files, prune, copy. */
  kind: string;
  label: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  who: AuditActor;
  /** The backups the operation acted on (restored, deleted, copied); empty when none. */
  backups: string[];
  target: AuditTarget | null;
  /** The options it ran with; never a secret (the caller lists only what is safe to keep). */
  options: Record<string, unknown>;
  outcome: "succeeded" | "failed";
  /** Why it failed, one line; absent when it succeeded. */
  error?: string;
  tool: { name: "lifeboat"; version: string };
}

/** What a caller says about one operation; the trail adds the who, the times and the outcome. */
export interface AuditedOperation<R> {
  kind: string;
  label: string;
  target: AuditTarget | null;
  options: Record<string, unknown>;
  /** The backups it acted on, from its result (or known beforehand, for a failure). */
  backups: (result: R | undefined) => string[];
  /** Whether the result itself is a failure (the command's own verdict). */
  failed?: (result: R) => string | undefined;
  /** Lock the record like this backup's manifest, while that lock lasts. */
  lockLike?: (result: R | undefined) => string | undefined;
}

export function auditActor(env: NodeJS.ProcessEnv): AuditActor {
  const github = provenanceFromEnv(env);
  let user: string | null = null;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host alone says where it ran.
  }
  return {
    actor: github?.actor ?? env.USER ?? user,
    host: env.RUNNER_NAME || hostname(),
    repository: github?.repository ?? null,
    workflow: github?.workflow ?? null,
    runId: github?.runId ?? null,
    runAttempt: github?.runAttempt ?? null,
    runUrl: github?.runUrl ?? null,
    event: github?.event ?? null,
    ref: github?.ref ?? null,
  };
}

export function auditKey(label: string, at: Date, kind: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${label}/${AUDIT_FOLDER}/${stamp}-${kind}.json`;
}

/** The retention of a backup's object lock, while it lasts; undefined for an unlocked backup. */
async function lockOf(
  repository: BackupRepository,
  label: string,
  backupId: string | undefined,
  now: Date,
): Promise<PutOptions["retention"]> {
  if (!backupId || !repository.canLock) return undefined;
  const manifest = await repository.readManifest(label, backupId).catch(() => undefined);
  const lock = manifest?.objectLock;
  if (!lock) return undefined;
  const until = new Date(lock.retainUntil);
  return until.getTime() > now.getTime() ? { mode: lock.mode, until } : undefined;
}

/** Writes one record (signed when the repository has a signing key); returns its key. */
export async function writeAuditRecord(
  repository: BackupRepository,
  record: AuditRecord,
  retention?: PutOptions["retention"],
): Promise<string> {
  const key = auditKey(record.label, new Date(record.startedAt), record.kind);
  await repository.putSigned(
    key,
    Buffer.from(JSON.stringify(record, null, 2) + "\n"),
    { kind: "audit", label: record.label, file: key.slice(record.label.length + 1) },
    retention ? { retention } : {},
  );
  return key;
}

/**
 * Runs `work` and records it in the label's trail, whatever its outcome. A record that cannot be
 * written is a warning, not a failure of the operation: the restore or prune has happened, and
 * saying otherwise would misreport it.
 */
export async function recordOperation<R>(
  repository: BackupRepository,
  operation: AuditedOperation<R>,
  deps: { env: NodeJS.ProcessEnv; now: () => Date; log: { warn(message: string): void } },
  work: () => Promise<R>,
): Promise<R> {
  const started = deps.now();
  let result: R | undefined;
  let error: string | undefined;
  try {
    result = await work();
    error = operation.failed?.(result);
    return result;
  } catch (thrown) {
    error = describeError(thrown);
    throw thrown;
  } finally {
    const finished = deps.now();
    const record: AuditRecord = {
      schemaVersion: AUDIT_RECORD_SCHEMA_VERSION,
      kind: operation.kind,
      label: operation.label,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
      who: auditActor(deps.env),
      backups: operation.backups(result),
      target: operation.target,
      options: operation.options,
      outcome: error === undefined ? "succeeded" : "failed",
      // One line, cut short: a failure can quote pg_restore, and the record is stored in plaintext.
      ...(error === undefined ? {} : { error: error.split("\n")[0]!.slice(0, 500) }),
      tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
    };
    try {
      const retention = await lockOf(repository, operation.label, operation.lockLike?.(result), finished);
      await writeAuditRecord(repository, record, retention);
    } catch (writeError) {
      deps.log.warn(
        `the audit record of this ${operation.kind} could not be written: ${describeError(writeError)}`,
      );
    }
  }
}

/** One record of the trail, with what its signature says. */
export interface AuditEntry {
  key: string;
  record: AuditRecord | undefined;
  /** verified: signed by a trusted key for this place; unsigned; invalid: why not; unchecked: no trusted key set. */
  signature: { state: "verified" | "unsigned" | "invalid" | "unchecked"; detail?: string };
}

/** The label's audit records, oldest first, each read and (with a trusted key) verified. */
export async function readAuditTrail(repository: BackupRepository, label: string): Promise<AuditEntry[]> {
  const prefix = `${label}/${AUDIT_FOLDER}/`;
  const listed = await repository.listKeys(prefix);
  const objects = listed
    .filter((object) => object.key.endsWith(".json"))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const signed = new Set(
    listed
      .filter((object) => object.key.endsWith(SIGNATURE_SUFFIX))
      .map((object) => object.key.slice(0, -SIGNATURE_SUFFIX.length)),
  );
  return mapBounded(objects, READS_IN_PARALLEL, async ({ key }): Promise<AuditEntry> => {
    const bytes = await repository.readBytes(key).catch(() => undefined);
    let record: AuditRecord | undefined;
    try {
      record = bytes ? (JSON.parse(bytes.toString("utf8")) as AuditRecord) : undefined;
    } catch {
      record = undefined;
    }
    if (!repository.evidence.requiresSignatures) {
      return { key, record, signature: { state: signed.has(key) ? "unchecked" : "unsigned" } };
    }
    if (!signed.has(key) || !bytes) return { key, record, signature: { state: "unsigned" } };
    const why = await repository.untrusted(key, bytes, {
      kind: "audit",
      label,
      file: key.slice(label.length + 1),
    });
    return {
      key,
      record,
      signature: why === undefined ? { state: "verified" } : { state: "invalid", detail: why },
    };
  });
}
