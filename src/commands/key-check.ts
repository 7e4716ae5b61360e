/**
 * Whether the key given opens the backup, asked of the age header itself before any check starts.
 * identitiesFor() compares an identity with the recipients the manifest lists, but a passphrase
 * can only be tried, and a wrong key found halfway through a check would read as damage: a FAIL
 * record against a good backup, which prune then no longer counts as verified. A wrong key is bad
 * input: exit 2, nothing recorded.
 */
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AgeDecryptError, createDecryptStream, type Identity } from "../crypto/age/index.js";
import { InputError } from "../domain/errors.js";
import { findDumpArtifact, type Manifest } from "../domain/manifest.js";
import type { BackupRepository } from "../repository/backup-repository.js";
import { readArtifact } from "../repository/read-artifact.js";
import type { DecryptionKeys } from "../settings/types.js";

/** Far more than any age header (a stanza per recipient, about 100 bytes each). */
const HEADER_BYTES = 64 * 1024;

/**
 * Reads the start of the dump artifact (a files-only backup: its first) and unwraps its file key with `identities`: InputError
 * naming the key's input when none unwraps it and the stored object matches the manifest (read
 * whole only then). Anything else (a missing object, a damaged header) is left for the check
 * itself to find and report.
 */
export async function checkKeysOpen(
  repository: BackupRepository,
  manifest: Manifest,
  identities: readonly Identity[] | undefined,
  keys: DecryptionKeys,
): Promise<void> {
  // The dump, or for a files-only backup its first artifact: every artifact has the same recipients.
  const artifact = findDumpArtifact(manifest) ?? manifest.artifacts[0];
  if (!artifact || !identities || identities.length === 0 || artifact.encryption !== "age-v1") return;
  let head: Buffer;
  try {
    head = await readHead(await repository.openArtifact(manifest, artifact), HEADER_BYTES);
  } catch {
    return;
  }
  const decrypt = createDecryptStream(identities);
  try {
    await pipeline(
      Readable.from([head]),
      decrypt,
      new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    );
  } catch (error) {
    if (!(error instanceof AgeDecryptError) || error.failure !== "no match") return;
    // A flipped byte in a stanza reads as a wrong key too: only an object that is byte for byte
    // what the manifest says makes it the key's fault. Damage is the check's to find and record.
    const stored = await readArtifact(repository, manifest, artifact, undefined);
    if (stored.problems.length > 0) return;
    const byPassphrase = manifest.encryption.format !== "none" && manifest.encryption.passphrase;
    const input = byPassphrase ? "passphrase-file" : "identity-file";
    const what = byPassphrase ? "the passphrase" : "the identity";
    const given = input === "passphrase-file" ? keys.passphrase : keys.identityText;
    if (given === undefined) return;
    throw new InputError(
      `--${input}: ${what} does not open backup ${manifest.backupId}, whose stored object is intact (its sha256 matches the manifest); nothing was recorded`,
      { input },
    );
  }
}

/** The first `limit` bytes of a stream (fewer if it is shorter); the rest is not read. */
async function readHead(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) break;
    }
  } finally {
    (stream as { destroy?: () => void }).destroy?.();
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
