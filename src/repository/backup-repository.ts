/**
 * A backup repository: the label folders of one store, read and written the way the storage
 * format says (docs/format.md). Commands use this, never the Store's methods: listing, resolving
 * `latest`, reading manifests and check records, the commit-last write of a new backup, check
 * records, deletes and leftovers all live here. The pure key layout is src/domain/layout.ts.
 *
 * Several destinations (issue 15) are a list of repositories: the backup side talks to a
 * `BackupTarget` (check, then begin a `BackupWriter`), which one repository implements and a
 * fan-out over several can implement the same way; readers (verify, prune, list) act on one
 * repository each.
 */
import { Readable } from "node:stream";
import { isBackupId, parseBackupIdTime } from "../domain/backup-id.js";
import { InputError, NotFoundError, OperationError, describeError } from "../domain/errors.js";
import {
  artifactKey,
  checkKey,
  folderProblems,
  groupBackupFolders,
  manifestKey,
  MANIFEST_FILE,
  type BackupFolder,
  type CheckRecordRef,
} from "../domain/layout.js";
import { parseManifest, serializeManifest, type Artifact, type Manifest } from "../domain/manifest.js";
import type {
  DeleteResult,
  ObjectInfo,
  ObjectLock,
  PutOptions,
  Store,
  StoreAccess,
} from "../storage/store.js";
import type { EvidenceSettings } from "../settings/types.js";
import { LIFEBOAT_VERSION } from "../version.js";
import {
  CHECK_RECORD_SCHEMA_VERSION,
  parseCheckRecord,
  recordMatches,
  type CheckRecord,
} from "./check-record.js";
import { Evidence, signatureKey } from "./signatures.js";
import type { ExpectedContext } from "../crypto/minisign/index.js";

/** Keys per deleteMany call: S3's DeleteObjects limit. */
export const DELETE_BATCH_KEYS = 1000;
/** How old a killed writer's leftovers must be before a backup or prune removes them: older than any backup still running. */
export const LEFTOVER_SAFE_AGE_MS = 24 * 3_600_000;
/** Manifests and check records read at once when a whole label is inspected. */
export const READS_IN_PARALLEL = 8;

/** One backup folder as the repository sees it, with its manifest when it has a readable one. */
export interface InspectedFolder {
  folder: BackupFolder;
  /** Undefined for a folder without a manifest, or with one that cannot be read. */
  manifest: Manifest | undefined;
  /**
   * Why a committed folder is not a usable backup (an unreadable manifest, a missing artifact, a
   * size that differs from the manifest); empty when intact, and for folders without a manifest.
   */
  problems: string[];
  /** Its check records that checked the bytes the manifest describes (only with `checkRecords`). */
  matchingChecks: CheckRecordRef[];
}

export interface ResolvedBackup {
  folder: BackupFolder;
  manifest: Manifest;
  /** Every committed folder of the label, newest first (for gates that compare with others). */
  committed: BackupFolder[];
  /** Newer committed backups passed over because they are broken, with why (for `latest`). */
  skipped: { backupId: string; problems: string[] }[];
  /** What the listing says is wrong with the chosen backup (only ever non-empty for an explicit id). */
  problems: string[];
}

/** What a backup writes: artifacts first, then the manifest (the commit). */
export interface BackupWriter {
  readonly label: string;
  readonly backupId: string;
  /** Where it writes, without credentials (e.g. `s3://bucket/prefix`). */
  readonly url: string;
  /** Streams one artifact into the backup's folder; all or nothing, like Store.put. */
  putArtifact(
    name: string,
    body: Readable,
    options?: { sizeHint?: number; signal?: AbortSignal },
  ): Promise<{ bytes: number; key: string }>;
  /** Writes the manifest: the backup exists from here on. Returns the manifest's key. */
  /** `text`: the manifest exactly as written elsewhere (a copy keeps the original's bytes). */
  commit(manifest: Manifest, options?: { signal?: AbortSignal; text?: string }): Promise<string>;
  /** Takes back every artifact written so far (best effort); nothing is committed. */
  abort(): Promise<void>;
}

/** Where a backup can be written: one repository today; a fan-out over several later. */
export interface BackupTarget {
  readonly url: string;
  check(access: StoreAccess): Promise<void>;
  /** Removes what killed backups left (temporary files) older than `olderThan`; best effort. */
  sweepLeftovers(label: string, olderThan: Date): Promise<string[]>;
  beginBackup(
    label: string,
    backupId: string,
    options?: { retention?: PutOptions["retention"] },
  ): BackupWriter;
}

export class BackupRepository implements BackupTarget {
  /** The keys this repository signs with and trusts (docs/evidence.md). */
  readonly evidence: Evidence;

  constructor(
    private readonly store: Store,
    evidence?: EvidenceSettings | Evidence,
  ) {
    this.evidence = evidence instanceof Evidence ? evidence : new Evidence(evidence);
  }

  /** The store's location without credentials. */
  get url(): string {
    return this.store.url;
  }

  /** Whether the store can hold object locks (S3). */
  get canLock(): boolean {
    return this.store.objectLocks !== undefined;
  }

  /** Checks the store, and loads the signing key before any work when the command writes. */
  async check(access: StoreAccess): Promise<void> {
    if (access === "write") await this.evidence.signer();
    await this.store.check(access);
  }

  /** Every folder under the label, newest first, from one listing of `<label>/`. */
  async folders(label: string): Promise<BackupFolder[]> {
    const objects: ObjectInfo[] = [];
    for await (const object of this.store.list(`${label}/`)) objects.push(object);
    return groupBackupFolders(label, objects);
  }

  /** Folders under the label without a manifest: backups in flight, or failed ones. */
  async incompleteFolders(label: string): Promise<BackupFolder[]> {
    return (await this.folders(label)).filter((folder) => !folder.committed);
  }

  /**
   * Deletes one backup folder: the manifest first (from then on it is no backup), then the rest.
   * When the manifest cannot be deleted, nothing else is touched and the backup stays whole.
   */
  async deleteBackup(label: string, folder: BackupFolder): Promise<DeleteResult> {
    const manifest = manifestKey(label, folder.backupId);
    const keys = folder.objects.map((object) => object.key);
    const first = folder.committed ? await this.deleteKeys(label, [manifest]) : { deleted: [], failed: [] };
    if (first.failed.length > 0) return first;
    const rest = await this.deleteKeys(
      label,
      keys.filter((key) => key !== manifest),
    );
    return { deleted: [...first.deleted, ...rest.deleted], failed: rest.failed };
  }

  async readText(key: string): Promise<string> {
    return (await this.readBytes(key)).toString("utf8");
  }

  async readBytes(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }

  /** An object's `.minisig`, or undefined when there is none. */
  async readSignature(key: string): Promise<string | undefined> {
    try {
      return await this.readText(signatureKey(key));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Writes an object with its signature (when a signing key is set): the signature first, so
   * that a reader never sees the object without it (the manifest is the commit marker).
   */
  async putSigned(
    key: string,
    data: Buffer,
    context: ExpectedContext,
    options: Omit<PutOptions, "contentType"> = {},
  ): Promise<void> {
    const signature = await this.evidence.sign(data, context, new Date());
    if (signature !== undefined) {
      await this.store.put(signatureKey(key), Readable.from([Buffer.from(signature)]), {
        ...options,
        contentType: "text/plain",
      });
    }
    await this.store.put(key, Readable.from([data]), { ...options, contentType: "application/json" });
  }

  /**
   * Why the object at `key` (its bytes `data`) is not trusted, or undefined when it is signed by a
   * trusted key for this place, or when no trusted key is set. A manifest being rewritten (rekey)
   * may have its next signature beside it: either one counts.
   */
  async untrusted(key: string, data: Uint8Array, context: ExpectedContext): Promise<string | undefined> {
    if (!this.evidence.requiresSignatures) return undefined;
    const verdict = this.evidence.check(data, await this.readSignature(key), context);
    if (verdict.ok) return undefined;
    if (context.kind === "manifest") {
      const pending = await this.readText(pendingSignatureKey(key)).catch(() => undefined);
      if (pending !== undefined && this.evidence.check(data, pending, context).ok) return undefined;
    }
    return verdict.message;
  }

  /** Every key under a prefix (for records outside backup folders: the audit trail). */
  async listKeys(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    for await (const object of this.store.list(prefix)) objects.push(object);
    return objects;
  }

  /** The manifest of a backup; a damaged one is an OperationError (a failed backup, not bad input). */
  async readManifest(label: string, backupId: string): Promise<Manifest> {
    const key = manifestKey(label, backupId);
    let bytes: Buffer;
    try {
      bytes = await this.readBytes(key);
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      throw new OperationError(`reading ${this.url}/${key} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
    const text = bytes.toString("utf8");
    try {
      const manifest = parseManifest(text, `${this.url}/${key}`);
      if (manifest.backupId !== backupId || manifest.label !== label) {
        throw new OperationError(
          `${this.url}/${key} names backup ${manifest.label}/${manifest.backupId}, not ${label}/${backupId}: the manifest does not belong to its folder`,
        );
      }
      const untrusted = await this.untrusted(key, bytes, {
        kind: "manifest",
        label,
        backupId,
        file: MANIFEST_FILE,
      });
      if (untrusted !== undefined) {
        throw new OperationError(`${this.url}/${key}: refused: ${untrusted}`);
      }
      return manifest;
    } catch (error) {
      if (error instanceof InputError) throw new OperationError(error.message, { cause: error });
      throw error;
    }
  }

  /** A check record, or undefined when it cannot be read or parsed. */
  async readCheckRecord(ref: CheckRecordRef): Promise<CheckRecord | undefined> {
    const text = await this.readText(ref.key).catch(() => undefined);
    return text === undefined ? undefined : parseCheckRecord(text);
  }

  /**
   * The folder's check records that count: all of them without a trusted key; with one, only those
   * signed by it for this backup and file (a forged pass beside a damaged backup is ignored).
   */
  async trustedChecks(label: string, folder: BackupFolder): Promise<CheckRecordRef[]> {
    if (!this.evidence.requiresSignatures) return folder.checks;
    const trusted: CheckRecordRef[] = [];
    for (const ref of folder.checks) {
      const bytes = await this.readBytes(ref.key).catch(() => undefined);
      if (bytes === undefined) continue;
      const file = ref.key.slice(`${label}/${folder.backupId}/`.length);
      const why = await this.untrusted(ref.key, bytes, {
        kind: "check",
        label,
        backupId: folder.backupId,
        file,
      });
      if (why === undefined) trusted.push(ref);
    }
    return trusted;
  }

  /** A folder's manifest (when committed) and what is wrong with it, without reading check records. */
  async inspectFolder(label: string, folder: BackupFolder): Promise<Omit<InspectedFolder, "matchingChecks">> {
    if (!folder.committed) return { folder, manifest: undefined, problems: [] };
    try {
      const manifest = await this.readManifest(label, folder.backupId);
      return { folder, manifest, problems: folderProblems(folder, manifest) };
    } catch (error) {
      return { folder, manifest: undefined, problems: [`manifest.json: ${describeError(error)}`] };
    }
  }

  /**
   * Every folder under the label with its manifest and integrity, newest first; with
   * `checkRecords`, also which of its check records checked the bytes its manifest describes (only
   * the latest record of each kind and outcome is read: those are all that decide).
   */
  async inspect(label: string, options: { checkRecords: boolean }): Promise<InspectedFolder[]> {
    const folders = await this.folders(label);
    return mapBounded(folders, READS_IN_PARALLEL, async (listed) => {
      const folder = { ...listed, checks: await this.trustedChecks(label, listed) };
      const inspected = await this.inspectFolder(label, folder);
      const { manifest } = inspected;
      if (!options.checkRecords || !manifest || inspected.problems.length > 0) {
        return { ...inspected, matchingChecks: [] };
      }
      const deciding = latestOfEachKind(folder.checks);
      const matching: CheckRecordRef[] = [];
      for (const ref of deciding) {
        const record = await this.readCheckRecord(ref);
        // A failure counts whatever it read: a failed check withdraws trust either way.
        if (!ref.passed || (record && recordMatches(record, manifest))) matching.push(ref);
      }
      return { ...inspected, matchingChecks: matching };
    });
  }

  /**
   * The backup `selector` names under the label: `latest` (the newest intact committed one: a
   * broken newer one is passed over and named in `skipped`), a backup id, or `before:<time>` (the
   * newest intact one started at or before it). With `includeBroken` (verify, whose job is to find
   * the damage), `latest` is the newest committed one, intact or not. An unknown id, a folder
   * without a manifest or an empty label is bad input (exit 2).
   */
  async resolve(
    label: string,
    selector: string,
    options: { includeBroken?: boolean } = {},
  ): Promise<ResolvedBackup> {
    const folders = await this.folders(label);
    const committed = folders.filter((folder) => folder.committed);
    const skipped: ResolvedBackup["skipped"] = [];
    const newestIntact = async (candidates: BackupFolder[]) => {
      for (const folder of candidates) {
        const inspected = await this.inspectFolder(label, folder);
        if (inspected.manifest && inspected.problems.length === 0)
          return { folder, manifest: inspected.manifest };
        skipped.push({ backupId: folder.backupId, problems: inspected.problems });
      }
      return undefined;
    };
    if (selector === "latest" && options.includeBroken && committed[0]) selector = committed[0].backupId;
    if (selector === "latest") {
      const found = await newestIntact(committed);
      if (!found) {
        // Backups that are all broken (a damaged manifest, a lost dump) are failed backups, not a
        // wrong label: exit 1, naming each and why.
        if (skipped.length > 0) {
          throw new OperationError(
            `no intact backup under ${this.url}/${label}/: ${skipped.length} broken: ${describeSkipped(skipped)}`,
          );
        }
        throw new InputError(`--label "${label}": no backups under ${this.url}/${label}/`, {
          input: "label",
        });
      }
      return { ...found, committed, skipped, problems: [] };
    }
    if (selector.startsWith("before:")) {
      const time = parseBeforeTime(selector.slice("before:".length));
      const found = await newestIntact(
        committed.filter((folder) => folder.startedAt.getTime() <= time.getTime()),
      );
      if (!found) {
        if (skipped.length > 0) {
          throw new OperationError(
            `no intact backup under ${this.url}/${label}/ started at or before ${time.toISOString()}: ${skipped.length} broken: ${describeSkipped(skipped)}`,
          );
        }
        throw new InputError(
          `--backup "${selector}": no backup under ${this.url}/${label}/ started at or before ${time.toISOString()}`,
          { input: "backup" },
        );
      }
      return { ...found, committed, skipped, problems: [] };
    }
    if (!isBackupId(selector)) {
      throw new InputError(
        `--backup "${selector}": expected latest or a backup id such as 20261122T010500Z-abc123`,
        {
          input: "backup",
        },
      );
    }
    const folder = folders.find((candidate) => candidate.backupId === selector);
    if (!folder) {
      throw new InputError(`--backup "${selector}": no such backup under ${this.url}/${label}/`, {
        input: "backup",
      });
    }
    if (!folder.committed) {
      throw new InputError(
        `--backup "${selector}": the folder has no manifest, so it is not a backup (in flight, or failed)`,
        { input: "backup" },
      );
    }
    const manifest = await this.readManifest(label, folder.backupId);
    return { folder, manifest, committed, skipped, problems: folderProblems(folder, manifest) };
  }

  artifactKey(manifest: Manifest, artifact: Artifact): string {
    return artifactKey(manifest.label, manifest.backupId, artifact.name);
  }

  /** The stored bytes of an artifact, as they come from the store (check them: src/pipeline). */
  openArtifact(manifest: Manifest, artifact: Artifact): Promise<Readable> {
    return this.store.get(this.artifactKey(manifest, artifact));
  }

  async writeCheckRecord(
    record: Omit<CheckRecord, "schemaVersion" | "tool" | "at">,
    at: Date,
  ): Promise<string> {
    const full: CheckRecord = {
      schemaVersion: CHECK_RECORD_SCHEMA_VERSION,
      kind: record.kind,
      label: record.label,
      backupId: record.backupId,
      passed: record.passed,
      at: at.toISOString(),
      tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
      ...(record.artifacts ? { artifacts: record.artifacts } : {}),
      failures: record.failures,
      warnings: record.warnings,
      details: record.details,
    };
    const key = checkKey(record.label, record.backupId, at, record.kind, record.passed);
    await this.putSigned(key, Buffer.from(JSON.stringify(full, null, 2) + "\n"), {
      kind: "check",
      label: record.label,
      backupId: record.backupId,
      file: key.slice(`${record.label}/${record.backupId}/`.length),
    });
    return key;
  }

  beginBackup(
    label: string,
    backupId: string,
    options: { retention?: PutOptions["retention"] } = {},
  ): BackupWriter {
    return new FolderWriter(this, this.store, label, backupId, options.retention);
  }

  /** Writes one more object into a committed backup's folder (rekey's re-wrapped artifacts); all or nothing. */
  async putArtifactObject(
    manifest: Manifest,
    name: string,
    body: Readable,
    options: { retention?: PutOptions["retention"]; signal?: AbortSignal } = {},
  ): Promise<{ bytes: number; key: string }> {
    const key = artifactKey(manifest.label, manifest.backupId, name);
    const { bytes } = await this.store.put(key, body, {
      contentType: "application/octet-stream",
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.retention ? { retention: options.retention } : {}),
    });
    return { bytes, key };
  }

  /**
   * Replaces a committed backup's manifest (rekey). With a signing key the new signature waits
   * beside the manifest first (pendingSignatureKey), then the manifest, then `.minisig`: a reader
   * finds a manifest and a matching trusted signature after every step, so a crash leaves the
   * backup readable (with the old or the new keys).
   */
  async replaceManifest(
    manifest: Manifest,
    options: { retention?: PutOptions["retention"] } = {},
  ): Promise<string> {
    const key = manifestKey(manifest.label, manifest.backupId);
    const data = Buffer.from(serializeManifest(manifest));
    const put = options.retention ? { retention: options.retention } : {};
    const signature = await this.evidence.sign(
      data,
      { kind: "manifest", label: manifest.label, backupId: manifest.backupId, file: MANIFEST_FILE },
      new Date(),
    );
    if (signature === undefined) {
      await this.store.put(key, Readable.from([data]), { ...put, contentType: "application/json" });
      return key;
    }
    const pending = pendingSignatureKey(key);
    const signatureBody = () => Readable.from([Buffer.from(signature)]);
    // Not locked: it is deleted two steps later.
    await this.store.put(pending, signatureBody(), { contentType: "text/plain" });
    await this.store.put(key, Readable.from([data]), { ...put, contentType: "application/json" });
    await this.store.put(signatureKey(key), signatureBody(), { ...put, contentType: "text/plain" });
    await this.deleteKeys(manifest.label, [pending]);
    return key;
  }

  /** The object locks on these keys; an empty map for stores that cannot lock. */
  async objectLocks(keys: readonly string[]): Promise<Map<string, ObjectLock>> {
    return this.store.objectLocks ? this.store.objectLocks(keys) : new Map();
  }

  /**
   * Deletes keys in batches of DELETE_BATCH_KEYS; a batch that throws counts as failed for each of
   * its keys. Every key must lie inside `<label>/`: nothing outside a label's prefix is ever deleted.
   */
  async deleteKeys(
    label: string,
    keys: readonly string[],
    onBatch?: (done: number) => void,
  ): Promise<DeleteResult> {
    for (const key of keys) {
      if (!key.startsWith(`${label}/`)) {
        throw new OperationError(`refusing to delete "${key}": it is not inside ${label}/`);
      }
    }
    const result: DeleteResult = { deleted: [], failed: [] };
    for (let start = 0; start < keys.length; start += DELETE_BATCH_KEYS) {
      const batch = keys.slice(start, start + DELETE_BATCH_KEYS);
      try {
        const outcome = await this.store.deleteMany(batch);
        result.deleted.push(...outcome.deleted);
        result.failed.push(...outcome.failed);
      } catch (error) {
        const reason = describeError(error);
        for (const key of batch) result.failed.push({ key, reason });
      }
      onBatch?.(batch.length);
    }
    return result;
  }

  /**
   * Removes what killed writers left under the label (a local store's `.partial-*` files) once
   * last written before `olderThan`. Best effort: a failure here never fails the caller.
   */
  async sweepLeftovers(label: string, olderThan: Date): Promise<string[]> {
    if (!this.store.sweepLeftovers) return [];
    return this.store.sweepLeftovers(`${label}/`, olderThan).catch(() => []);
  }
}

/** Writes one backup folder: artifacts as they come, the manifest last. */
class FolderWriter implements BackupWriter {
  private readonly written: string[] = [];

  constructor(
    private readonly repository: BackupRepository,
    private readonly store: Store,
    readonly label: string,
    readonly backupId: string,
    private readonly retention: PutOptions["retention"],
  ) {}

  get url(): string {
    return this.store.url;
  }

  async putArtifact(
    name: string,
    body: Readable,
    options: { sizeHint?: number; signal?: AbortSignal } = {},
  ): Promise<{ bytes: number; key: string }> {
    const key = artifactKey(this.label, this.backupId, name);
    this.written.push(key);
    const { bytes } = await this.store.put(key, body, {
      contentType: "application/octet-stream",
      ...(options.sizeHint !== undefined ? { sizeHint: options.sizeHint } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.retention ? { retention: this.retention } : {}),
    });
    return { bytes, key };
  }

  async commit(manifest: Manifest, options: { signal?: AbortSignal; text?: string } = {}): Promise<string> {
    if (manifest.label !== this.label || manifest.backupId !== this.backupId) {
      throw new OperationError(
        `manifest of ${manifest.label}/${manifest.backupId} given to ${this.label}/${this.backupId}`,
      );
    }
    const key = manifestKey(this.label, this.backupId);
    // The signature goes first: the manifest is the commit marker, and a committed backup is signed.
    if (this.repository.evidence.signs) this.written.push(signatureKey(key));
    await this.repository.putSigned(
      key,
      Buffer.from(options.text ?? serializeManifest(manifest)),
      { kind: "manifest", label: this.label, backupId: this.backupId, file: MANIFEST_FILE },
      {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(this.retention ? { retention: this.retention } : {}),
      },
    );
    return key;
  }

  async abort(): Promise<void> {
    if (this.written.length === 0) return;
    await this.store.deleteMany([...this.written]).catch(() => undefined);
  }
}

/** The latest pass and the latest failure of each kind: all that decides whether a backup is verified. */
function latestOfEachKind(checks: readonly CheckRecordRef[]): CheckRecordRef[] {
  const latest = new Map<string, CheckRecordRef>();
  for (const check of checks) {
    const key = `${check.kind}/${check.passed}`;
    const seen = latest.get(key);
    if (!seen || check.time >= seen.time) latest.set(key, check);
  }
  return [...latest.values()].sort((a, b) => a.time.getTime() - b.time.getTime());
}

function describeSkipped(skipped: ResolvedBackup["skipped"]): string {
  return skipped.map((entry) => `${entry.backupId}: ${entry.problems.join(", ")}`).join("; ");
}

function parseBeforeTime(text: string): Date {
  const asId = parseBackupIdTime(`${text}-aaaaaa`);
  const time = asId ?? (/^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN));
  if (Number.isNaN(time.getTime())) {
    throw new InputError(
      `--backup "before:${text}": expected an ISO 8601 time such as before:2026-11-22T01:00:00Z`,
      {
        input: "backup",
      },
    );
  }
  return time;
}

/** Runs `work` over `items` with at most `limit` promises in flight; results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Where a manifest's next signature waits while the manifest is rewritten (rekey): written before
 * the new manifest, replaced by `.minisig` after it, so a reader finds a valid signature at every
 * step.
 */
export function pendingSignatureKey(manifestObjectKey: string): string {
  return `${manifestObjectKey}.next.minisig`;
}
