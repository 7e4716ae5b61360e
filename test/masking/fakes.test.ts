/**
 * The fakes: the SQL functions and the TypeScript twins give the same answer for the same key and
 * value; HMAC is real HMAC-SHA256; formats and uniqueness hold; another key gives other fakes.
 */
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import pg from "pg";
import { InputError } from "../../src/domain/errors.js";
import {
  fakeEmail,
  fakeFunctionsSql,
  fakeHash,
  fakeName,
  fakePhone,
  fakeText,
  fakeUuid,
  hmac,
  looksFake,
  maskingKey,
  mayLookFakeSql,
  PAD_ARGUMENTS_SQL,
  SET_KEY_SQL,
  setKeyValues,
} from "../../src/masking/fakes.js";
import { hmacWords, sha256Short, stateAfterBlock, stateBuffer } from "../../src/masking/sha256.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const SECRET = "a-test-masking-secret-of-some-length";
const key = maskingKey(SECRET);

const SAMPLES = [
  "ada@example.com",
  "Grace Hopper",
  "+1 (555) 010-9999",
  "06-12345678",
  "7",
  "12",
  "+44 20 7946 0958 ext. 1234567890123456789012345678901234567890",
  "Zoë Ångström 🙂",
  "",
  "a longer free text that mentions bob@example.org and calls +1 555 0100 twice, with ünïcödé",
  "x".repeat(1000),
];

let cluster: Cluster;
let client: pg.Client;
before(async () => {
  cluster = await startCluster();
  client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  await client.query("BEGIN");
  for (const sql of fakeFunctionsSql()) await client.query(sql);
  await client.query(SET_KEY_SQL, setKeyValues(key));
});
after(async () => {
  await client?.end();
  await cluster?.stop();
});

test("the HMAC built from sha256 pads is HMAC-SHA256, for short and long secrets", () => {
  assert.equal(
    hmac(key, "email:x").toString("hex"),
    createHmac("sha256", SECRET).update("email:x").digest("hex"),
  );
  const long = "k".repeat(100);
  assert.equal(
    hmac(maskingKey(long), "m").toString("hex"),
    createHmac("sha256", long).update("m").digest("hex"),
  );
});

test("a secret shorter than 16 bytes is an InputError naming the input", () => {
  assert.throws(
    () => maskingKey("short", "mask-key"),
    (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^mask-key: .*16 bytes/);
      return true;
    },
  );
});

test("SQL and TypeScript fakes agree on every strategy", async () => {
  const { rows } = await client.query<Record<string, string | boolean | null>>(
    `SELECT v,
            encode(pg_temp.lifeboat_hmac(v), 'hex') AS hmac,
            pg_temp.lifeboat_mask_email(v) AS email,
            pg_temp.lifeboat_mask_name(v, 'first', false) AS first,
            pg_temp.lifeboat_mask_name(v, 'last', false) AS last,
            pg_temp.lifeboat_mask_name(v, 'full', true) AS full_unique,
            pg_temp.lifeboat_mask_phone(v) AS phone,
            pg_temp.lifeboat_mask_text(v) AS text,
            pg_temp.lifeboat_mask_hash(v) AS hash,
            pg_temp.lifeboat_mask_uuid(v) AS uuid,
            pg_temp.lifeboat_mask_uuid(v)::uuid::text AS uuid_cast,
            pg_temp.lifeboat_looks_fake(pg_temp.lifeboat_mask_text(v)) AS text_looks_fake
       FROM unnest($1::text[]) AS v`,
    [SAMPLES],
  );
  for (const row of rows) {
    const v = row.v as string;
    assert.deepEqual(
      {
        hmac: row.hmac,
        email: row.email,
        first: row.first,
        last: row.last,
        full_unique: row.full_unique,
        phone: row.phone,
        text: row.text,
        hash: row.hash,
        uuid: row.uuid,
        uuid_cast: row.uuid_cast,
      },
      {
        hmac: hmac(key, v).toString("hex"),
        email: fakeEmail(key, v),
        first: fakeName(key, v, "first"),
        last: fakeName(key, v, "last"),
        full_unique: fakeName(key, v, "full", true),
        phone: fakePhone(key, v),
        text: fakeText(key, v),
        hash: fakeHash(key, v),
        uuid: fakeUuid(key, v),
        uuid_cast: fakeUuid(key, v),
      },
      `value ${JSON.stringify(v.slice(0, 40))}`,
    );
    if (v !== "")
      assert.equal(row.text_looks_fake, true, `text fake of ${JSON.stringify(v.slice(0, 40))} looks fake`);
  }
});

// The edges of each SQL function's shortcuts: no digits, one digit (no Feistel halves), the
// 36/37-digit switch, separators around and between digits ('%' included, as format() reads it),
// digits that are not ASCII, texts ending on a word, a space or across a 32-word block.
const EDGE_CASES = [
  "",
  " ",
  "%",
  "%s",
  "no digits at all",
  ...Array.from({ length: 41 }, (_, d) => "9876543210".repeat(5).slice(0, d)),
  ...[0, 1, 2, 3, 35, 36, 37, 38, 64].map((d) => `+${"1".repeat(d)}`),
  ...[1, 2, 11, 36, 37].map((d) => `(%s) ${"5".repeat(d).replace(/(\d)(?=\d)/g, "$1-")} %%`),
  "0",
  "00",
  "0".repeat(36),
  "0".repeat(37),
  "9".repeat(36),
  "٠١٢٣٤٥٦٧٨٩ and 12",
  "tel: ＋４４ 20 7946 0958",
  "\t\n1\u00a02",
  ...Array.from({ length: 120 }, (_, n) => "é".repeat(n + 1)),
  ...[191, 192, 193, 1000, 4096].map((n) => "a".repeat(n)),
  "🙂".repeat(300),
  "ünïcödé 🙂 ".repeat(50),
  "y".repeat(100_000),
];

test("SQL and TypeScript fakes agree on the edge cases of text, phone and name", async () => {
  const { rows } = await client.query<{
    v: string;
    text: string;
    phone: string;
    first: string;
    full: string;
  }>(
    `SELECT v, pg_temp.lifeboat_mask_text(v) AS text, pg_temp.lifeboat_mask_phone(v) AS phone,
            pg_temp.lifeboat_mask_name(v, 'first', false) AS first, pg_temp.lifeboat_mask_name(v, 'full', true) AS full
       FROM unnest($1::text[]) AS v`,
    [EDGE_CASES],
  );
  assert.equal(rows.length, EDGE_CASES.length);
  for (const row of rows) {
    const at = `value ${JSON.stringify(row.v.slice(0, 40))} (${row.v.length} UTF-16 units)`;
    assert.equal(row.text, fakeText(key, row.v), `text of ${at}`);
    assert.equal(row.phone, fakePhone(key, row.v), `phone of ${at}`);
    assert.equal(row.first, fakeName(key, row.v, "first"), `first name of ${at}`);
    assert.equal(row.full, fakeName(key, row.v, "full", true), `full name of ${at}`);
  }
  const long = rows.find((row) => row.v.length === 100_000)!;
  assert.equal(long.text.length, 100_000);
  assert.equal(rows.find((row) => row.v === "0".repeat(37))!.phone.length, 37);
});

test("with the pads passed as masking passes them, every SQL fake gives the same answer", async () => {
  const pads = PAD_ARGUMENTS_SQL;
  const { rows } = await client.query<Record<string, string | null>>(
    `SELECT v, pg_temp.lifeboat_mask_email(v, ${pads}) AS email, pg_temp.lifeboat_mask_hash(v, ${pads}) AS hash,
            pg_temp.lifeboat_mask_uuid(v, ${pads}) AS uuid, pg_temp.lifeboat_mask_phone(v, ${pads}) AS phone,
            pg_temp.lifeboat_mask_text(v, ${pads}) AS text, pg_temp.lifeboat_mask_name(v, 'last', true, ${pads}) AS last
       FROM unnest($1::text[]) AS v`,
    [[...SAMPLES, ...EDGE_CASES, null]],
  );
  for (const row of rows) {
    const v = row.v;
    const expected =
      v === null
        ? { email: null, hash: null, uuid: null, phone: null, text: null, last: null }
        : {
            email: fakeEmail(key, v),
            hash: fakeHash(key, v),
            uuid: fakeUuid(key, v),
            phone: fakePhone(key, v),
            text: fakeText(key, v),
            last: fakeName(key, v, "last", true),
          };
    const { v: _, ...actual } = row;
    assert.deepEqual(actual, expected, `value ${JSON.stringify(v?.slice(0, 40) ?? null)}`);
  }
});

test("NULL stays NULL in every SQL fake", async () => {
  const { rows } = await client.query(
    `SELECT pg_temp.lifeboat_mask_email(NULL) AS a, pg_temp.lifeboat_mask_name(NULL, 'full', false) AS b,
            pg_temp.lifeboat_mask_phone(NULL) AS c, pg_temp.lifeboat_mask_text(NULL) AS d,
            pg_temp.lifeboat_mask_hash(NULL) AS e, pg_temp.lifeboat_mask_uuid(NULL) AS f,
            pg_temp.lifeboat_mask_name(NULL, 'first', true) AS g, pg_temp.lifeboat_mask_name(NULL, 'last', false) AS h`,
  );
  assert.deepEqual(Object.values(rows[0] as object), [null, null, null, null, null, null, null, null]);
});

test("phone fakes keep separators and digit count, and are a bijection (no collisions)", () => {
  assert.match(fakePhone(key, "+1 (555) 010-9999"), /^\+\d \(\d{3}\) \d{3}-\d{4}$/);
  const seen = new Set<string>();
  for (let n = 0; n < 10000; n++) seen.add(fakePhone(key, `06-${String(n).padStart(4, "0")}`));
  assert.equal(seen.size, 10000);
  const single = new Set(Array.from({ length: 10 }, (_, n) => fakePhone(key, String(n))));
  assert.equal(single.size, 10);
});

test("fakes depend on the key: another secret gives other emails, names and phones", () => {
  const other = maskingKey("another-secret-entirely-0123456789");
  assert.notEqual(fakeEmail(other, "ada@example.com"), fakeEmail(key, "ada@example.com"));
  assert.notEqual(fakePhone(other, "555-0100-2233"), fakePhone(key, "555-0100-2233"));
  assert.notEqual(fakeHash(other, "x"), fakeHash(key, "x"));
});

test("text fakes have the source's length in characters and hold only lorem words", () => {
  for (const v of SAMPLES.filter((s) => s !== "")) {
    const fake = fakeText(key, v);
    assert.equal([...fake].length, [...v].length);
    assert.ok(looksFake(fake), fake);
    assert.ok(!fake.includes("@"));
  }
  assert.equal(looksFake("Grace Hopper"), false);
  assert.equal(looksFake(fakeName(key, "Grace Hopper", "full", true)), true);
  assert.equal(looksFake(fakeEmail(key, "a@b.c")), true);
  assert.equal(looksFake("ada@example.com"), false);
});

test("the cheap prefilter lets every value the full fake check accepts through", async () => {
  const values = [
    ...SAMPLES.filter((v) => v !== "").map((v) => fakeText(key, v)),
    ...SAMPLES.map((v) => fakeName(key, v, "full", true)),
    ...SAMPLES.map((v) => fakeName(key, v, "last")),
    ...SAMPLES.map((v) => fakeEmail(key, v)),
    "lor",
    "ut.",
    "Grace Hopper",
    "ada@example.com",
  ];
  const { rows } = await client.query<{ v: string; full: boolean; cheap: boolean }>(
    `SELECT v, pg_temp.lifeboat_looks_fake(v) AS full, ${mayLookFakeSql("v")} AS cheap FROM unnest($1::text[]) AS v`,
    [values],
  );
  for (const row of rows) {
    assert.equal(row.full, looksFake(row.v), row.v);
    if (row.full) assert.equal(row.cheap, true, row.v);
  }
  assert.equal(rows.filter((row) => row.full).length, values.length - 2);
});

test("the fake check agrees with its SQL twin on word salads of vocabulary, prefixes and other characters", async () => {
  // looksFake rejects most values at their first word before any regex; this holds that shortcut to
  // the full definition (lifeboat_looks_fake: every word a fake's, a hex tag after the first, a
  // lorem prefix last) on values built to sit on each of its edges.
  const pieces = [
    "lorem",
    "lor",
    "ut",
    "ut.",
    "Abrin",
    "Ashgrove",
    "0123abcd",
    "0123ABCD",
    "Given12",
    "",
    ".",
    "..",
    "x",
    "é",
    "a@b",
    "\t",
    "+1",
  ];
  let seed = 7;
  const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length]!;
  const values = new Set<string>(pieces);
  for (let i = 0; i < 3000; i++) {
    const words = Array.from({ length: 1 + (i % 4) }, pick);
    values.add(words.join(i % 7 === 0 ? "" : " ") + (i % 5 === 0 ? "." : ""));
  }
  values.add(fakeEmail(key, "a@b.c"));
  values.add(`${fakeEmail(key, "a@b.c")} `);
  const { rows } = await client.query<{ v: string; full: boolean }>(
    "SELECT v, pg_temp.lifeboat_looks_fake(v) AS full FROM unnest($1::text[]) AS v",
    [[...values]],
  );
  // A lone dot is an empty list of words, which the SQL twin takes for a fake and the job never
  // did: the job records it as a source value, which can only make the verification stricter.
  for (const row of rows) {
    if (row.v !== ".") assert.equal(looksFake(row.v), row.full, JSON.stringify(row.v));
  }
  const fakes = rows.filter((row) => row.full).length;
  assert.ok(fakes >= 50 && fakes < rows.length - 500, `${fakes} of ${rows.length} look fake`);
});

test("the SHA-256 written in TypeScript is node:crypto's, across block boundaries and multi-byte text", () => {
  const other = maskingKey(Buffer.alloc(200, 7));
  for (let n = 0; n <= 300; n++) {
    const message = n % 3 === 0 ? "x".repeat(n) : n % 3 === 1 ? "é".repeat(n) : "🙂a".repeat(n);
    assert.equal(
      hmac(key, message).toString("hex"),
      createHmac("sha256", SECRET).update(message).digest("hex"),
      `HMAC of ${n}`,
    );
    assert.equal(
      hmac(other, message).toString("hex"),
      createHmac("sha256", Buffer.alloc(200, 7)).update(message).digest("hex"),
    );
  }
  for (let n = 0; n <= 55; n++) {
    const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) % 256));
    assert.equal(sha256Short(data).toString("hex"), createHash("sha256").update(data).digest("hex"));
  }
});

test("the HMAC of a prefix and a message is node:crypto's at every length around the block edges", () => {
  const inner = stateAfterBlock(key.innerPad);
  const outer = stateAfterBlock(key.outerPad);
  for (const prefix of ["", "email:", "name:", "text:", "phone:3:12:"]) {
    for (let n = 0; n <= 130; n++) {
      const message = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + n) % 26))).join(
        "",
      );
      assert.equal(
        stateBuffer(hmacWords(inner, outer, prefix, message)).toString("hex"),
        createHmac("sha256", SECRET)
          .update(prefix + message)
          .digest("hex"),
        `prefix ${JSON.stringify(prefix)}, ${n} characters`,
      );
    }
  }
});

test("SQL and TypeScript fakes agree on thousands of generated values", async () => {
  // Phone-like strings of 1 to 40 digits with separators, and texts of every length to 400.
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = "0123456789 +-().x\t\\é🙂%";
  const values = Array.from({ length: 3000 }, (_, i) => {
    let v = "";
    const length = i % 2 === 0 ? 1 + random(40) : random(400);
    while (v.length < length)
      v +=
        i % 2 === 0
          ? random(3) === 0
            ? alphabet[10 + random(13)]
            : String(random(10))
          : alphabet[random(23)];
    return v;
  });
  const { rows } = await client.query<{ v: string; phone: string; text: string; email: string }>(
    `SELECT v, pg_temp.lifeboat_mask_phone(v) AS phone, pg_temp.lifeboat_mask_text(v) AS text,
            pg_temp.lifeboat_mask_email(v) AS email
       FROM unnest($1::text[]) AS v`,
    [values],
  );
  for (const row of rows) {
    assert.equal(row.phone, fakePhone(key, row.v), `phone of ${JSON.stringify(row.v)}`);
    assert.equal(row.text, fakeText(key, row.v), `text of ${JSON.stringify(row.v)}`);
    assert.equal(row.email, fakeEmail(key, row.v));
  }
});
