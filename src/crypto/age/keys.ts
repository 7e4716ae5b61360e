/** Parsing and generating age keys in their textual forms, and passphrase recipients/identities. */
import { randomBytes } from "node:crypto";
import { InputError } from "../../domain/errors.js";
import { Bech32Error, decode } from "./bech32.js";
import { ARMOR_BEGIN, VERSION_LINE } from "./format.js";
import { DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR, ScryptIdentity, ScryptRecipient } from "./scrypt.js";
import { IDENTITY_HRP, KEY_LENGTH, RECIPIENT_HRP, X25519Identity, X25519Recipient } from "./x25519.js";

export type Recipient = X25519Recipient | ScryptRecipient;
export type Identity = X25519Identity | ScryptIdentity;

const RECIPIENT_FORM = "an age X25519 public key (age1 followed by 58 characters)";
const IDENTITY_FORM = "an age X25519 secret key (AGE-SECRET-KEY-1 followed by 58 characters)";
const ENCODED_KEY_LENGTH = 58;

/** Quotes a public, user-given string for a message, shortened so a pasted blob stays one line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}

/** The 32-byte key `text` encodes under the bech32 prefix `hrp`, or why it is not one. */
function decodeKey(text: string, hrp: string): { problem: string } | { key: Buffer } {
  const prefix = `${hrp}1`;
  if (!text.toLowerCase().startsWith(prefix.toLowerCase())) {
    return { problem: `it does not start with ${prefix}` };
  }
  const length = text.length - prefix.length;
  if (length !== ENCODED_KEY_LENGTH) return { problem: `it has ${length} characters after ${prefix}` };
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = decode(text);
  } catch (error) {
    if (error instanceof Bech32Error) return { problem: error.message };
    throw error;
  }
  // decode() splits at the last "1"; a "1" typed into the data moves that split.
  if (decoded.hrp.toLowerCase() !== hrp.toLowerCase()) {
    return { problem: "it has a '1' after the prefix, which is not in the bech32 alphabet" };
  }
  if (decoded.data.length !== KEY_LENGTH) return { problem: "it does not encode 32 bytes" };
  return { key: decoded.data };
}

function looksLikeSecretKey(text: string): boolean {
  return text.toUpperCase().startsWith("AGE-SECRET-KEY-") || text.toUpperCase().startsWith("AGE-PLUGIN-");
}

/** Parses an `age1...` X25519 public key, as age-keygen prints it. */
export function parseRecipient(text: string): X25519Recipient {
  const trimmed = text.trim();
  if (looksLikeSecretKey(trimmed)) {
    // Never echo it: a secret key pasted where a public key belongs must not reach logs.
    throw new InputError(
      `recipient: expected ${RECIPIENT_FORM}, but got a secret key; give its public key instead (age-keygen -y prints it)`,
    );
  }
  const result = decodeKey(trimmed, RECIPIENT_HRP);
  if ("problem" in result) {
    const hint = /^age1[a-z]+1/.test(trimmed)
      ? " (plugin and post-quantum recipients are not supported)"
      : trimmed.startsWith("ssh-")
        ? " (SSH keys are not supported)"
        : "";
    throw new InputError(
      `recipient ${quote(trimmed)}: expected ${RECIPIENT_FORM}, but ${result.problem}${hint}`,
    );
  }
  if (trimmed !== trimmed.toLowerCase()) {
    throw new InputError(`recipient ${quote(trimmed)}: expected ${RECIPIENT_FORM} in lowercase`);
  }
  const recipient = new X25519Recipient(result.key);
  if (!recipient.isUsable()) {
    throw new InputError(`recipient ${quote(trimmed)}: not a usable X25519 public key (a low-order point)`);
  }
  return recipient;
}

/** Parses a recipients file (as for `age -R`): one `age1...` key a line, `#` comments, blank lines. */
export function parseRecipients(text: string): X25519Recipient[] {
  const recipients = significantLines(text).map(({ line }) => parseRecipient(line));
  if (recipients.length === 0) {
    throw new InputError(`recipients: none found; expected lines of ${RECIPIENT_FORM}`);
  }
  return recipients;
}

function significantLines(text: string): { line: string; number: number }[] {
  return text
    .split("\n")
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== "" && !line.startsWith("#"));
}

/**
 * Parses an identity file as age-keygen writes it: `AGE-SECRET-KEY-1...` lines, `#` comments and
 * blank lines. Messages name the line but never quote it, as it may hold a secret.
 */
export function parseIdentities(text: string): X25519Identity[] {
  if (text.startsWith(VERSION_LINE) || text.startsWith(ARMOR_BEGIN)) {
    throw new InputError("identity file: it is itself age-encrypted; decrypt it first (age -d)");
  }
  const identities = significantLines(text).map(({ line, number }) => {
    const problem = line.toLowerCase().startsWith("age1")
      ? "this is a public key (age1...); decryption needs the secret key"
      : line.toUpperCase().startsWith("AGE-PLUGIN-")
        ? "plugin identities are not supported"
        : line.toUpperCase().startsWith("AGE-SECRET-KEY-PQ-1")
          ? "post-quantum (ML-KEM-768 + X25519 hybrid) identities are not supported"
          : undefined;
    const result = problem ? { problem } : decodeKey(line, IDENTITY_HRP);
    if ("problem" in result) {
      throw new InputError(`identity file line ${number}: expected ${IDENTITY_FORM}, but ${result.problem}`);
    }
    if (line !== line.toUpperCase()) {
      throw new InputError(`identity file line ${number}: expected ${IDENTITY_FORM} in uppercase`);
    }
    return new X25519Identity(result.key);
  });
  if (identities.length === 0) {
    throw new InputError(`identity file: no secret key found; expected a line with ${IDENTITY_FORM}`);
  }
  return identities;
}

/** A new X25519 key pair, in the textual forms age-keygen prints. */
export function generateIdentity(): { identity: string; recipient: string } {
  const identity = new X25519Identity(randomBytes(KEY_LENGTH));
  return { identity: identity.encodeSecret(), recipient: identity.recipient.toString() };
}

/** The `age1...` public key of an identity, like `age-keygen -y`. */
export function recipientOf(identity: string | X25519Identity): string {
  if (typeof identity !== "string") return identity.recipient.toString();
  const [parsed] = parseIdentities(identity);
  return parsed!.recipient.toString();
}

function checkPassphrase(passphrase: string): void {
  if (passphrase === "") throw new InputError("passphrase: must not be empty");
}

/**
 * Encrypts to a passphrase. `workFactor` is log2 of scrypt's N (age uses 18); it cannot exceed 22,
 * the most age (and this decrypter) accepts.
 */
export function passphraseRecipient(passphrase: string, workFactor = DEFAULT_WORK_FACTOR): ScryptRecipient {
  checkPassphrase(passphrase);
  if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_WORK_FACTOR) {
    throw new InputError(
      `passphrase work factor ${workFactor}: expected an integer from 1 to ${MAX_WORK_FACTOR} (log2 of scrypt's N)`,
    );
  }
  return new ScryptRecipient(passphrase, workFactor);
}

/** Decrypts with a passphrase; files whose work factor is above `maxWorkFactor` are refused. */
export function passphraseIdentity(passphrase: string, maxWorkFactor = MAX_WORK_FACTOR): ScryptIdentity {
  checkPassphrase(passphrase);
  return new ScryptIdentity(passphrase, maxWorkFactor);
}
