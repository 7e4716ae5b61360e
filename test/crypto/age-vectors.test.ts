/**
 * Our age decryption against the C2SP/CCTV age test vectors (npm `cctv-age`): every vector either
 * gets its expected result (success with the expected payload, or the expected kind of failure with
 * exactly the expected plaintext released before it), or is classified below as a feature this
 * implementation deliberately lacks, with the behaviour that is asserted instead.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { inflateSync } from "node:zlib";
import * as vectors from "cctv-age";
import { InputError } from "../../src/domain/errors.js";
import {
  AgeDecryptError,
  generateIdentity,
  parseIdentities,
  passphraseIdentity,
  type AgeFailure,
  type Identity,
} from "../../src/crypto/age/index.js";
import { decrypt } from "./age-helpers.js";

interface Vector {
  name: string;
  expect: string;
  payload: string | undefined;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  comment: string | undefined;
  file: Buffer;
}

const KNOWN_KEYS = new Set([
  "expect",
  "payload",
  "identity",
  "passphrase",
  "armored",
  "compressed",
  "file key",
  "comment",
]);

/** A vector file: `key: value` lines, an empty line, then the age file (zlib-compressed if said so). */
function parseVector(name: string, data: Uint8Array): Vector {
  const bytes = Buffer.from(data);
  const split = bytes.indexOf("\n\n");
  const fields = bytes
    .subarray(0, split)
    .toString("utf8")
    .split("\n")
    .map((line) => {
      const colon = line.indexOf(": ");
      return [line.slice(0, colon), line.slice(colon + 2)] as const;
    });
  for (const [key] of fields) {
    // The format says to ignore vectors with unknown keys; a new key is a new kind of vector, so it
    // fails here, to be classified deliberately rather than ignored unnoticed.
    assert.ok(KNOWN_KEYS.has(key), `${name}: unknown vector key ${JSON.stringify(key)}`);
  }
  const all = (key: string) => fields.filter(([field]) => field === key).map(([, value]) => value);
  const compressed = all("compressed")[0];
  assert.ok(compressed === undefined || compressed === "zlib", `${name}: compressed: ${compressed}`);
  const body = bytes.subarray(split + 2);
  return {
    name,
    expect: all("expect")[0]!,
    payload: all("payload")[0],
    identities: all("identity"),
    passphrases: all("passphrase"),
    armored: all("armored")[0] === "yes",
    comment: all("comment")[0],
    file: compressed === "zlib" ? inflateSync(body) : body,
  };
}

const EXPECTED_FAILURE: Record<string, AgeFailure> = {
  "header failure": "header",
  "HMAC failure": "HMAC",
  "no match": "no match",
  "payload failure": "payload",
  "armor failure": "armor",
};

/**
 * The features the vectors exercise that this implementation does not have, and why. The
 * product's stored objects are binary age to X25519 recipients or one scrypt passphrase.
 */
function unsupported(vector: Vector): string | undefined {
  if (vector.identities.some((identity) => identity.startsWith("AGE-SECRET-KEY-PQ-1"))) {
    return "post-quantum hybrid identities (mlkem768x25519): not implemented; the identity is refused by name";
  }
  if (vector.armored) {
    return "ASCII armor (age -a): not decoded; armored input is refused before any key is tried";
  }
  return undefined;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

const all = Object.entries(vectors as Record<string, Uint8Array>)
  .map(([name, data]) => parseVector(name, data))
  .sort((a, b) => a.name.localeCompare(b.name));

test("the vector set is the one classified here", () => {
  const counts = { supported: 0, hybrid: 0, armor: 0 };
  for (const vector of all) {
    const reason = unsupported(vector);
    if (!reason) counts.supported++;
    else if (reason.startsWith("post-quantum")) counts.hybrid++;
    else counts.armor++;
  }
  // cctv-age 0.2.0: 143 vectors. A different count means the package changed: look at the new ones.
  assert.deepEqual(counts, { supported: 92, hybrid: 19, armor: 32 });
});

for (const vector of all) {
  const reason = unsupported(vector);
  const title = `${vector.name}: ${vector.expect}${reason ? ` (unsupported: ${reason})` : ""}`;
  test(title, async () => {
    if (reason?.startsWith("post-quantum")) {
      assert.throws(
        () => vector.identities.flatMap((identity) => parseIdentities(identity)),
        (error: unknown) => error instanceof InputError && /post-quantum/.test(error.message),
      );
      return;
    }
    let identities: Identity[] = [
      ...vector.identities.flatMap((identity) => parseIdentities(identity)),
      ...vector.passphrases.map((passphrase) => passphraseIdentity(passphrase)),
    ];
    // A vector without any key (an empty file) must fail before a key matters.
    if (identities.length === 0) identities = parseIdentities(generateIdentity().identity);
    // Whole, and in small pieces that split chunks, tags and header lines at odd places.
    const pieceSizes = vector.passphrases.length > 0 ? [vector.file.length] : [vector.file.length || 1, 1000];
    for (const pieceSize of pieceSizes) {
      const { plaintext, error } = await decrypt(vector.file, identities, pieceSize);
      const context = `${vector.name} in pieces of ${pieceSize}: ${vector.comment ?? ""}`;
      if (reason) {
        // Armored: refused as armor when it is armor, as "not an age file" when the armor's own
        // framing is broken (leading garbage, lowercase); either way nothing is released.
        assert.ok(error instanceof AgeDecryptError, context);
        const wellFramed = /^[ \t\r\n]*-----BEGIN AGE ENCRYPTED FILE-----/.test(
          vector.file.toString("latin1"),
        );
        assert.equal(error.failure, wellFramed ? "armor" : "header", context);
        assert.equal(plaintext.length, 0, context);
        continue;
      }
      if (vector.expect === "success") {
        assert.equal(error, undefined, context);
      } else {
        const failure = EXPECTED_FAILURE[vector.expect];
        assert.ok(failure, `${vector.name}: unknown expectation ${vector.expect}`);
        assert.ok(error instanceof AgeDecryptError, `${context}: ${String(error)}`);
        assert.equal(error.failure, failure, `${context}: ${error.message}`);
      }
      // Everything released, even before a failure, is what the vector says may be released.
      if (vector.payload) assert.equal(sha256(plaintext), vector.payload, context);
      else assert.equal(plaintext.length, 0, context);
    }
  });
}
