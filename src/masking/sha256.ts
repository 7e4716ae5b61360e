/**
 * SHA-256 (FIPS 180-4) in TypeScript, for HMAC over millions of short values: the key's two pads
 * are one 64-byte block each, so their compressed state is computed once per key and each HMAC
 * of a short value costs two compressions. node:crypto cannot resume from such a state without an
 * object per value, and crossing into it twice per value cost more than the hashing (measured:
 * half of masking's time in the job). A test holds this equal to node:crypto's HMAC-SHA256.
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

const W = new Int32Array(64);

/** One compression of W[0..15] into `h`. */
function compress(h: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
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

let scratch = Buffer.alloc(1024);

/**
 * SHA-256 of `data[0..length)` continued from `start` (the state after `prefixBytes` already
 * hashed bytes, 0 or 64). `data` must have room for the padding: 72 bytes past `length`.
 */
function finish(start: Int32Array, prefixBytes: number, data: Buffer, length: number, h: Int32Array): void {
  h.set(start);
  const total = length + 9;
  const blocks = Math.ceil(total / 64);
  data[length] = 0x80;
  data.fill(0, length + 1, blocks * 64);
  const bits = (prefixBytes + length) * 8;
  data.writeUInt32BE(Math.floor(bits / 2 ** 32), blocks * 64 - 8);
  data.writeUInt32BE(bits >>> 0, blocks * 64 - 4);
  for (let block = 0; block < blocks; block++) {
    const o = block * 64;
    for (let j = 0; j < 16; j++) {
      const p = o + 4 * j;
      W[j] = (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!;
    }
    compress(h);
  }
}

const innerState = new Int32Array(8);
const outerState = new Int32Array(8);
const outerBlock = Buffer.alloc(128);

/** HMAC-SHA256 from the states after the inner and outer pads, of `message` as UTF-8. */
export function hmacFromStates(inner: Int32Array, outer: Int32Array, message: string): Buffer {
  if (scratch.length < message.length * 3 + 72) scratch = Buffer.alloc(2 * (message.length * 3 + 72));
  const length = scratch.write(message, 0, "utf8");
  finish(inner, 64, scratch, length, innerState);
  for (let j = 0; j < 8; j++) outerBlock.writeInt32BE(innerState[j]!, 4 * j);
  finish(outer, 64, outerBlock, 32, outerState);
  return stateBytes(outerState);
}

const plainBlock = Buffer.alloc(128);
const plainState = new Int32Array(8);

/** SHA-256 of at most 55 bytes (one block): the text fake's word blocks. */
export function sha256Short(data: Buffer): Buffer {
  data.copy(plainBlock, 0);
  finish(IV, 0, plainBlock, data.length, plainState);
  return stateBytes(plainState);
}

function stateBytes(h: Int32Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  for (let j = 0; j < 8; j++) out.writeInt32BE(h[j]!, 4 * j);
  return out;
}
