/**
 * The fakes computed in the job (cursor, TypeScript fakes, COPY into a temp table, one UPDATE
 * joined on tableoid and ctid) give the database the SQL fakes give it, row for row: tables
 * without a primary key, partitions and inheritance children (whose ctids repeat), NULLs, values
 * with tabs, newlines and backslashes through COPY, varchar limits, jsonb paths in objects, arrays,
 * scalar documents and JSON nulls, and `where` filters, across batch boundaries. A failure half-way
 * leaves the source as it was; the verification still catches a source value written back.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import pg from "pg";
import { OperationError } from "../../src/domain/errors.js";
import { applyMasking, MaskingVerificationError, type MaskingOptions } from "../../src/masking/apply.js";
import { checkRulesAgainstCatalog } from "../../src/masking/catalog-check.js";
import { copyIn, scanRows } from "../../src/masking/copy.js";
import { DigestSet, OTHER_SOURCE, PHONE_SOURCE } from "../../src/masking/digest-set.js";
import { fakeEmail, fakeName, fakePhone, fakeText, maskingKey } from "../../src/masking/fakes.js";
import { parseMaskingRules } from "../../src/masking/rules.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const KEY = maskingKey("masking-key-for-the-in-job-test-01");

const FIXTURE = `
  CREATE SCHEMA t;
  CREATE TABLE t.people (email text, nick varchar(12), phone text, note text, code text, doc jsonb);
  INSERT INTO t.people VALUES
    ('ann@corp.example', 'Ann', E'+31\\t6\\n1234\\\\5678\\r9', E'line one\\nline\\ttwo \\\\ end', 'k1',
     '{"name": {"first": "Ann", "last": "Smith"}, "contact": {"email": "ann@corp.example"}, "n": 5, "arr": [{"e": "ann@corp.example"}], "gone": "x"}'),
    (NULL, NULL, NULL, NULL, NULL, NULL),
    ('bob@corp.example', 'Bobby Tables', '555-0100', '', 'k2', '"a scalar document"'),
    ('cy@corp.example', 'Cy', '(020) 7946 0958', 'Cy wrote: call me', 'k3', '[1, 2, 3]'),
    ('dee@corp.example', 'Dee', 'no digits', 'x', 'k4', '{"name": null, "contact": {"email": null}, "n": null}'),
    ('eve@corp.example', 'Eve', '0', 'é🙂', 'k5', '{"name": {"first": 123}, "arr": [], "n": {"deep": 1}}'),
    ('fay@corp.example', 'Fay', '+1 555 0199', 'Fay', 'k6', '{"name": "flat", "arr": "not an array"}'),
    ('gus@corp.example', 'Gus', '+1 555 0198', 'Gus', 'k7', '5'),
    ('hal@corp.example', 'Hal', '+1 555 0197', 'Hal', 'k8', 'null'),
    ('ida@corp.example', 'Ida', '+1 555 0196', 'Ida', 'k9', '{"name": {"first": "Ida"}, "gone": null}');
  INSERT INTO t.people SELECT 'p' || i || '@corp.example', 'P' || i, '+44 20 ' || lpad(i::text, 8, '0'), 'note ' || i, 'c' || i,
                              jsonb_build_object('name', jsonb_build_object('first', 'First' || i), 'contact', jsonb_build_object('email', 'p' || i || '@corp.example'))
    FROM generate_series(1, 40) AS i;
  CREATE INDEX people_email ON t.people (email);
  CREATE UNIQUE INDEX people_code ON t.people (code) WHERE code IS NOT NULL;
  CREATE INDEX people_lower ON t.people (lower(note)) WITH (fillfactor = 70);
  CREATE INDEX people_commented ON t.people (phone);
  COMMENT ON INDEX t.people_commented IS 'kept as it is';
  CREATE TABLE t.events (id int, who text, at date NOT NULL) PARTITION BY RANGE (at);
  CREATE INDEX events_who ON t.events (who);
  CREATE TABLE t.events_2024 PARTITION OF t.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE t.events_2025 PARTITION OF t.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  INSERT INTO t.events SELECT i, 'p' || i || '@corp.example', date '2024-03-01' + (i % 2) * 365 FROM generate_series(1, 30) AS i;
  CREATE TABLE t.base (id int, email text);
  CREATE TABLE t.child (extra text) INHERITS (t.base);
  INSERT INTO t.base SELECT i, 'base' || i || '@corp.example' FROM generate_series(1, 5) AS i;
  INSERT INTO t.child SELECT i, 'child' || i || '@corp.example', 'x' FROM generate_series(1, 5) AS i;
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
      doc:
        jsonb:
          name.first: { name: first }
          contact.email: email
          arr.0.e: email
          n: { fixed: 7 }
          gone: null
  t.events:
    columns:
      who: email
  t.base:
    columns:
      email: email
`;

let cluster: Cluster;
let copies = 0;
before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("fixture");
  await cluster.sql("fixture", FIXTURE);
});
after(async () => cluster?.stop());

async function freshCopy(): Promise<pg.Client> {
  const name = `copy_${++copies}`;
  await cluster.sql("postgres", `CREATE DATABASE ${name} TEMPLATE fixture`);
  const client = new pg.Client({ connectionString: cluster.url(name) });
  await client.connect();
  return client;
}

async function mask(client: pg.Client, rulesText: string, options: MaskingOptions = {}) {
  const plan = await checkRulesAgainstCatalog(parseMaskingRules(rulesText, "mask.yml"), client);
  return applyMasking(client, plan, KEY, options);
}

/** Every row of every table of the schema, as text, sorted, and the indexes: what two masked copies must share. */
async function snapshot(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ r: string }>(
    `SELECT indexdef || coalesce(' -- ' || obj_description((schemaname || '.' || indexname)::regclass, 'pg_class'), '') AS r
       FROM pg_indexes WHERE schemaname = 't'
     UNION ALL SELECT 'people ' || to_jsonb(p)::text AS r FROM t.people p
     UNION ALL SELECT tableoid::regclass || ' ' || to_jsonb(e)::text FROM t.events e
     UNION ALL SELECT tableoid::regclass || ' ' || to_jsonb(b)::text FROM t.base b ORDER BY 1`,
  );
  return rows.map((row) => row.r);
}

test("the fakes computed in the job write exactly what the SQL fakes write, row for row", async () => {
  for (const rules of [RULES, RULES.replace("  t.events:\n", '  t.events:\n    where: "id % 3 <> 0"\n')]) {
    const inJob = await freshCopy();
    const inDatabase = await freshCopy();
    try {
      const source = await snapshot(inJob);
      const job = await mask(inJob, rules, { batchRows: 7 });
      const database = await mask(inDatabase, rules, { fakesIn: "database" });
      const masked = await snapshot(inJob);
      assert.deepEqual(masked, await snapshot(inDatabase));
      assert.notDeepEqual(masked, source);
      // Indexes the UPDATE would have filled row by row are dropped and built again, the same.
      const indexes = (rows: string[]) => rows.filter((row) => row.startsWith("CREATE"));
      assert.deepEqual(indexes(masked), indexes(source));
      assert.equal(indexes(source).length, 7);
      assert.ok(indexes(source).some((row) => row.endsWith("-- kept as it is")));
      assert.deepEqual(job.tables, database.tables);
      assert.equal(job.sourceDigests > 100, true);

      const { rows } = await inJob.query<{ phone: string; nick: string; doc: unknown }>(
        `SELECT phone, nick, doc FROM t.people WHERE email = $1`,
        [fakeEmail(KEY, "ann@corp.example")],
      );
      assert.equal(rows.length, 1);
      // Tab, newline, backslash and carriage return survive COPY both ways, around fresh digits.
      assert.equal(rows[0]!.phone, fakePhone(KEY, "+31\t6\n1234\\5678\r9"));
      assert.match(rows[0]!.phone, /^\+\d\d\t\d\n\d{4}\\\d{4}\r\d$/);
      assert.ok(rows[0]!.nick.length <= 12);
      assert.deepEqual((rows[0]!.doc as { contact: unknown }).contact, {
        email: fakeEmail(KEY, "ann@corp.example"),
      });
      assert.equal((rows[0]!.doc as { n: number }).n, 7);
      assert.equal((rows[0]!.doc as { gone: unknown }).gone, null);
      const scalars = await inJob.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM t.people WHERE doc IN ('"a scalar document"', '5', 'null', '[1, 2, 3]')`,
      );
      assert.equal(scalars.rows[0]!.n, 4, "documents without the paths are left as they were");
    } finally {
      await inJob.end();
      await inDatabase.end();
    }
  }
});

test("a failure after some tables were masked leaves every table as it was", async () => {
  const client = await freshCopy();
  try {
    // A constraint the fakes of the last table break: that UPDATE fails after the others ran.
    await client.query(`ALTER TABLE t.child ADD CONSTRAINT corp_only CHECK (email LIKE '%@corp.example')`);
    const source = await snapshot(client);
    await assert.rejects(mask(client, RULES, { batchRows: 4 }), (error: unknown) => {
      assert.ok(error instanceof OperationError && !(error instanceof MaskingVerificationError));
      assert.match(error.message, /while updating t\.base from the fakes, nothing was masked: .*corp_only/);
      assert.ok(!/@corp\.example'|ann@|p\d+@/.test(error.message), "no value in the message");
      return true;
    });
    assert.deepEqual(await snapshot(client), source);
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'lifeboat_%')::int AS functions,
              (SELECT count(*) FROM pg_class WHERE relname LIKE 'lifeboat_%')::int AS tables`,
    );
    assert.deepEqual(rows[0], { functions: 0, tables: 0 });
  } finally {
    await client.end();
  }
});

test("the verification in the job catches a source value written back, and an unmasked phone column", async () => {
  const client = await freshCopy();
  try {
    const source = await snapshot(client);
    const leak = `${RULES}sql:\n  - "UPDATE t.events SET who = 'ann@corp.example' WHERE id = 1"\n`;
    await assert.rejects(mask(client, leak), (error: unknown) => {
      assert.ok(error instanceof MaskingVerificationError);
      assert.deepEqual(error.failures, ["t.events.who: 1 values found among the source values"]);
      return true;
    });
    // A value found only in a jsonb path of another table counts too (digests span every column).
    const crossed = `${RULES}sql:\n  - "UPDATE t.base SET email = 'Ida' WHERE id = 1"\n`;
    await assert.rejects(mask(client, crossed), (error: unknown) => {
      assert.ok(error instanceof MaskingVerificationError);
      assert.match(error.failures.join(), /t\.base\.email: 2 values found among the source values/);
      return true;
    });
    // Free SQL that puts 40 real numbers back, one per row, into the phone column.
    const unmasked = `${RULES}sql:\n  - "UPDATE t.people SET phone = '+44 20 ' || lpad(s.n::text, 8, '0') FROM (SELECT ctid AS c, row_number() OVER () AS n FROM t.people WHERE phone ~ '[0-9]') AS s WHERE t.people.ctid = s.c AND s.n <= 40"\n`;
    await assert.rejects(mask(client, unmasked), (error: unknown) => {
      assert.ok(error instanceof MaskingVerificationError);
      assert.deepEqual(error.failures, [
        "t.people.phone: 40 of 48 values are source phone numbers (not masked)",
      ]);
      return true;
    });
    assert.deepEqual(await snapshot(client), source);
  } finally {
    await client.end();
  }
});

test("the digest set finds every value added, keeps flags apart, and grows", () => {
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
});

test("a LATIN1 database and values of 200,000 characters give the fakes the SQL gives", async () => {
  const databases = ["latin_job", "latin_sql"];
  for (const name of databases) {
    await cluster.sql(
      "postgres",
      `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    await cluster.sql(
      name,
      `CREATE TABLE public.p (name text, bio text);
       INSERT INTO public.p SELECT 'Zoë Ångström ' || i, repeat('ü', 200000 + i) FROM generate_series(1, 12) AS i;`,
    );
  }
  const rules = `version: 1\ntables:\n  public.p:\n    columns:\n      name: name\n      bio: text\n`;
  const results: string[][] = [];
  for (const [index, name] of databases.entries()) {
    const client = new pg.Client({ connectionString: cluster.url(name) });
    await client.connect();
    try {
      await mask(client, rules, index === 0 ? { batchRows: 5 } : { fakesIn: "database" });
      await client.query("SET client_encoding = 'UTF8'");
      const { rows } = await client.query<{ name: string; bio: string }>(
        "SELECT name, md5(bio) AS bio FROM public.p ORDER BY name, bio",
      );
      results.push(rows.map((row) => `${row.name} ${row.bio}`));
    } finally {
      await client.end();
    }
  }
  assert.deepEqual(results[0], results[1]);
  assert.ok(
    results[0]!.includes(
      `${fakeName(KEY, "Zoë Ångström 3", "full")} ${createHash("md5")
        .update(fakeText(KEY, "ü".repeat(200003)))
        .digest("hex")}`,
    ),
  );
});

test("keys are dropped around the UPDATE and added back exactly; keys something depends on stay", async () => {
  const client = await freshCopy();
  try {
    await client.query(`
      CREATE TABLE t.accounts (id int PRIMARY KEY, email text NOT NULL, handle text, code text,
        CONSTRAINT accounts_email_key UNIQUE (email) INCLUDE (handle) DEFERRABLE INITIALLY DEFERRED,
        CONSTRAINT accounts_handle_code_key UNIQUE (handle, code) WITH (fillfactor = 80),
        CONSTRAINT accounts_handle_key UNIQUE NULLS NOT DISTINCT (handle),
        CONSTRAINT accounts_code_key UNIQUE (code));
      COMMENT ON CONSTRAINT accounts_code_key ON t.accounts IS 'kept as it is';
      INSERT INTO t.accounts SELECT i, 'a' || i || '@corp.example', CASE WHEN i > 1 THEN 'Handle ' || i END, 'code' || i
        FROM generate_series(1, 40) AS i;
      -- A foreign key on the unmasked primary key, and a view that relies on it (GROUP BY id).
      CREATE TABLE t.logins (account_id int REFERENCES t.accounts (id), at int);
      INSERT INTO t.logins SELECT 1 + i % 40, i FROM generate_series(1, 80) AS i;
      CREATE VIEW t.per_account AS
        SELECT a.id, a.email, count(l.at) AS logins FROM t.accounts a LEFT JOIN t.logins l ON l.account_id = a.id GROUP BY a.id;
      -- Published: its primary key is its replica identity, without which an UPDATE is refused.
      CREATE TABLE t.published (id int PRIMARY KEY, email text);
      INSERT INTO t.published SELECT i, 'pub' || i || '@corp.example' FROM generate_series(1, 10) AS i;
      CREATE PUBLICATION lifeboat_test_publication FOR TABLE t.published;`);
    const keys = async () =>
      (
        await client.query<{ r: string }>(
          `SELECT c.conname || ' ' || pg_get_constraintdef(c.oid) || ' ' || pg_get_indexdef(c.conindid)
                  || coalesce(' -- ' || obj_description(c.oid, 'pg_constraint'), '') AS r
             FROM pg_constraint c WHERE c.conrelid = 't.accounts'::regclass ORDER BY c.conname`,
        )
      ).rows.map((row) => row.r);
    const oids = async () =>
      new Map(
        (
          await client.query<{ conname: string; oid: number }>(
            `SELECT conname, oid FROM pg_constraint WHERE conrelid = 't.accounts'::regclass`,
          )
        ).rows.map((row) => [row.conname, row.oid]),
      );
    const before = await keys();
    const oidsBefore = await oids();
    const steps: string[] = [];
    await mask(
      client,
      `version: 1
tables:
  t.accounts:
    columns:
      email: email
      handle: { name: full, unique: true }
      code: hash
  t.published:
    columns:
      email: email
`,
      { onStep: (step) => steps.push(step) },
    );
    assert.deepEqual(await keys(), before);
    const oidsAfter = await oids();
    // Rebuilt: the two unique keys nothing depends on. Kept: the primary key (a foreign key and
    // a view rely on it), the commented key, and the key with storage parameters (which
    // pg_get_constraintdef leaves out).
    assert.deepEqual(
      [...oidsAfter]
        .filter(([name, oid]) => oidsBefore.get(name) !== oid)
        .map(([name]) => name)
        .sort(),
      ["accounts_email_key", "accounts_handle_key"],
    );
    assert.ok(steps.includes("adding back key accounts_email_key of t.accounts"));
    assert.ok(!steps.some((step) => step.includes("published_pkey")), "the published table's key stays");
    const published = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM t.published WHERE email LIKE 'user\\_%@example.invalid'`,
    );
    assert.equal(published.rows[0]!.n, 10);
    const { rows } = await client.query<{ n: number; fakes: number; joined: number }>(
      `SELECT (SELECT count(*) FROM t.accounts)::int AS n,
              (SELECT count(*) FROM t.accounts WHERE email LIKE 'user\\_%@example.invalid')::int AS fakes,
              (SELECT sum(logins) FROM t.per_account)::int AS joined`,
    );
    assert.deepEqual(rows[0], { n: 40, fakes: 40, joined: 80 });
  } finally {
    await client.end();
  }
});

test("a COPY of fakes the server refuses fails the scan instead of waiting, and the session goes on", async () => {
  const client = await freshCopy();
  try {
    await client.query("BEGIN");
    await client.query("CREATE TEMP TABLE lifeboat_copy_target (n int)");
    const failing = scanRows(
      client,
      "SELECT i FROM generate_series(1, 5000) AS i",
      1000,
      (rows) => rows.map(() => "not a number\n").join(""),
      "lifeboat_copy_target",
    );
    const timeout = new Promise<string>((done) => setTimeout(() => done("still waiting"), 20_000).unref());
    const outcome = await Promise.race([
      failing.then(
        () => "resolved",
        (error: unknown) => String(error),
      ),
      timeout,
    ]);
    assert.match(outcome, /invalid input syntax for type integer/);
    await client.query("ROLLBACK");
    assert.equal((await client.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
    // A COPY into a table that is not there is refused the same way, straight from copyIn.
    await assert.rejects(copyIn(client, "t.not_there", "1\n"), /does not exist/);
    assert.equal((await client.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
  } finally {
    await client.end();
  }
});
