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

/** The block to compress. */
const W = new Int32Array(16);

/**
 * One compression of W[0..15] into `h`, written out sixteen rounds at a time with the state and
 * the message schedule's last sixteen words in local variables: each round writes the two state
 * words that change in place of the one that falls out (round i + r names the words rotated right
 * by r), so no word moves from variable to variable, and the schedule's next sixteen words replace
 * the last ones. Measured against one round per iteration, the words shifted along and the
 * schedule in W: a quarter less time per compression. The sigmas are written out because helper
 * functions cost three times as much: V8 does not inline them into a function this large.
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
  let w0 = W[0]!;
  let w1 = W[1]!;
  let w2 = W[2]!;
  let w3 = W[3]!;
  let w4 = W[4]!;
  let w5 = W[5]!;
  let w6 = W[6]!;
  let w7 = W[7]!;
  let w8 = W[8]!;
  let w9 = W[9]!;
  let w10 = W[10]!;
  let w11 = W[11]!;
  let w12 = W[12]!;
  let w13 = W[13]!;
  let w14 = W[14]!;
  let w15 = W[15]!;
  let s: number;
  let t: number;
  for (let i = 0; ; i += 16) {
    s = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    t = (k + s + (g ^ (e & (f ^ g))) + K[i + 0]! + w0) | 0;
    d = (d + t) | 0;
    s = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    k = (t + s + ((a & b) | (c & (a | b)))) | 0;
    s = ((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7));
    t = (g + s + (f ^ (d & (e ^ f))) + K[i + 1]! + w1) | 0;
    c = (c + t) | 0;
    s = ((k >>> 2) | (k << 30)) ^ ((k >>> 13) | (k << 19)) ^ ((k >>> 22) | (k << 10));
    g = (t + s + ((k & a) | (b & (k | a)))) | 0;
    s = ((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7));
    t = (f + s + (e ^ (c & (d ^ e))) + K[i + 2]! + w2) | 0;
    b = (b + t) | 0;
    s = ((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10));
    f = (t + s + ((g & k) | (a & (g | k)))) | 0;
    s = ((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7));
    t = (e + s + (d ^ (b & (c ^ d))) + K[i + 3]! + w3) | 0;
    a = (a + t) | 0;
    s = ((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10));
    e = (t + s + ((f & g) | (k & (f | g)))) | 0;
    s = ((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7));
    t = (d + s + (c ^ (a & (b ^ c))) + K[i + 4]! + w4) | 0;
    k = (k + t) | 0;
    s = ((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10));
    d = (t + s + ((e & f) | (g & (e | f)))) | 0;
    s = ((k >>> 6) | (k << 26)) ^ ((k >>> 11) | (k << 21)) ^ ((k >>> 25) | (k << 7));
    t = (c + s + (b ^ (k & (a ^ b))) + K[i + 5]! + w5) | 0;
    g = (g + t) | 0;
    s = ((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10));
    c = (t + s + ((d & e) | (f & (d | e)))) | 0;
    s = ((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7));
    t = (b + s + (a ^ (g & (k ^ a))) + K[i + 6]! + w6) | 0;
    f = (f + t) | 0;
    s = ((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10));
    b = (t + s + ((c & d) | (e & (c | d)))) | 0;
    s = ((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7));
    t = (a + s + (k ^ (f & (g ^ k))) + K[i + 7]! + w7) | 0;
    e = (e + t) | 0;
    s = ((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10));
    a = (t + s + ((b & c) | (d & (b | c)))) | 0;
    s = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    t = (k + s + (g ^ (e & (f ^ g))) + K[i + 8]! + w8) | 0;
    d = (d + t) | 0;
    s = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    k = (t + s + ((a & b) | (c & (a | b)))) | 0;
    s = ((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7));
    t = (g + s + (f ^ (d & (e ^ f))) + K[i + 9]! + w9) | 0;
    c = (c + t) | 0;
    s = ((k >>> 2) | (k << 30)) ^ ((k >>> 13) | (k << 19)) ^ ((k >>> 22) | (k << 10));
    g = (t + s + ((k & a) | (b & (k | a)))) | 0;
    s = ((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7));
    t = (f + s + (e ^ (c & (d ^ e))) + K[i + 10]! + w10) | 0;
    b = (b + t) | 0;
    s = ((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10));
    f = (t + s + ((g & k) | (a & (g | k)))) | 0;
    s = ((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7));
    t = (e + s + (d ^ (b & (c ^ d))) + K[i + 11]! + w11) | 0;
    a = (a + t) | 0;
    s = ((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10));
    e = (t + s + ((f & g) | (k & (f | g)))) | 0;
    s = ((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7));
    t = (d + s + (c ^ (a & (b ^ c))) + K[i + 12]! + w12) | 0;
    k = (k + t) | 0;
    s = ((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10));
    d = (t + s + ((e & f) | (g & (e | f)))) | 0;
    s = ((k >>> 6) | (k << 26)) ^ ((k >>> 11) | (k << 21)) ^ ((k >>> 25) | (k << 7));
    t = (c + s + (b ^ (k & (a ^ b))) + K[i + 13]! + w13) | 0;
    g = (g + t) | 0;
    s = ((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10));
    c = (t + s + ((d & e) | (f & (d | e)))) | 0;
    s = ((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7));
    t = (b + s + (a ^ (g & (k ^ a))) + K[i + 14]! + w14) | 0;
    f = (f + t) | 0;
    s = ((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10));
    b = (t + s + ((c & d) | (e & (c | d)))) | 0;
    s = ((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7));
    t = (a + s + (k ^ (f & (g ^ k))) + K[i + 15]! + w15) | 0;
    e = (e + t) | 0;
    s = ((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10));
    a = (t + s + ((b & c) | (d & (b | c)))) | 0;
    if (i === 48) break;
    s = ((w1 >>> 7) | (w1 << 25)) ^ ((w1 >>> 18) | (w1 << 14)) ^ (w1 >>> 3);
    t = ((w14 >>> 17) | (w14 << 15)) ^ ((w14 >>> 19) | (w14 << 13)) ^ (w14 >>> 10);
    w0 = (w0 + s + w9 + t) | 0;
    s = ((w2 >>> 7) | (w2 << 25)) ^ ((w2 >>> 18) | (w2 << 14)) ^ (w2 >>> 3);
    t = ((w15 >>> 17) | (w15 << 15)) ^ ((w15 >>> 19) | (w15 << 13)) ^ (w15 >>> 10);
    w1 = (w1 + s + w10 + t) | 0;
    s = ((w3 >>> 7) | (w3 << 25)) ^ ((w3 >>> 18) | (w3 << 14)) ^ (w3 >>> 3);
    t = ((w0 >>> 17) | (w0 << 15)) ^ ((w0 >>> 19) | (w0 << 13)) ^ (w0 >>> 10);
    w2 = (w2 + s + w11 + t) | 0;
    s = ((w4 >>> 7) | (w4 << 25)) ^ ((w4 >>> 18) | (w4 << 14)) ^ (w4 >>> 3);
    t = ((w1 >>> 17) | (w1 << 15)) ^ ((w1 >>> 19) | (w1 << 13)) ^ (w1 >>> 10);
    w3 = (w3 + s + w12 + t) | 0;
    s = ((w5 >>> 7) | (w5 << 25)) ^ ((w5 >>> 18) | (w5 << 14)) ^ (w5 >>> 3);
    t = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w4 = (w4 + s + w13 + t) | 0;
    s = ((w6 >>> 7) | (w6 << 25)) ^ ((w6 >>> 18) | (w6 << 14)) ^ (w6 >>> 3);
    t = ((w3 >>> 17) | (w3 << 15)) ^ ((w3 >>> 19) | (w3 << 13)) ^ (w3 >>> 10);
    w5 = (w5 + s + w14 + t) | 0;
    s = ((w7 >>> 7) | (w7 << 25)) ^ ((w7 >>> 18) | (w7 << 14)) ^ (w7 >>> 3);
    t = ((w4 >>> 17) | (w4 << 15)) ^ ((w4 >>> 19) | (w4 << 13)) ^ (w4 >>> 10);
    w6 = (w6 + s + w15 + t) | 0;
    s = ((w8 >>> 7) | (w8 << 25)) ^ ((w8 >>> 18) | (w8 << 14)) ^ (w8 >>> 3);
    t = ((w5 >>> 17) | (w5 << 15)) ^ ((w5 >>> 19) | (w5 << 13)) ^ (w5 >>> 10);
    w7 = (w7 + s + w0 + t) | 0;
    s = ((w9 >>> 7) | (w9 << 25)) ^ ((w9 >>> 18) | (w9 << 14)) ^ (w9 >>> 3);
    t = ((w6 >>> 17) | (w6 << 15)) ^ ((w6 >>> 19) | (w6 << 13)) ^ (w6 >>> 10);
    w8 = (w8 + s + w1 + t) | 0;
    s = ((w10 >>> 7) | (w10 << 25)) ^ ((w10 >>> 18) | (w10 << 14)) ^ (w10 >>> 3);
    t = ((w7 >>> 17) | (w7 << 15)) ^ ((w7 >>> 19) | (w7 << 13)) ^ (w7 >>> 10);
    w9 = (w9 + s + w2 + t) | 0;
    s = ((w11 >>> 7) | (w11 << 25)) ^ ((w11 >>> 18) | (w11 << 14)) ^ (w11 >>> 3);
    t = ((w8 >>> 17) | (w8 << 15)) ^ ((w8 >>> 19) | (w8 << 13)) ^ (w8 >>> 10);
    w10 = (w10 + s + w3 + t) | 0;
    s = ((w12 >>> 7) | (w12 << 25)) ^ ((w12 >>> 18) | (w12 << 14)) ^ (w12 >>> 3);
    t = ((w9 >>> 17) | (w9 << 15)) ^ ((w9 >>> 19) | (w9 << 13)) ^ (w9 >>> 10);
    w11 = (w11 + s + w4 + t) | 0;
    s = ((w13 >>> 7) | (w13 << 25)) ^ ((w13 >>> 18) | (w13 << 14)) ^ (w13 >>> 3);
    t = ((w10 >>> 17) | (w10 << 15)) ^ ((w10 >>> 19) | (w10 << 13)) ^ (w10 >>> 10);
    w12 = (w12 + s + w5 + t) | 0;
    s = ((w14 >>> 7) | (w14 << 25)) ^ ((w14 >>> 18) | (w14 << 14)) ^ (w14 >>> 3);
    t = ((w11 >>> 17) | (w11 << 15)) ^ ((w11 >>> 19) | (w11 << 13)) ^ (w11 >>> 10);
    w13 = (w13 + s + w6 + t) | 0;
    s = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    t = ((w12 >>> 17) | (w12 << 15)) ^ ((w12 >>> 19) | (w12 << 13)) ^ (w12 >>> 10);
    w14 = (w14 + s + w7 + t) | 0;
    s = ((w0 >>> 7) | (w0 << 25)) ^ ((w0 >>> 18) | (w0 << 14)) ^ (w0 >>> 3);
    t = ((w13 >>> 17) | (w13 << 15)) ^ ((w13 >>> 19) | (w13 << 13)) ^ (w13 >>> 10);
    w15 = (w15 + s + w8 + t) | 0;
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
const LONG_MESSAGE = 32;

/**
 * Writes `prefix` (ASCII) then `message` as UTF-8 into `bytes` and returns their length, without a
 * string joining the two (measured: copying each message into a new string cost more than encoding
 * it). A short ASCII message is encoded here, a long one by a call into C++, which costs about as
 * much as 30 characters here whatever its length (measured).
 */
function encode(prefix: string, message: string): number {
  const p = prefix.length;
  const n = p + message.length;
  if (bytes.length < n * 3 + 72) {
    bytes = new Uint8Array(2 * (n * 3 + 72));
    buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  for (let i = 0; i < p; i++) bytes[i] = prefix.charCodeAt(i);
  if (message.length > LONG_MESSAGE) return p + buffer.write(message, p, "utf8");
  for (let i = p; i < n; i++) {
    const c = message.charCodeAt(i - p);
    if (c >= 0x80) return p + buffer.write(message, p, "utf8");
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
 * HMAC-SHA256 from the states after the inner and outer pads, of `prefix` (ASCII) and `message` as
 * UTF-8. The result is overwritten by the next call.
 */
export function hmacWords(inner: Int32Array, outer: Int32Array, prefix: string, message: string): Int32Array {
  finish(inner, 64, encode(prefix, message), innerState);
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
