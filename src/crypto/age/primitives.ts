/** The cryptographic building blocks of age, on node:crypto only. */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";

export const FILE_KEY_LENGTH = 16;
export const TAG_LENGTH = 16;
const ZERO_NONCE = Buffer.alloc(12);

/** HKDF-SHA-256 with a 32-byte output, the only length age uses. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, 32));
}

export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac("sha256", hkdf(fileKey, Buffer.alloc(0), "header"))
    .update(macInput)
    .digest();
}

export function macsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ChaCha20-Poly1305 under a single-use key, so the fixed all-zero nonce is safe (age's key wrap). */
export function wrapFileKey(key: Uint8Array, fileKey: Uint8Array): Buffer {
  const cipher = createCipheriv("chacha20-poly1305", key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

/** The file key inside a wrapped body, or undefined when it does not authenticate under `key`. */
export function unwrapFileKey(key: Uint8Array, body: Buffer): Buffer | undefined {
  const decipher = createDecipheriv("chacha20-poly1305", key, ZERO_NONCE, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
  const fileKey = decipher.update(body.subarray(0, body.length - TAG_LENGTH));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return fileKey;
}

// Fixed DER framings of a raw 32-byte X25519 key (RFC 8410), so Node can import raw keys.
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

/** The raw 32 bytes of an X25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
}

/**
 * X25519, or undefined when the result is all zeros (a low-order point), which age must refuse.
 * OpenSSL already fails the derivation in that case; the explicit check keeps that guarantee
 * independent of the library version.
 */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  return shared.some((byte) => byte !== 0) ? shared : undefined;
}
