/**
 * The dump masked as it streams (archive-mask.ts) restores into the database the SQL fakes give,
 * row for row: tables without a primary key, partitions and inheritance children, NULLs, values
 * with tabs, newlines and backslashes through COPY, varchar and char limits, jsonb paths in
 * objects, arrays, scalar documents and JSON nulls, paths inside other paths, and `where` filters,
 * across batch boundaries and on any number of worker threads. What a restore of the masked copy
 * would refuse (a CHECK constraint or a domain the fakes break, a unique key the fakes repeat, a
 * masked partitioning key) fails before anything is stored, as do a source value among the masked
 * values and a damaged archive.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import pg from "pg";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { ArchiveMasker, MaskingVerificationError } from "../../src/masking/archive-mask.js";
import { DigestMap, DigestSet, OTHER_SOURCE, PHONE_SOURCE } from "../../src/masking/digest-set.js";
import { fakeEmail, fakeName, fakePhone, fakeText, maskingKey } from "../../src/masking/fakes.js";
import { ArchiveFormatError, ArchiveTruncatedError } from "../../src/postgres/archive/errors.js";
import { maskDatabase, maskInDatabaseBySql, restoreArchive } from "../helpers/masked-dump.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const KEY = maskingKey("masking-key-for-the-stream-test-01");

const FIXTURE = `
  CREATE SCHEMA t;
  CREATE TABLE t.people (email text, nick varchar(12), phone text, note text, code text, doc jsonb, tag char(10), deep jsonb);
  INSERT INTO t.people VALUES
    ('ann@corp.example', 'Ann', E'+31\\t6\\n1234\\\\5678\\r9', E'line one\\nline\\ttwo \\\\ end', 'k1',
     '{"name": {"first": "Ann", "last": "Smith"}, "contact": {"email": "ann@corp.example"}, "n": 5, "arr": [{"e": "ann@corp.example"}], "gone": "x"}',
     'ann', '{"name": {"first": "Ann"}, "k": "a\\"b\\\\c"}'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('bob@corp.example', 'Bobby Tables', '555-0100', '', 'k2', '"a scalar document"', 'bob', '{"name": "Bob"}'),
    ('cy@corp.example', 'Cy', '(020) 7946 0958', 'Cy wrote: call me', 'k3', '[1, 2, 3]', E'c\\ty', '[]'),
    ('dee@corp.example', 'Dee', 'no digits', 'x', 'k4', '{"name": null, "contact": {"email": null}, "n": null}', '', '{"name": null}'),
    ('eve@corp.example', 'Eve', '0', 'é🙂', 'k5', '{"name": {"first": 123}, "arr": [], "n": {"deep": 1}}', 'ève', '{"name": {"first": {"x": 1}}}'),
    ('fay@corp.example', 'Fay', '+1 555 0199', 'Fay', 'k6', '{"name": "flat", "arr": "not an array"}', 'fay', '5'),
    ('gus@corp.example', 'Gus', '+1 555 0198', 'Gus', 'k7', '5', 'gus', 'null'),
    ('hal@corp.example', 'Hal', '+1 555 0197', 'Hal', 'k8', 'null', 'hal', '{"name": {"first": "Hal", "last": "X"}}'),
    ('ida@corp.example', 'Ida', '+1 555 0196', 'Ida', 'k9', '{"name": {"first": "Ida"}, "gone": null}', 'ida', '{}');
  INSERT INTO t.people SELECT 'p' || i || '@corp.example', 'P' || i, '+44 20 ' || lpad(i::text, 8, '0'), 'note ' || i, 'c' || i,
                              jsonb_build_object('name', jsonb_build_object('first', 'First' || i), 'contact', jsonb_build_object('email', 'p' || i || '@corp.example')),
                              't' || i, jsonb_build_object('name', jsonb_build_object('first', 'Deep' || i))
    FROM generate_series(1, 400) AS i;
  CREATE INDEX people_email ON t.people (email);
  CREATE UNIQUE INDEX people_code ON t.people (code) WHERE code IS NOT NULL;
  CREATE TABLE t.events (id int, who text, at date NOT NULL) PARTITION BY RANGE (at);
  CREATE TABLE t.events_2024 PARTITION OF t.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE t.events_2025 PARTITION OF t.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  INSERT INTO t.events SELECT i, 'p' || i || '@corp.example', date '2024-03-01' + (i % 2) * 365 FROM generate_series(1, 30) AS i;
  CREATE TABLE t.base (id int, email text);
  CREATE TABLE t.child (extra text) INHERITS (t.base);
  ALTER TABLE t.base ADD COLUMN later text;
  INSERT INTO t.base SELECT i, 'base' || i || '@corp.example', 'l' FROM generate_series(1, 5) AS i;
  INSERT INTO t.child (id, email, extra, later) SELECT i, 'child' || i || '@corp.example', 'x', 'y' FROM generate_series(1, 5) AS i;
  CREATE TABLE t.single (v text);
  INSERT INTO t.single VALUES (''), ('one'), (NULL), ('');
`;

const RULES = `version: 1
tables:
  t.people:
    columns:
      email: email
      nick: name
      phone: phone
      note: text
      code: hash
      tag: { name: first }
      doc:
        jsonb:
          name.first: { name: first }
          contact.email: email
          arr.0.e: email
          n: { fixed: 7 }
          gone: null
      deep:
        jsonb:
          name.first: { name: first }
          name: { name: last }
  t.events:
    columns:
      who: email
  t.base:
    columns:
      email: email
  t.single:
    columns:
      v: text
`;

let cluster: Cluster;
let copies = 0;
before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("fixture");
  await cluster.sql("fixture", FIXTURE);
});
after(async () => cluster?.stop());

async function freshCopy(): Promise<string> {
  const name = `copy_${++copies}`;
  await cluster.sql("postgres", `CREATE DATABASE ${name} TEMPLATE fixture`);
  return name;
}

async function connected<T>(database: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: cluster.url(database) });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Every row of every table of the schema, as text, sorted by relation: what two masked copies must share. */
function snapshot(database: string): Promise<string[]> {
  return connected(database, async (client) => {
    const { rows } = await client.query<{ r: string }>(
      `SELECT 'people ' || to_jsonb(p)::text AS r FROM t.people p
       UNION ALL SELECT tableoid::regclass || ' ' || to_jsonb(e)::text FROM t.events e
       UNION ALL SELECT tableoid::regclass || ' ' || to_jsonb(b)::text FROM t.base b
       UNION ALL SELECT 'single ' || coalesce(v, '<null>') FROM t.single ORDER BY 1`,
    );
    return rows.map((row) => row.r);
  });
}

test("the masked archive restores to what the SQL fakes write, row for row, however it is batched", async () => {
  const withWhere = RULES.replace("  t.events:\n", '  t.events:\n    where: "id % 3 <> 0"\n');
  for (const rules of [RULES, withWhere]) {
    const streamed = await freshCopy();
    const bySql = await freshCopy();
    const source = await snapshot(streamed);
    const masked = await maskDatabase(cluster, streamed, rules, KEY, {
      into: `${streamed}_masked`,
      batchBytes: 300,
      workers: 2,
    });
    await connected(bySql, async (client) => {
      if (rules === withWhere)
        await client.query("DELETE FROM t.events WHERE NOT coalesce((id % 3 <> 0), false)");
      await maskInDatabaseBySql(client, rules, KEY);
    });
    const restored = await snapshot(`${streamed}_masked`);
    assert.deepEqual(restored, await snapshot(bySql));
    assert.notDeepEqual(restored, source);
    assert.equal(masked.result.sourceDigests > 400, true);
    assert.deepEqual(Object.fromEntries(masked.result.relations.map((r) => [r.relation, r.rows])), {
      "t.people": 410,
      "t.events_2024": rules === withWhere ? 10 : 15,
      "t.events_2025": rules === withWhere ? 10 : 15,
      "t.base": 5,
      "t.child": 5,
      "t.single": 4,
    });
    // One batch a table, in the main thread: the same rows, byte for byte (the archives' chunks differ).
    const again = await freshCopy();
    if (rules === withWhere)
      await cluster.sql(again, "DELETE FROM t.events WHERE NOT coalesce((id % 3 <> 0), false)");
    const whole = await maskDatabase(cluster, again, RULES, KEY, { workers: 0 });
    const data = (archive: Buffer) =>
      execFileSync(join(cluster.binDir, "pg_restore"), ["--data-only", "-f", "-"], {
        input: archive,
        maxBuffer: 1 << 28,
      })
        .toString("utf8")
        // pg_restore's \restrict lines carry a random key each run.
        .replace(/^\\(un)?restrict .*$/gm, "");
    const wholeData = data(whole.archive);
    assert.equal(wholeData, data(masked.archive));
    assert.ok(wholeData.includes(fakeEmail(KEY, "p7@corp.example")));
    assert.ok(!wholeData.includes("@corp.example"));

    await connected(`${streamed}_masked`, async (client) => {
      const { rows } = await client.query<{ phone: string; nick: string; tag: string; doc: unknown }>(
        `SELECT phone, nick, tag, doc FROM t.people WHERE email = $1`,
        [fakeEmail(KEY, "ann@corp.example")],
      );
      assert.equal(rows.length, 1);
      // Tab, newline, backslash and carriage return survive COPY both ways, around fresh digits.
      assert.equal(rows[0]!.phone, fakePhone(KEY, "+31\t6\n1234\\5678\r9"));
      assert.match(rows[0]!.phone, /^\+\d\d\t\d\n\d{4}\\\d{4}\r\d$/);
      assert.ok(rows[0]!.nick.length <= 12);
      assert.equal(rows[0]!.tag.length, 10, "char(10) keeps its width");
      assert.deepEqual((rows[0]!.doc as { contact: unknown }).contact, {
        email: fakeEmail(KEY, "ann@corp.example"),
      });
      assert.equal((rows[0]!.doc as { n: number }).n, 7);
      assert.equal((rows[0]!.doc as { gone: unknown }).gone, null);
      const scalars = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM t.people WHERE doc IN ('"a scalar document"', '5', 'null', '[1, 2, 3]')`,
      );
      assert.equal(scalars.rows[0]!.n, 4, "documents without the paths are left as they were");
      const single = await client.query<{ v: string | null }>("SELECT v FROM t.single ORDER BY v NULLS LAST");
      assert.deepEqual(
        single.rows.map((row) => row.v),
        ["", "", fakeText(KEY, "one"), null],
      );
    });
  }
});

test("a CHECK constraint or a domain the fakes break fails the masking, naming the table and the rule", async () => {
  const database = await freshCopy();
  await cluster.sql(
    database,
    `ALTER TABLE t.child ADD CONSTRAINT corp_only CHECK (email LIKE '%@corp.example');
     CREATE DOMAIN t.short_name AS text CHECK (length(VALUE) <= 3);
     CREATE TABLE t.nicknames (id int, nick t.short_name);
     INSERT INTO t.nicknames VALUES (1, 'Al'), (2, 'Bo');`,
  );
  await assert.rejects(maskDatabase(cluster, database, RULES, KEY, { batchBytes: 200 }), (error: unknown) => {
    assert.ok(error instanceof OperationError && !(error instanceof MaskingVerificationError), String(error));
    assert.match(
      error.message,
      /the masked rows of t\.child break a rule of the table, which a restore would refuse: new row for relation "t\.child" violates check constraint "corp_only"/,
    );
    assert.ok(!/child\d@|@example\.invalid/.test(error.message), "no value in the message");
    return true;
  });
  const domain = `version: 1\ntables:\n  t.nicknames:\n    columns:\n      nick: { name: full }\n`;
  await assert.rejects(maskDatabase(cluster, database, domain, KEY), /t\.nicknames .*short_name_check/);
  // Fakes that keep the rule pass: the same tables with rules the constraints accept, and a
  // probed table whose NOT NULL generated column the probe computes from the masked value.
  await cluster.sql(
    database,
    `CREATE TABLE t.generated (email text CHECK (email LIKE '%@%'),
                               low text GENERATED ALWAYS AS (lower(email)) STORED NOT NULL);
     INSERT INTO t.generated (email) VALUES ('Ann@Corp.example');`,
  );
  const fine = `version: 1\ntables:\n  t.nicknames:\n    columns:\n      nick: { fixed: Cy }\n  t.generated:\n    columns:\n      email: email\n`;
  const masked = await maskDatabase(cluster, database, fine, KEY, { into: `${database}_fine` });
  assert.deepEqual(masked.result.relations.map((r) => r.relation).sort(), ["t.generated", "t.nicknames"]);
  const [row] = await cluster.sql<{ low: string }>(`${database}_fine`, "SELECT low FROM t.generated");
  assert.equal(row!.low, fakeEmail(KEY, "Ann@Corp.example"));
});

test("the verification catches a fixed value that is a source value, and phone fakes that are other people's numbers", async () => {
  const database = await freshCopy();
  const fixedLeak = RULES.replace("      who: email\n", "      who: { fixed: ann@corp.example }\n");
  await assert.rejects(maskDatabase(cluster, database, fixedLeak, KEY), (error: unknown) => {
    assert.ok(error instanceof MaskingVerificationError);
    assert.deepEqual(error.failures, ["t.events.who: its fixed value is among the source values"]);
    assert.ok(!error.message.includes("ann@"), "the message never quotes a value");
    return true;
  });
  // At a jsonb path, the fixed value is compared as #>> reads it.
  const pathLeak = RULES.replace("          n: { fixed: 7 }\n", "          n: { fixed: bob@corp.example }\n");
  await assert.rejects(maskDatabase(cluster, database, pathLeak, KEY), (error: unknown) => {
    assert.ok(error instanceof MaskingVerificationError);
    assert.deepEqual(error.failures, ["t.people.doc n: its fixed value is among the source values"]);
    return true;
  });
  // Every two-digit number, masked by a permutation of the two-digit numbers: each fake is a real
  // number of someone else, which the verification takes for an unmasked column.
  await cluster.sql(
    database,
    "CREATE TABLE t.dense (phone text); INSERT INTO t.dense SELECT lpad(i::text, 2, '0') FROM generate_series(0, 99) AS i;",
  );
  const dense = `version: 1\ntables:\n  t.dense:\n    columns:\n      phone: phone\n`;
  await assert.rejects(maskDatabase(cluster, database, dense, KEY), (error: unknown) => {
    assert.ok(error instanceof MaskingVerificationError);
    assert.deepEqual(error.failures, [
      "t.dense.phone: 100 of 100 values are source phone numbers (not masked)",
    ]);
    return true;
  });
});

test("a unique key the fakes would repeat fails the masking; NULLs repeat only where the key says so", async () => {
  const database = await freshCopy();
  await cluster.sql(
    database,
    `CREATE TABLE t.handles (id int PRIMARY KEY, handle varchar(8) UNIQUE, alias text,
                             CONSTRAINT handles_alias_key UNIQUE NULLS NOT DISTINCT (alias));
     INSERT INTO t.handles SELECT i, 'h' || i, 'alias ' || i FROM generate_series(1, 3000) AS i;`,
  );
  // Cut to 8 characters, a unique name fake loses the hex that keeps it unique.
  const cut = `version: 1\ntables:\n  t.handles:\n    columns:\n      handle: { name: full, unique: true }\n`;
  await assert.rejects(maskDatabase(cluster, database, cut, KEY), (error: unknown) => {
    assert.ok(error instanceof MaskingVerificationError, String(error));
    assert.match(
      error.failures.join(),
      /^t\.handles: unique key handles_handle_key: \d+ rows would repeat a masked value no source row repeated$/,
    );
    return true;
  });
  // NULLS NOT DISTINCT: two values, masked to NULL, are one NULL twice.
  await cluster.sql(database, "DELETE FROM t.handles WHERE id > 2");
  const nulls = `version: 1\ntables:\n  t.handles:\n    columns:\n      alias: null\n`;
  await assert.rejects(maskDatabase(cluster, database, nulls, KEY), /unique key handles_alias_key: 1 rows/);
  await cluster.sql(database, "ALTER TABLE t.handles DROP CONSTRAINT handles_alias_key");
  const masked = await maskDatabase(cluster, database, nulls, KEY, { into: `${database}_nulls` });
  assert.deepEqual(masked.result.relations, [{ relation: "t.handles", rows: 2 }]);
});

test("a masked partitioning key is refused before anything changes", async () => {
  const database = await freshCopy();
  const rules = `version: 1\ntables:\n  t.events:\n    columns:\n      at: { fixed: 2024-06-01 }\n`;
  await assert.rejects(maskDatabase(cluster, database, rules, KEY), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /^mask mask\.yml:5: t\.events\.at is a partitioning key/);
    return true;
  });
});

test("a damaged archive fails the masker with the archive's own error", async () => {
  const database = await freshCopy();
  const { archive } = await maskDatabase(cluster, database, RULES, KEY);
  const dump = execFileSync(
    join(cluster.binDir, "pg_dump"),
    ["-Fc", "-Z0", "--encoding=UTF8", cluster.url(database)],
    {
      maxBuffer: 1 << 30,
    },
  );
  assert.ok(archive.length > dump.length / 2);
  const { planArchiveMasking } = await import("../../src/masking/apply.js");
  const { checkRulesAgainstCatalog } = await import("../../src/masking/catalog-check.js");
  const { parseMaskingRules } = await import("../../src/masking/rules.js");
  const plan = await connected(database, async (client) =>
    planArchiveMasking(client, await checkRulesAgainstCatalog(parseMaskingRules(RULES, "mask.yml"), client)),
  );
  const feed = async (bytes: Buffer) => {
    const masker = new ArchiveMasker(plan, KEY, { workers: 0, batchBytes: 100 });
    const chunks: Buffer[] = [];
    masker.stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((done, fail) => {
      masker.stream.on("end", done).on("error", fail);
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]).pipe(masker.stream);
    });
    return Buffer.concat(chunks);
  };
  // Whole, through the masker twice: the same bytes (deterministic), not the source's.
  assert.ok((await feed(dump)).equals(await feed(dump)));
  const people = dump.indexOf("ann@corp.example", dump.indexOf("COPY t.people"));
  await assert.rejects(feed(dump.subarray(0, people)), ArchiveTruncatedError);
  const flipped = Buffer.from(dump);
  // The byte before the first data block's dump id is its block type.
  flipped[dump.indexOf("\\.\n\n\n") + 4 + 5] = 9;
  await assert.rejects(feed(flipped), ArchiveFormatError);
});

test("the digest set finds every value added, keeps flags apart, and grows; the digest map tells a repeat", () => {
  const set = new DigestSet(4);
  for (let i = 0; i < 100_000; i++) set.add(`value ${i}`, i % 10 === 0 ? PHONE_SOURCE : OTHER_SOURCE);
  set.add("value 0", OTHER_SOURCE);
  assert.equal(set.size, 100_000);
  for (let i = 0; i < 100_000; i++) assert.notEqual(set.lookup(`value ${i}`), 0);
  assert.equal(set.lookup("value 0"), PHONE_SOURCE | OTHER_SOURCE);
  assert.equal(set.lookup("value 10"), PHONE_SOURCE);
  assert.equal(set.lookup("value 11"), OTHER_SOURCE);
  let misses = 0;
  for (let i = 100_000; i < 200_000; i++) if (set.lookup(`value ${i}`) === 0) misses++;
  assert.equal(misses, 100_000);
  assert.equal(set.lookup(""), 0);

  const map = new DigestMap(4);
  for (let i = 0; i < 50_000; i++) assert.equal(map.add(i, i * 7, i, 1), true);
  for (let i = 0; i < 50_000; i++) assert.equal(map.add(i, i * 7, i, 1), true, "the same pair again");
  assert.equal(map.add(3, 21, 3, 2), false, "the same key from another value");
  assert.equal(map.add(3, 22, 3, 2), true);
});

test("a LATIN1 database and values of 200,000 characters mask as the SQL fakes do", async () => {
  const create = (name: string) =>
    cluster.sql(
      "postgres",
      `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  for (const name of ["latin_stream", "latin_sql"]) {
    await create(name);
    await cluster.sql(
      name,
      `CREATE TABLE public.p (name text, bio text);
       INSERT INTO public.p SELECT 'Zoë Ångström ' || i, repeat('ü', 200000 + i) FROM generate_series(1, 12) AS i;`,
    );
  }
  const rules = `version: 1\ntables:\n  public.p:\n    columns:\n      name: name\n      bio: text\n`;
  const { archive } = await maskDatabase(cluster, "latin_stream", rules, KEY, { batchBytes: 100_000 });
  await create("latin_masked");
  await restoreArchive(cluster, archive, "latin_masked", { exists: true });
  await connected("latin_sql", (client) => maskInDatabaseBySql(client, rules, KEY));
  const read = (name: string) =>
    connected(name, async (client) => {
      await client.query("SET client_encoding = 'UTF8'");
      const { rows } = await client.query<{ name: string; bio: string }>(
        "SELECT name, md5(bio) AS bio FROM public.p ORDER BY name, bio",
      );
      return rows.map((row) => `${row.name} ${row.bio}`);
    });
  const masked = await read("latin_masked");
  assert.deepEqual(masked, await read("latin_sql"));
  assert.ok(
    masked.includes(
      `${fakeName(KEY, "Zoë Ångström 3", "full")} ${createHash("md5")
        .update(fakeText(KEY, "ü".repeat(200003)))
        .digest("hex")}`,
    ),
  );
});

test("a table named under a named parent takes the rules of both, the nearest where they meet", async () => {
  const database = await freshCopy();
  const rules =
    RULES.replace(
      "  t.base:\n    columns:\n      email: email\n",
      "  t.base:\n    columns:\n      email: email\n      later: { fixed: L }\n",
    ) +
    "  t.child:\n    columns:\n      extra: text\n      email: { name: first }\n  t.events_2024:\n    columns:\n      id: { fixed: -7 }\n";
  const masked = await maskDatabase(cluster, database, rules, KEY, { into: `${database}_nested` });
  assert.equal(masked.result.relations.length, 6);
  await connected(`${database}_nested`, async (client) => {
    const { rows } = await client.query<{ r: string }>(
      `SELECT 'base ' || email || ' ' || later AS r FROM ONLY t.base WHERE id = 1
       UNION ALL SELECT 'child ' || email || ' ' || later || ' ' || extra FROM t.child WHERE id = 1
       UNION ALL SELECT tableoid::regclass || ' ' || id || ' ' || who FROM t.events WHERE who = $1 OR who = $2`,
      [fakeEmail(KEY, "p2@corp.example"), fakeEmail(KEY, "p1@corp.example")],
    );
    assert.deepEqual(
      rows.map((row) => row.r).sort(),
      [
        `base ${fakeEmail(KEY, "base1@corp.example")} L`,
        // The child's own rule for email, its parent's for later, its own for extra.
        `child ${fakeName(KEY, "child1@corp.example", "first")} L ${fakeText(KEY, "x")}`,
        // The partition's own rule for id, its parent's for who.
        `t.events_2024 -7 ${fakeEmail(KEY, "p2@corp.example")}`,
        `t.events_2025 1 ${fakeEmail(KEY, "p1@corp.example")}`,
      ].sort(),
    );
  });
});

test("fixed values are written as pg_dump writes their type, whatever the database's DateStyle; char(n) pads by characters", async () => {
  await cluster.sql("postgres", "CREATE DATABASE styled");
  await cluster.sql(
    "styled",
    `ALTER DATABASE styled SET datestyle = 'SQL, DMY';
     CREATE TABLE public.visits (born date, stay interval, code char(8), phone char(8));
     INSERT INTO public.visits VALUES ('2001-02-03', '1 day', 'ab', E'\\U0001F4DE 555'), ('2002-03-04', '2 days', 'cd', '556');`,
  );
  const rules = `version: 1\ntables:\n  public.visits:\n    columns:\n      born: { fixed: 2020-01-13 }\n      stay: { fixed: 3 hours }\n      code: { fixed: XY }\n      phone: phone\n`;
  const masked = await maskDatabase(cluster, "styled", rules, KEY, { into: "styled_masked" });
  assert.deepEqual(masked.result.relations, [{ relation: "public.visits", rows: 2 }]);
  await connected("styled_masked", async (client) => {
    await client.query("SET datestyle = ISO");
    const { rows } = await client.query<{ born: string; stay: string; code: string; phone: string }>(
      "SELECT born::text, stay::text, code, phone FROM public.visits",
    );
    assert.deepEqual(
      rows.map((row) => [row.born, row.stay, row.code]),
      [
        ["2020-01-13", "03:00:00", "XY      "],
        ["2020-01-13", "03:00:00", "XY      "],
      ],
    );
    // Eight characters, an emoji counting one, as char(8) prints them.
    const padded = (value: string) => value + " ".repeat(8 - [...value].length);
    assert.deepEqual(
      rows.map((row) => row.phone).sort(),
      [padded(fakePhone(KEY, "\u{1F4DE} 555")), padded(fakePhone(KEY, "556"))].sort(),
    );
  });
});

test("a row larger than many batches is masked whole", async () => {
  await cluster.sql("postgres", "CREATE DATABASE wide");
  await cluster.sql(
    "wide",
    `CREATE TABLE public.notes (email text, body text);
     INSERT INTO public.notes VALUES ('a@corp.example', repeat('x', 20000000)), ('b@corp.example', 'short');`,
  );
  const rules = `version: 1\ntables:\n  public.notes:\n    columns:\n      email: email\n`;
  await maskDatabase(cluster, "wide", rules, KEY, { into: "wide_masked", batchBytes: 65536 });
  await connected("wide_masked", async (client) => {
    const { rows } = await client.query<{ email: string; length: number }>(
      "SELECT email, length(body) AS length FROM public.notes ORDER BY length",
    );
    assert.deepEqual(rows, [
      { email: fakeEmail(KEY, "b@corp.example"), length: 5 },
      { email: fakeEmail(KEY, "a@corp.example"), length: 20000000 },
    ]);
  });
});

test("a constraint the fakes break stops the masking at once, not after the rest of the dump", async () => {
  await cluster.sql("postgres", "CREATE DATABASE probed");
  await cluster.sql(
    "probed",
    `CREATE TABLE public.a_check (email text CHECK (email LIKE '%@corp.example'));
     INSERT INTO public.a_check SELECT 'p' || i || '@corp.example' FROM generate_series(1, 10) AS i;
     CREATE TABLE public.z_big (filler text);
     INSERT INTO public.z_big SELECT repeat(md5(i::text), 30) FROM generate_series(1, 40000) AS i;`,
  );
  const rules = `version: 1\ntables:\n  public.a_check:\n    columns:\n      email: email\n`;
  const { planArchiveMasking } = await import("../../src/masking/apply.js");
  const { checkRulesAgainstCatalog } = await import("../../src/masking/catalog-check.js");
  const { parseMaskingRules } = await import("../../src/masking/rules.js");
  const { ConstraintProbe } = await import("../../src/masking/constraint-probe.js");
  const plan = await connected("probed", async (client) =>
    planArchiveMasking(client, await checkRulesAgainstCatalog(parseMaskingRules(rules, "mask.yml"), client)),
  );
  const [relation] = [...plan.relations.values()];
  assert.equal(relation!.probe, true);
  const probeClient = new pg.Client({ connectionString: cluster.url("probed") });
  await probeClient.connect();
  const probe = await ConstraintProbe.open(probeClient, [{ name: relation!.name, quoted: relation!.quoted }]);
  const dump = execFileSync(
    join(cluster.binDir, "pg_dump"),
    ["-Fc", "-Z0", "--encoding=UTF8", cluster.url("probed")],
    {
      maxBuffer: 1 << 30,
    },
  );
  const chunk = 64 * 1024;
  const total = Math.ceil(dump.length / chunk);
  let read = 0;
  const masker = new ArchiveMasker(plan, KEY, { workers: 0, probe });
  try {
    await assert.rejects(
      new Promise<void>((done, fail) => {
        masker.stream.on("error", fail).on("finish", done).resume();
        Readable.from(
          (function* () {
            for (let at = 0; at < dump.length; at += chunk, read++) yield dump.subarray(at, at + chunk);
          })(),
        ).pipe(masker.stream);
      }),
      /the masked rows of public\.a_check break a rule of the table, which a restore would refuse: new row for relation "public\.a_check" violates check constraint "a_check_email_check"/,
    );
    assert.ok(total > 20, `${total} chunks`);
    assert.ok(read < total / 2, `the error came after ${read} of ${total} chunks`);
  } finally {
    await probe.close();
  }
});

test("the probe and the filters take any column name; a NOT VALID check is left to the restore; values hide in messages", async () => {
  await cluster.sql("postgres", "CREATE DATABASE odd_names");
  await cluster.sql(
    "odd_names",
    `ALTER DATABASE odd_names SET timezone = 'Europe/Berlin';
     CREATE TABLE public.odd (r text, found text, email text CHECK (email LIKE '%@%'), at timestamptz);
     INSERT INTO public.odd VALUES ('x', 'yes', 'a@corp.example', now()), ('long enough', NULL, 'b@corp.example', now());
     ALTER TABLE public.odd ADD CONSTRAINT r_long CHECK (length(r) > 5) NOT VALID;`,
  );
  const rules = `version: 1\ntables:\n  public.odd:\n    where: "found IS NOT NULL"\n    columns:\n      email: email\n      at: { fixed: "2020-01-13 10:00" }\n`;
  const masked = await maskDatabase(cluster, "odd_names", rules, KEY, { into: "odd_names_masked" });
  assert.deepEqual(masked.result.relations, [{ relation: "public.odd", rows: 1 }]);
  const data = execFileSync(join(cluster.binDir, "pg_restore"), ["--data-only", "-f", "-"], {
    input: masked.archive,
  }).toString("utf8");
  // Read and written as pg_dump's session reads and writes a timestamptz (in UTC), whatever the
  // database's zone: what a restore reads back.
  assert.ok(data.includes(`x\tyes\t${fakeEmail(KEY, "a@corp.example")}\t2020-01-13 10:00:00+00\n`), data);

  const { describeErrorWithoutValues } = await import("../../src/domain/errors.js");
  assert.equal(
    describeErrorWithoutValues(new Error('invalid input syntax for type integer: "secret\nmore"')),
    'invalid input syntax for type integer: "..."',
  );
  assert.equal(
    describeErrorWithoutValues(new Error('value "123456789012" is out of range for type integer')),
    'value "..." is out of range for type integer',
  );
});
