/**
 * The jsonb text editor against PostgreSQL itself: on generated documents (nested, escaped keys
 * and strings, big numbers, empty containers, prefix keys, the same key at several depths) and
 * paths (present, absent, through arrays with every index form, through scalars), locate finds
 * what #> and #>> find, jsonString prints what to_jsonb prints, splicing a value gives the text
 * jsonb_set gives and keeps the document canonical; and jsonb_out's form (the only whitespace,
 * key order, pg_dump's COPY text) is what the module relies on.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { jsonString, locate, splice } from "../../src/masking/jsonb-text.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

/** A small seeded generator, so a failure names a case that comes back on the next run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "a",
  "ab",
  "abc",
  "abcd",
  "b",
  "",
  "A",
  "é",
  "ée",
  "name",
  "email",
  "email2",
  'q"uote',
  "back\\slash",
  "tab\tkey",
  "ctl\u0001\u001f",
  "😀",
  "/slash",
  "line\u2028sep",
  "new\nline",
  "0",
  "1",
];
const STRINGS = [
  "",
  "plain",
  'say "hi"',
  "C:\\path\\",
  "\\",
  '"',
  "tab\tnew\nline\rcr\bbs\fff",
  "\u0001\u0002\u000b\u001f\u007f",
  "ünïcödé",
  "😀 and 𝄞",
  "\u2028\u2029\u00a0",
  "/not/escaped/",
  "\\u0041 literally",
  "  spaced  ",
  "null",
  "123",
];
const NUMBERS = [
  "0",
  "-0",
  "1",
  "-1",
  "1e400",
  "123456789012345678901234567890.000001",
  "1.50",
  "-12.5e-3",
  "1E+2",
  "0.1",
  "-0.0",
  "2e-5",
  "9007199254740993",
];
const INDEX_FORMS = [
  "0",
  "-1",
  " 1",
  "01",
  "+1",
  "abc",
  "1 ",
  "",
  "-0",
  "\t1",
  "-3",
  "2",
  "-4",
  "99",
  "1.0",
  "0x1",
  "2147483648",
  "-2147483648",
];

interface Generated {
  text: string;
  paths: string[][];
}

/** A JSON text with random whitespace and random (valid) escaping, and the paths of its values. */
function generateDocument(next: () => number): Generated {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const ws = () => (next() < 0.6 ? "" : pick([" ", "  ", "\n", "\t", "\r\n ", " \n\t"]));
  const encode = (value: string): string => {
    let out = '"';
    for (const char of value) {
      const code = char.codePointAt(0)!;
      const mode = next();
      if (char === '"' || char === "\\") out += "\\" + char;
      else if (code < 0x20)
        out += mode < 0.5 ? jsonString(char).slice(1, -1) : unicodeEscape(char, mode < 0.75);
      else if (mode < 0.15) out += unicodeEscape(char, mode < 0.07);
      else if (char === "/" && mode < 0.5) out += "\\/";
      else out += char;
    }
    return out + '"';
  };
  const paths: string[][] = [];
  const value = (path: string[], depth: number): string => {
    paths.push(path);
    const roll = next();
    if (depth < 4 && roll < 0.3) {
      const keys = [...KEYS].sort(() => next() - 0.5).slice(0, Math.floor(next() * 5));
      const members = keys.map(
        (key) => ws() + encode(key) + ws() + ":" + ws() + value([...path, key], depth + 1) + ws(),
      );
      return "{" + (members.length ? members.join(",") : ws()) + "}";
    }
    if (depth < 4 && roll < 0.5) {
      const count = Math.floor(next() * 4);
      const elements = Array.from(
        { length: count },
        (_, i) => ws() + value([...path, String(i)], depth + 1) + ws(),
      );
      return "[" + (elements.length ? elements.join(",") : ws()) + "]";
    }
    if (roll < 0.75) return encode(pick(STRINGS));
    if (roll < 0.9) return pick(NUMBERS);
    return pick(["true", "false", "null"]);
  };
  // Mostly containers at the root, as masked columns hold; some scalars to pin down their paths.
  const root = next() < 0.9 ? value([], 0) : value([], 4);
  return { text: ws() + root + ws(), paths: paths.filter(() => next() < 0.5) };
}

function unicodeEscape(char: string, upper: boolean): string {
  let out = "";
  for (let i = 0; i < char.length; i++) {
    const hex = char.charCodeAt(i).toString(16).padStart(4, "0");
    out += "\\u" + (upper ? hex.toUpperCase() : hex);
  }
  return out;
}

// A key's escaped text is not the key: 'q\\"uote' must not find 'q"uote'.
const NEIGHBOURS = [
  ...KEYS,
  ...INDEX_FORMS,
  ...KEYS.map((key) => jsonString(key).slice(1, -1)),
  "missing",
  "A",
];

/** Paths that exist, and their neighbours that do not or that #> reads in its own ways. */
function pathsFor(generated: Generated, next: () => number): string[][] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const out: string[][] = [[]];
  for (const path of generated.paths) {
    out.push(path);
    out.push([...path, pick(KEYS)]);
    out.push([...path, pick(INDEX_FORMS)]);
    if (path.length > 0) {
      out.push([...path.slice(0, -1), pick(NEIGHBOURS)]);
      out.push([...path.slice(0, -1), pick(INDEX_FORMS), ...path.slice(-1)]);
    }
  }
  return out;
}

interface Case {
  doc: string;
  path: string[];
  replacement: string;
}

interface PgResult {
  as_text: string | null;
  as_jsonb: string | null;
  kind: string | null;
  set: string | null;
  ours_canonical: string | null;
  spliced_canonical: string | null;
}

/** One round trip: for every case what PostgreSQL says of the path and of our splice. */
async function askPostgres(
  cases: Case[],
  ours: (string | null)[],
  spliced: (string | null)[],
): Promise<PgResult[]> {
  return cluster.sql<PgResult>(
    "postgres",
    `SELECT d::jsonb #>> p AS as_text, (d::jsonb #> p)::text AS as_jsonb, jsonb_typeof(d::jsonb #> p) AS kind,
            CASE WHEN s IS NOT NULL THEN jsonb_set(d::jsonb, p, to_jsonb(x), false)::text END AS set,
            o::jsonb::text AS ours_canonical, s::jsonb::text AS spliced_canonical
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS c(d, pj, x, o, s, n),
            LATERAL (SELECT ARRAY(SELECT e FROM jsonb_array_elements_text(pj::jsonb) WITH ORDINALITY a(e, i) ORDER BY i) AS p) q
      ORDER BY n`,
    [
      cases.map((c) => c.doc),
      cases.map((c) => JSON.stringify(c.path)),
      cases.map((c) => c.replacement),
      ours,
      spliced,
    ],
  );
}

async function canonical(texts: string[]): Promise<string[]> {
  const rows = await cluster.sql<{ t: string }>(
    "postgres",
    "SELECT d::jsonb::text AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n",
    [texts],
  );
  return rows.map((row) => row.t);
}

function generate(
  seed: number,
  count: number,
): { generated: Generated[]; cases: (docs: string[]) => Case[] } {
  const next = random(seed);
  const generated = Array.from({ length: count }, () => generateDocument(next));
  const paths = generated.map((g) => pathsFor(g, next));
  return {
    generated,
    cases: (docs) =>
      docs.flatMap((doc, i) =>
        paths[i]!.map((path) => ({
          doc,
          path,
          replacement: STRINGS[Math.floor(next() * STRINGS.length)]! + "x",
        })),
      ),
  };
}

const { generated, cases: casesOn } = generate(20261129, 300);

test("locate finds what #> and #>> find, and splicing jsonString gives jsonb_set's text, on jsonb_out's text", async () => {
  const docs = await canonical(generated.map((g) => g.text));
  const cases = casesOn(docs);
  const located = cases.map((c) => locate(c.doc, c.path));
  const spliced = cases.map((c, i) => {
    const at = located[i];
    return at && c.path.length > 0 ? splice(c.doc, at, jsonString(c.replacement)) : null;
  });
  const rows = await askPostgres(
    cases,
    located.map((at, i) => (at ? cases[i]!.doc.slice(at.start, at.end) : null)),
    spliced,
  );
  let found = 0;
  let nulls = 0;
  let splices = 0;
  const kinds = new Set<string>();
  for (const [i, c] of cases.entries()) {
    const at = located[i];
    const row = rows[i]!;
    const label = `case ${i}: ${JSON.stringify(c.path)} in ${c.doc}`;
    assert.equal(at === undefined, row.as_jsonb === null, label);
    if (!at) continue;
    found++;
    kinds.add(at.kind);
    assert.equal(at.kind, row.kind, label);
    // The slice is the sub-document's own jsonb_out text, so nothing around it needs rewriting.
    assert.equal(c.doc.slice(at.start, at.end), row.as_jsonb, label);
    if (at.kind === "null") {
      nulls++;
      assert.equal(row.as_text, null, label);
      assert.equal(at.text, "null", label);
    } else assert.equal(at.text, row.as_text, label);
    if (spliced[i] !== null) {
      splices++;
      assert.equal(spliced[i], row.set, label);
      // Still canonical: jsonb's own output of the edited text is the text itself.
      assert.equal(row.spliced_canonical, spliced[i], label);
    }
  }
  assert.ok(
    cases.length > 2000 && found > 600 && nulls > 5 && splices > 400,
    `${cases.length} ${found} ${nulls} ${splices}`,
  );
  assert.deepEqual([...kinds].sort(), ["array", "boolean", "null", "number", "object", "string"]);
});

test("on text with any JSON whitespace and escaping, locate and splice still agree with PostgreSQL", async () => {
  const docs = generated.map((g) => g.text);
  assert.ok(
    docs.some((doc) => /[\n\t]|\\u00|\\\//.test(doc)),
    "the generator writes non-canonical text",
  );
  const cases = casesOn(docs);
  const located = cases.map((c) => locate(c.doc, c.path));
  const spliced = cases.map((c, i) => {
    const at = located[i];
    return at && c.path.length > 0 ? splice(c.doc, at, jsonString(c.replacement)) : null;
  });
  const rows = await askPostgres(
    cases,
    located.map((at, i) => (at ? cases[i]!.doc.slice(at.start, at.end) : null)),
    spliced,
  );
  for (const [i, c] of cases.entries()) {
    const at = located[i];
    const row = rows[i]!;
    const label = `case ${i}: ${JSON.stringify(c.path)} in ${c.doc}`;
    assert.equal(at === undefined, row.as_jsonb === null, label);
    if (!at) continue;
    assert.equal(at.kind, row.kind, label);
    assert.equal(row.ours_canonical, row.as_jsonb, label);
    if (at.kind === "string") assert.equal(at.text, row.as_text, label);
    if (spliced[i] !== null) {
      assert.equal(row.spliced_canonical, row.set, label);
      // Only the value changed: the text before and after it is byte for byte the input's.
      assert.ok(
        spliced[i]!.startsWith(c.doc.slice(0, at.start)) && spliced[i]!.endsWith(c.doc.slice(at.end)),
        label,
      );
    }
  }
});

test("an array step is an index the way #> reads one", async () => {
  const doc = '[10, 20, 30, {"a": [1, 2]}]';
  const steps = [
    ...INDEX_FORMS,
    "\n2",
    "\u000b1",
    "\f1",
    "\r1",
    "-",
    "+",
    "- 1",
    "99999999999999999999",
    "٣",
    "１",
  ];
  const rows = await cluster.sql<{ r: string | null }>(
    "postgres",
    "SELECT ($1::jsonb #> ARRAY[s])::text AS r FROM unnest($2::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n",
    [doc, steps],
  );
  const ours = steps.map((step) => {
    const at = locate(doc, [step]);
    return at ? doc.slice(at.start, at.end) : null;
  });
  assert.deepEqual(
    ours,
    rows.map((row) => row.r),
  );
  assert.deepEqual(
    steps.filter((_, i) => ours[i] !== null),
    ["0", "-1", " 1", "01", "+1", "-0", "\t1", "-3", "2", "-4", "\n2", "\u000b1", "\f1", "\r1"],
  );
  assert.equal(locate(doc, ["3", "a", "-2"])?.text, "1");
  assert.equal(locate(doc, ["0", "0"]), undefined, "a step into a number finds nothing");
  assert.equal(locate('"abc"', [])?.text, "abc", "an empty path is the whole document, a scalar too");
  assert.equal(locate('"abc"', ["0"]), undefined);
});

test("jsonString prints what to_jsonb(text)::text prints", async () => {
  const next = random(7);
  const values = [
    ...STRINGS,
    ...Array.from({ length: 0x7f }, (_, i) => `<${String.fromCharCode(i + 1)}>`),
    ...Array.from({ length: 200 }, () =>
      Array.from({ length: 1 + Math.floor(next() * 12) }, () => {
        const roll = next();
        if (roll < 0.3) return String.fromCharCode(1 + Math.floor(next() * 0x7f));
        if (roll < 0.6) return String.fromCodePoint(0x80 + Math.floor(next() * 0xd700));
        if (roll < 0.7) return String.fromCodePoint(0x10000 + Math.floor(next() * 0xfffff));
        return STRINGS[Math.floor(next() * STRINGS.length)]!;
      }).join(""),
    ),
  ];
  const rows = await cluster.sql<{ j: string }>(
    "postgres",
    "SELECT to_jsonb(x)::text AS j FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
    [values],
  );
  assert.deepEqual(
    values.map((value) => jsonString(value)),
    rows.map((row) => row.j),
  );
  assert.equal(
    jsonString("\u0001\u001f\u001a"),
    '"\\u0001\\u001f\\u001a"',
    "lowercase hex, as PostgreSQL prints",
  );
  assert.equal(jsonString("plain"), '"plain"');
});

test("jsonb_out prints only ', ' and ': ' outside strings, keys by byte length then bytes, no duplicate keys", async () => {
  const docs = await canonical([
    ...generated.map((g) => g.text),
    '{"b": 1, "a": 2, "b": 3, "é": 4, "z": 5, "aa": 6}',
  ]);
  let objects = 0;
  for (const doc of docs) objects += checkCanonical(doc);
  assert.ok(objects > 200, `${objects} objects checked`);
  // Duplicate keys in the input: the last one stays, and 'é' (two bytes) sorts after 'aa'.
  assert.equal(docs.at(-1), '{"a": 2, "b": 3, "z": 5, "aa": 6, "é": 4}');
});

/** Asserts the canonical form of one document; returns how many objects it holds. */
function checkCanonical(doc: string): number {
  let objects = 0;
  // One entry per open container: the keys seen so far for an object, undefined for an array.
  const open: (string[] | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < doc.length; i++) {
    const c = doc[i]!;
    if (c === '"') {
      let end = i + 1;
      while (doc[end] !== '"') end += doc[end] === "\\" ? 2 : 1;
      if (expectKey) open.at(-1)!.push(JSON.parse(doc.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === "{" || c === "[") {
      if (c === "{") objects++;
      open.push(c === "{" ? [] : undefined);
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      const keys = open.pop() ?? [];
      for (let k = 1; k < keys.length; k++) {
        const a = Buffer.from(keys[k - 1]!);
        const b = Buffer.from(keys[k]!);
        assert.ok(
          a.length < b.length || (a.length === b.length && Buffer.compare(a, b) < 0),
          `key order in ${doc}`,
        );
      }
      expectKey = false;
    } else if (c === "," || c === ":") {
      assert.equal(doc[i + 1], " ", `a space after '${c}' at ${i} in ${doc}`);
      i++;
      expectKey = c === "," && open.at(-1) !== undefined;
    } else assert.ok(!/\s/.test(c), `whitespace ${JSON.stringify(c)} at ${i} in ${doc}`);
  }
  return objects;
}

test("pg_dump's COPY data holds jsonb_out's text with only its backslashes doubled", async () => {
  const docs = await canonical(generated.map((g) => g.text));
  await cluster.sql("postgres", "CREATE TABLE docs (id int PRIMARY KEY, d jsonb)");
  await cluster.sql(
    "postgres",
    "INSERT INTO docs SELECT n, d::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS u(d, n)",
    [docs],
  );
  const dump = await pgDump(["--data-only", "--table=docs"]);
  const lines = dump.split("\n");
  const first = lines.indexOf("COPY public.docs (id, d) FROM stdin;") + 1;
  const rows = lines.slice(first, lines.indexOf("\\.", first));
  assert.equal(rows.length, docs.length);
  for (const row of rows) {
    const [id, field] = row.split("\t");
    assert.equal(field, docs[Number(id) - 1]!.replaceAll("\\", "\\\\"));
  }
});

function pgDump(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      `${cluster.binDir}/pg_dump`,
      [...args, "-U", cluster.user, "-h", cluster.host, "-p", String(cluster.port), "postgres"],
      {
        env: { ...process.env, PGPASSWORD: cluster.password },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const out: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString("utf8")) : reject(new Error(`pg_dump exited ${code}`)),
    );
  });
}
