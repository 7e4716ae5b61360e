/**
 * SHA-256 (FIPS 180-4) in TypeScript, for HMAC over millions of short values: the key's two pads
 * are one 64-byte block each, so their compressed state is computed once per key and each HMAC
 * of a short value costs two compressions. node:crypto cannot resume from such a state without an
 * object per value, and crossing into it twice per value cost more than the hashing (measured:
 * half of masking's time in the job). Results are states of eight 32-bit words, reused from call
 * to call, rather than a Buffer per hash: allocating them was a fifth of masking's time in the job
 * (docs/masking.md, Speed). A test holds this equal to node:crypto's HMAC-SHA256.
 */

/** The first 32 bits of the fractional parts of the square (IV) and cube (K) roots of the first primes. */
const IV = new Int32Array(8);
const K = new Int32Array(64);
{
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  const fraction = (x: number) => Math.floor((x - Math.floor(x)) * 2 ** 32) | 0;
  primes.forEach((p, i) => {
    if (i < 8) IV[i] = fraction(Math.sqrt(p));
    K[i] = fraction(Math.cbrt(p));
  });
}

/** The block to compress, then the message schedule's last 16 words. */
const W = new Int32Array(16);

/**
 * One compression of W[0..15] into `h`. The schedule is computed as the rounds go, in W[0..15] as
 * a ring (measured: faster than a first pass over 48 more words).
 */
function compress(h: Int32Array): void {
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let k = h[7]!;
  for (let i = 0; i < 64; i++) {
    let w: number;
    if (i < 16) w = W[i]!;
    else {
      const x = W[(i - 15) & 15]!;
      const y = W[(i - 2) & 15]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w = (W[i & 15]! + s0 + W[(i - 7) & 15]! + s1) | 0;
      W[i & 15] = w;
    }
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + s1 + (g ^ (e & (f ^ g))) + K[i]! + w) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) | (c & (a | b)))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + k) | 0;
}

/** The state after one 64-byte block (an HMAC pad), to start each HMAC from. */
export function stateAfterBlock(block: Buffer): Int32Array {
  const h = IV.slice();
  for (let j = 0; j < 16; j++) W[j] = block.readInt32BE(4 * j);
  compress(h);
  return h;
}

/** The message's UTF-8 bytes, with room for the padding (72 bytes past them). */
let bytes = new Uint8Array(1024);
let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Writes `message` as UTF-8 into `bytes` and returns its length; ASCII without a call into C++. */
function encode(message: string): number {
  const n = message.length;
  if (bytes.length < n * 3 + 72) {
    bytes = new Uint8Array(2 * (n * 3 + 72));
    buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    if (c >= 0x80) return buffer.write(message, 0, "utf8");
    bytes[i] = c;
  }
  return n;
}

/**
 * SHA-256 of `bytes[0..length)` continued from `start` (the state after `prefixBytes` already
 * hashed bytes, 0 or 64), into `h`.
 */
function finish(start: Int32Array, prefixBytes: number, length: number, h: Int32Array): void {
  h.set(start);
  const blocks = Math.ceil((length + 9) / 64);
  bytes[length] = 0x80;
  bytes.fill(0, length + 1, blocks * 64);
  for (let block = 0; block < blocks; block++) {
    const o = block * 64;
    for (let j = 0; j < 16; j++) {
      const p = o + 4 * j;
      W[j] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    }
    if (block === blocks - 1) {
      const bits = (prefixBytes + length) * 8;
      W[14] = Math.floor(bits / 2 ** 32);
      W[15] = bits | 0;
    }
    compress(h);
  }
}

/** The block after 32 bytes of state words: the outer hash of an HMAC, or a seed's counter block. */
function shortBlock(words: Int32Array, tail: number, prefixBytes: number): void {
  for (let j = 0; j < 8; j++) W[j] = words[j]!;
  const length = 32 + (tail === -1 ? 0 : 4);
  let j = 8;
  if (tail !== -1) W[j++] = tail;
  W[j++] = 0x80000000 | 0;
  while (j < 15) W[j++] = 0;
  W[15] = (prefixBytes + length) * 8;
}

const innerState = new Int32Array(8);
const hmacState = new Int32Array(8);

/**
 * HMAC-SHA256 from the states after the inner and outer pads, of `message` as UTF-8. The result is
 * overwritten by the next call.
 */
export function hmacWords(inner: Int32Array, outer: Int32Array, message: string): Int32Array {
  finish(inner, 64, encode(message), innerState);
  shortBlock(innerState, -1, 64);
  hmacState.set(outer);
  compress(hmacState);
  return hmacState;
}

const seedState = new Int32Array(8);

/**
 * SHA-256 of 36 bytes: the eight words of `seed` then `counter` as a big-endian 32-bit integer
 * (the text fake's word blocks). The result is overwritten by the next call.
 */
export function sha256SeedCounter(seed: Int32Array, counter: number): Int32Array {
  shortBlock(seed, counter | 0, 0);
  seedState.set(IV);
  compress(seedState);
  return seedState;
}

/** Byte `i` (0 to 31) of a state, big-endian as the digest's bytes are. */
export function stateByte(h: Int32Array, i: number): number {
  return (h[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** `count` bytes of the digest, from byte `from`, as lowercase hex. */
export function stateHex(h: Int32Array, from: number, count: number): string {
  let out = "";
  for (let i = from; i < from + count; i++) out += HEX[stateByte(h, i)]!;
  return out;
}

/** The digest as a Buffer (32 bytes). */
export function stateBuffer(h: Int32Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  for (let j = 0; j < 8; j++) out.writeInt32BE(h[j]!, 4 * j);
  return out;
}

/** SHA-256 of at most 55 bytes (one block): what the tests hold the compression to node:crypto's by. */
export function sha256Short(data: Buffer): Buffer {
  bytes.set(data, 0);
  const h = new Int32Array(8);
  finish(IV, 0, data.length, h);
  return stateBuffer(h);
}
