/**
 * Deterministic fakes keyed by a secret, twice: in TypeScript (what masking computes the column
 * rules with, in the job, as the dump streams: copy-rows.ts) and as SQL functions created in
 * pg_temp of the scratch session (for free SQL).
 * Both compute HMAC-SHA256(key, "<strategy>:<value>") and derive the fake from its bytes; a test
 * holds them equal. The SQL side builds HMAC from the built-in sha256() (PostgreSQL 11+) rather than
 * pgcrypto's hmac(), so the same key gives the same fakes on every server, extension or not.
 */
import { createHash } from "node:crypto";
import { InputError } from "../domain/errors.js";
import { hmacWords, sha256SeedCounter, stateAfterBlock, stateBuffer, stateByte, stateHex } from "./sha256.js";

export type { MaskingKey } from "../domain/masking-rules.js";
import type { MaskingKey } from "../domain/masking-rules.js";

export const MIN_KEY_LENGTH = 16;

export function maskingKey(secret: string | Buffer, input = "masking-key"): MaskingKey {
  let key = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  if (key.length < MIN_KEY_LENGTH) {
    throw new InputError(`${input}: expected a secret of at least ${MIN_KEY_LENGTH} bytes`, { input });
  }
  if (key.length > 64) key = createHash("sha256").update(key).digest();
  const block = Buffer.alloc(64);
  key.copy(block);
  return {
    innerPad: Buffer.from(block.map((byte) => byte ^ 0x36)),
    outerPad: Buffer.from(block.map((byte) => byte ^ 0x5c)),
  };
}

const states = new WeakMap<MaskingKey, { inner: Int32Array; outer: Int32Array }>();

export function hmac(key: MaskingKey, message: string): Buffer {
  return stateBuffer(hmacState(key, "", message));
}

/**
 * The HMAC of `prefix` (ASCII) then `message` as eight state words, overwritten by the next call:
 * what the fakes read their bytes from.
 */
function hmacState(key: MaskingKey, prefix: string, message: string): Int32Array {
  let state = states.get(key);
  if (!state) {
    state = { inner: stateAfterBlock(key.innerPad), outer: stateAfterBlock(key.outerPad) };
    states.set(key, state);
  }
  return hmacWords(state.inner, state.outer, prefix, message);
}

// Invented-sounding names, so that a fake rarely coincides with a real person's name.
export const FIRST_NAMES = [
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
] as const;
export const LAST_NAMES = [
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
] as const;
export const LOREM_WORDS = [
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
] as const;

export const EMAIL_HEX_CHARS = 20;
export const EMAIL_DOMAIN = "example.invalid";
/** The longest fake email: columns narrower than this cannot take the email strategy. */
export const EMAIL_LENGTH = "user_".length + EMAIL_HEX_CHARS + 1 + EMAIL_DOMAIN.length;

export function fakeEmail(key: MaskingKey, value: string): string {
  return `user_${stateHex(hmacState(key, "email:", value), 0, EMAIL_HEX_CHARS / 2)}@${EMAIL_DOMAIN}`;
}

export function fakeName(
  key: MaskingKey,
  value: string,
  part: "first" | "last" | "full",
  unique = false,
): string {
  const h = hmacState(key, "name:", value);
  const first = FIRST_NAMES[(h[0]! >>> 16) % FIRST_NAMES.length]!;
  const last = LAST_NAMES[(h[0]! & 0xffff) % LAST_NAMES.length]!;
  const name = part === "first" ? first : part === "last" ? last : `${first} ${last}`;
  return unique ? `${name} ${stateHex(h, 4, 4)}` : name;
}

export function fakeHash(key: MaskingKey, value: string): string {
  return stateHex(hmacState(key, "hash:", value), 0, 32);
}

export function fakeUuid(key: MaskingKey, value: string): string {
  const hex = stateHex(hmacState(key, "uuid:", value), 0, 16);
  const variant = "89ab"[parseInt(hex[16]!, 16) % 4]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Format-preserving: digits stay digits (a bijection on the digit string up to 36 digits), the rest stays. */
export function fakePhone(key: MaskingKey, value: string): string {
  let digits = "";
  for (let i = 0; i < value.length; i++) if (isDigit(value.charCodeAt(i))) digits += value[i];
  const d = digits.length;
  if (d === 0) return value;
  let out: string;
  if (d > 36) {
    const h = hmacState(key, "phone:", value);
    out = "";
    for (let i = 0; i < d; i++)
      out += String((Number(digits[i]) + stateByte(h, i % 32) + Math.floor(i / 32)) % 10);
  } else {
    out = d <= 18 ? feistelSmall(key, digits) : feistelBig(key, digits);
  }
  let masked = "";
  let next = 0;
  for (let i = 0; i < value.length; i++) masked += isDigit(value.charCodeAt(i)) ? out[next++]! : value[i]!;
  return masked;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The 60-bit number of a phone round's first 15 hex digits, modulo m (at most 10^9): exact in doubles. */
function roundModulo(h: Int32Array, m: number): number {
  let r = 0;
  for (let i = 0; i < 7; i++) r = (r * 256 + stateByte(h, i)) % m;
  return (r * 16 + (stateByte(h, 7) >> 4)) % m;
}

/**
 * Four rounds of an unbalanced Feistel network: invertible, so distinct numbers stay distinct.
 * Up to 18 digits each half is at most 9 digits, so doubles hold every step exactly; feistelBig
 * is the same network in BigInt for longer numbers.
 */
function feistelSmall(key: MaskingKey, digits: string): string {
  const d = digits.length;
  const u = Math.floor(d / 2);
  const w = d - u;
  const mu = 10 ** u;
  const mw = 10 ** w;
  const round = (r: number, other: string, m: number) =>
    roundModulo(hmacState(key, `phone:${r}:${d}:`, other), m);
  let b = Number(digits.slice(u));
  if (u === 0) return String((b + round(0, "", mw)) % mw).padStart(w, "0");
  let a = Number(digits.slice(0, u));
  a = (a + round(0, String(b).padStart(w, "0"), mu)) % mu;
  b = (b + round(1, String(a).padStart(u, "0"), mw)) % mw;
  a = (a + round(2, String(b).padStart(w, "0"), mu)) % mu;
  b = (b + round(3, String(a).padStart(u, "0"), mw)) % mw;
  return String(a).padStart(u, "0") + String(b).padStart(w, "0");
}

function feistelBig(key: MaskingKey, digits: string): string {
  const d = digits.length;
  const u = Math.floor(d / 2);
  const w = d - u;
  const round = (r: number, other: string, width: number): bigint => {
    const hex = stateHex(hmacState(key, `phone:${r}:${d}:`, other), 0, 8).slice(0, 15);
    return BigInt(`0x${hex}`) % 10n ** BigInt(width);
  };
  let a = BigInt(digits.slice(0, u));
  let b = BigInt(digits.slice(u));
  for (let r = 0; r < 4; r++) {
    if (r % 2 === 0) a = (a + round(r, b.toString().padStart(w, "0"), u)) % 10n ** BigInt(u);
    else b = (b + round(r, a.toString().padStart(u, "0"), w)) % 10n ** BigInt(w);
  }
  return a.toString().padStart(u, "0") + b.toString().padStart(w, "0");
}

const textSeed = new Int32Array(8);

/** Lorem words of exactly the source's length in characters: nothing of the source survives. */
export function fakeText(key: MaskingKey, value: string): string {
  const n = codePoints(value);
  if (n === 0) return value;
  textSeed.set(hmacState(key, "text:", value));
  let out = "";
  for (let i = 0; out.length < n; i++) {
    const block = sha256SeedCounter(textSeed, i);
    for (let j = 0; j < 32 && out.length < n; j++) {
      out += (out === "" ? "" : " ") + LOREM_WORDS[stateByte(block, j) % LOREM_WORDS.length]!;
    }
  }
  out = out.slice(0, n);
  return out.endsWith(" ") ? `${out.slice(0, -1)}.` : out;
}

function codePoints(value: string): number {
  let n = value.length;
  // A surrogate pair is one character (as PostgreSQL's char_length counts it) in two UTF-16 units.
  for (let i = 1; i < value.length; i++) {
    if ((value.charCodeAt(i) & 0xfc00) === 0xdc00 && (value.charCodeAt(i - 1) & 0xfc00) === 0xd800) n--;
  }
  return n;
}

const FAKE_EMAIL = new RegExp(`^user_[0-9a-f]{${EMAIL_HEX_CHARS}}@example\\.invalid$`);
const VOCABULARY = new Set<string>([...FIRST_NAMES, ...LAST_NAMES, ...LOREM_WORDS]);
const LONGEST_WORD = Math.max(...[...VOCABULARY].map((word) => word.length));

/** Whether a value has the shape of our own fakes (which carry nothing of any source value). */
export function looksFake(value: string): boolean {
  if (value.length === EMAIL_LENGTH && FAKE_EMAIL.test(value)) return true;
  // Asked of every source value: most fail at their first word, found here without a regex or a
  // split (measured: a sixth of the fakes' time before). With a space, the first word must be a
  // fake's; without one, the value is one word (and a final dot), which only letters can match;
  // neither is when longer than the vocabulary's longest word.
  const space = value.indexOf(" ");
  if (space > LONGEST_WORD) return false;
  if (space === -1) {
    if (value.length > LONGEST_WORD + 1) return false;
    const word = value.endsWith(".") ? value.slice(0, -1) : value;
    return VOCABULARY.has(word) || (word !== "" && LOREM_WORDS.some((lorem) => lorem.startsWith(word)));
  }
  if (!VOCABULARY.has(value.slice(0, space))) return false;
  if (!/^[A-Za-z0-9 .]+$/.test(value)) return false;
  const words = value.replace(/\.$/, "").split(" ");
  return words.every(
    (word, index) =>
      VOCABULARY.has(word) ||
      (index > 0 && /^[0-9a-f]{8}$/.test(word)) ||
      (index === words.length - 1 && LOREM_WORDS.some((lorem) => lorem.startsWith(word) && word !== "")),
  );
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
const PAD_SQL = (pad: "ip" | "op") => `coalesce(${pad}, ${READ_PAD_SQL[pad]})`;
/** The trailing arguments of a fake's call in a masking statement. */
export const PAD_ARGUMENTS_SQL = `(SELECT ${READ_PAD_SQL.ip}), (SELECT ${READ_PAD_SQL.op})`;
const PAD_PARAMETERS = "ip bytea DEFAULT NULL, op bytea DEFAULT NULL";
/** HMAC without a function call per value. */
const HMAC_SQL = (message: string) =>
  `sha256(${PAD_SQL("op")} || sha256(${PAD_SQL("ip")} || convert_to(${message}, 'UTF8')))`;
const PHONE_ROUND = (round: string, other: string, modulus: string) =>
  `('x' || left(encode(sha256(op || sha256(ip || convert_to('phone:' || ${round} || ':' || d || ':' || ${other}, 'UTF8'))), 'hex'), 15))::bit(60)::bigint % ${modulus}`;

/** 10^0 .. 10^18, exact: the moduli of the phone rounds (18 digits a side at most). */
const POWERS_OF_TEN = `ARRAY[${Array.from({ length: 19 }, (_, k) => `1${"0".repeat(k)}`).join(",")}]::bigint[]`;

const sqlArray = (words: readonly string[]) => `ARRAY[${words.map((word) => `'${word}'`).join(",")}]::text[]`;

/**
 * SQL true when `value` may look like a fake, cheap enough for every distinct source value: only
 * then is the full check (lifeboat_looks_fake) run.
 */
export function mayLookFakeSql(value: string): string {
  const vocabulary = sqlArray([...FIRST_NAMES, ...LAST_NAMES, ...LOREM_WORDS]);
  return `(${value} ~ '^user_[0-9a-f]+@example\\.invalid$' OR (${value} ~ '^[A-Za-z0-9 .]+$'
           AND (split_part(${value}, ' ', 1) = ANY (${vocabulary}) OR ${value} ~ '^[a-z]{1,14}\\.?$')))`;
}

/**
 * The functions, created in pg_temp (gone with the session, never dumped). The key is read from two
 * transaction-local settings set with a bind parameter (setKeySql), never written into a function.
 */
export function fakeFunctionsSql(): string[] {
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

export const DROP_FUNCTIONS_SQL = [
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
export const SET_KEY_SQL =
  "SELECT set_config('lifeboat.mask_inner_pad', $1, true), set_config('lifeboat.mask_outer_pad', $2, true)";

export function setKeyValues(key: MaskingKey): [string, string] {
  return [key.innerPad.toString("hex"), key.outerPad.toString("hex")];
}
