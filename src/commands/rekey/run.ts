/**
 * rekey: key rotation without re-encrypting data. Each encrypted artifact of a backup gets a new
 * age header wrapping the same file key for the new recipients (src/crypto/age/rewrap.ts); the
 * payload is copied byte for byte. The old identity is needed: the file key comes out of the old
 * header.
 *
 * Never in place, so that a crash at any point leaves a readable backup: the re-wrapped artifact is
 * written under a new name beside the old one, then the manifest is replaced (naming the new
 * object, the new recipients, and recording the old ones), and only then is the old object
 * deleted. Before the manifest, the backup is the old one plus an unreferenced object; after it,
 * the new one plus a leftover that a rerun or prune removes.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { parseRecipient, rewrapAge } from "../../crypto/age/index.js";
import { InputError, OperationError, describeError } from "../../domain/errors.js";
import type { Artifact, Manifest } from "../../domain/manifest.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import type { PutOptions } from "../../storage/store.js";
import type { DecryptionKeys, StorageSettings } from "../../settings/types.js";
import type { CommandDeps } from "../command.js";
import { identitiesFor } from "../read-backup.js";

export interface RekeySettings extends StorageSettings {
  /** latest, a backup id, or all. */
  backup: string;
  keys: DecryptionKeys;
  recipients: string[];
}

/** What the manifest keeps of each rekey: where the backup was readable before. */
export interface RekeyEntry {
  at: string;
  previousRecipients: string[];
  previousPassphrase: boolean;
  recipients: string[];
  /** The artifacts as they were before, by name: the old objects' names and digests. */
  previousArtifacts: { name: string; bytes: number; sha256: string }[];
}

export type RekeyedManifest = Manifest & { rekeys?: RekeyEntry[] };

export interface RekeyOutcome {
  backupId: string;
  /** rekeyed; unchanged: already encrypted to exactly these recipients; skipped: unencrypted. */
  status: "rekeyed" | "unchanged" | "skipped";
  artifacts: { from: string; to: string; bytes: number; sha256: string }[];
  /** Old objects that could not be deleted (an object lock, say); the backup is rekeyed regardless. */
  leftovers: string[];
}

export interface RekeyResult {
  label: string;
  recipients: string[];
  backups: RekeyOutcome[];
}

/** `dump.age` -> `dump.rekeyed-20261129T040000Z.age`; a former rekey's stamp is replaced. */
export function rekeyedName(name: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const base = name.replace(/(\.rekeyed-\d{8}T\d{6}Z)?\.age$/, "");
  return `${base}.rekeyed-${stamp}.age`;
}

function retentionOf(manifest: Manifest, now: Date): PutOptions["retention"] {
  const lock = manifest.objectLock;
  if (!lock) return undefined;
  const until = new Date(lock.retainUntil);
  return until.getTime() > now.getTime() ? { mode: lock.mode, until } : undefined;
}

async function* measured(
  source: AsyncIterable<Buffer | Uint8Array>,
  digest: { hash: ReturnType<typeof createHash>; bytes: number },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const data = Buffer.from(chunk);
    digest.hash.update(data);
    digest.bytes += data.length;
    yield data;
  }
}

export async function runRekey(settings: RekeySettings, deps: CommandDeps): Promise<RekeyResult> {
  const { log } = deps;
  if (settings.recipients.length === 0) {
    throw new InputError("--recipient: give the new recipients (age1...) the backups are rekeyed for", {
      input: "recipient",
    });
  }
  const recipients = settings.recipients.map((text) => parseRecipient(text));
  const repository = new BackupRepository(deps.store, settings.evidence);
  if (repository.evidence.requiresSignatures && !repository.evidence.signs) {
    throw new InputError(
      "--signing-key-file: rekey rewrites the manifest, and with --trusted-key set an unsigned one would be refused; give the signing key",
      { input: "signing-key-file" },
    );
  }
  await repository.check("write");
  const manifests: Manifest[] = [];
  if (settings.backup === "all") {
    for (const inspected of await repository.inspect(settings.label, { checkRecords: false })) {
      if (!inspected.folder.committed) continue;
      if (!inspected.manifest || inspected.problems.length > 0) {
        log.warn(
          `backup ${inspected.folder.backupId} is broken and was left as it is: ${inspected.problems.join("; ")}`,
        );
        continue;
      }
      manifests.push(inspected.manifest);
    }
  } else {
    const resolved = await repository.resolve(settings.label, settings.backup);
    if (resolved.problems.length > 0) {
      throw new OperationError(
        `backup ${settings.label}/${resolved.manifest.backupId} is broken, so it was not rekeyed: ${resolved.problems.join("; ")}`,
      );
    }
    manifests.push(resolved.manifest);
  }
  const outcomes: RekeyOutcome[] = [];
  for (const manifest of manifests) {
    deps.signal.throwIfAborted();
    outcomes.push(await rekeyBackup(repository, manifest, settings, recipients, deps));
  }
  return { label: settings.label, recipients: settings.recipients, backups: outcomes };
}

async function rekeyBackup(
  repository: BackupRepository,
  manifest: RekeyedManifest,
  settings: RekeySettings,
  recipients: ReturnType<typeof parseRecipient>[],
  deps: CommandDeps,
): Promise<RekeyOutcome> {
  const name = `${manifest.label}/${manifest.backupId}`;
  const { encryption } = manifest;
  const none: RekeyOutcome = { backupId: manifest.backupId, status: "skipped", artifacts: [], leftovers: [] };
  if (encryption.format === "none") {
    deps.log.warn(`backup ${name} is not encrypted; rekey leaves it as it is`);
    return none;
  }
  const wanted = [...new Set(settings.recipients)].sort();
  if (!encryption.passphrase && [...encryption.recipients].sort().join(" ") === wanted.join(" ")) {
    deps.log.info(`backup ${name} is already encrypted to exactly these recipients`);
    return { ...none, status: "unchanged" };
  }
  if (!repository.evidence.signs && (await repository.readSignature(`${name}/manifest.json`)) !== undefined) {
    throw new InputError(
      `--signing-key-file: backup ${name} is signed, and its rewritten manifest must be too; give the signing key`,
      { input: "signing-key-file" },
    );
  }
  const identities = identitiesFor(manifest, settings.keys, name);
  const now = deps.now();
  const retention = retentionOf(manifest, now);
  const replaced: { old: Artifact; next: Artifact }[] = [];
  try {
    for (const artifact of manifest.artifacts) {
      if (artifact.encryption !== "age-v1") continue;
      const before = { hash: createHash("sha256"), bytes: 0 };
      const after = { hash: createHash("sha256"), bytes: 0 };
      const source = await repository.openArtifact(manifest, artifact);
      const body = Readable.from(
        measured(rewrapAge(measured(source, before), identities, recipients), after),
      );
      const nextName = rekeyedName(artifact.name, now);
      deps.log.info(
        `Re-wrapping ${name}/${artifact.name} for ${recipients.length} recipient(s) as ${nextName}`,
      );
      const { bytes } = await repository.putArtifactObject(manifest, nextName, body, {
        signal: deps.signal,
        ...(retention ? { retention } : {}),
      });
      const next: Artifact = {
        ...artifact,
        name: nextName,
        stored: { bytes, sha256: after.hash.digest("hex") },
      };
      replaced.push({ old: artifact, next });
      // The payload is copied unchecked: so the old bytes must be exactly the manifest's.
      const sha256 = before.hash.digest("hex");
      if (before.bytes !== artifact.stored.bytes || sha256 !== artifact.stored.sha256) {
        throw new OperationError(
          `${name}/${artifact.name} is not what the manifest says (${before.bytes} bytes, sha256 ${sha256}); nothing was rekeyed`,
        );
      }
    }
  } catch (error) {
    await repository
      .deleteKeys(
        manifest.label,
        replaced.map(({ next }) => repository.artifactKey(manifest, next)),
      )
      .catch(() => undefined);
    if (error instanceof InputError || error instanceof OperationError) throw error;
    throw new OperationError(`rekeying ${name} failed, and it is left as it was: ${describeError(error)}`, {
      cause: error,
    });
  }
  const rekeyed: RekeyedManifest = {
    ...manifest,
    encryption: { format: "age-v1", recipients: wanted, passphrase: false },
    artifacts: manifest.artifacts.map(
      (artifact) => replaced.find(({ old }) => old === artifact)?.next ?? artifact,
    ),
    rekeys: [
      ...(manifest.rekeys ?? []),
      {
        at: now.toISOString(),
        previousRecipients: encryption.recipients,
        previousPassphrase: encryption.passphrase,
        recipients: wanted,
        previousArtifacts: replaced.map(({ old }) => ({ name: old.name, ...old.stored })),
      },
    ],
  };
  await repository.replaceManifest(rekeyed, retention ? { retention } : {});
  const oldKeys = replaced.map(({ old }) => repository.artifactKey(manifest, old));
  const deleted = await repository.deleteKeys(manifest.label, oldKeys).catch(() => ({
    deleted: [],
    failed: oldKeys.map((key) => ({ key, reason: "delete failed" })),
  }));
  for (const failure of deleted.failed) {
    deps.log.warn(
      `the old ${failure.key} could not be deleted (${failure.reason}); it is no longer part of the backup`,
    );
  }
  deps.log.info(`Rekeyed ${name}: readable by ${wanted.join(", ")}`);
  return {
    backupId: manifest.backupId,
    status: "rekeyed",
    artifacts: replaced.map(({ old, next }) => ({ from: old.name, to: next.name, ...next.stored })),
    leftovers: deleted.failed.map((failure) => failure.key),
  };
}
