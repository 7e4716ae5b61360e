/**
 * The STREAM payload of age v1: 64 KiB plaintext chunks, each sealed with ChaCha20-Poly1305 under
 * the payload key and a nonce of an 11-byte big-endian counter and a last-chunk flag byte.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import { hkdf, TAG_LENGTH } from "./primitives.js";

export const CHUNK_SIZE = 64 * 1024;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_LENGTH;
export const PAYLOAD_NONCE_LENGTH = 16;
// 2^48 chunks of 64 KiB is 16 EiB: the counter's 11 bytes are never exhausted in practice, and six
// bytes stay within a JavaScript number.
const MAX_CHUNKS = 2 ** 48;

export function newPayloadNonce(): Buffer {
  return randomBytes(PAYLOAD_NONCE_LENGTH);
}

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): KeyObject {
  return createSecretKey(hkdf(fileKey, nonce, "payload"));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  if (counter >= MAX_CHUNKS) throw new Error("age STREAM chunk counter overflow");
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Seals one chunk; returns the ciphertext and its tag, to be written in that order. */
export function sealChunk(
  key: KeyObject,
  counter: number,
  last: boolean,
  plaintext: Buffer,
): [Buffer, Buffer] {
  const cipher = createCipheriv("chacha20-poly1305", key, chunkNonce(counter, last), {
    authTagLength: TAG_LENGTH,
  });
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return [ciphertext, cipher.getAuthTag()];
}

/**
 * Opens one sealed chunk (ciphertext followed by its tag), or returns undefined when it does not
 * authenticate. Nothing is returned before the tag has been checked.
 */
export function openChunk(
  key: KeyObject,
  counter: number,
  last: boolean,
  sealed: Buffer,
): Buffer | undefined {
  const decipher = createDecipheriv("chacha20-poly1305", key, chunkNonce(counter, last), {
    authTagLength: TAG_LENGTH,
  });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plaintext;
}
