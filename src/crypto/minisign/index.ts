/**
 * minisign-format Ed25519 signatures (github.com/jedisct1/minisign) on node:crypto: keys and
 * signatures interoperate both ways with the stock `minisign` CLI, so anyone can check a signed
 * manifest with `minisign -V` and no Lifeboat at all.
 */
export {
  generateSigningKey,
  loadSigningKey,
  parsePublicKey,
  parseSecretKeyStructure,
  PublicKey,
  SigningKey,
  type GeneratedKey,
  type GenerateOptions,
  type SecretKeyOptions,
} from "./keys.js";
export {
  sign,
  signWithKey,
  verify,
  SignatureError,
  type SignOptions,
  type VerifyOptions,
  type VerifyResult,
  type VerifiedSignature,
  type VerifyFailure,
  type VerifyFailureReason,
} from "./sign.js";
export {
  formatTrustedComment,
  parseTrustedComment,
  contextMismatch,
  verifySignedObject,
  requireSignedObject,
  type SignedContext,
  type ExpectedContext,
  type SignedObjectResult,
} from "./signed-context.js";
