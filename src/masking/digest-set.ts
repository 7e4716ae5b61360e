/**
 * The digests of the source values, kept in the job's memory while masking runs: an open-addressing
 * hash set of 64-bit digests in typed arrays (8 bytes a value plus one byte of flags, at most half
 * full), so five million distinct values take about 150 MB at worst rather than a temp table on
 * the server. The digest is two 32-bit multiplicative hashes of the value's UTF-16 code units: equal
 * values always have equal digests, so a masked value equal to a source value is always found;
 * two different values sharing a digest (about n*m/2^64: one chance in a million at five million
 * values each side) can only make the verification fail, never let a source value through.
 */

/** Which strategies' source values a digest came from: phone numbers are judged apart (archive-mask.ts). */
export const PHONE_SOURCE = 1;
export const OTHER_SOURCE = 2;

export class DigestSet {
  private keys: Int32Array;
  private flags: Uint8Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1 << 16) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(capacity * 2, 16)));
    this.keys = new Int32Array(slots * 2);
    this.flags = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  add(value: string, flag: number): void {
    digest(value);
    this.insert(h1, h2, flag);
  }

  /** Adds digests taken elsewhere (digestInto), as (h1, h2, flag) triples. */
  addDigests(triples: Int32Array): void {
    for (let i = 0; i + 2 < triples.length; i += 3)
      this.insert(triples[i]!, triples[i + 1]!, triples[i + 2]!);
  }

  /** The flags of the value's digest, 0 when it is not a source value. */
  lookup(value: string): number {
    digest(value);
    for (let slot = h1 & this.mask; ; slot = (slot + 1) & this.mask) {
      const flags = this.flags[slot]!;
      if (flags === 0) return 0;
      if (this.keys[2 * slot] === h1 && this.keys[2 * slot + 1] === h2) return flags;
    }
  }

  /** The flags of a digest taken elsewhere (digestInto), 0 when it is not a source value's. */
  lookupDigest(a: number, b: number): number {
    for (let slot = a & this.mask; ; slot = (slot + 1) & this.mask) {
      const flags = this.flags[slot]!;
      if (flags === 0) return 0;
      if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b) return flags;
    }
  }

  private insert(a: number, b: number, flag: number): void {
    for (let slot = a & this.mask; ; slot = (slot + 1) & this.mask) {
      const flags = this.flags[slot]!;
      if (flags === 0) {
        this.keys[2 * slot] = a;
        this.keys[2 * slot + 1] = b;
        this.flags[slot] = flag;
        if (++this.size * 2 > this.mask) this.grow();
        return;
      }
      if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b) {
        this.flags[slot] = flags | flag;
        return;
      }
    }
  }

  private grow(): void {
    const { keys, flags } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.flags = new Uint8Array(flags.length * 2);
    this.mask = this.flags.length - 1;
    this.size = 0;
    for (let slot = 0; slot < flags.length; slot++) {
      if (flags[slot] !== 0) this.insert(keys[2 * slot]!, keys[2 * slot + 1]!, flags[slot]!);
    }
  }
}

/**
 * A map from one 64-bit digest to another (a unique key's value after masking to its value before),
 * in the same open addressing: `add` says whether the key was new or held the same value.
 */
export class DigestMap {
  private slots: Int32Array;
  private used: Uint8Array;
  private mask: number;
  private size = 0;

  constructor(capacity = 1 << 12) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(capacity * 2, 16)));
    this.slots = new Int32Array(slots * 4);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  /** False when the key is already mapped to another value. */
  add(k1: number, k2: number, v1: number, v2: number): boolean {
    for (let slot = k1 & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = 4 * slot;
      if (this.used[slot] === 0) {
        this.used[slot] = 1;
        this.slots[at] = k1;
        this.slots[at + 1] = k2;
        this.slots[at + 2] = v1;
        this.slots[at + 3] = v2;
        if (++this.size * 2 > this.mask) this.grow();
        return true;
      }
      if (this.slots[at] === k1 && this.slots[at + 1] === k2) {
        return this.slots[at + 2] === v1 && this.slots[at + 3] === v2;
      }
    }
  }

  private grow(): void {
    const { slots, used } = this;
    this.slots = new Int32Array(slots.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.mask = this.used.length - 1;
    this.size = 0;
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] !== 0)
        this.add(slots[4 * slot]!, slots[4 * slot + 1]!, slots[4 * slot + 2]!, slots[4 * slot + 3]!);
    }
  }
}

// The last digest, in two module variables rather than an allocated pair: billions of calls.
let h1 = 0;
let h2 = 0;

/** Writes the value's digest into out[at] and out[at + 1]: what a worker hands back to add. */
export function digestInto(value: string, out: Int32Array, at: number): void {
  digest(value);
  out[at] = h1;
  out[at + 1] = h2;
}

function digest(value: string): void {
  let a = 0x9747b28c ^ value.length;
  let b = 0x1b873593 ^ Math.imul(value.length, 0x85ebca6b);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x5bd1e995);
    a ^= a >>> 15;
    b = Math.imul(b ^ c, 0x27d4eb2d) + 0x165667b1;
    b ^= b >>> 13;
  }
  h1 = fmix(a ^ Math.imul(b, 0xcc9e2d51));
  h2 = fmix(b ^ Math.imul(a, 0x1b873593));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
