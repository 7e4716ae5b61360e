/**
 * Bech32 (BIP-173, not bech32m) as age uses it: no 90-character limit, since age keys are longer
 * than Bitcoin addresses. A string is all lowercase or all uppercase; the checksum is always computed
 * over the lowercase form.
 */

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_LENGTH = 6;

/** Why a string is not valid bech32; the message never quotes the string (it may be a secret key). */
export class Bech32Error extends Error {}

function polymod(values: readonly number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let bit = 0; bit < 5; bit++) {
      if ((top >>> bit) & 1) checksum ^= GENERATOR[bit]!;
    }
  }
  return checksum;
}

function expandHrp(hrp: string): number[] {
  const codes = Array.from(hrp, (char) => char.charCodeAt(0));
  return [...codes.map((code) => code >> 5), 0, ...codes.map((code) => code & 31)];
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  const out: number[] = [];
  const max = (1 << to) - 1;
  let accumulator = 0;
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    accumulator = ((accumulator << from) | data[i]!) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((accumulator >> bits) & max);
    }
  }
  if (pad) {
    if (bits > 0) out.push((accumulator << (to - bits)) & max);
  } else if (bits >= from) {
    throw new Bech32Error("it has an excess padding group");
  } else if ((accumulator << (to - bits)) & max) {
    throw new Bech32Error("its padding bits are not zero");
  }
  return out;
}

/** Encodes bytes under a human-readable prefix; the result has the case of `hrp`. */
export function encode(hrp: string, data: Uint8Array): string {
  const lowerHrp = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true);
  const mod = polymod([...expandHrp(lowerHrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  let text = `${lowerHrp}1`;
  for (const word of words) text += CHARSET[word];
  for (let i = 0; i < CHECKSUM_LENGTH; i++) text += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return hrp === lowerHrp ? text : text.toUpperCase();
}

/** Decodes a bech32 string; the returned prefix keeps the case it was written in. */
export function decode(text: string): { hrp: string; data: Buffer } {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) {
    throw new Bech32Error("it mixes upper and lower case");
  }
  const separator = text.lastIndexOf("1");
  if (separator < 1 || separator + 1 + CHECKSUM_LENGTH > text.length) {
    throw new Bech32Error("it has no separator '1' followed by data and a checksum");
  }
  const hrp = text.slice(0, separator);
  for (const char of hrp) {
    const code = char.charCodeAt(0);
    if (code < 33 || code > 126) throw new Bech32Error("its prefix has a character outside printable ASCII");
  }
  const words: number[] = [];
  for (let i = separator + 1; i < lower.length; i++) {
    const word = CHARSET.indexOf(lower[i]!);
    if (word < 0) {
      throw new Bech32Error(`character ${i + 1} is not in the bech32 alphabet (${CHARSET})`);
    }
    words.push(word);
  }
  if (polymod([...expandHrp(hrp.toLowerCase()), ...words]) !== 1) {
    throw new Bech32Error("its checksum does not match (a typo, or an incomplete copy?)");
  }
  const data = convertBits(words.slice(0, -CHECKSUM_LENGTH), 5, 8, false);
  return { hrp, data: Buffer.from(data) };
}
