/** Shared helpers for the age tests: whole-buffer encrypt/decrypt through the real streams. */
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  createDecryptStream,
  createEncryptStream,
  type Identity,
  type Recipient,
} from "../../src/crypto/age/index.js";
import { encodeHeaderWithoutMac, encodeMacLine } from "../../src/crypto/age/format.js";
import { headerMac } from "../../src/crypto/age/primitives.js";
import { newPayloadNonce, payloadKey, sealChunk } from "../../src/crypto/age/stream.js";

/** `data` cut into pieces of `size` bytes, to exercise the streams' buffering at odd boundaries. */
export function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      into.push(chunk);
      callback();
    },
  });
}

export async function encrypt(
  plaintext: Buffer,
  recipients: Recipient[],
  pieceSize = 65536,
): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces(plaintext, pieceSize)),
    createEncryptStream(recipients),
    collector(out),
  );
  return Buffer.concat(out);
}

export interface Decrypted {
  /** Everything the stream emitted, even when it then failed. */
  plaintext: Buffer;
  error: unknown;
}

export async function decrypt(file: Buffer, identities: Identity[], pieceSize = 65536): Promise<Decrypted> {
  const out: Buffer[] = [];
  let error: unknown;
  try {
    await pipeline(Readable.from(pieces(file, pieceSize)), createDecryptStream(identities), collector(out));
  } catch (caught) {
    error = caught;
  }
  return { plaintext: Buffer.concat(out), error };
}

/**
 * An age file built chunk by chunk, to make payloads our encrypter never writes (an empty last
 * chunk after others, two last chunks...). The header is valid for `recipient`.
 */
export async function buildFile(
  recipient: Recipient,
  chunks: { plaintext: Buffer; last: boolean }[],
): Promise<Buffer> {
  const fileKey = randomBytes(16);
  const header = encodeHeaderWithoutMac(await recipient.wrap(fileKey));
  const nonce = newPayloadNonce();
  const key = payloadKey(fileKey, nonce);
  const sealed = chunks.flatMap(({ plaintext, last }, counter) => sealChunk(key, counter, last, plaintext));
  return Buffer.concat([header, encodeMacLine(headerMac(fileKey, header)), nonce, ...sealed]);
}

/** Where the payload starts: just past the header and the 16-byte nonce. */
export function payloadOffset(file: Buffer): number {
  const footer = file.indexOf("\n---");
  return file.indexOf(0x0a, footer + 1) + 1 + 16;
}
