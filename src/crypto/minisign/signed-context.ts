/**
 * What a Lifeboat signature binds besides the signed bytes: the trusted comment names the kind
 * of record, the label, the backup and the file, so a signed manifest or check record copied to
 * another folder or label still verifies as a signature but fails the comparison with the place
 * it was read from (the rollback and substitution forgeries of issue 17).
 *
 *   lifeboat <kind> label=<label> backup=<backup-id> file=<name> timestamp=<unix seconds>
 *
 * `file` is relative to the backup folder (`manifest.json`, `checks/<stamp>-verify-pass.json`),
 * or to the label folder when there is no backup (`_audit/<stamp>-restore.json`, no `backup=`).
 * Values are restricted to characters that need no escaping, and the parse is exact: a comment
 * written any other way is not ours.
 */
import { InputError } from "../../domain/errors.js";
import {
  SignatureError,
  verify,
  type VerifyFailure,
  type VerifyOptions,
  type VerifiedSignature,
} from "./sign.js";
import type { PublicKey } from "./keys.js";

export interface SignedContext {
  /** manifest, check, audit: what the signed bytes are. */
  kind: string;
  label: string;
  backupId?: string;
  file: string;
  /** Unix seconds when signed; informational (the reader compares the rest). */
  timestamp: number;
}

const KIND = /^[a-z][a-z-]{0,31}$/;
const VALUE = /^[A-Za-z0-9._/-]{1,255}$/;
const COMMENT =
  /^lifeboat ([a-z][a-z-]{0,31}) label=([A-Za-z0-9._/-]{1,255})(?: backup=([A-Za-z0-9._/-]{1,255}))? file=([A-Za-z0-9._/-]{1,255}) timestamp=(0|[1-9][0-9]{0,14})$/;

/** The trusted comment for a record; throws when a value would need escaping. */
export function formatTrustedComment(context: SignedContext): string {
  const bad = (what: string, value: string): InputError =>
    new InputError(`cannot sign: ${what} "${value}" must be letters, digits, ".", "_", "/" or "-"`);
  if (!KIND.test(context.kind)) throw bad("kind", context.kind);
  if (!VALUE.test(context.label)) throw bad("label", context.label);
  if (context.backupId !== undefined && !VALUE.test(context.backupId))
    throw bad("backup id", context.backupId);
  if (!VALUE.test(context.file)) throw bad("file", context.file);
  if (!Number.isSafeInteger(context.timestamp) || context.timestamp < 0) {
    throw new InputError(`cannot sign: timestamp ${context.timestamp} is not whole Unix seconds`);
  }
  const backup = context.backupId === undefined ? "" : ` backup=${context.backupId}`;
  return `lifeboat ${context.kind} label=${context.label}${backup} file=${context.file} timestamp=${context.timestamp}`;
}

/** The context a trusted comment states, or undefined when it is not a Lifeboat comment. */
export function parseTrustedComment(comment: string): SignedContext | undefined {
  const match = COMMENT.exec(comment);
  if (!match) return undefined;
  const [, kind, label, backupId, file, timestamp] = match;
  const context: SignedContext = { kind: kind!, label: label!, file: file!, timestamp: Number(timestamp) };
  if (backupId !== undefined) context.backupId = backupId;
  return context;
}

export type ExpectedContext = Omit<SignedContext, "timestamp">;

function describe(context: ExpectedContext): string {
  const backup = context.backupId === undefined ? "" : ` backup=${context.backupId}`;
  return `${context.kind} label=${context.label}${backup} file=${context.file}`;
}

/** Undefined when the signed context is the expected one, else a line saying how they differ. */
export function contextMismatch(signed: SignedContext, expected: ExpectedContext): string | undefined {
  const same =
    signed.kind === expected.kind &&
    signed.label === expected.label &&
    signed.backupId === expected.backupId &&
    signed.file === expected.file;
  return same ? undefined : `signed as ${describe(signed)}, but read as ${describe(expected)}`;
}

export type SignedObjectResult =
  | (VerifiedSignature & { context: SignedContext })
  | VerifyFailure
  | { ok: false; reason: "wrong-context"; message: string; keyId: string };

/**
 * Verifies a Lifeboat record's signature and that its trusted comment names the place it was
 * read from. A valid signature whose comment is not ours, or names another place, fails with
 * reason "wrong-context".
 */
export function verifySignedObject(
  data: Uint8Array,
  signatureText: string,
  trustedKeys: string | PublicKey | readonly (string | PublicKey)[],
  expected: ExpectedContext,
  options: VerifyOptions = {},
): SignedObjectResult {
  const result = verify(data, signatureText, trustedKeys, options);
  if (!result.ok) return result;
  const context = parseTrustedComment(result.trustedComment);
  if (!context) {
    return {
      ok: false,
      reason: "wrong-context",
      message: `signed by key ${result.keyId}, but its trusted comment is not a Lifeboat one (expected ${describe(expected)})`,
      keyId: result.keyId,
    };
  }
  const mismatch = contextMismatch(context, expected);
  if (mismatch) return { ok: false, reason: "wrong-context", message: mismatch, keyId: result.keyId };
  return { ...result, context };
}

/** The verified context, or a SignatureError naming `what` (e.g. the object's key). */
export function requireSignedObject(
  what: string,
  ...args: Parameters<typeof verifySignedObject>
): VerifiedSignature & { context: SignedContext } {
  const result = verifySignedObject(...args);
  if (!result.ok) throw new SignatureError(what, result);
  return result;
}
