/** age v1 file encryption (age-encryption.org/v1) on node:crypto, interoperable with the age CLI. */
export { createEncryptStream } from "./encrypt.js";
export { createDecryptStream } from "./decrypt.js";
export { rewrapAge } from "./rewrap.js";
export { AgeDecryptError, type AgeFailure } from "./errors.js";
export {
  generateIdentity,
  parseIdentities,
  parseRecipient,
  parseRecipients,
  passphraseIdentity,
  passphraseRecipient,
  recipientOf,
  type Identity,
  type Recipient,
} from "./keys.js";
export { X25519Identity, X25519Recipient } from "./x25519.js";
export { ScryptIdentity, ScryptRecipient, DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR } from "./scrypt.js";
