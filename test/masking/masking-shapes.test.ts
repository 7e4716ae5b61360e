/**
 * Masking on the shapes real databases have, found by running restore-test --mask end to end on
 * them: domains over varchar(n) and char(n) (the fakes are cut and padded as the base type
 * does), an inheritance child of two masked parents (the rules of both), and a schema whose name
 * holds a dot beside a table whose name does ("a.b"."c" and "a"."b.c" are two tables); and a
 * CHECK constraint the fakes break, which must fail the run without the scratch server logging
 * the failing row (its unmasked columns hold source values).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { OperationError } from "../../src/domain/errors.js";
import { fakeEmail, fakeName, fakeText, maskingKey } from "../../src/masking/fakes.js";
import { maskDatabase } from "../helpers/masked-dump.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const KEY = maskingKey("masking-key-for-the-shapes-test-01");

let cluster: Cluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => cluster?.stop());

test("a domain over varchar(n) or char(n) gets fakes cut to n, and padded as char(n) prints them", async () => {
  await cluster.createDatabase("domains");
  await cluster.sql(
    "domains",
    `CREATE SCHEMA app;
     CREATE DOMAIN app.short_name AS varchar(12);
     CREATE DOMAIN app.code AS char(12);
     CREATE DOMAIN app.checked_code AS app.code CHECK (VALUE <> '');
     CREATE TABLE app.people (id int, sname app.short_name, code app.checked_code);
     INSERT INTO app.people VALUES (1, 'Shortname1', 'Code1');`,
  );
  const rules = `version: 1
tables:
  app.people:
    columns:
      sname: { name: full }
      code: { name: first }
`;
  const masked = await maskDatabase(cluster, "domains", rules, KEY, { into: "domains_masked" });
  const sname = fakeName(KEY, "Shortname1", "full").slice(0, 12);
  const code = fakeName(KEY, "Code1", "first").slice(0, 12).padEnd(12);
  assert.ok(sname.length === 12, "the full name fake is longer than the domain allows");
  // The archive holds each value as the restored table prints it, so its digests match a restore's.
  assert.ok(masked.archive.includes(Buffer.from(`1\t${sname}\t${code}\n`)), "the row as a restore prints it");
  const rows = await cluster.sql<{ sname: string; code: string }>(
    "domains_masked",
    "SELECT sname, code FROM app.people",
  );
  assert.deepEqual(rows, [{ sname, code }]);
});

test("an inheritance child of two masked parents has the columns of both masked", async () => {
  await cluster.createDatabase("two_parents");
  await cluster.sql(
    "two_parents",
    `CREATE SCHEMA app;
     CREATE TABLE app.contacts (id int, email text);
     CREATE TABLE app.people (name text, id int);
     CREATE TABLE app.contact_people (extra text) INHERITS (app.contacts, app.people);
     INSERT INTO app.contacts VALUES (1, 'one@corp.example');
     INSERT INTO app.people VALUES ('Personname Two', 2);
     INSERT INTO app.contact_people (id, email, name, extra) VALUES (3, 'three@corp.example', 'Personname Three', 'x');`,
  );
  const rules = `version: 1
tables:
  app.contacts:
    columns:
      email: email
  app.people:
    columns:
      name: name
`;
  const masked = await maskDatabase(cluster, "two_parents", rules, KEY, { into: "two_parents_masked" });
  assert.ok(!masked.archive.includes("three@corp.example"), "the child's email is masked");
  assert.ok(!masked.archive.includes("Personname Three"), "the child's name is masked");
  const rows = await cluster.sql<{ email: string; name: string }>(
    "two_parents_masked",
    "SELECT email, name FROM ONLY app.contact_people",
  );
  assert.deepEqual(rows, [
    { email: fakeEmail(KEY, "three@corp.example"), name: fakeName(KEY, "Personname Three", "full") },
  ]);
});

test('"a.b"."c" is masked by its rules, and "a"."b.c" beside it is not', async () => {
  await cluster.createDatabase("dots");
  await cluster.sql(
    "dots",
    `CREATE SCHEMA "a.b";
     CREATE SCHEMA a;
     CREATE TABLE "a.b".c (id int, email text, note text);
     CREATE TABLE a."b.c" (id int, email text);
     INSERT INTO "a.b".c VALUES (1, 'masked@corp.example', 'n'), (2, 'gone@corp.example', 'n');
     INSERT INTO a."b.c" VALUES (1, 'kept@corp.example');`,
  );
  // The filter makes the row counts around it be taken: of "a.b".c, not of a."b.c".
  const rules = `version: 1
tables:
  '"a.b".c':
    where: "id = 1"
    columns:
      email: email
`;
  const masked = await maskDatabase(cluster, "dots", rules, KEY, { into: "dots_masked" });
  assert.deepEqual(
    masked.prepared.tables.map((t) => [t.table, t.rowsBefore, t.rowsAfter]),
    [["a.b.c", 2, 1]],
  );
  assert.deepEqual(await cluster.sql("dots_masked", 'SELECT id, email FROM "a.b".c'), [
    { id: 1, email: fakeEmail(KEY, "masked@corp.example") },
  ]);
  assert.deepEqual(await cluster.sql("dots_masked", 'SELECT id, email FROM a."b.c"'), [
    { id: 1, email: "kept@corp.example" },
  ]);
});

test("a CHECK constraint the fakes break fails the run, and the scratch server's log holds no value of the row", async () => {
  await cluster.createDatabase("checked");
  await cluster.sql(
    "checked",
    `CREATE TABLE people (id int, email text CHECK (email LIKE '%@corp.example'), diary text,
                          doc jsonb CHECK (doc ? 'k'), short varchar(4));
     INSERT INTO people VALUES (1, 'ann@corp.example', 'Annsdiarysecret', '{"k": 1.50}', 'ab');`,
  );
  const log = join(cluster.dataDir, "server.log");
  const logged = readFileSync(log, "utf8").length;
  const rules = `version: 1\ntables:\n  public.people:\n    columns:\n      email: email\n`;
  await assert.rejects(maskDatabase(cluster, "checked", rules, KEY), (error: unknown) => {
    assert.ok(error instanceof OperationError);
    assert.match(
      error.message,
      /^the masked rows of public\.people break a rule of the table, which a restore would refuse: new row for relation "public\.people" violates check constraint "people_email_check"$/,
    );
    return true;
  });
  const added = readFileSync(log, "utf8").slice(logged);
  assert.match(added, /people_email_check/, "the server logged the failure");
  assert.ok(!added.includes("Annsdiarysecret"), `no source value in the server's log:\n${added}`);
  // Rows that keep every rule pass the same probe: jsonb documents as documents, typmods kept.
  const fine = `version: 1\ntables:\n  public.people:\n    columns:\n      email: { fixed: x@corp.example }\n      short: { name: first }\n`;
  const masked = await maskDatabase(cluster, "checked", fine, KEY, { into: "checked_masked" });
  assert.deepEqual(masked.result.relations, [{ relation: "public.people", rows: 1 }]);
});

test("a where filter a foreign key refuses fails the run, and the scratch server's log holds no key value", async () => {
  await cluster.createDatabase("filtered");
  await cluster.sql(
    "filtered",
    `CREATE TABLE users (email text PRIMARY KEY);
     CREATE TABLE orders (id int, email text REFERENCES users (email) ON DELETE RESTRICT);
     INSERT INTO users VALUES ('keyholder@corp.example'), ('kept@corp.example');
     INSERT INTO orders VALUES (1, 'keyholder@corp.example');`,
  );
  const log = join(cluster.dataDir, "server.log");
  const logged = readFileSync(log, "utf8").length;
  const rules = `version: 1
tables:
  public.users:
    where: "email LIKE 'kept%'"
    columns:
      email: email
  public.orders:
    columns:
      email: email
`;
  await assert.rejects(maskDatabase(cluster, "filtered", rules, KEY), (error: unknown) => {
    assert.ok(error instanceof OperationError);
    assert.match(
      error.message,
      /while filtering public\.users \(where\), nothing was masked: .*orders_email_fkey/,
    );
    assert.ok(!error.message.includes("keyholder"), "no value in the message");
    return true;
  });
  const added = readFileSync(log, "utf8").slice(logged);
  assert.match(added, /orders_email_fkey/, "the server logged the failure");
  assert.ok(!added.includes("keyholder"), `no source value in the server's log:\n${added}`);
});

test("a partition named with a rule of its own keeps its root's rules too", async () => {
  await cluster.createDatabase("named_partition");
  await cluster.sql(
    "named_partition",
    `CREATE TABLE events (id int, region text NOT NULL, email text, note text) PARTITION BY LIST (region);
     CREATE TABLE events_eu (note text, email text, region text NOT NULL, id int);
     ALTER TABLE events ATTACH PARTITION events_eu FOR VALUES IN ('eu');
     CREATE TABLE events_us PARTITION OF events FOR VALUES IN ('us');
     INSERT INTO events VALUES (1, 'eu', 'eu@corp.example', 'eu note'), (2, 'us', 'us@corp.example', 'us note');`,
  );
  const rules = `version: 1
tables:
  public.events:
    columns:
      email: email
  public.events_eu:
    columns:
      note: text
`;
  await maskDatabase(cluster, "named_partition", rules, KEY, { into: "named_partition_masked" });
  assert.deepEqual(
    await cluster.sql("named_partition_masked", "SELECT id, email, note FROM events ORDER BY id"),
    [
      { id: 1, email: fakeEmail(KEY, "eu@corp.example"), note: fakeText(KEY, "eu note") },
      { id: 2, email: fakeEmail(KEY, "us@corp.example"), note: "us note" },
    ],
  );
});

test("free SQL the server refuses fails the run, and a superuser's scratch server logs no value", async () => {
  await cluster.createDatabase("free_sql");
  await cluster.sql(
    "free_sql",
    `CREATE TABLE users (id int, handle text UNIQUE);
     INSERT INTO users VALUES (1, 'handleone'), (2, 'handletwo');`,
  );
  const log = join(cluster.dataDir, "server.log");
  const logged = readFileSync(log, "utf8").length;
  const rules = `version: 1
tables:
  public.users:
    columns:
      handle: hash
sql:
  - UPDATE public.users SET handle = (SELECT handle FROM public.users WHERE id = 1) WHERE id = 2
`;
  await assert.rejects(maskDatabase(cluster, "free_sql", rules, KEY), (error: unknown) => {
    assert.ok(error instanceof OperationError);
    assert.match(error.message, /while running sql entry 1, nothing was masked: .*users_handle_key/);
    assert.ok(!error.message.includes("handleone"), "no value in the message");
    return true;
  });
  const added = readFileSync(log, "utf8").slice(logged);
  assert.ok(!added.includes("handleone"), `no source value in the server's log:\n${added}`);
  // The setting lasts as long as the masking transaction: the server logs errors again after it.
  await assert.rejects(cluster.sql("free_sql", "SELECT 1/0"));
  assert.match(readFileSync(log, "utf8").slice(logged), /division by zero/);
});
