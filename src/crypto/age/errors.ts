import { OperationError } from "../../domain/errors.js";

/**
 * What part of an age file made decryption fail, in the terms of the C2SP age test vectors:
 * "header" (the header, or the payload nonce after it, does not parse), "no match" (no identity
 * unwraps any stanza), "HMAC" (a file key was found, but the header's MAC is wrong), "payload"
 * (the STREAM payload does not authenticate to its end), "armor" (ASCII-armored input, which this
 * implementation does not decode).
 */
export type AgeFailure = "header" | "no match" | "HMAC" | "payload" | "armor";

export class AgeDecryptError extends OperationError {
  readonly failure: AgeFailure;
  constructor(failure: AgeFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}
