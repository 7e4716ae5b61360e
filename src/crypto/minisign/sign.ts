/** Signing and verifying in minisign's format, prehashed ("ED") as minisign 0.8+ signs by default. */
import { createHash, sign as ed25519Sign, verify as ed25519Verify } from "node:crypto";
import { InputError, OperationError } from "../../domain/errors.js";
import {
  KEY_ID_LENGTH,
  MAX_TRUSTED_COMMENT_BYTES,
  MAX_UNTRUSTED_COMMENT_BYTES,
  PREHASHED_ALGORITHM,
  SIGNATURE_ALGORITHM,
  SIGNATURE_LENGTH,
  SIGNATURE_STRUCT_LENGTH,
  TRUSTED_PREFIX,
  UNTRUSTED_PREFIX,
  commentProblem,
  decodeBase64,
  keyIdHex,
  splitLines,
} from "./format.js";
import { loadSigningKey, parsePublicKey, type PublicKey, type SigningKey } from "./keys.js";

export interface SignOptions {
  /** Signed along with the data (minisign's "trusted comment"); one line. */
  trustedComment: string;
  /** Not signed: anyone can change it. One line. */
  untrustedComment?: string;
  /** When the key is given as the text of a password-protected key file. */
  password?: string;
}

function prehash(data: Uint8Array): Buffer {
  return createHash("blake2b512").update(data).digest();
}

/** Signs with a loaded key: synchronous, for signing many records with one key. */
export function signWithKey(data: Uint8Array, key: SigningKey, options: SignOptions): string {
  const trustedProblem = commentProblem(options.trustedComment, MAX_TRUSTED_COMMENT_BYTES);
  if (trustedProblem) throw new InputError(`trusted comment ${trustedProblem}`);
  const untrusted = options.untrustedComment ?? `signature from lifeboat key ${key.keyId}`;
  const untrustedProblem = commentProblem(untrusted, MAX_UNTRUSTED_COMMENT_BYTES);
  if (untrustedProblem) throw new InputError(`untrusted comment ${untrustedProblem}`);
  const signature = ed25519Sign(null, prehash(data), key.privateKey);
  const struct = Buffer.concat([Buffer.from(PREHASHED_ALGORITHM), key.publicKey.keyIdBytes, signature]);
  const global = ed25519Sign(
    null,
    Buffer.concat([signature, Buffer.from(options.trustedComment)]),
    key.privateKey,
  );
  return [
    `${UNTRUSTED_PREFIX}${untrusted}`,
    struct.toString("base64"),
    `${TRUSTED_PREFIX}${options.trustedComment}`,
    global.toString("base64"),
    "",
  ].join("\n");
}

/**
 * A `.minisig` file's text for `data`. `key` is a loaded key, or a secret key file's text (then
 * loaded here, which for a password-protected key costs an scrypt derivation each call).
 */
export async function sign(
  data: Uint8Array,
  key: SigningKey | string,
  options: SignOptions,
): Promise<string> {
  const loaded =
    typeof key === "string"
      ? await loadSigningKey(key, options.password === undefined ? {} : { password: options.password })
      : key;
  return signWithKey(data, loaded, options);
}

export type VerifyFailureReason =
  /** Not a minisign signature, or one this module does not read. */
  | "malformed"
  /** A legacy "Ed" signature (minisign -l, or before 0.8), refused unless allowed. */
  | "legacy-algorithm"
  /** Signed by a key that is not among the trusted ones. */
  | "unknown-key"
  /** The signature does not match the data: the data or the signature was changed. */
  | "bad-signature"
  /** The data matches but the trusted comment was changed. */
  | "bad-trusted-comment";

export interface VerifiedSignature {
  ok: true;
  /** The signing key's id, as minisign prints it. */
  keyId: string;
  trustedComment: string;
  /** Not authenticated: for display only. */
  untrustedComment: string;
  prehashed: boolean;
}

export interface VerifyFailure {
  ok: false;
  reason: VerifyFailureReason;
  /** One line, naming what is wrong; never any key material. */
  message: string;
  /** The key id the signature names, when it could be read. */
  keyId?: string;
}

export type VerifyResult = VerifiedSignature | VerifyFailure;

export interface VerifyOptions {
  /**
   * Accept legacy signatures over the raw data ("Ed"). Off by default: every signer we expect
   * (this module, minisign 0.8+ without -l) prehashes, and one accepted algorithm is one path to
   * get right.
   */
  allowLegacy?: boolean;
}

interface ParsedSignature {
  algorithm: string;
  keyIdBytes: Buffer;
  signature: Buffer;
  untrustedComment: string;
  trustedComment: string;
  globalSignature: Buffer;
}

function parseSignature(text: string): ParsedSignature | string {
  const lines = splitLines(text.replace(/^\uFEFF/, ""));
  if (lines.length !== 4) return `expected the 4 lines of a minisign signature, found ${lines.length}`;
  const [untrusted, structLine, trusted, globalLine] = lines as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED_PREFIX))
    return `line 1 does not start with "${UNTRUSTED_PREFIX.trim()}"`;
  if (!trusted.startsWith(TRUSTED_PREFIX)) return `line 3 does not start with "${TRUSTED_PREFIX.trim()}"`;
  const struct = decodeBase64(structLine, SIGNATURE_STRUCT_LENGTH);
  if (!struct) return `line 2 is not base64 of ${SIGNATURE_STRUCT_LENGTH} bytes`;
  const globalSignature = decodeBase64(globalLine, SIGNATURE_LENGTH);
  if (!globalSignature) return `line 4 is not base64 of ${SIGNATURE_LENGTH} bytes`;
  const trustedComment = trusted.slice(TRUSTED_PREFIX.length);
  if (Buffer.byteLength(trustedComment) > MAX_TRUSTED_COMMENT_BYTES) return "the trusted comment is too long";
  return {
    algorithm: struct.subarray(0, 2).toString("latin1"),
    keyIdBytes: struct.subarray(2, 2 + KEY_ID_LENGTH),
    signature: struct.subarray(2 + KEY_ID_LENGTH),
    untrustedComment: untrusted.slice(UNTRUSTED_PREFIX.length),
    trustedComment,
    globalSignature,
  };
}

/**
 * Checks a `.minisig` text against the data and the trusted keys (one or several, for rotation),
 * in minisign's order: algorithm, key id, the data's signature, then the trusted comment's.
 * Keys given as text are parsed strictly and a bad one throws an InputError: that is a
 * configuration mistake, not a verdict on the data.
 */
export function verify(
  data: Uint8Array,
  signatureText: string,
  trustedKeys: string | PublicKey | readonly (string | PublicKey)[],
  options: VerifyOptions = {},
): VerifyResult {
  const keys = (Array.isArray(trustedKeys) ? trustedKeys : [trustedKeys]).map((key: string | PublicKey) =>
    typeof key === "string" ? parsePublicKey(key) : key,
  );
  if (keys.length === 0) throw new InputError("no trusted key given to verify a signature with");
  const parsed = parseSignature(signatureText);
  if (typeof parsed === "string")
    return { ok: false, reason: "malformed", message: `not a minisign signature: ${parsed}` };
  const keyId = keyIdHex(parsed.keyIdBytes);
  if (parsed.algorithm === SIGNATURE_ALGORITHM) {
    if (!options.allowLegacy) {
      return {
        ok: false,
        reason: "legacy-algorithm",
        message: `a legacy (not prehashed, "Ed") signature by key ${keyId}: refused; sign without minisign -l`,
        keyId,
      };
    }
  } else if (parsed.algorithm !== PREHASHED_ALGORITHM) {
    return {
      ok: false,
      reason: "malformed",
      message: "not a minisign signature: unknown signature algorithm",
      keyId,
    };
  }
  const candidates = keys.filter((key) => key.keyIdBytes.equals(parsed.keyIdBytes));
  if (candidates.length === 0) {
    const trusted = [...new Set(keys.map((key) => key.keyId))].join(", ");
    return {
      ok: false,
      reason: "unknown-key",
      message: `signed by another key: key id ${keyId}, trusted ${trusted}`,
      keyId,
    };
  }
  const message = parsed.algorithm === PREHASHED_ALGORITHM ? prehash(data) : data;
  const key = candidates.find((candidate) => ed25519Verify(null, message, candidate.key, parsed.signature));
  if (!key) {
    return {
      ok: false,
      reason: "bad-signature",
      message: `the signature by key ${keyId} does not match the data: the data or the signature was changed`,
      keyId,
    };
  }
  const signedComment = Buffer.concat([parsed.signature, Buffer.from(parsed.trustedComment)]);
  if (!ed25519Verify(null, signedComment, key.key, parsed.globalSignature)) {
    return {
      ok: false,
      reason: "bad-trusted-comment",
      message: `the trusted comment does not match its signature by key ${keyId}: it was changed`,
      keyId,
    };
  }
  return {
    ok: true,
    keyId,
    trustedComment: parsed.trustedComment,
    untrustedComment: parsed.untrustedComment,
    prehashed: parsed.algorithm === PREHASHED_ALGORITHM,
  };
}

/** A signature that did not verify, as an operation failure (exit 1). */
export class SignatureError extends OperationError {
  readonly reason: VerifyFailureReason | "wrong-context";
  readonly keyId: string | undefined;
  constructor(
    what: string,
    failure: { reason: VerifyFailureReason | "wrong-context"; message: string; keyId?: string },
  ) {
    super(`${what}: ${failure.message}`);
    this.reason = failure.reason;
    this.keyId = failure.keyId;
  }
}
