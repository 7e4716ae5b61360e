/** The scrypt (passphrase) recipient type of age v1. */
import { randomBytes, scrypt } from "node:crypto";
import { OperationError, describeError } from "../../domain/errors.js";
import { AgeDecryptError } from "./errors.js";
import { decodeBase64, encodeBase64, malformed, type Stanza } from "./format.js";
import { unwrapFileKey, wrapFileKey, FILE_KEY_LENGTH, TAG_LENGTH } from "./primitives.js";

export const STANZA_TYPE = "scrypt";
/** age's default: about a second of work, and 256 MiB of memory. */
export const DEFAULT_WORK_FACTOR = 18;
/**
 * age's limit when decrypting: a file's author chooses the work factor, and 2^22 already costs
 * 4 GiB and about 15 s, so anything above is refused rather than attempted.
 */
export const MAX_WORK_FACTOR = 22;
const LABEL = "age-encryption.org/v1/scrypt";
const SALT_LENGTH = 16;
const BLOCK_SIZE = 8;

function deriveWrapKey(passphrase: string, salt: Buffer, workFactor: number): Promise<Buffer> {
  const cost = 2 ** workFactor;
  // scrypt needs 128 * r * N bytes; Node refuses anything above maxmem (32 MiB by default).
  const maxmem = 2 * 128 * BLOCK_SIZE * cost;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      Buffer.concat([Buffer.from(LABEL), salt]),
      32,
      { N: cost, r: BLOCK_SIZE, p: 1, maxmem },
      (error, key) => {
        if (error) reject(new OperationError(`scrypt failed: ${describeError(error)}`, { cause: error }));
        else resolve(key);
      },
    );
  });
}

export class ScryptRecipient {
  readonly kind = "scrypt";
  readonly #passphrase: string;
  readonly workFactor: number;

  constructor(passphrase: string, workFactor: number) {
    this.#passphrase = passphrase;
    this.workFactor = workFactor;
  }

  async wrap(fileKey: Buffer): Promise<Stanza[]> {
    const salt = randomBytes(SALT_LENGTH);
    const wrapKey = await deriveWrapKey(this.#passphrase, salt, this.workFactor);
    const args = [encodeBase64(salt), String(this.workFactor)];
    return [{ type: STANZA_TYPE, args, body: wrapFileKey(wrapKey, fileKey) }];
  }
}

export class ScryptIdentity {
  readonly kind = "scrypt";
  readonly #passphrase: string;
  readonly maxWorkFactor: number;

  constructor(passphrase: string, maxWorkFactor: number) {
    this.#passphrase = passphrase;
    this.maxWorkFactor = maxWorkFactor;
  }

  /** The file key, or undefined when the file has no scrypt stanza or the passphrase is wrong. */
  async unwrap(stanzas: readonly Stanza[]): Promise<Buffer | undefined> {
    const stanza = stanzas.find((candidate) => candidate.type === STANZA_TYPE);
    if (!stanza) return undefined;
    if (stanzas.length !== 1) throw malformed("an scrypt stanza must be the only stanza in the header");
    const salt = stanza.args.length === 2 ? decodeBase64(stanza.args[0]!) : undefined;
    const encodedWorkFactor = stanza.args[1] ?? "";
    if (!salt || salt.length !== SALT_LENGTH || !/^[1-9][0-9]*$/.test(encodedWorkFactor)) {
      throw malformed("the scrypt stanza does not have a 16-byte salt and a decimal work factor");
    }
    const workFactor = Number(encodedWorkFactor);
    if (workFactor > this.maxWorkFactor) {
      throw new AgeDecryptError(
        "header",
        `the file's scrypt work factor 2^${encodedWorkFactor.length > 6 ? `${encodedWorkFactor.slice(0, 6)}...` : encodedWorkFactor} is above the accepted maximum 2^${this.maxWorkFactor}`,
      );
    }
    // Checked before the expensive scrypt, and before decrypting, as the spec requires.
    if (stanza.body.length !== FILE_KEY_LENGTH + TAG_LENGTH) {
      throw malformed("the scrypt stanza's body is not a 32-byte wrapped file key");
    }
    const wrapKey = await deriveWrapKey(this.#passphrase, salt, workFactor);
    return unwrapFileKey(wrapKey, stanza.body);
  }
}
