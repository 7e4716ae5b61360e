/**
 * The stages an artifact's bytes go through, in one place for every writer and reader:
 *
 *   write: plaintext digest -> compress -> encrypt -> stored digest -> store
 *   read:  store -> stored digest -> decrypt -> decompress -> plaintext digest -> consumer
 *
 * Compression is the seam for Lifeboat's own compression (issue 13): `compressStages` and
 * `decompressStages` return no stage for "none", the only method so far; a zstd stage goes there.
 * Taps that observe the plaintext (an archive parser counting rows per table) are passed in as
 * `plaintextTaps` and sit right after the plaintext digest.
 */
import {
  createDecryptStream,
  createEncryptStream,
  type Identity,
  type Recipient,
} from "../crypto/age/index.js";
import { InputError } from "../domain/errors.js";
import type { Artifact } from "../domain/manifest.js";
import { digestStage, transformStage, type Stage } from "./stage.js";

/** Stage names whose results every artifact pipeline has. */
export const PLAINTEXT = "plaintext";
export const STORED = "stored";

/** The compression method names this code can write and read. */
export const COMPRESSION_METHODS: readonly string[] = ["none"];

export function compressStages(method: string): Stage[] {
  if (method === "none") return [];
  throw new InputError(`compression "${method}": expected one of ${COMPRESSION_METHODS.join(", ")}`);
}

export function decompressStages(method: string): Stage[] {
  if (method === "none") return [];
  throw new Error(`artifact compression "${method}" is not one this Lifeboat reads (made by a newer one?)`);
}

/** Recipients to encrypt to, or an empty list for an unencrypted backup (the explicit opt-out). */
export function writeStages(options: {
  recipients: readonly Recipient[];
  compression: string;
  plaintextTaps?: Stage[];
}): Stage[] {
  return [
    digestStage(PLAINTEXT),
    ...(options.plaintextTaps ?? []),
    ...compressStages(options.compression),
    ...(options.recipients.length > 0
      ? [transformStage("encrypt", createEncryptStream(options.recipients))]
      : []),
    digestStage(STORED),
  ];
}

/**
 * `identities` undefined reads the stored bytes only (a shallow check); otherwise the pipeline ends
 * in the plaintext (decrypted with them, or as stored when the artifact is not encrypted).
 */
export function readStages(
  artifact: Pick<Artifact, "encryption" | "compression">,
  identities: readonly Identity[] | undefined,
  options: { plaintextTaps?: Stage[] } = {},
): Stage[] {
  const stored = digestStage(STORED);
  if (identities === undefined) return [stored];
  return [
    stored,
    ...(artifact.encryption === "age-v1" ? [transformStage("decrypt", createDecryptStream(identities))] : []),
    ...decompressStages(artifact.compression),
    digestStage(PLAINTEXT),
    ...(options.plaintextTaps ?? []),
  ];
}
