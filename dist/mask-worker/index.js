import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: ./src/masking/digest-set.ts
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
const PHONE_SOURCE = 1;
const OTHER_SOURCE = 2;
class DigestSet {
    keys;
    flags;
    mask;
    size = 0;
    constructor(capacity = 1 << 16) {
        const slots = 1 << Math.ceil(Math.log2(Math.max(capacity * 2, 16)));
        this.keys = new Int32Array(slots * 2);
        this.flags = new Uint8Array(slots);
        this.mask = slots - 1;
    }
    add(value, flag) {
        digest(value);
        this.insert(h1, h2, flag);
    }
    /** Adds digests taken elsewhere (digestInto), as (h1, h2, flag) triples. */
    addDigests(triples) {
        for (let i = 0; i + 2 < triples.length; i += 3)
            this.insert(triples[i], triples[i + 1], triples[i + 2]);
    }
    /** The flags of the value's digest, 0 when it is not a source value. */
    lookup(value) {
        digest(value);
        for (let slot = h1 & this.mask;; slot = (slot + 1) & this.mask) {
            const flags = this.flags[slot];
            if (flags === 0)
                return 0;
            if (this.keys[2 * slot] === h1 && this.keys[2 * slot + 1] === h2)
                return flags;
        }
    }
    /** The flags of a digest taken elsewhere (digestInto), 0 when it is not a source value's. */
    lookupDigest(a, b) {
        for (let slot = a & this.mask;; slot = (slot + 1) & this.mask) {
            const flags = this.flags[slot];
            if (flags === 0)
                return 0;
            if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b)
                return flags;
        }
    }
    insert(a, b, flag) {
        for (let slot = a & this.mask;; slot = (slot + 1) & this.mask) {
            const flags = this.flags[slot];
            if (flags === 0) {
                this.keys[2 * slot] = a;
                this.keys[2 * slot + 1] = b;
                this.flags[slot] = flag;
                if (++this.size * 2 > this.mask)
                    this.grow();
                return;
            }
            if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b) {
                this.flags[slot] = flags | flag;
                return;
            }
        }
    }
    grow() {
        const { keys, flags } = this;
        this.keys = new Int32Array(keys.length * 2);
        this.flags = new Uint8Array(flags.length * 2);
        this.mask = this.flags.length - 1;
        this.size = 0;
        for (let slot = 0; slot < flags.length; slot++) {
            if (flags[slot] !== 0)
                this.insert(keys[2 * slot], keys[2 * slot + 1], flags[slot]);
        }
    }
}
/**
 * A map from one 64-bit digest to another (a unique key's value after masking to its value before),
 * in the same open addressing: `add` says whether the key was new or held the same value.
 */
class DigestMap {
    slots;
    used;
    mask;
    size = 0;
    constructor(capacity = 1 << 12) {
        const slots = 1 << Math.ceil(Math.log2(Math.max(capacity * 2, 16)));
        this.slots = new Int32Array(slots * 4);
        this.used = new Uint8Array(slots);
        this.mask = slots - 1;
    }
    /** False when the key is already mapped to another value. */
    add(k1, k2, v1, v2) {
        for (let slot = k1 & this.mask;; slot = (slot + 1) & this.mask) {
            const at = 4 * slot;
            if (this.used[slot] === 0) {
                this.used[slot] = 1;
                this.slots[at] = k1;
                this.slots[at + 1] = k2;
                this.slots[at + 2] = v1;
                this.slots[at + 3] = v2;
                if (++this.size * 2 > this.mask)
                    this.grow();
                return true;
            }
            if (this.slots[at] === k1 && this.slots[at + 1] === k2) {
                return this.slots[at + 2] === v1 && this.slots[at + 3] === v2;
            }
        }
    }
    grow() {
        const { slots, used } = this;
        this.slots = new Int32Array(slots.length * 2);
        this.used = new Uint8Array(used.length * 2);
        this.mask = this.used.length - 1;
        this.size = 0;
        for (let slot = 0; slot < used.length; slot++) {
            if (used[slot] !== 0)
                this.add(slots[4 * slot], slots[4 * slot + 1], slots[4 * slot + 2], slots[4 * slot + 3]);
        }
    }
}
// The last digest, in two module variables rather than an allocated pair: billions of calls.
let h1 = 0;
let h2 = 0;
/** Writes the value's digest into out[at] and out[at + 1]: what a worker hands back to add. */
function digestInto(value, out, at) {
    digest(value);
    out[at] = h1;
    out[at + 1] = h2;
}
function digest(value) {
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
function fmix(h) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
}

;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: ./src/domain/errors.ts
/**
 * The two kinds of failure a user sees, and the exit code each maps to.
 *
 * InputError: the input or configuration is wrong (exit 2). Raised before anything is written or
 * deleted, with a message that names the input and what was expected.
 * OperationError: the operation ran and failed (exit 1): pg_dump died, the store went away, a
 * verification did not pass.
 */
class LifeboatError extends Error {
    exitCode = 1;
    constructor(message, options) {
        super(message, options);
        this.name = new.target.name;
    }
}
class errors_InputError extends LifeboatError {
    exitCode = 2;
    /** The input (flag / action input name, without dashes) that was wrong, when there is one. */
    input;
    constructor(message, options) {
        super(message, options);
        this.input = options?.input;
    }
}
class OperationError extends (/* unused pure expression or super */ null && (LifeboatError)) {
    exitCode = 1;
}
/** The object or key asked for does not exist. */
class NotFoundError extends (/* unused pure expression or super */ null && (LifeboatError)) {
}
/** One line of text from any thrown value, for messages that quote a lower layer's error. */
function describeError(error) {
    if (error instanceof Error) {
        const line = firstLine(error.message || error.name, error.name);
        return line + serverAdvice(error, line);
    }
    return String(error);
}
function firstLine(text, otherwise) {
    return text.split("\n").find((candidate) => candidate.trim() !== "") ?? otherwise;
}
/**
 * The error's first line without PostgreSQL's DETAIL, which can quote a row ("Failing row contains
 * (...)", "Key (email)=(...) already exists"), and without the value a data error quotes
 * (`invalid input syntax for type integer: "..."`, `value "..." is out of range for type
 * integer`): for errors of statements that read personal data (masking), whose messages must name
 * tables, columns and constraints but never values.
 */
function describeErrorWithoutValues(error) {
    if (!(error instanceof Error))
        return String(error);
    // A quoted value may hold a newline: it is cut from the whole message before the first line is taken.
    const text = (error.message || error.name).replace(/: ".*"$/s, ': "..."');
    return firstLine(text, error.name)
        .replace(/: ".*"$/, ': "..."')
        .replace(/\bvalue ".*" is out of range/, 'value "..." is out of range');
}
/**
 * PostgreSQL's DETAIL and HINT (node-postgres puts them on the error), which often say what to do
 * ("You might need to increase max_locks_per_transaction"), on the same line.
 */
function serverAdvice(error, line) {
    let out = "";
    for (const [field, label] of [
        ["detail", "DETAIL"],
        ["hint", "HINT"],
    ]) {
        const value = error[field];
        if (typeof value !== "string" || value.trim() === "")
            continue;
        const text = value.replace(/\s+/g, " ").trim();
        if (!line.includes(text))
            out += ` ${label}: ${text}`;
    }
    return out;
}

;// CONCATENATED MODULE: ./src/masking/sha256.ts
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
    const primes = [];
    for (let n = 2; primes.length < 64; n++)
        if (primes.every((p) => n % p !== 0))
            primes.push(n);
    const fraction = (x) => Math.floor((x - Math.floor(x)) * 2 ** 32) | 0;
    primes.forEach((p, i) => {
        if (i < 8)
            IV[i] = fraction(Math.sqrt(p));
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
function compress(h) {
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let k = h[7];
    let w0 = W[0];
    let w1 = W[1];
    let w2 = W[2];
    let w3 = W[3];
    let w4 = W[4];
    let w5 = W[5];
    let w6 = W[6];
    let w7 = W[7];
    let w8 = W[8];
    let w9 = W[9];
    let w10 = W[10];
    let w11 = W[11];
    let w12 = W[12];
    let w13 = W[13];
    let w14 = W[14];
    let w15 = W[15];
    let s;
    let t;
    for (let i = 0;; i += 16) {
        s = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        t = (k + s + (g ^ (e & (f ^ g))) + K[i + 0] + w0) | 0;
        d = (d + t) | 0;
        s = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        k = (t + s + ((a & b) | (c & (a | b)))) | 0;
        s = ((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7));
        t = (g + s + (f ^ (d & (e ^ f))) + K[i + 1] + w1) | 0;
        c = (c + t) | 0;
        s = ((k >>> 2) | (k << 30)) ^ ((k >>> 13) | (k << 19)) ^ ((k >>> 22) | (k << 10));
        g = (t + s + ((k & a) | (b & (k | a)))) | 0;
        s = ((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7));
        t = (f + s + (e ^ (c & (d ^ e))) + K[i + 2] + w2) | 0;
        b = (b + t) | 0;
        s = ((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10));
        f = (t + s + ((g & k) | (a & (g | k)))) | 0;
        s = ((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7));
        t = (e + s + (d ^ (b & (c ^ d))) + K[i + 3] + w3) | 0;
        a = (a + t) | 0;
        s = ((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10));
        e = (t + s + ((f & g) | (k & (f | g)))) | 0;
        s = ((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7));
        t = (d + s + (c ^ (a & (b ^ c))) + K[i + 4] + w4) | 0;
        k = (k + t) | 0;
        s = ((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10));
        d = (t + s + ((e & f) | (g & (e | f)))) | 0;
        s = ((k >>> 6) | (k << 26)) ^ ((k >>> 11) | (k << 21)) ^ ((k >>> 25) | (k << 7));
        t = (c + s + (b ^ (k & (a ^ b))) + K[i + 5] + w5) | 0;
        g = (g + t) | 0;
        s = ((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10));
        c = (t + s + ((d & e) | (f & (d | e)))) | 0;
        s = ((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7));
        t = (b + s + (a ^ (g & (k ^ a))) + K[i + 6] + w6) | 0;
        f = (f + t) | 0;
        s = ((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10));
        b = (t + s + ((c & d) | (e & (c | d)))) | 0;
        s = ((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7));
        t = (a + s + (k ^ (f & (g ^ k))) + K[i + 7] + w7) | 0;
        e = (e + t) | 0;
        s = ((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10));
        a = (t + s + ((b & c) | (d & (b | c)))) | 0;
        s = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        t = (k + s + (g ^ (e & (f ^ g))) + K[i + 8] + w8) | 0;
        d = (d + t) | 0;
        s = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        k = (t + s + ((a & b) | (c & (a | b)))) | 0;
        s = ((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7));
        t = (g + s + (f ^ (d & (e ^ f))) + K[i + 9] + w9) | 0;
        c = (c + t) | 0;
        s = ((k >>> 2) | (k << 30)) ^ ((k >>> 13) | (k << 19)) ^ ((k >>> 22) | (k << 10));
        g = (t + s + ((k & a) | (b & (k | a)))) | 0;
        s = ((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7));
        t = (f + s + (e ^ (c & (d ^ e))) + K[i + 10] + w10) | 0;
        b = (b + t) | 0;
        s = ((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10));
        f = (t + s + ((g & k) | (a & (g | k)))) | 0;
        s = ((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7));
        t = (e + s + (d ^ (b & (c ^ d))) + K[i + 11] + w11) | 0;
        a = (a + t) | 0;
        s = ((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10));
        e = (t + s + ((f & g) | (k & (f | g)))) | 0;
        s = ((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7));
        t = (d + s + (c ^ (a & (b ^ c))) + K[i + 12] + w12) | 0;
        k = (k + t) | 0;
        s = ((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10));
        d = (t + s + ((e & f) | (g & (e | f)))) | 0;
        s = ((k >>> 6) | (k << 26)) ^ ((k >>> 11) | (k << 21)) ^ ((k >>> 25) | (k << 7));
        t = (c + s + (b ^ (k & (a ^ b))) + K[i + 13] + w13) | 0;
        g = (g + t) | 0;
        s = ((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10));
        c = (t + s + ((d & e) | (f & (d | e)))) | 0;
        s = ((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7));
        t = (b + s + (a ^ (g & (k ^ a))) + K[i + 14] + w14) | 0;
        f = (f + t) | 0;
        s = ((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10));
        b = (t + s + ((c & d) | (e & (c | d)))) | 0;
        s = ((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7));
        t = (a + s + (k ^ (f & (g ^ k))) + K[i + 15] + w15) | 0;
        e = (e + t) | 0;
        s = ((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10));
        a = (t + s + ((b & c) | (d & (b | c)))) | 0;
        if (i === 48)
            break;
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
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
    h[5] = (h[5] + f) | 0;
    h[6] = (h[6] + g) | 0;
    h[7] = (h[7] + k) | 0;
}
/** The state after one 64-byte block (an HMAC pad), to start each HMAC from. */
function stateAfterBlock(block) {
    const h = IV.slice();
    for (let j = 0; j < 16; j++)
        W[j] = block.readInt32BE(4 * j);
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
function encode(prefix, message) {
    const p = prefix.length;
    const n = p + message.length;
    if (bytes.length < n * 3 + 72) {
        bytes = new Uint8Array(2 * (n * 3 + 72));
        buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    for (let i = 0; i < p; i++)
        bytes[i] = prefix.charCodeAt(i);
    if (message.length > LONG_MESSAGE)
        return p + buffer.write(message, p, "utf8");
    for (let i = p; i < n; i++) {
        const c = message.charCodeAt(i - p);
        if (c >= 0x80)
            return p + buffer.write(message, p, "utf8");
        bytes[i] = c;
    }
    return n;
}
/**
 * SHA-256 of `bytes[0..length)` continued from `start` (the state after `prefixBytes` already
 * hashed bytes, 0 or 64), into `h`.
 */
function finish(start, prefixBytes, length, h) {
    h.set(start);
    const blocks = Math.ceil((length + 9) / 64);
    bytes[length] = 0x80;
    bytes.fill(0, length + 1, blocks * 64);
    for (let block = 0; block < blocks; block++) {
        const o = block * 64;
        for (let j = 0; j < 16; j++) {
            const p = o + 4 * j;
            W[j] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
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
function shortBlock(words, tail, prefixBytes) {
    for (let j = 0; j < 8; j++)
        W[j] = words[j];
    const length = 32 + (tail === -1 ? 0 : 4);
    let j = 8;
    if (tail !== -1)
        W[j++] = tail;
    W[j++] = 0x80000000 | 0;
    while (j < 15)
        W[j++] = 0;
    W[15] = (prefixBytes + length) * 8;
}
const innerState = new Int32Array(8);
const hmacState = new Int32Array(8);
/**
 * HMAC-SHA256 from the states after the inner and outer pads, of `prefix` (ASCII) and `message` as
 * UTF-8. The result is overwritten by the next call.
 */
function hmacWords(inner, outer, prefix, message) {
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
function sha256SeedCounter(seed, counter) {
    shortBlock(seed, counter | 0, 0);
    seedState.set(IV);
    compress(seedState);
    return seedState;
}
/** Byte `i` (0 to 31) of a state, big-endian as the digest's bytes are. */
function stateByte(h, i) {
    return (h[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
/** `count` bytes of the digest, from byte `from`, as lowercase hex. */
function stateHex(h, from, count) {
    let out = "";
    for (let i = from; i < from + count; i++)
        out += HEX[stateByte(h, i)];
    return out;
}
/** The digest as a Buffer (32 bytes). */
function sha256_stateBuffer(h) {
    const out = Buffer.allocUnsafe(32);
    for (let j = 0; j < 8; j++)
        out.writeInt32BE(h[j], 4 * j);
    return out;
}
/** SHA-256 of at most 55 bytes (one block): what the tests hold the compression to node:crypto's by. */
function sha256Short(data) {
    bytes.set(data, 0);
    const h = new Int32Array(8);
    finish(IV, 0, data.length, h);
    return sha256_stateBuffer(h);
}

;// CONCATENATED MODULE: ./src/masking/fakes.ts
/**
 * Deterministic fakes keyed by a secret, twice: in TypeScript (what masking computes the column
 * rules with, in the job, as the dump streams: copy-rows.ts) and as SQL functions created in
 * pg_temp of the scratch session (for free SQL).
 * Both compute HMAC-SHA256(key, "<strategy>:<value>") and derive the fake from its bytes; a test
 * holds them equal. The SQL side builds HMAC from the built-in sha256() (PostgreSQL 11+) rather than
 * pgcrypto's hmac(), so the same key gives the same fakes on every server, extension or not.
 */



const MIN_KEY_LENGTH = 16;
function maskingKey(secret, input = "masking-key") {
    let key = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
    if (key.length < MIN_KEY_LENGTH) {
        throw new InputError(`${input}: expected a secret of at least ${MIN_KEY_LENGTH} bytes`, { input });
    }
    if (key.length > 64)
        key = createHash("sha256").update(key).digest();
    const block = Buffer.alloc(64);
    key.copy(block);
    return {
        innerPad: Buffer.from(block.map((byte) => byte ^ 0x36)),
        outerPad: Buffer.from(block.map((byte) => byte ^ 0x5c)),
    };
}
const states = new WeakMap();
function hmac(key, message) {
    return stateBuffer(fakes_hmacState(key, "", message));
}
/**
 * The HMAC of `prefix` (ASCII) then `message` as eight state words, overwritten by the next call:
 * what the fakes read their bytes from.
 */
function fakes_hmacState(key, prefix, message) {
    let state = states.get(key);
    if (!state) {
        state = { inner: stateAfterBlock(key.innerPad), outer: stateAfterBlock(key.outerPad) };
        states.set(key, state);
    }
    return hmacWords(state.inner, state.outer, prefix, message);
}
// Invented-sounding names, so that a fake rarely coincides with a real person's name.
const FIRST_NAMES = [
    "Abrin",
    "Belvar",
    "Corla",
    "Dovran",
    "Elsin",
    "Farro",
    "Galen",
    "Hesper",
    "Ilvo",
    "Jorun",
    "Kessa",
    "Lomar",
    "Mirel",
    "Nadro",
    "Orsel",
    "Pello",
    "Quenna",
    "Rovan",
    "Sabel",
    "Torvin",
    "Ulla",
    "Vessin",
    "Wendar",
    "Xaro",
    "Yselle",
    "Zorin",
    "Ambrel",
    "Brisca",
    "Cadmon",
    "Delvy",
    "Emrick",
    "Fenna",
    "Gorvel",
    "Halvy",
    "Isolde",
    "Jaspin",
    "Kormac",
    "Lysan",
    "Morrow",
    "Nessa",
    "Olbrin",
    "Pavra",
    "Quillan",
    "Resha",
    "Solvig",
    "Tamsen",
    "Ubrel",
    "Vantor",
    "Wilmar",
    "Xenna",
    "Yaro",
    "Zelda",
    "Arvo",
    "Bexley",
    "Carrow",
    "Dimra",
    "Eskel",
    "Fiora",
    "Grimsel",
    "Hollis",
    "Ivra",
    "Jessamy",
    "Kelvar",
    "Lunet",
];
const LAST_NAMES = [
    "Ashgrove",
    "Brackwell",
    "Coldbrook",
    "Dunmere",
    "Elderby",
    "Fallowmere",
    "Greywick",
    "Hollowell",
    "Ironmoor",
    "Juniperby",
    "Kestrelford",
    "Larkspur",
    "Marrowby",
    "Nettlefold",
    "Oakhurst",
    "Pebblesworth",
    "Quarrington",
    "Ravensmere",
    "Sedgewick",
    "Thornbury",
    "Umberfield",
    "Vellacott",
    "Wrenfield",
    "Yarrowby",
    "Zephyrdale",
    "Alderwick",
    "Birchmoor",
    "Cinderby",
    "Dapplewood",
    "Emberly",
    "Fernsby",
    "Gorsefield",
    "Heathcombe",
    "Ivywell",
    "Jaywick",
    "Kingsmere",
    "Lindqvale",
    "Mossbury",
    "Northam",
    "Orchardley",
    "Pinecroft",
    "Quenby",
    "Rushmere",
    "Saltmarsh",
    "Tidewell",
    "Underhay",
    "Vanewood",
    "Willowby",
    "Yewcroft",
    "Zellwood",
    "Ambergate",
    "Bramblecot",
    "Crestfall",
    "Driftmoor",
    "Eastwold",
    "Foxcombe",
    "Glenmarsh",
    "Hartwell",
    "Inglecroft",
    "Juxbury",
    "Kilnsey",
    "Longmarsh",
    "Millbeck",
    "Nightingale",
];
const LOREM_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
];
const EMAIL_HEX_CHARS = 20;
const EMAIL_DOMAIN = "example.invalid";
/** The longest fake email: columns narrower than this cannot take the email strategy. */
const EMAIL_LENGTH = "user_".length + EMAIL_HEX_CHARS + 1 + EMAIL_DOMAIN.length;
function fakeEmail(key, value) {
    return `user_${stateHex(fakes_hmacState(key, "email:", value), 0, EMAIL_HEX_CHARS / 2)}@${EMAIL_DOMAIN}`;
}
function fakeName(key, value, part, unique = false) {
    const h = fakes_hmacState(key, "name:", value);
    const first = FIRST_NAMES[(h[0] >>> 16) % FIRST_NAMES.length];
    const last = LAST_NAMES[(h[0] & 0xffff) % LAST_NAMES.length];
    const name = part === "first" ? first : part === "last" ? last : `${first} ${last}`;
    return unique ? `${name} ${stateHex(h, 4, 4)}` : name;
}
function fakeHash(key, value) {
    return stateHex(fakes_hmacState(key, "hash:", value), 0, 32);
}
function fakeUuid(key, value) {
    const hex = stateHex(fakes_hmacState(key, "uuid:", value), 0, 16);
    const variant = "89ab"[parseInt(hex[16], 16) % 4];
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
/** Format-preserving: digits stay digits (a bijection on the digit string up to 36 digits), the rest stays. */
function fakePhone(key, value) {
    let digits = "";
    for (let i = 0; i < value.length; i++)
        if (isDigit(value.charCodeAt(i)))
            digits += value[i];
    const d = digits.length;
    if (d === 0)
        return value;
    let out;
    if (d > 36) {
        const h = fakes_hmacState(key, "phone:", value);
        out = "";
        for (let i = 0; i < d; i++)
            out += String((Number(digits[i]) + stateByte(h, i % 32) + Math.floor(i / 32)) % 10);
    }
    else {
        out = d <= 18 ? feistelSmall(key, digits) : feistelBig(key, digits);
    }
    let masked = "";
    let next = 0;
    for (let i = 0; i < value.length; i++)
        masked += isDigit(value.charCodeAt(i)) ? out[next++] : value[i];
    return masked;
}
function isDigit(code) {
    return code >= 48 && code <= 57;
}
/** The 60-bit number of a phone round's first 15 hex digits, modulo m (at most 10^9): exact in doubles. */
function roundModulo(h, m) {
    let r = 0;
    for (let i = 0; i < 7; i++)
        r = (r * 256 + stateByte(h, i)) % m;
    return (r * 16 + (stateByte(h, 7) >> 4)) % m;
}
/**
 * Four rounds of an unbalanced Feistel network: invertible, so distinct numbers stay distinct.
 * Up to 18 digits each half is at most 9 digits, so doubles hold every step exactly; feistelBig
 * is the same network in BigInt for longer numbers.
 */
function feistelSmall(key, digits) {
    const d = digits.length;
    const u = Math.floor(d / 2);
    const w = d - u;
    const mu = 10 ** u;
    const mw = 10 ** w;
    const round = (r, other, m) => roundModulo(fakes_hmacState(key, `phone:${r}:${d}:`, other), m);
    let b = Number(digits.slice(u));
    if (u === 0)
        return String((b + round(0, "", mw)) % mw).padStart(w, "0");
    let a = Number(digits.slice(0, u));
    a = (a + round(0, String(b).padStart(w, "0"), mu)) % mu;
    b = (b + round(1, String(a).padStart(u, "0"), mw)) % mw;
    a = (a + round(2, String(b).padStart(w, "0"), mu)) % mu;
    b = (b + round(3, String(a).padStart(u, "0"), mw)) % mw;
    return String(a).padStart(u, "0") + String(b).padStart(w, "0");
}
function feistelBig(key, digits) {
    const d = digits.length;
    const u = Math.floor(d / 2);
    const w = d - u;
    const round = (r, other, width) => {
        const hex = stateHex(fakes_hmacState(key, `phone:${r}:${d}:`, other), 0, 8).slice(0, 15);
        return BigInt(`0x${hex}`) % 10n ** BigInt(width);
    };
    let a = BigInt(digits.slice(0, u));
    let b = BigInt(digits.slice(u));
    for (let r = 0; r < 4; r++) {
        if (r % 2 === 0)
            a = (a + round(r, b.toString().padStart(w, "0"), u)) % 10n ** BigInt(u);
        else
            b = (b + round(r, a.toString().padStart(u, "0"), w)) % 10n ** BigInt(w);
    }
    return a.toString().padStart(u, "0") + b.toString().padStart(w, "0");
}
const textSeed = new Int32Array(8);
/** Lorem words of exactly the source's length in characters: nothing of the source survives. */
function fakeText(key, value) {
    const n = codePoints(value);
    if (n === 0)
        return value;
    textSeed.set(fakes_hmacState(key, "text:", value));
    let out = "";
    for (let i = 0; out.length < n; i++) {
        const block = sha256SeedCounter(textSeed, i);
        for (let j = 0; j < 32 && out.length < n; j++) {
            out += (out === "" ? "" : " ") + LOREM_WORDS[stateByte(block, j) % LOREM_WORDS.length];
        }
    }
    out = out.slice(0, n);
    return out.endsWith(" ") ? `${out.slice(0, -1)}.` : out;
}
function codePoints(value) {
    let n = value.length;
    // A surrogate pair is one character (as PostgreSQL's char_length counts it) in two UTF-16 units.
    for (let i = 1; i < value.length; i++) {
        if ((value.charCodeAt(i) & 0xfc00) === 0xdc00 && (value.charCodeAt(i - 1) & 0xfc00) === 0xd800)
            n--;
    }
    return n;
}
const FAKE_EMAIL = new RegExp(`^user_[0-9a-f]{${EMAIL_HEX_CHARS}}@example\\.invalid$`);
const VOCABULARY = new Set([...FIRST_NAMES, ...LAST_NAMES, ...LOREM_WORDS]);
const LONGEST_WORD = Math.max(...[...VOCABULARY].map((word) => word.length));
/** Whether a value has the shape of our own fakes (which carry nothing of any source value). */
function looksFake(value) {
    if (value.length === EMAIL_LENGTH && FAKE_EMAIL.test(value))
        return true;
    // Asked of every source value: most fail at their first word, found here without a regex or a
    // split (measured: a sixth of the fakes' time before). With a space, the first word must be a
    // fake's; without one, the value is one word (and a final dot), which only letters can match;
    // neither is when longer than the vocabulary's longest word.
    const space = value.indexOf(" ");
    if (space > LONGEST_WORD)
        return false;
    if (space === -1) {
        if (value.length > LONGEST_WORD + 1)
            return false;
        const word = value.endsWith(".") ? value.slice(0, -1) : value;
        return VOCABULARY.has(word) || (word !== "" && LOREM_WORDS.some((lorem) => lorem.startsWith(word)));
    }
    if (!VOCABULARY.has(value.slice(0, space)))
        return false;
    if (!/^[A-Za-z0-9 .]+$/.test(value))
        return false;
    const words = value.replace(/\.$/, "").split(" ");
    return words.every((word, index) => VOCABULARY.has(word) ||
        (index > 0 && /^[0-9a-f]{8}$/.test(word)) ||
        (index === words.length - 1 && LOREM_WORDS.some((lorem) => lorem.startsWith(word) && word !== "")));
}
/**
 * The fakes take the pads as optional arguments `ip` and `op`: masking passes them as uncorrelated
 * sub-SELECTs (PAD_ARGUMENTS_SQL), which PostgreSQL computes once per statement; without them each
 * value reads and decodes both settings again, which costs about as much as the hashes themselves.
 */
const READ_PAD_SQL = {
    ip: "decode(current_setting('lifeboat.mask_inner_pad'), 'hex')",
    op: "decode(current_setting('lifeboat.mask_outer_pad'), 'hex')",
};
const PAD_SQL = (pad) => `coalesce(${pad}, ${READ_PAD_SQL[pad]})`;
/** The trailing arguments of a fake's call in a masking statement. */
const PAD_ARGUMENTS_SQL = (/* unused pure expression or super */ null && (`(SELECT ${READ_PAD_SQL.ip}), (SELECT ${READ_PAD_SQL.op})`));
const PAD_PARAMETERS = "ip bytea DEFAULT NULL, op bytea DEFAULT NULL";
/** HMAC without a function call per value. */
const HMAC_SQL = (message) => `sha256(${PAD_SQL("op")} || sha256(${PAD_SQL("ip")} || convert_to(${message}, 'UTF8')))`;
const PHONE_ROUND = (round, other, modulus) => `('x' || left(encode(sha256(op || sha256(ip || convert_to('phone:' || ${round} || ':' || d || ':' || ${other}, 'UTF8'))), 'hex'), 15))::bit(60)::bigint % ${modulus}`;
/** 10^0 .. 10^18, exact: the moduli of the phone rounds (18 digits a side at most). */
const POWERS_OF_TEN = (/* unused pure expression or super */ null && (`ARRAY[${Array.from({ length: 19 }, (_, k) => `1${"0".repeat(k)}`).join(",")}]::bigint[]`));
const sqlArray = (words) => `ARRAY[${words.map((word) => `'${word}'`).join(",")}]::text[]`;
/**
 * SQL true when `value` may look like a fake, cheap enough for every distinct source value: only
 * then is the full check (lifeboat_looks_fake) run.
 */
function mayLookFakeSql(value) {
    const vocabulary = sqlArray([...FIRST_NAMES, ...LAST_NAMES, ...LOREM_WORDS]);
    return `(${value} ~ '^user_[0-9a-f]+@example\\.invalid$' OR (${value} ~ '^[A-Za-z0-9 .]+$'
           AND (split_part(${value}, ' ', 1) = ANY (${vocabulary}) OR ${value} ~ '^[a-z]{1,14}\\.?$')))`;
}
/**
 * The functions, created in pg_temp (gone with the session, never dumped). The key is read from two
 * transaction-local settings set with a bind parameter (setKeySql), never written into a function.
 */
function fakeFunctionsSql() {
    const first = sqlArray(FIRST_NAMES);
    const last = sqlArray(LAST_NAMES);
    const lorem = sqlArray(LOREM_WORDS);
    return [
        `CREATE FUNCTION pg_temp.lifeboat_hmac(msg text) RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $f$
       SELECT sha256(decode(current_setting('lifeboat.mask_outer_pad'), 'hex')
                     || sha256(decode(current_setting('lifeboat.mask_inner_pad'), 'hex') || convert_to(msg, 'UTF8')))
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_mask_email(v text, ${PAD_PARAMETERS}) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $f$
       SELECT 'user_' || left(encode(${HMAC_SQL("'email:' || v")}, 'hex'), ${EMAIL_HEX_CHARS}) || '@${EMAIL_DOMAIN}'
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_mask_name(v text, part text, uniq boolean, ${PAD_PARAMETERS}) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
     DECLARE
       h bytea;
     BEGIN
       IF v IS NULL THEN RETURN NULL; END IF;
       h := ${HMAC_SQL("'name:' || v")};
       RETURN CASE part WHEN 'last' THEN '' ELSE (${first})[1 + (get_byte(h, 0) * 256 + get_byte(h, 1)) % ${FIRST_NAMES.length}] END
              || CASE WHEN part <> 'first'
                      THEN CASE part WHEN 'full' THEN ' ' ELSE '' END
                           || (${last})[1 + (get_byte(h, 2) * 256 + get_byte(h, 3)) % ${LAST_NAMES.length}]
                      ELSE '' END
              || CASE WHEN uniq THEN ' ' || substr(encode(h, 'hex'), 9, 8) ELSE '' END;
     END
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_mask_hash(v text, ${PAD_PARAMETERS}) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $f$
       SELECT encode(${HMAC_SQL("'hash:' || v")}, 'hex')
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_uuid_from(hex text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
       SELECT substr(hex, 1, 8) || '-' || substr(hex, 9, 4) || '-8' || substr(hex, 14, 3) || '-'
              || substr('89ab', 1 + ('x' || lpad(substr(hex, 17, 1), 8, '0'))::bit(32)::int % 4, 1)
              || substr(hex, 18, 3) || '-' || substr(hex, 21, 12)
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_mask_uuid(v text, ${PAD_PARAMETERS}) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $f$
       SELECT pg_temp.lifeboat_uuid_from(encode(${HMAC_SQL("'uuid:' || v")}, 'hex'))
     $f$`,
        // PL/pgSQL runs a statement of plain expressions without the executor, so these functions are a
        // few such statements each, with no loop over digits or words (a loop per value costs more than
        // the hashes): the rounds are unrolled, and the fresh digits go back between the source's
        // separators through format(), one %s per digit ('%' itself doubled first).
        `CREATE FUNCTION pg_temp.lifeboat_mask_phone(v text, ${PAD_PARAMETERS}) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
     DECLARE
       digits text; d int; u int; w int; a bigint; b bigint; mu bigint; mw bigint; h bytea; fresh text;
     BEGIN
       IF v IS NULL THEN RETURN NULL; END IF;
       digits := regexp_replace(v, '[^0-9]', '', 'g');
       d := length(digits);
       IF d = 0 THEN RETURN v; END IF;
       ip := ${PAD_SQL("ip")};
       op := ${PAD_SQL("op")};
       IF d > 36 THEN
         h := sha256(op || sha256(ip || convert_to('phone:' || v, 'UTF8')));
         SELECT string_agg(((substr(digits, i + 1, 1)::int + get_byte(h, i % 32) + i / 32) % 10)::text, '' ORDER BY i)
           INTO fresh FROM generate_series(0, d - 1) AS i;
       ELSIF d = 1 THEN
         fresh := ((digits::int + ${PHONE_ROUND("0", "''", "10")}) % 10)::text;
       ELSE
         u := d / 2; w := d - u; mu := (${POWERS_OF_TEN})[u + 1]; mw := (${POWERS_OF_TEN})[w + 1];
         a := substr(digits, 1, u)::bigint;
         b := substr(digits, u + 1)::bigint;
         a := (a + ${PHONE_ROUND("0", "lpad(b::text, w, '0')", "mu")}) % mu;
         b := (b + ${PHONE_ROUND("1", "lpad(a::text, u, '0')", "mw")}) % mw;
         a := (a + ${PHONE_ROUND("2", "lpad(b::text, w, '0')", "mu")}) % mu;
         b := (b + ${PHONE_ROUND("3", "lpad(a::text, u, '0')", "mw")}) % mw;
         fresh := lpad(a::text, u, '0') || lpad(b::text, w, '0');
       END IF;
       IF v = digits THEN RETURN fresh; END IF;
       RETURN format(regexp_replace(replace(v, '%', '%%'), '[0-9]', '%s', 'g'), VARIADIC string_to_array(fresh, NULL));
     END
     $f$`,
        // A whole 32-word block per statement, then cut to length: the words fakeText's loop stops at
        // are a prefix of these.
        `CREATE FUNCTION pg_temp.lifeboat_mask_text(v text, ${PAD_PARAMETERS}) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
     DECLARE
       n int; seed bytea; b bytea; i int := 0; words text[] := ${lorem}; result text := '';
     BEGIN
       IF v IS NULL THEN RETURN NULL; END IF;
       n := char_length(v);
       IF n = 0 THEN RETURN v; END IF;
       seed := ${HMAC_SQL("'text:' || v")};
       LOOP
         b := sha256(seed || int4send(i));
         result := result || CASE WHEN i = 0 THEN '' ELSE ' ' END
                   || ${Array.from({ length: 32 }, (_, j) => `words[1 + get_byte(b, ${j}) % ${LOREM_WORDS.length}]`).join(" || ' ' || ")};
         EXIT WHEN length(result) >= n;
         i := i + 1;
       END LOOP;
       result := left(result, n);
       IF right(result, 1) = ' ' THEN result := left(result, n - 1) || '.'; END IF;
       RETURN result;
     END
     $f$`,
        `CREATE FUNCTION pg_temp.lifeboat_looks_fake(v text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
       SELECT v ~ '^user_[0-9a-f]{${EMAIL_HEX_CHARS}}@example\\.invalid$'
          OR (v ~ '^[A-Za-z0-9 .]+$' AND NOT EXISTS (
                SELECT 1 FROM unnest(string_to_array(regexp_replace(v, '\\.$', ''), ' ')) WITH ORDINALITY AS t(w, n)
                WHERE NOT (w = ANY (${first} || ${last} || ${lorem})
                           OR (n > 1 AND w ~ '^[0-9a-f]{8}$')
                           OR (n = cardinality(string_to_array(regexp_replace(v, '\\.$', ''), ' '))
                               AND w <> '' AND EXISTS (SELECT 1 FROM unnest(${lorem}) AS l(x) WHERE starts_with(l.x, w))))))
     $f$`,
    ];
}
const DROP_FUNCTIONS_SQL = [
    "lifeboat_looks_fake(text)",
    "lifeboat_mask_text(text, bytea, bytea)",
    "lifeboat_mask_phone(text, bytea, bytea)",
    "lifeboat_mask_uuid(text, bytea, bytea)",
    "lifeboat_uuid_from(text)",
    "lifeboat_mask_hash(text, bytea, bytea)",
    "lifeboat_mask_name(text, text, boolean, bytea, bytea)",
    "lifeboat_mask_email(text, bytea, bytea)",
    "lifeboat_hmac(text)",
].map((signature) => `DROP FUNCTION IF EXISTS pg_temp.${signature}`);
/** Sets the key for the current transaction only; run inside the masking transaction. */
const SET_KEY_SQL = "SELECT set_config('lifeboat.mask_inner_pad', $1, true), set_config('lifeboat.mask_outer_pad', $2, true)";
function setKeyValues(key) {
    return [key.innerPad.toString("hex"), key.outerPad.toString("hex")];
}

;// CONCATENATED MODULE: ./src/masking/jsonb-text.ts
/**
 * Editing jsonb documents as the text jsonb_out prints (what pg_dump's COPY data holds, once COPY's
 * own escaping is undone), without parsing them into JavaScript values: numbers keep every digit
 * and every byte outside the replaced value stays as it was.
 *
 * Called per row and per path while masking a dump stream, so the scanner walks the text with
 * charCodeAt and allocates nothing but the result; it assumes valid JSON (jsonb_out's output) and
 * accepts any JSON whitespace, not only jsonb_out's ", " and ": ".
 *
 * What PostgreSQL 15 does, and this module matches (test/masking/jsonb-text.test.ts checks it
 * against a real server):
 * - jsonb_out prints no whitespace outside strings but the space in ", " and ": ", keys sorted by
 *   byte length and then bytes, no duplicate keys, numbers as numeric_out prints them (1e400 comes
 *   out as 1 and 400 zeros, -0 as 0). Replacing one value's text by the canonical text of another
 *   value (jsonString's, for a string) therefore leaves a canonical document.
 * - On an array, a path element is read as C's strtol would (leading ASCII whitespace, a sign,
 *   decimal digits, nothing after them, within a 32-bit int): "01", "+1", " 1" and "-0" are
 *   indexes, "1 ", "abc", "" and "1.0" are not, a negative index counts from the end.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const INT_MAX = 2147483647;
/**
 * The value at `path` as `doc::jsonb #> path` finds it, or undefined where #> returns NULL (a key
 * not there, an index out of range or not an integer, a step into a scalar). An empty path is the
 * whole document, as for #>. Duplicate keys, which jsonb_out never prints, resolve to the first
 * (PostgreSQL keeps the last when it reads such text).
 */
function locate(doc, path) {
    let at = skipWhitespace(doc, 0);
    for (const step of path) {
        const c = doc.charCodeAt(at);
        if (c === OPEN_BRACE)
            at = findMember(doc, at, step);
        else if (c === OPEN_BRACKET)
            at = findElement(doc, at, step);
        else
            return undefined;
        if (at < 0)
            return undefined;
    }
    const first = doc.charCodeAt(at);
    const end = valueEnd(doc, at);
    if (first === QUOTE)
        return { start: at, end, kind: "string", text: unescapeString(doc, at + 1, end - 1) };
    const text = doc.slice(at, end);
    const kind = first === OPEN_BRACE
        ? "object"
        : first === OPEN_BRACKET
            ? "array"
            : first === 0x74 || first === 0x66
                ? "boolean"
                : first === 0x6e
                    ? "null"
                    : "number";
    return { start: at, end, kind, text };
}
/** The document with the located value's text replaced by `replacement` (JSON text, e.g. jsonString's). */
function splice(doc, located, replacement) {
    return doc.slice(0, located.start) + replacement + doc.slice(located.end);
}
/**
 * The JSON string literal jsonb_out prints for `to_jsonb(value)` (PostgreSQL's escape_json): quote
 * and backslash escaped, \b \f \n \r \t by name, other characters below U+0020 as \u00xx in
 * lowercase hex, everything else (DEL, non-ASCII, U+2028) as it is. PostgreSQL text never holds
 * U+0000, and jsonb refuses \u0000: a value with one would make a document no server can load.
 */
function jsonString(value) {
    let out = '"';
    let from = 0;
    for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH)
            continue;
        if (i > from)
            out += value.slice(from, i);
        from = i + 1;
        out += escapeFor(c);
    }
    if (from === 0)
        return '"' + value + '"';
    if (from < value.length)
        out += value.slice(from);
    return out + '"';
}
function escapeFor(c) {
    switch (c) {
        case QUOTE:
            return '\\"';
        case BACKSLASH:
            return "\\\\";
        case 0x08:
            return "\\b";
        case 0x0c:
            return "\\f";
        case 0x0a:
            return "\\n";
        case 0x0d:
            return "\\r";
        case 0x09:
            return "\\t";
        default:
            return c < 0x10 ? "\\u000" + c.toString(16) : "\\u001" + (c - 0x10).toString(16);
    }
}
function skipWhitespace(doc, at) {
    for (;;) {
        const c = doc.charCodeAt(at);
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)
            at++;
        else
            return at;
    }
}
/** Where the value starting at `at` ends (one past its last character). */
function valueEnd(doc, at) {
    const c = doc.charCodeAt(at);
    if (c === QUOTE)
        return stringEnd(doc, at);
    if (c === OPEN_BRACE || c === OPEN_BRACKET)
        return containerEnd(doc, at);
    if (c === 0x74 || c === 0x6e)
        return at + 4; // true, null
    if (c === 0x66)
        return at + 5; // false
    let i = at + 1;
    for (;;) {
        const d = doc.charCodeAt(i);
        // Digits, '+', '-', '.', 'e', 'E': nothing else can continue a JSON number.
        if ((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d || d === 0x2e || d === 0x65 || d === 0x45)
            i++;
        else
            return i;
    }
}
/** One past the closing quote of the string whose opening quote is at `at`. */
function stringEnd(doc, at) {
    const length = doc.length;
    let i = at + 1;
    while (i < length) {
        const c = doc.charCodeAt(i);
        if (c === QUOTE)
            return i + 1;
        i += c === BACKSLASH ? 2 : 1;
    }
    return length;
}
function containerEnd(doc, at) {
    let depth = 0;
    let i = at;
    const length = doc.length;
    while (i < length) {
        const c = doc.charCodeAt(i);
        if (c === QUOTE) {
            i = stringEnd(doc, i);
            continue;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET)
            depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
            if (--depth === 0)
                return i + 1;
        }
        i++;
    }
    return length;
}
/** The start of the member value whose key is `key` in the object at `at`, or -1. */
function findMember(doc, at, key) {
    let i = skipWhitespace(doc, at + 1);
    if (doc.charCodeAt(i) !== QUOTE)
        return -1; // "{}"
    for (;;) {
        const keyEnd = stringEnd(doc, i);
        const matches = keyEquals(doc, i + 1, keyEnd - 1, key);
        i = skipWhitespace(doc, skipWhitespace(doc, keyEnd) + 1); // past ':'
        if (matches)
            return i;
        i = skipWhitespace(doc, valueEnd(doc, i));
        if (doc.charCodeAt(i) !== COMMA)
            return -1;
        i = skipWhitespace(doc, i + 1);
    }
}
/** Whether the raw key text doc[from, to) unescapes to `key`, decoding escapes only when present. */
function keyEquals(doc, from, to, key) {
    const rawLength = to - from;
    if (rawLength < key.length)
        return false;
    if (rawLength === key.length) {
        // Every escape is longer than what it stands for, so a key this long matches only unescaped.
        for (let j = 0; j < rawLength; j++) {
            const c = doc.charCodeAt(from + j);
            if (c !== key.charCodeAt(j) || c === BACKSLASH)
                return false;
        }
        return true;
    }
    let i = from;
    let j = 0;
    while (i < to) {
        if (j >= key.length)
            return false;
        let c = doc.charCodeAt(i);
        if (c === BACKSLASH) {
            const e = doc.charCodeAt(i + 1);
            if (e === 0x75) {
                c = hexValue(doc, i + 2);
                i += 6;
            }
            else {
                c = unescapeChar(e);
                i += 2;
            }
        }
        else
            i++;
        if (c !== key.charCodeAt(j++))
            return false;
    }
    return j === key.length;
}
/** The start of the element at the index `step` names in the array at `at`, or -1. */
function findElement(doc, at, step) {
    let index = parseIndex(step);
    if (index === undefined)
        return -1;
    if (index < 0) {
        const count = countElements(doc, at);
        if (-index > count)
            return -1;
        index += count;
    }
    let i = skipWhitespace(doc, at + 1);
    if (doc.charCodeAt(i) === CLOSE_BRACKET)
        return -1;
    for (let n = 0; n < index; n++) {
        i = skipWhitespace(doc, valueEnd(doc, i));
        if (doc.charCodeAt(i) !== COMMA)
            return -1;
        i = skipWhitespace(doc, i + 1);
    }
    return i;
}
function countElements(doc, at) {
    let i = skipWhitespace(doc, at + 1);
    if (doc.charCodeAt(i) === CLOSE_BRACKET)
        return 0;
    let count = 1;
    for (;;) {
        i = skipWhitespace(doc, valueEnd(doc, i));
        if (doc.charCodeAt(i) !== COMMA)
            return count;
        i = skipWhitespace(doc, i + 1);
        count++;
    }
}
/**
 * A path element as an array index the way PostgreSQL's strtoint reads it, or undefined where
 * #> gives NULL: no digits, anything after them, or outside int (INT_MIN too, which #> refuses).
 */
function parseIndex(step) {
    let i = 0;
    const length = step.length;
    for (;;) {
        const c = step.charCodeAt(i);
        // C isspace: space, \t, \n, \v, \f, \r.
        if (c === 0x20 || (c >= 0x09 && c <= 0x0d))
            i++;
        else
            break;
    }
    let negative = false;
    const sign = step.charCodeAt(i);
    if (sign === 0x2d || sign === 0x2b) {
        negative = sign === 0x2d;
        i++;
    }
    if (i >= length)
        return undefined;
    let value = 0;
    for (; i < length; i++) {
        const d = step.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9)
            return undefined;
        if (value <= INT_MAX)
            value = value * 10 + d;
    }
    if (value > INT_MAX)
        return undefined;
    return negative ? -value : value;
}
function unescapeString(doc, from, to) {
    let out = "";
    let copied = from;
    // Bounded by hand: indexOf would run on past the string's end to the document's.
    for (let i = from; i < to; i++) {
        if (doc.charCodeAt(i) !== BACKSLASH)
            continue;
        if (i > copied)
            out += doc.slice(copied, i);
        const e = doc.charCodeAt(i + 1);
        if (e === 0x75) {
            out += String.fromCharCode(hexValue(doc, i + 2));
            i += 5;
        }
        else {
            out += String.fromCharCode(unescapeChar(e));
            i += 1;
        }
        copied = i + 1;
    }
    return copied === from ? doc.slice(from, to) : out + doc.slice(copied, to);
}
function unescapeChar(e) {
    switch (e) {
        case 0x62:
            return 0x08; // b
        case 0x66:
            return 0x0c; // f
        case 0x6e:
            return 0x0a; // n
        case 0x72:
            return 0x0d; // r
        case 0x74:
            return 0x09; // t
        default:
            return e; // " \ /
    }
}
function hexValue(doc, at) {
    let value = 0;
    for (let i = at; i < at + 4; i++) {
        const c = doc.charCodeAt(i);
        value = value * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
    }
    return value;
}

;// CONCATENATED MODULE: ./src/masking/copy-rows.ts



const TAB = 0x09;
const NEWLINE = 0x0a;
const copy_rows_BACKSLASH = 0x5c;
function maskCopyRows(key, spec, input) {
    const encoding = spec.encoding ?? "utf8";
    const out = new Output(input.length + (input.length >> 1) + 1024, encoding);
    const sources = new Growing();
    const lookups = new Growing();
    const uniques = new Growing();
    const starts = new Int32Array(spec.fields + 1);
    const masked = new Array(spec.fields);
    const original = new Array(spec.fields);
    const inUnique = new Set(spec.uniques.flatMap((unique) => unique.fields));
    let rows = 0;
    let at = 0;
    while (at < input.length) {
        let end = input.indexOf(NEWLINE, at);
        if (end === -1)
            end = input.length;
        // Field boundaries: COPY text escapes a tab inside a value, so every raw tab separates fields.
        let count = 0;
        starts[0] = at;
        for (let i = at; i < end; i++) {
            if (input[i] === TAB) {
                if (++count >= spec.fields)
                    break;
                starts[count] = i + 1;
            }
        }
        if (count !== spec.fields - 1) {
            throw new Error(`a row of ${count + 1} fields where the COPY statement names ${spec.fields}`);
        }
        starts[spec.fields] = end + 1;
        let copied = at;
        masked.fill(undefined);
        original.fill(undefined);
        for (const rule of spec.rules) {
            const from = starts[rule.field];
            const to = starts[rule.field + 1] - 1;
            const source = decodeField(input, from, to, encoding);
            if (inUnique.has(rule.field))
                original[rule.field] = source;
            const fake = maskField(key, rule, source, sources, lookups);
            masked[rule.field] = fake;
            out.bytes(input, copied, from);
            out.field(fake);
            copied = to;
        }
        out.bytes(input, copied, end);
        out.byte(NEWLINE);
        spec.uniques.forEach(({ fields, nullsNotDistinct }, index) => {
            let before = "";
            let after = "";
            for (const field of fields) {
                const value = original[field] !== undefined
                    ? original[field]
                    : decodeField(input, starts[field], starts[field + 1] - 1, encoding);
                const fake = masked[field] !== undefined ? masked[field] : value;
                // A key with a NULL never collides, unless the key says NULLS NOT DISTINCT.
                if ((value === null || fake === null) && !nullsNotDistinct)
                    return;
                before += value === null ? "\u0001" : `${value}\u0000`;
                after += fake === null ? "\u0001" : `${fake}\u0000`;
            }
            const i = uniques.reserve(5);
            uniques.values[i] = index;
            digestInto(after, uniques.values, i + 1);
            digestInto(before, uniques.values, i + 3);
        });
        rows++;
        at = end + 1;
    }
    return {
        output: out.done(),
        rows,
        sources: sources.done(),
        lookups: lookups.done(),
        uniques: uniques.done(),
    };
}
/** The field's masked value (null for NULL), recording the digests the verification needs. */
function maskField(key, rule, source, sources, lookups) {
    if (rule.paths !== undefined) {
        if (source === null)
            return null;
        return maskDocument(key, rule, source, sources, lookups);
    }
    const value = rule;
    if (value.strategy.kind === "fixed")
        return value.fixed;
    if (value.strategy.kind === "null" || source === null)
        return null;
    // char(n) prints its values padded; the fake is of the value as ::text reads it, unpadded.
    if (rule.pad !== undefined)
        source = trimEndSpaces(source);
    addSource(sources, value.strategy, source);
    const whole = fakeOf(key, value.strategy, source);
    const fake = rule.cut === undefined ? whole : leftChars(whole, rule.cut);
    if (mustLookUp(value.strategy, fake, fake !== whole))
        addLookup(lookups, fake, value.label);
    return rule.pad === undefined ? fake : padChars(fake, rule.pad);
}
function maskDocument(key, rule, source, sources, lookups) {
    let document = source;
    if (rule.overlapping) {
        for (const path of rule.paths) {
            const found = locate(source, path.path);
            if (found && found.kind !== "null")
                addSource(sources, path.strategy, found.text);
        }
    }
    for (const path of rule.paths) {
        const found = locate(document, path.path);
        if (!found || found.kind === "null")
            continue;
        let replacement;
        if (path.strategy.kind === "null")
            replacement = "null";
        else if (path.strategy.kind === "fixed")
            replacement = path.fixed;
        else {
            if (!rule.overlapping)
                addSource(sources, path.strategy, found.text);
            const fake = fakeOf(key, path.strategy, found.text);
            if (mustLookUp(path.strategy, fake, false))
                addLookup(lookups, fake, path.label);
            replacement = jsonString(fake);
        }
        document = splice(document, found, replacement);
    }
    return document;
}
/**
 * Whether a masked value must be looked up among the source values. A value shaped like our own
 * fakes (looksFake) never is one: such source values are not recorded (they identify no one), so
 * looking it up could find nothing. Email, name and text fakes are always so shaped (a test holds
 * them to it), unless a column's width cut them; phone fakes, hashes, UUIDs and cut fakes are
 * looked up, except a phone value without a digit, which is its own fake and identifies no one.
 */
function mustLookUp(strategy, fake, cut) {
    switch (strategy.kind) {
        case "phone":
            return HAS_DIGIT.test(fake);
        case "email":
        case "name":
        case "text":
            if (!cut)
                return false;
    }
    return fake !== "" && !looksFake(fake);
}
function addSource(sources, strategy, value) {
    const flag = sourceFlag(strategy, value);
    if (flag === 0)
        return;
    const i = sources.reserve(3);
    digestInto(value, sources.values, i);
    sources.values[i + 2] = flag;
}
function addLookup(lookups, fake, label) {
    const i = lookups.reserve(3);
    digestInto(fake, lookups.values, i);
    lookups.values[i + 2] = label;
}
const HAS_DIGIT = /[0-9]/;
/**
 * Which source a value's digest is recorded as, or 0 when it identifies no one: empty, shaped like
 * our own fakes, or a phone number without a digit.
 */
function sourceFlag(strategy, value) {
    if (value === null || value === "" || looksFake(value))
        return 0;
    if (strategy.kind === "phone")
        return HAS_DIGIT.test(value) ? PHONE_SOURCE : 0;
    return OTHER_SOURCE;
}
function fakeOf(key, strategy, value) {
    switch (strategy.kind) {
        case "email":
            return fakeEmail(key, value);
        case "name":
            return fakeName(key, value, strategy.part, strategy.unique);
        case "phone":
            return fakePhone(key, value);
        case "text":
            return fakeText(key, value);
        case "hash":
            return fakeHash(key, value);
        case "uuid":
            return fakeUuid(key, value);
        case "null":
        case "fixed":
            throw new Error(`no fake is computed for ${strategy.kind}`);
    }
}
/** left(value, n) as PostgreSQL counts: characters, not UTF-16 units. */
function leftChars(value, n) {
    if (value.length <= n)
        return value;
    return Array.from(value).slice(0, n).join("");
}
function trimEndSpaces(value) {
    let end = value.length;
    while (end > 0 && value.charCodeAt(end - 1) === 0x20)
        end--;
    return end === value.length ? value : value.slice(0, end);
}
/** char(n) as bpchar prints it: padded with spaces to n characters. */
function padChars(value, n) {
    let length = 0;
    for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        // A surrogate pair is one character, as PostgreSQL counts them.
        if (c < 0xdc00 || c > 0xdfff)
            length++;
    }
    return length >= n ? value : value + " ".repeat(n - length);
}
/**
 * A COPY text field's value: null for `\N`, else the text with COPY's backslash escapes undone
 * (those COPY TO writes, and the octal and hex forms COPY FROM also reads).
 */
function decodeField(input, from, to, encoding = "utf8") {
    if (to - from === 2 && input[from] === copy_rows_BACKSLASH && input[from + 1] === 0x4e)
        return null;
    let escaped = false;
    for (let i = from; i < to; i++) {
        if (input[i] === copy_rows_BACKSLASH) {
            escaped = true;
            break;
        }
    }
    if (!escaped)
        return input.toString(encoding, from, to);
    const bytes = [];
    for (let i = from; i < to; i++) {
        const c = input[i];
        if (c !== copy_rows_BACKSLASH || i + 1 >= to) {
            bytes.push(c);
            continue;
        }
        const e = input[++i];
        if (e >= 0x30 && e <= 0x37) {
            let n = e - 0x30;
            for (let k = 0; k < 2 && i + 1 < to && input[i + 1] >= 0x30 && input[i + 1] <= 0x37; k++)
                n = n * 8 + input[++i] - 0x30;
            bytes.push(n & 0xff);
        }
        else if (e === 0x78 && i + 1 < to && isHex(input[i + 1])) {
            let n = copy_rows_hexValue(input[++i]);
            if (i + 1 < to && isHex(input[i + 1]))
                n = n * 16 + copy_rows_hexValue(input[++i]);
            bytes.push(n);
        }
        else {
            bytes.push(ESCAPES[e] ?? e);
        }
    }
    return Buffer.from(bytes).toString(encoding);
}
const ESCAPES = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11 };
function isHex(c) {
    return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
function copy_rows_hexValue(c) {
    return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}
/** COPY TO's escapes (CopyAttributeOutText): backslash and the control characters it names. */
const NEEDS_ESCAPE = /[\\\b\f\n\r\t\v]/;
const OUT_ESCAPES = {
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
};
function encodeField(value) {
    if (!NEEDS_ESCAPE.test(value))
        return value;
    return value.replace(/[\\\b\f\n\r\t\v]/g, (c) => OUT_ESCAPES[c]);
}
/** The masked rows' bytes, grown as needed: fakes can be longer than the values they replace. */
class Output {
    encoding;
    buffer;
    length = 0;
    constructor(size, encoding) {
        this.encoding = encoding;
        this.buffer = Buffer.allocUnsafe(size);
    }
    bytes(source, from, to) {
        if (to <= from)
            return;
        this.room(to - from);
        this.length += source.copy(this.buffer, this.length, from, to);
    }
    byte(value) {
        this.room(1);
        this.buffer[this.length++] = value;
    }
    field(value) {
        if (value === null) {
            this.room(2);
            this.buffer[this.length++] = copy_rows_BACKSLASH;
            this.buffer[this.length++] = 0x4e;
            return;
        }
        const text = encodeField(value);
        this.room(text.length * 3);
        this.length += this.buffer.write(text, this.length, this.encoding);
    }
    done() {
        return this.buffer.subarray(0, this.length);
    }
    room(bytes) {
        if (this.length + bytes <= this.buffer.length)
            return;
        const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
        this.buffer.copy(grown, 0, 0, this.length);
        this.buffer = grown;
    }
}
/** An Int32Array appended to, doubled as it fills. */
class Growing {
    values = new Int32Array(3 * 1024);
    length = 0;
    reserve(n) {
        if (this.length + n > this.values.length) {
            const grown = new Int32Array(Math.max(this.values.length * 2, this.length + n));
            grown.set(this.values.subarray(0, this.length));
            this.values = grown;
        }
        const at = this.length;
        this.length += n;
        return at;
    }
    done() {
        return this.values.slice(0, this.length);
    }
}

;// CONCATENATED MODULE: ./src/masking/fake-worker.ts
/**
 * A worker thread of fake-pool.ts: masks the batches of COPY rows it is sent with the key it was
 * started with (held in this thread's memory only, as in the main thread) and sends back the masked
 * rows and the digests the verification needs. Bundled on its own as dist/mask-worker/index.js
 * (scripts/build.mjs).
 */


const { innerPad, outerPad } = external_node_worker_threads_namespaceObject.workerData;
const key = { innerPad: Buffer.from(innerPad), outerPad: Buffer.from(outerPad) };
external_node_worker_threads_namespaceObject.parentPort.on("message", ({ id, spec, input }) => {
    let reply;
    try {
        const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
        reply = { id, result: maskCopyRows(key, spec, bytes) };
    }
    catch (error) {
        reply = { id, error: error instanceof Error ? error.message : String(error) };
    }
    external_node_worker_threads_namespaceObject.parentPort.postMessage(reply);
});

