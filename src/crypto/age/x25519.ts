/** The X25519 recipient type of age v1 (`age1...` public keys, `AGE-SECRET-KEY-1...` identities). */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { OperationError } from "../../domain/errors.js";
import { encode } from "./bech32.js";
import { decodeBase64, encodeBase64, malformed, type Stanza } from "./format.js";
import {
  hkdf,
  rawPublicKey,
  unwrapFileKey,
  wrapFileKey,
  x25519,
  x25519PrivateKey,
  x25519PublicKey,
  FILE_KEY_LENGTH,
  TAG_LENGTH,
} from "./primitives.js";

export const RECIPIENT_HRP = "age";
export const IDENTITY_HRP = "AGE-SECRET-KEY-";
export const KEY_LENGTH = 32;
const STANZA_TYPE = "X25519";
const LABEL = "age-encryption.org/v1/X25519";

export class X25519Recipient {
  readonly kind = "x25519";
  readonly #publicKey: KeyObject;
  readonly #raw: Buffer;

  /** `raw` is a 32-byte X25519 public key. */
  constructor(raw: Uint8Array) {
    this.#raw = Buffer.from(raw);
    this.#publicKey = x25519PublicKey(this.#raw);
  }

  /** The `age1...` form. */
  toString(): string {
    return encode(RECIPIENT_HRP, this.#raw);
  }

  /** False for a low-order point, to which nothing can be encrypted. */
  isUsable(): boolean {
    return x25519(generateKeyPairSync("x25519").privateKey, this.#publicKey) !== undefined;
  }

  async wrap(fileKey: Buffer): Promise<Stanza[]> {
    const ephemeral = generateKeyPairSync("x25519");
    const share = rawPublicKey(ephemeral.publicKey);
    const shared = x25519(ephemeral.privateKey, this.#publicKey);
    if (!shared) throw new OperationError(`recipient ${this.toString()} is not a usable X25519 public key`);
    const wrapKey = hkdf(shared, Buffer.concat([share, this.#raw]), LABEL);
    return [{ type: STANZA_TYPE, args: [encodeBase64(share)], body: wrapFileKey(wrapKey, fileKey) }];
  }
}

export class X25519Identity {
  readonly kind = "x25519";
  // Private fields keep the secret out of util.inspect and JSON.stringify.
  readonly #privateKey: KeyObject;
  readonly #ownPublicKey: Buffer;

  /** `raw` is a 32-byte X25519 secret key. */
  constructor(raw: Uint8Array) {
    this.#privateKey = x25519PrivateKey(raw);
    this.#ownPublicKey = rawPublicKey(this.#privateKey);
  }

  get recipient(): X25519Recipient {
    return new X25519Recipient(this.#ownPublicKey);
  }

  /** The `AGE-SECRET-KEY-1...` form: a secret, to be written only where the key belongs. */
  encodeSecret(): string {
    const jwk = this.#privateKey.export({ format: "jwk" });
    return encode(IDENTITY_HRP, Buffer.from(jwk.d!, "base64url"));
  }

  /** The file key, or undefined when no stanza is addressed to this identity. */
  async unwrap(stanzas: readonly Stanza[]): Promise<Buffer | undefined> {
    for (const stanza of stanzas) {
      if (stanza.type !== STANZA_TYPE) continue;
      const share = stanza.args.length === 1 ? decodeBase64(stanza.args[0]!) : undefined;
      if (!share || share.length !== KEY_LENGTH) {
        throw malformed("an X25519 stanza does not have exactly one argument, a 32-byte share");
      }
      // Checked before decrypting, as the spec requires, against partitioning oracle attacks.
      if (stanza.body.length !== FILE_KEY_LENGTH + TAG_LENGTH) {
        throw malformed("an X25519 stanza's body is not a 32-byte wrapped file key");
      }
      const shared = x25519(this.#privateKey, x25519PublicKey(share));
      if (!shared) throw malformed("an X25519 stanza's share is a low-order point");
      const wrapKey = hkdf(shared, Buffer.concat([share, this.#ownPublicKey]), LABEL);
      const fileKey = unwrapFileKey(wrapKey, stanza.body);
      if (fileKey) return fileKey;
    }
    return undefined;
  }
}
