/**
 * Signatures on what the repository writes and reads (docs/evidence.md): the manifest, check
 * records and audit records each get a minisign `.minisig` beside them, whose trusted comment names
 * the label, the backup and the file, so a signed object moved to another place fails.
 *
 * With trusted keys configured, every reader of this repository refuses an unsigned manifest or
 * one signed by another key, and ignores unsigned check records; without them nothing is checked
 * (an unsigned setup detects damage, not forgery). Living in the repository, this applies to every
 * command that reads a backup without each one asking for it.
 */
import {
  formatTrustedComment,
  loadSigningKey,
  parsePublicKey,
  verifySignedObject,
  type ExpectedContext,
  type PublicKey,
  type SigningKey,
} from "../crypto/minisign/index.js";
import { signWithKey } from "../crypto/minisign/index.js";
import type { EvidenceSettings } from "../settings/types.js";

/** The signature's key beside an object's. */
export const SIGNATURE_SUFFIX = ".minisig";

export function signatureKey(key: string): string {
  return `${key}${SIGNATURE_SUFFIX}`;
}

export type SignatureVerdict = { ok: true; keyId: string } | { ok: false; message: string };

/** The keys one command works with: the public keys it trusts, and the key it signs with. */
export class Evidence {
  readonly trustedKeys: readonly PublicKey[];
  readonly #signingKeyText: string | undefined;
  #signer: Promise<SigningKey> | undefined;

  constructor(settings: EvidenceSettings | undefined) {
    this.trustedKeys = (settings?.trustedKeys ?? []).map((key) => parsePublicKey(key));
    this.#signingKeyText = settings?.signingKeyText;
  }

  /** Whether readers refuse unsigned manifests and ignore unsigned check records. */
  get requiresSignatures(): boolean {
    return this.trustedKeys.length > 0;
  }

  get signs(): boolean {
    return this.#signingKeyText !== undefined;
  }

  /**
   * The signing key, loaded once; undefined without one. A bad key is an InputError naming
   * signing-key: load it before any work (a backup must not dump for an hour and then fail).
   */
  signer(): Promise<SigningKey | undefined> {
    if (this.#signingKeyText === undefined) return Promise.resolve(undefined);
    this.#signer ??= loadSigningKey(this.#signingKeyText, { input: "signing-key" });
    return this.#signer;
  }

  /** The `.minisig` text for an object at `context`'s place, or undefined without a signing key. */
  async sign(data: Uint8Array, context: ExpectedContext, now: Date): Promise<string | undefined> {
    const key = await this.signer();
    if (!key) return undefined;
    const trustedComment = formatTrustedComment({ ...context, timestamp: Math.floor(now.getTime() / 1000) });
    return signWithKey(data, key, { trustedComment });
  }

  /**
   * Whether `data` was signed by a trusted key for the place it was read from. `signature` is
   * undefined when no `.minisig` exists. Only meaningful when `requiresSignatures`.
   */
  check(data: Uint8Array, signature: string | undefined, expected: ExpectedContext): SignatureVerdict {
    if (signature === undefined) {
      return {
        ok: false,
        message: `unsigned (no ${expected.file}${SIGNATURE_SUFFIX}), and a trusted key is set`,
      };
    }
    const result = verifySignedObject(data, signature, this.trustedKeys, expected);
    return result.ok ? { ok: true, keyId: result.keyId } : { ok: false, message: result.message };
  }
}
