/**
 * Streaming age v1 decryption: age file bytes in, plaintext out, in bounded memory. Every chunk is
 * authenticated before any of its plaintext is emitted, and the stream fails (an OperationError)
 * on anything but a complete, untampered file for one of the identities.
 */
import type { KeyObject } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { InputError } from "../../domain/errors.js";
import { AgeDecryptError } from "./errors.js";
import { ARMOR_BEGIN, malformed, parseHeader, scanHeader, VERSION_LINE, type Stanza } from "./format.js";
import type { Identity } from "./keys.js";
import { headerMac, macsEqual, TAG_LENGTH } from "./primitives.js";
import { STANZA_TYPE as SCRYPT_STANZA_TYPE } from "./scrypt.js";
import { openChunk, payloadKey, ENCRYPTED_CHUNK_SIZE, PAYLOAD_NONCE_LENGTH } from "./stream.js";

/** Far above any real header (an X25519 stanza is about 110 bytes); bounds memory on garbage input. */
export const MAX_HEADER_LENGTH = 1024 * 1024;

function tampered(failure: "HMAC" | "payload", detail: string): AgeDecryptError {
  return new AgeDecryptError(failure, `the file is corrupted or was tampered with: ${detail}`);
}

function truncated(failure: "header" | "payload", detail: string): AgeDecryptError {
  return new AgeDecryptError(failure, `the file is truncated: ${detail}`);
}

/** How many leading bytes checkStart looks at: armor may be preceded by whitespace. */
const START_SAMPLE = 256;

/**
 * Rejects input that is not a binary age v1 file as soon as its first bytes (up to START_SAMPLE of
 * them) show it.
 */
function checkStart(start: string): void {
  if (start.startsWith(VERSION_LINE)) return;
  const complete = start.length >= START_SAMPLE;
  // Too short to tell yet which of the cases below it is.
  if (!complete && VERSION_LINE.startsWith(start)) return;
  // The armor format allows whitespace around the armored block.
  const armored = start.replace(/^[ \t\r\n]+/, "");
  if (armored.startsWith(ARMOR_BEGIN)) {
    throw new AgeDecryptError(
      "armor",
      "the file is ASCII-armored (age -a), which is not supported: decode it with age first",
    );
  }
  if (!complete && ARMOR_BEGIN.startsWith(armored)) return;
  if (start.startsWith("age-encryption.org/")) {
    throw new AgeDecryptError(
      "header",
      "the file is in an unsupported age format version (expected age-encryption.org/v1)",
    );
  }
  throw new AgeDecryptError(
    "header",
    "the input is not an age file: it does not start with age-encryption.org/v1",
  );
}

function noMatch(stanzas: readonly Stanza[], identities: readonly Identity[]): AgeDecryptError {
  if (stanzas.length === 1 && stanzas[0]!.type === SCRYPT_STANZA_TYPE) {
    return new AgeDecryptError(
      "no match",
      identities.some((identity) => identity.kind === "scrypt")
        ? "the passphrase is incorrect for this file"
        : "the file is encrypted with a passphrase, and no passphrase was given",
    );
  }
  const counts = new Map<string, number>();
  for (const { type } of stanzas) counts.set(type.slice(0, 40), (counts.get(type.slice(0, 40)) ?? 0) + 1);
  const types = [...counts].map(([type, count]) => `${count} ${type}`).join(", ");
  return new AgeDecryptError(
    "no match",
    `no identity matches any recipient of this file (its recipients: ${types})`,
  );
}

/** Finds the file key for a parsed header, and checks the header's MAC with it. */
export async function unlock(header: Buffer, identities: readonly Identity[]): Promise<Buffer> {
  const { stanzas, macInput, mac } = parseHeader(header);
  // The spec requires scrypt identities to refuse this (a passphrase implies that only its holders
  // wrote the file). It is refused for every identity: no honest encrypter writes such a header.
  if (stanzas.length > 1 && stanzas.some((stanza) => stanza.type === SCRYPT_STANZA_TYPE)) {
    throw malformed("an scrypt stanza must be the only stanza in the header");
  }
  for (const identity of identities) {
    const fileKey = await identity.unwrap(stanzas);
    if (!fileKey) continue;
    if (!macsEqual(headerMac(fileKey, macInput), mac))
      throw tampered("HMAC", "the header's MAC does not match");
    return fileKey;
  }
  throw noMatch(stanzas, identities);
}

class DecryptStream extends Transform {
  readonly #identities: readonly Identity[];
  #state: "header" | "nonce" | "payload" = "header";
  #header = Buffer.allocUnsafe(4096);
  #headerLength = 0;
  #lineStart = 0;
  #fileKey: Buffer | undefined;
  #nonce = Buffer.alloc(PAYLOAD_NONCE_LENGTH);
  #nonceLength = 0;
  #key: KeyObject | undefined;
  #counter = 0;
  // Only the end of the input tells whether a full-size chunk is the last one (its nonce differs),
  // so up to one sealed chunk is held until more input, or the end, arrives.
  #pending = Buffer.allocUnsafe(ENCRYPTED_CHUNK_SIZE);
  #pendingLength = 0;

  constructor(identities: readonly Identity[]) {
    super();
    this.#identities = identities;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#state !== "header") {
      try {
        this.#acceptPayload(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback();
      return;
    }
    const rest = this.#acceptHeader(chunk);
    if (rest instanceof Error) {
      callback(rest);
      return;
    }
    if (!rest) {
      callback();
      return;
    }
    unlock(rest.header, this.#identities)
      .then((fileKey) => {
        this.#fileKey = fileKey;
        this.#header = Buffer.alloc(0);
        this.#state = "nonce";
        for (const part of rest.payload) this.#acceptPayload(part);
      })
      .then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#finish();
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }

  /** Appends to the header; once it is complete, returns it and the payload bytes that followed. */
  #acceptHeader(data: Buffer): { header: Buffer; payload: Buffer[] } | Error | undefined {
    const taken = Math.min(data.length, MAX_HEADER_LENGTH - this.#headerLength);
    if (this.#headerLength + taken > this.#header.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_LENGTH, 2 * (this.#headerLength + taken)));
      this.#header.copy(grown, 0, 0, this.#headerLength);
      this.#header = grown;
    }
    data.copy(this.#header, this.#headerLength, 0, taken);
    this.#headerLength += taken;
    const header = this.#header.subarray(0, this.#headerLength);
    try {
      checkStart(header.toString("latin1", 0, START_SAMPLE));
    } catch (error) {
      return error as Error;
    }
    const scan = scanHeader(header, this.#lineStart);
    if (!scan.done) {
      this.#lineStart = scan.offset;
      if (this.#headerLength >= MAX_HEADER_LENGTH) {
        return malformed(`no header MAC line within the first ${MAX_HEADER_LENGTH} bytes`);
      }
      return undefined;
    }
    return {
      header: Buffer.from(header.subarray(0, scan.offset)),
      payload: [header.subarray(scan.offset), data.subarray(taken)],
    };
  }

  #acceptPayload(data: Buffer): void {
    let offset = 0;
    if (this.#state === "nonce") {
      offset = data.copy(this.#nonce, this.#nonceLength, 0, PAYLOAD_NONCE_LENGTH - this.#nonceLength);
      this.#nonceLength += offset;
      if (this.#nonceLength < PAYLOAD_NONCE_LENGTH) return;
      this.#key = payloadKey(this.#fileKey!, this.#nonce);
      this.#state = "payload";
    }
    while (offset < data.length) {
      if (this.#pendingLength === ENCRYPTED_CHUNK_SIZE) {
        // More input follows a full pending chunk, so that chunk must not be the last one.
        this.#openMiddle(this.#pending);
        this.#pendingLength = 0;
      }
      if (this.#pendingLength === 0 && data.length - offset > ENCRYPTED_CHUNK_SIZE) {
        // Whole chunks with more input after them are opened straight from the input, uncopied.
        this.#openMiddle(data.subarray(offset, offset + ENCRYPTED_CHUNK_SIZE));
        offset += ENCRYPTED_CHUNK_SIZE;
        continue;
      }
      const copied = data.copy(
        this.#pending,
        this.#pendingLength,
        offset,
        offset + ENCRYPTED_CHUNK_SIZE - this.#pendingLength,
      );
      this.#pendingLength += copied;
      offset += copied;
    }
  }

  /** Opens a full chunk that more data follows. */
  #openMiddle(sealed: Buffer): void {
    const plaintext = openChunk(this.#key!, this.#counter, false, sealed);
    if (!plaintext) {
      const last = openChunk(this.#key!, this.#counter, true, sealed);
      if (!last) throw tampered("payload", `chunk ${this.#counter + 1} failed authentication`);
      // An authentic last chunk with data appended after it: released (as the reference
      // implementation does), and then the stream fails.
      this.push(last);
      throw tampered("payload", `there is trailing data after the last chunk (chunk ${this.#counter + 1})`);
    }
    this.#counter++;
    this.push(plaintext);
  }

  /** At the end of the input, the pending bytes must be the last chunk. */
  #finish(): void {
    if (this.#state === "header") {
      if (this.#headerLength === 0)
        throw new AgeDecryptError("header", "the input is empty, not an age file");
      throw truncated("header", "it ends inside the age header");
    }
    if (this.#state === "nonce") throw truncated("header", "it ends before the payload's nonce is complete");
    const chunk = this.#counter + 1;
    if (this.#pendingLength < TAG_LENGTH) {
      throw this.#counter === 0 && this.#pendingLength === 0
        ? truncated("payload", "the payload has no chunks")
        : truncated("payload", `chunk ${chunk} is shorter than its 16-byte authentication tag`);
    }
    const sealed = this.#pending.subarray(0, this.#pendingLength);
    const plaintext = openChunk(this.#key!, this.#counter, true, sealed);
    if (plaintext && plaintext.length === 0 && this.#counter > 0) {
      throw tampered(
        "payload",
        `chunk ${chunk} is an empty last chunk after other chunks, which the format forbids`,
      );
    }
    if (!plaintext) {
      const middle =
        this.#pendingLength === ENCRYPTED_CHUNK_SIZE
          ? openChunk(this.#key!, this.#counter, false, sealed)
          : undefined;
      if (!middle) throw tampered("payload", `chunk ${chunk} failed authentication`);
      // An authentic chunk that is not the last: released (as the reference implementation does),
      // and then the stream fails, as the chunks after it are missing.
      this.push(middle);
      throw truncated("payload", `it ends after chunk ${chunk}, which is not marked as the last chunk`);
    }
    this.push(plaintext);
  }
}

/**
 * A Transform that decrypts an age v1 file (as `age -e` writes it, binary, not armored) with any of
 * `identities`. It fails with an OperationError on a wrong key or passphrase, a tampered or
 * truncated file, or trailing data, and emits no plaintext of a chunk before authenticating it.
 */
export function createDecryptStream(identities: readonly Identity[]): Transform {
  if (identities.length === 0) throw new InputError("decryption: at least one identity is needed");
  return new DecryptStream(identities);
}
