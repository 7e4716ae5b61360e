/** minisign key pairs: generation, and strict parsing of the key files minisign and we write. */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { inspect } from "node:util";
import { InputError, OperationError, describeError } from "../../domain/errors.js";
import { blake2b } from "./blake2b.js";
import {
  CHECKSUM_ALGORITHM,
  CHECKSUM_LENGTH,
  KDF_NONE,
  KDF_SCRYPT,
  KEYNUM_SK_LENGTH,
  KEY_ID_LENGTH,
  MAX_UNTRUSTED_COMMENT_BYTES,
  PUBLIC_KEY_STRUCT_LENGTH,
  SALT_LENGTH,
  SECRET_KEY_LENGTH,
  SECRET_KEY_STRUCT_LENGTH,
  SIGNATURE_ALGORITHM,
  UNTRUSTED_PREFIX,
  commentProblem,
  decodeBase64,
  keyIdHex,
  splitLines,
} from "./format.js";

/**
 * What `minisign -G` uses (libsodium's scrypt "sensitive" limits: N = 2^20, r = 8, p = 1, 1 GiB
 * and a few seconds), so a password-protected key of ours costs what one of minisign's does.
 */
export const SCRYPT_OPSLIMIT = 33_554_432n;
export const SCRYPT_MEMLIMIT = 1_073_741_824n;
/** A key file chooses its own scrypt cost; more than twice minisign's is refused, not attempted. */
const MAX_SCRYPT_MEMORY = 2n ** 31n;
const MAX_SCRYPT_PARALLELISM = 16n;
/** Room for "minisign public key <id> " within minisign's comment line. */
const MAX_KEY_COMMENT_BYTES = MAX_UNTRUSTED_COMMENT_BYTES - 64;

const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A public key: its id and the Ed25519 key. Public material only, so safe to print. */
export class PublicKey {
  readonly keyId: string;
  readonly keyIdBytes: Buffer;
  readonly key: KeyObject;
  readonly #raw: Buffer;

  constructor(keyIdBytes: Buffer, raw: Buffer) {
    this.keyIdBytes = Buffer.from(keyIdBytes);
    this.keyId = keyIdHex(keyIdBytes);
    this.#raw = Buffer.from(raw);
    this.key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
      format: "der",
      type: "spki",
    });
  }

  /** The base64 line, as `minisign -P` takes it. */
  get base64(): string {
    return Buffer.concat([Buffer.from(SIGNATURE_ALGORITHM), this.keyIdBytes, this.#raw]).toString("base64");
  }

  /** A public key file as minisign writes it (`minisign.pub`). */
  toFileText(comment?: string): string {
    return `${UNTRUSTED_PREFIX}minisign public key ${this.keyId}${comment ? ` ${comment}` : ""}\n${this.base64}\n`;
  }
}

/**
 * A secret key, decrypted. The Ed25519 key lives in a KeyObject, which never prints its secret;
 * printing or serialising this object shows only the key id.
 */
export class SigningKey {
  readonly keyId: string;
  readonly publicKey: PublicKey;
  readonly #privateKey: KeyObject;

  constructor(keyIdBytes: Buffer, privateKey: KeyObject, publicKey: PublicKey) {
    this.keyId = keyIdHex(keyIdBytes);
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** @internal the signing module's access to the key. */
  get privateKey(): KeyObject {
    return this.#privateKey;
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `SigningKey { keyId: '${this.keyId}' }`;
  }
}

export interface GeneratedKey {
  /** The secret key file, minisign's format: keep it secret (a CI secret, a 0600 file). */
  secretKeyText: string;
  /** The public key file, minisign's format (`minisign -V -p` takes it). */
  publicKeyText: string;
  keyId: string;
  signingKey: SigningKey;
}

export interface KeyOptions {
  /** The flag, input or variable the text came from, named in error messages. */
  input?: string;
}

function checksum(keyIdBytes: Buffer, secret: Buffer): Buffer {
  return blake2b(Buffer.concat([Buffer.from(SIGNATURE_ALGORITHM), keyIdBytes, secret]), CHECKSUM_LENGTH);
}

/**
 * libsodium's crypto_pwhash_scryptsalsa208sha256 turns (opslimit, memlimit) into scrypt's
 * (N, r, p) this way (pickparams); a key file stores only the two limits, so the same mapping must
 * be followed exactly or the derived stream differs.
 */
export function scryptParameters(opslimit: bigint, memlimit: bigint): { N: bigint; r: bigint; p: bigint } {
  const ops = opslimit < 32768n ? 32768n : opslimit;
  const r = 8n;
  let log2N = 1n;
  if (ops < memlimit / 32n) {
    const maxN = ops / (r * 4n);
    while (log2N < 63n && !(1n << log2N > maxN / 2n)) log2N++;
    return { N: 1n << log2N, r, p: 1n };
  }
  const maxN = memlimit / (r * 128n);
  while (log2N < 63n && !(1n << log2N > maxN / 2n)) log2N++;
  let maxrp = ops / 4n / (1n << log2N);
  if (maxrp > 0x3fffffffn) maxrp = 0x3fffffffn;
  return { N: 1n << log2N, r, p: maxrp / r };
}

function deriveStream(
  password: string,
  salt: Buffer,
  opslimit: bigint,
  memlimit: bigint,
  input: string,
): Promise<Buffer> {
  const { N, r, p } = scryptParameters(opslimit, memlimit);
  if (128n * N * r > MAX_SCRYPT_MEMORY || p > MAX_SCRYPT_PARALLELISM || p < 1n) {
    throw new InputError(
      `${input}: the key asks for scrypt with N=${N}, r=${r}, p=${p}, beyond what minisign writes (at most 2 GiB, p <= 16)`,
      { input },
    );
  }
  const memory = Number(128n * N * r + 128n * r * p);
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEYNUM_SK_LENGTH,
      { N: Number(N), r: Number(r), p: Number(p), maxmem: memory + 16 * 1024 * 1024 },
      (error, stream) => {
        if (error)
          reject(new OperationError(`${input}: scrypt failed: ${describeError(error)}`, { cause: error }));
        else resolve(stream);
      },
    );
  });
}

function xor(target: Buffer, stream: Buffer): void {
  for (let index = 0; index < target.length; index++) target[index]! ^= stream[index]!;
}

function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: "der", type: "spki" });
  return der.subarray(ED25519_SPKI_PREFIX.length);
}

/** The one base64 line of a key file, or of a bare base64 key (`minisign -P` style). */
function keyLine(text: string, input: string, what: string): string {
  const lines = splitLines(text.replace(/^\uFEFF/, ""));
  if (lines.length === 1) return lines[0]!.trim();
  if (lines.length === 2 && lines[0]!.startsWith(UNTRUSTED_PREFIX)) return lines[1]!.trim();
  throw new InputError(
    `${input}: expected a minisign ${what} (an "${UNTRUSTED_PREFIX.trim()}" line and a base64 line)`,
    { input },
  );
}

/** A minisign public key: the file's text (`minisign.pub`) or its base64 line alone. */
export function parsePublicKey(text: string, options: KeyOptions = {}): PublicKey {
  const input = options.input ?? "trusted-key";
  const line = keyLine(text, input, "public key");
  const bytes = decodeBase64(line, PUBLIC_KEY_STRUCT_LENGTH);
  if (!bytes) {
    // Named without quoting it: a secret key pasted where the public one belongs must not be echoed.
    if (decodeBase64(line, SECRET_KEY_STRUCT_LENGTH)) {
      throw new InputError(`${input}: this is a minisign secret key; give its public key (minisign.pub)`, {
        input,
      });
    }
    throw new InputError(
      `${input}: expected a minisign public key (base64 of ${PUBLIC_KEY_STRUCT_LENGTH} bytes, starting "RW")`,
      { input },
    );
  }
  if (bytes.subarray(0, 2).toString("latin1") !== SIGNATURE_ALGORITHM) {
    throw new InputError(`${input}: unsupported public key algorithm (expected minisign's "Ed")`, { input });
  }
  return new PublicKey(bytes.subarray(2, 2 + KEY_ID_LENGTH), bytes.subarray(2 + KEY_ID_LENGTH));
}

export interface SecretKeyOptions extends KeyOptions {
  /** For a password-protected key (`minisign -G` without -W). */
  password?: string;
}

/**
 * The checks of a secret key file that need no password: its shape, algorithm, key derivation and
 * checksum kinds. Synchronous, so settings can refuse a wrong key before any work starts.
 */
export function parseSecretKeyStructure(text: string, input = "signing-key"): Buffer {
  const line = keyLine(text, input, "secret key");
  const bytes = decodeBase64(line, SECRET_KEY_STRUCT_LENGTH);
  if (!bytes) {
    if (decodeBase64(line, PUBLIC_KEY_STRUCT_LENGTH)) {
      throw new InputError(`${input}: this is a minisign public key; the secret key is needed to sign`, {
        input,
      });
    }
    throw new InputError(
      `${input}: expected a minisign secret key (base64 of ${SECRET_KEY_STRUCT_LENGTH} bytes, starting "RW")`,
      { input },
    );
  }
  const field = (start: number, length: number): Buffer => bytes.subarray(start, start + length);
  if (field(0, 2).toString("latin1") !== SIGNATURE_ALGORITHM) {
    throw new InputError(`${input}: unsupported secret key algorithm (expected minisign's "Ed")`, { input });
  }
  const kdf = field(2, 2).toString("latin1");
  if (kdf !== KDF_SCRYPT && kdf !== KDF_NONE) {
    throw new InputError(`${input}: unsupported key derivation (expected scrypt "Sc" or none)`, { input });
  }
  if (field(4, 2).toString("latin1") !== CHECKSUM_ALGORITHM) {
    throw new InputError(`${input}: unsupported checksum (expected BLAKE2b "B2")`, { input });
  }
  return bytes;
}

/**
 * Reads a minisign secret key file: unencrypted (`minisign -G -W`, or ours) or password-protected
 * (`minisign -G`; scrypt with the limits the file records, so seconds and up to 1 GiB). Error
 * messages describe the key's structure and never quote any of its text.
 */
export async function loadSigningKey(text: string, options: SecretKeyOptions = {}): Promise<SigningKey> {
  const input = options.input ?? "signing-key";
  const bytes = parseSecretKeyStructure(text, input);
  const field = (start: number, length: number): Buffer => bytes.subarray(start, start + length);
  const kdf = field(2, 2).toString("latin1");
  const salt = field(6, SALT_LENGTH);
  const opslimit = field(6 + SALT_LENGTH, 8).readBigUInt64LE();
  const memlimit = field(14 + SALT_LENGTH, 8).readBigUInt64LE();
  const keynum = Buffer.from(field(22 + SALT_LENGTH, KEYNUM_SK_LENGTH));
  try {
    if (kdf === KDF_SCRYPT) {
      if (options.password === undefined) {
        throw new InputError(`${input}: the secret key is password-protected and no password was given`, {
          input,
        });
      }
      xor(keynum, await deriveStream(options.password, salt, opslimit, memlimit, input));
    }
    const keyIdBytes = keynum.subarray(0, KEY_ID_LENGTH);
    const secret = keynum.subarray(KEY_ID_LENGTH, KEY_ID_LENGTH + SECRET_KEY_LENGTH);
    const stored = keynum.subarray(KEY_ID_LENGTH + SECRET_KEY_LENGTH);
    const expected = checksum(keyIdBytes, secret);
    // `minisign -G -W` leaves the checksum of an unencrypted key zero; ours carry a real one.
    const unchecked = kdf === KDF_NONE && stored.every((byte) => byte === 0);
    if (!unchecked && !timingSafeEqual(stored, expected)) {
      throw new InputError(
        kdf === KDF_SCRYPT
          ? `${input}: wrong password for this secret key (its checksum does not match)`
          : `${input}: the secret key is damaged (its checksum does not match)`,
        { input },
      );
    }
    const privateKey = privateKeyFromSeed(secret.subarray(0, 32));
    const publicRaw = rawPublicKey(createPublicKey(privateKey));
    if (!timingSafeEqual(publicRaw, secret.subarray(32))) {
      throw new InputError(`${input}: the secret key is damaged (its public half does not match its seed)`, {
        input,
      });
    }
    return new SigningKey(Buffer.from(keyIdBytes), privateKey, new PublicKey(keyIdBytes, publicRaw));
  } finally {
    keynum.fill(0);
  }
}

export interface GenerateOptions {
  /** Added to the public key's comment line, e.g. the label or the team. One line. */
  comment?: string;
  /**
   * Encrypt the secret key with this password (scrypt, minisign's own cost). Without it the key
   * is unencrypted, like `minisign -G -W`: a CI job has no terminal to type a password into, and
   * its secret store is the protection.
   */
  password?: string;
}

/** A new Ed25519 key pair in minisign's formats, with a random 8-byte key id. */
export async function generateSigningKey(options: GenerateOptions = {}): Promise<GeneratedKey> {
  const problem =
    options.comment === undefined ? undefined : commentProblem(options.comment, MAX_KEY_COMMENT_BYTES);
  if (problem) throw new InputError(`key comment ${problem}`, { input: "comment" });
  const keyIdBytes = randomBytes(KEY_ID_LENGTH);
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(ED25519_PKCS8_PREFIX.length);
  const publicRaw = rawPublicKey(createPublicKey(privateKey));
  const secret = Buffer.concat([seed, publicRaw]);
  const keynum = Buffer.concat([keyIdBytes, secret, checksum(keyIdBytes, secret)]);
  const encrypted = options.password !== undefined;
  const salt = encrypted ? randomBytes(SALT_LENGTH) : Buffer.alloc(SALT_LENGTH);
  const limits = Buffer.alloc(16);
  if (encrypted) {
    limits.writeBigUInt64LE(SCRYPT_OPSLIMIT, 0);
    limits.writeBigUInt64LE(SCRYPT_MEMLIMIT, 8);
    xor(keynum, await deriveStream(options.password!, salt, SCRYPT_OPSLIMIT, SCRYPT_MEMLIMIT, "password"));
  }
  const struct = Buffer.concat([
    Buffer.from(SIGNATURE_ALGORITHM),
    Buffer.from(encrypted ? KDF_SCRYPT : KDF_NONE, "latin1"),
    Buffer.from(CHECKSUM_ALGORITHM),
    salt,
    limits,
    keynum,
  ]);
  const publicKey = new PublicKey(keyIdBytes, publicRaw);
  const secretComment = `lifeboat signing secret key ${publicKey.keyId} (minisign format, ${
    encrypted ? "password-protected" : "unencrypted"
  })`;
  const result: GeneratedKey = {
    secretKeyText: `${UNTRUSTED_PREFIX}${secretComment}\n${struct.toString("base64")}\n`,
    publicKeyText: publicKey.toFileText(options.comment),
    keyId: publicKey.keyId,
    signingKey: new SigningKey(keyIdBytes, privateKey, publicKey),
  };
  struct.fill(0);
  keynum.fill(0);
  secret.fill(0);
  return result;
}
