/**
 * Test builders for minisign files, written from the format description rather than through the
 * module under test, so a shared misreading of the format would show as a failure.
 */
import { randomBytes, scryptSync } from "node:crypto";

/** libsodium's "interactive" scrypt limits, which it maps to N = 2^14, r = 8, p = 1. */
export const INTERACTIVE_OPSLIMIT = 524_288n;
export const INTERACTIVE_MEMLIMIT = 16_777_216n;
const INTERACTIVE = { N: 2 ** 14, r: 8, p: 1 };

/** The base64 line of a key or signature file, decoded. */
export function decodeLine(text: string, line: number): Buffer {
  return Buffer.from(text.split("\n")[line]!, "base64");
}

export function replaceLine(text: string, line: number, value: string): string {
  const lines = text.split("\n");
  lines[line] = value;
  return lines.join("\n");
}

/** Field offsets of a secret key structure. */
export const SK = {
  kdf: 2,
  salt: 6,
  opslimit: 38,
  memlimit: 46,
  keyId: 54,
  secret: 62,
  checksum: 126,
  end: 158,
};

/**
 * Password-protects an unencrypted minisign secret key with the cheap "interactive" limits: the
 * key id, secret key and checksum XORed with scrypt(password, salt), as minisign's encrypt_key.
 */
export function protectWithInteractiveLimits(secretKeyText: string, password: string): string {
  const struct = decodeLine(secretKeyText, 1);
  if (struct.subarray(SK.kdf, SK.kdf + 2).toString("latin1") !== "\0\0") throw new Error("already encrypted");
  const salt = randomBytes(32);
  struct.write("Sc", SK.kdf, "latin1");
  salt.copy(struct, SK.salt);
  struct.writeBigUInt64LE(INTERACTIVE_OPSLIMIT, SK.opslimit);
  struct.writeBigUInt64LE(INTERACTIVE_MEMLIMIT, SK.memlimit);
  const stream = scryptSync(password, salt, SK.end - SK.keyId, INTERACTIVE);
  for (let index = SK.keyId; index < SK.end; index++) struct[index]! ^= stream[index - SK.keyId]!;
  return replaceLine(secretKeyText, 1, struct.toString("base64"));
}

/** Every 16-character piece of `secret`: an error message must contain none of them. */
export function assertNoSecret(message: string, secrets: string[]): void {
  for (const secret of secrets) {
    for (let index = 0; index + 16 <= secret.length; index++) {
      const piece = secret.slice(index, index + 16);
      if (message.includes(piece))
        throw new Error(
          `an error message quotes secret material (characters ${index} to ${index + 16} of a secret)`,
        );
    }
  }
}
