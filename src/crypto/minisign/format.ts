/**
 * The minisign file formats (github.com/jedisct1/minisign, src/minisign.h), byte for byte:
 *
 *   public key   "untrusted comment: ..."  base64("Ed" | key id (8) | Ed25519 public key (32))
 *   secret key   "untrusted comment: ..."  base64("Ed" | kdf "Sc" or 00 00 | "B2" | salt (32) |
 *                opslimit (u64 LE) | memlimit (u64 LE) | key id (8) | secret key (64) | checksum (32))
 *                where the last 104 bytes are XORed with scrypt(password) when the kdf is "Sc"
 *   signature    "untrusted comment: ..."  base64("ED" | key id (8) | Ed25519(BLAKE2b-512(data)))
 *                "trusted comment: ..."    base64(Ed25519(signature (64) | trusted comment))
 *
 * Key ids are shown as minisign shows them: the 8 bytes read as a little-endian integer, in 16
 * upper-case hex digits.
 */
export const SIGNATURE_ALGORITHM = "Ed";
export const PREHASHED_ALGORITHM = "ED";
export const KDF_SCRYPT = "Sc";
export const KDF_NONE = "\0\0";
export const CHECKSUM_ALGORITHM = "B2";
export const UNTRUSTED_PREFIX = "untrusted comment: ";
export const TRUSTED_PREFIX = "trusted comment: ";

export const KEY_ID_LENGTH = 8;
export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 64;
export const SIGNATURE_LENGTH = 64;
export const CHECKSUM_LENGTH = 32;
export const SALT_LENGTH = 32;
/** key id, secret key and checksum: the part a password encrypts. */
export const KEYNUM_SK_LENGTH = KEY_ID_LENGTH + SECRET_KEY_LENGTH + CHECKSUM_LENGTH;
export const PUBLIC_KEY_STRUCT_LENGTH = 2 + KEY_ID_LENGTH + PUBLIC_KEY_LENGTH;
export const SECRET_KEY_STRUCT_LENGTH = 2 + 2 + 2 + SALT_LENGTH + 8 + 8 + KEYNUM_SK_LENGTH;
export const SIGNATURE_STRUCT_LENGTH = 2 + KEY_ID_LENGTH + SIGNATURE_LENGTH;

/**
 * minisign reads each line with fgets into fixed buffers: a trusted comment longer than this is
 * refused by `minisign -S` and cut short by `minisign -V`, so it is refused here too.
 */
export const MAX_TRUSTED_COMMENT_BYTES = 8192 - TRUSTED_PREFIX.length - 2;
/** Beyond this minisign warns that signify can no longer read the signature. */
export const MAX_UNTRUSTED_COMMENT_BYTES = 1024 - UNTRUSTED_PREFIX.length - 2;

/** A key id as minisign prints it: the 64-bit little-endian number in hex, without leading zeros (%llX). */
export function keyIdHex(keyId: Uint8Array): string {
  return Buffer.from(keyId)
    .reverse()
    .toString("hex")
    .toUpperCase()
    .replace(/^0+(?=.)/, "");
}

/**
 * The lines of a key or signature file: LF or CRLF endings (a file checked out on Windows), blank
 * lines at the end ignored (a secret pasted into CI often gains one), nothing else tolerated.
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  return lines;
}

/** Canonical standard base64 of exactly `length` bytes, or undefined. */
export function decodeBase64(text: string, length: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== length || bytes.toString("base64") !== text) return undefined;
  return bytes;
}

/** A comment must stay one line for minisign, and a NUL would end it early in C. */
export function commentProblem(comment: string, maxBytes: number): string | undefined {
  if (/[\r\n\0]/.test(comment)) return "must be one line without NUL characters";
  if (Buffer.byteLength(comment) > maxBytes) return `must be at most ${maxBytes} bytes`;
  return undefined;
}
