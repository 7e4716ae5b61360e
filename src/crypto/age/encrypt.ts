/** Streaming age v1 encryption: plaintext in, age file bytes out, in bounded memory. */
import { randomBytes, type KeyObject } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { InputError } from "../../domain/errors.js";
import { encodeHeaderWithoutMac, encodeMacLine } from "./format.js";
import type { Recipient } from "./keys.js";
import { headerMac, FILE_KEY_LENGTH } from "./primitives.js";
import { newPayloadNonce, payloadKey, sealChunk, CHUNK_SIZE } from "./stream.js";

/** Builds the header for a fresh file key; returns it with the payload nonce, and the payload key. */
async function buildPrologue(
  recipients: readonly Recipient[],
): Promise<{ prologue: Buffer; key: KeyObject }> {
  const fileKey = randomBytes(FILE_KEY_LENGTH);
  const stanzas = (await Promise.all(recipients.map((recipient) => recipient.wrap(fileKey)))).flat();
  const header = encodeHeaderWithoutMac(stanzas);
  const nonce = newPayloadNonce();
  const prologue = Buffer.concat([header, encodeMacLine(headerMac(fileKey, header)), nonce]);
  return { prologue, key: payloadKey(fileKey, nonce) };
}

class EncryptStream extends Transform {
  readonly #recipients: readonly Recipient[];
  #key: KeyObject | undefined;
  #counter = 0;
  // The last chunk is sealed with a different nonce, and only the end of the input tells which chunk
  // is last: so up to one chunk of plaintext is held back until more input (or the end) arrives.
  #pending = Buffer.allocUnsafe(CHUNK_SIZE);
  #pendingLength = 0;

  constructor(recipients: readonly Recipient[]) {
    super();
    this.#recipients = recipients;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#key) {
      this.#write(chunk, this.#key);
      callback();
      return;
    }
    this.#start().then((key) => {
      this.#write(chunk, key);
      callback();
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    const finish = (key: KeyObject): void => {
      // A plaintext that is empty, or a multiple of the chunk size, ends with a pending chunk that
      // is empty or full, sealed as last: the spec allows an empty last chunk only when it is the
      // only chunk, and that is the one case where it happens here.
      this.#seal(key, this.#pending.subarray(0, this.#pendingLength), true);
      this.#pendingLength = 0;
      callback();
    };
    if (this.#key) finish(this.#key);
    else this.#start().then(finish, callback);
  }

  async #start(): Promise<KeyObject> {
    const { prologue, key } = await buildPrologue(this.#recipients);
    this.push(prologue);
    this.#key = key;
    return key;
  }

  #write(data: Buffer, key: KeyObject): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.#pendingLength === CHUNK_SIZE) {
        // More input follows a full pending chunk, so that chunk is not the last one.
        this.#seal(key, this.#pending, false);
        this.#pendingLength = 0;
      }
      if (this.#pendingLength === 0 && data.length - offset > CHUNK_SIZE) {
        // Whole chunks with more input after them are sealed straight from the input, uncopied.
        this.#seal(key, data.subarray(offset, offset + CHUNK_SIZE), false);
        offset += CHUNK_SIZE;
        continue;
      }
      const copied = data.copy(
        this.#pending,
        this.#pendingLength,
        offset,
        offset + CHUNK_SIZE - this.#pendingLength,
      );
      this.#pendingLength += copied;
      offset += copied;
    }
  }

  #seal(key: KeyObject, plaintext: Buffer, last: boolean): void {
    const [ciphertext, tag] = sealChunk(key, this.#counter++, last, plaintext);
    this.push(ciphertext);
    this.push(tag);
  }
}

/**
 * A Transform that encrypts its input to `recipients` in the age v1 format, readable by
 * `age -d`. A passphrase recipient must be the only recipient (the format requires it).
 */
export function createEncryptStream(recipients: readonly Recipient[]): Transform {
  if (recipients.length === 0) throw new InputError("encryption: at least one recipient is needed");
  if (recipients.length > 1 && recipients.some((recipient) => recipient.kind === "scrypt")) {
    throw new InputError("encryption: a passphrase cannot be combined with other recipients or passphrases");
  }
  return new EncryptStream(recipients);
}
