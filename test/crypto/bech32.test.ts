import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Bech32Error, decode, encode } from "../../src/crypto/age/bech32.js";

// The test vectors of BIP-173 (bech32, not bech32m).
const VALID = [
  "A12UEL5L",
  "a12uel5l",
  "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
  "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
  "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
  "?1ezyfcl",
];

const INVALID = [
  { text: "\x201nwldj5", why: "a prefix character out of range" },
  { text: "\x7f1axkwrx", why: "a prefix character out of range" },
  { text: "pzry9x0s0muk", why: "no separator" },
  { text: "1pzry9x0s0muk", why: "an empty prefix" },
  { text: "x1b4n0q5v", why: "an invalid data character" },
  { text: "li1dgmt3", why: "a too short checksum" },
  { text: "de1lg7wt\xff", why: "an invalid character in the checksum" },
  { text: "A1G7SGD8", why: "a checksum computed over the uppercase prefix" },
  { text: "10a06t8", why: "an empty prefix" },
  { text: "1qzzfhee", why: "an empty prefix" },
  { text: "a12UEL5L", why: "mixed case" },
];

test("BIP-173 valid strings decode, and re-encode to themselves", () => {
  for (const text of VALID) {
    const { hrp, data } = decode(text);
    assert.equal(encode(hrp, data), text);
  }
});

test("BIP-173 invalid strings are rejected", () => {
  for (const { text, why } of INVALID) {
    assert.throws(() => decode(text), Bech32Error, `accepted a string with ${why}`);
  }
});

test("no 90-character limit: long payloads round-trip", () => {
  const data = randomBytes(200);
  const text = encode("age", data);
  assert.ok(text.length > 300);
  assert.ok(decode(text).data.equals(data));
});

test("an uppercase prefix gives an uppercase string with the lowercase checksum", () => {
  const data = randomBytes(32);
  const upper = encode("AGE-SECRET-KEY-", data);
  assert.equal(upper, upper.toUpperCase());
  assert.equal(encode("age-secret-key-", data).toUpperCase(), upper);
  assert.ok(decode(upper).data.equals(data));
});

test("non-zero or excess padding is rejected", () => {
  // One byte takes two 5-bit groups; the second one's 2 low bits are padding. "qp" is groups 0, 1.
  assert.throws(() => decode(`age1qp${checksumFor("age1qp")}`), /padding bits are not zero/);
  // Three groups for one byte leave a whole group of padding.
  assert.throws(() => decode(`age1qqq${checksumFor("age1qqq")}`), /excess padding group/);
  assert.deepEqual([...decode(`age1qq${checksumFor("age1qq")}`).data], [0]);
});

/** An independent BIP-173 checksum, to build strings the encoder would never produce. */
function checksumFor(text: string): string {
  const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  const generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  const separator = text.lastIndexOf("1");
  const hrp = text.slice(0, separator);
  const values = [
    ...[...hrp].map((char) => char.charCodeAt(0) >> 5),
    0,
    ...[...hrp].map((char) => char.charCodeAt(0) & 31),
    ...[...text.slice(separator + 1)].map((char) => charset.indexOf(char)),
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let bit = 0; bit < 5; bit++) if ((top >>> bit) & 1) checksum ^= generator[bit]!;
  }
  checksum ^= 1;
  return Array.from({ length: 6 }, (_, i) => charset[(checksum >>> (5 * (5 - i))) & 31]).join("");
}
