/**
 * The stages an artifact's bytes go through, in one place for every writer and reader:
 *
 *   write: plaintext digest -> compress -> encrypt -> stored digest -> store
 *   read:  store -> stored digest -> decrypt -> decompress -> plaintext digest -> consumer
 *
 * Compression is Lifeboat's own (src/compress), keyed by the artifact's `compression` ("zstd:1",
 * "gzip:6", "none"): no stage for "none". Taps that observe the plaintext (an archive parser counting rows per table) are passed in as
 * `plaintextTaps` and sit right after the plaintext digest.
 */
import {
  createDecryptStream,
  createEncryptStream,
  type Identity,
  type Recipient,
} from "../crypto/age/index.js";
import { createCompressor, createDecompressor, parseCompression } from "../compress/index.js";
import type { Artifact } from "../domain/manifest.js";
import type { Transform } from "node:stream";
import { digestStage, releaseInputWhenDone, transformStage, type Stage } from "./stage.js";

/** Stage names whose results every artifact pipeline has. */
export const PLAINTEXT = "plaintext";
export const STORED = "stored";

/** The compression method names this code can write and read. */
export const COMPRESSION_METHODS: readonly string[] = ["zstd", "gzip", "none"];

/** `compression` is the manifest's text ("zstd:1"); a bad one is the user's input (--compression). */
export function compressStages(compression: string): Stage[] {
  const spec = parseCompression(compression);
  if (spec.method === "none") return [];
  return [transformStage("compress", createCompressor(spec))];
}

/** The level does not matter to reading: any zstd or gzip stream decompresses alike. */
export function decompressStages(compression: string): Stage[] {
  const method = compression.split(":", 1)[0] ?? "";
  if (method === "none") return [];
  if (method === "zstd" || method === "gzip") {
    return [transformStage("decompress", createDecompressor(method))];
  }
  throw new Error(
    `artifact compression "${compression}" is not one this Lifeboat reads (made by a newer one?)`,
  );
}

/** Recipients to encrypt to, or an empty list for an unencrypted backup (the explicit opt-out). */
export function writeStages(options: {
  recipients: readonly Recipient[];
  compression: string;
  plaintextTaps?: Stage[];
  /**
   * Where the source's chunks go back once the first stage that copies or compresses them is done
   * (releaseInputWhenDone). Never called when neither compression nor encryption is on: the store
   * would then hold the chunks themselves.
   */
  releaseInput?: (chunk: Buffer) => void;
}): Stage[] {
  const compress = compressStages(options.compression);
  const encrypt =
    options.recipients.length > 0 ? [transformStage("encrypt", createEncryptStream(options.recipients))] : [];
  const consumer = compress[0] ?? encrypt[0];
  if (options.releaseInput && consumer) {
    releaseInputWhenDone(consumer.stream as Transform, options.releaseInput);
  }
  return [
    digestStage(PLAINTEXT),
    ...(options.plaintextTaps ?? []),
    ...compress,
    ...encrypt,
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
