/**
 * Masking a real database: a fixture with personal data across tables joined by foreign keys
 * (emails as keys, names in jsonb, free text mentioning emails and phones). After masking no
 * source value is found anywhere in any text column, joins still match, the result depends only on
 * the key, and every failure (unknown column, bad SQL, a leak caught by the verification) leaves
 * the database untouched and no masked copy. Masking here is what restore-test --mask does: the
 * dump masked as it streams, restored into a database of its own for the test to read.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { MaskingVerificationError } from "../../src/masking/archive-mask.js";
import { checkRulesAgainstCatalog } from "../../src/masking/catalog-check.js";
import { coverageFailure, coverageReport } from "../../src/masking/coverage.js";
import { fakeEmail, fakeName, maskingKey } from "../../src/masking/fakes.js";
import { parseMaskingRules } from "../../src/masking/rules.js";
import { maskDatabase } from "../helpers/masked-dump.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const KEY = maskingKey("masking-key-for-the-fixture-0001");
const OTHER_KEY = maskingKey("a-different-masking-key-0002-xyz");
const USERS = 150;

const FIXTURE = `
  CREATE SCHEMA app;
  CREATE TABLE app.users (
    email text PRIMARY KEY,
    full_name text NOT NULL,
    phone varchar(30),
    profile jsonb,
    api_token text UNIQUE,
    external_id uuid,
    country text,
    notes text,
    signup_ip inet
  );
  CREATE TABLE app.orders (
    id serial PRIMARY KEY,
    customer_email text NOT NULL REFERENCES app.users (email),
    total numeric NOT NULL,
    comment text
  );
  CREATE TABLE app.tickets (
    id serial PRIMARY KEY,
    reporter text REFERENCES app.users (email) ON UPDATE CASCADE ON DELETE CASCADE,
    body text
  );
  CREATE TABLE app.audit (id serial PRIMARY KEY, actor text, action text);
  CREATE FUNCTION app.log_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO app.audit (actor, action) VALUES (OLD.email, 'update'); RETURN NEW; END $$;
  CREATE TRIGGER users_audit AFTER UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.log_user_change();

  INSERT INTO app.users
  SELECT 'person' || i || '@corp.example', 'Firstperson' || i || ' Lastperson' || i,
         '+31 6 ' || lpad((10000000 + i * 7919)::text, 8, '0'),
         jsonb_build_object('name', jsonb_build_object('first', 'Firstperson' || i, 'last', 'Lastperson' || i),
                            'contact', jsonb_build_object('email', 'person' || i || '@corp.example'), 'plan', 'pro'),
         'tok_' || md5(i::text), md5('ext' || i)::uuid, CASE WHEN i % 2 = 0 THEN 'NL' ELSE 'DE' END,
         CASE WHEN i % 3 = 0 THEN 'call Firstperson' || i || ' before noon' END, ('10.0.' || (i % 250) || '.1')::inet
    FROM generate_series(1, ${USERS}) AS i;
  INSERT INTO app.orders (customer_email, total, comment)
  SELECT 'person' || (1 + i % ${USERS}) || '@corp.example', i * 1.5,
         'gift for person' || (1 + (i * 7) % ${USERS}) || '@corp.example, ring +31 6 ' || lpad((10000000 + (1 + i % ${USERS}) * 7919)::text, 8, '0')
    FROM generate_series(1, ${USERS * 3}) AS i;
  INSERT INTO app.tickets (reporter, body)
  SELECT 'person' || (1 + i % ${USERS}) || '@corp.example',
         'Dear support, Firstperson' || (1 + i % ${USERS}) || ' Lastperson' || (1 + i % ${USERS}) || ' (person' || (1 + i % ${USERS}) || '@corp.example) cannot log in.'
    FROM generate_series(1, ${USERS}) AS i;
  INSERT INTO app.audit (actor, action) SELECT 'person' || i || '@corp.example', 'signup' FROM generate_series(1, 20) AS i;
`;

const RULES = `# the fixture's rules
version: 1
tables:
  app.users:
    columns:
      email: email
      full_name: name
      phone: phone
      profile:
        jsonb:
          name.first: { name: first }
          name.last: { name: last }
          contact.email: email
          plan: { fixed: basic }
      api_token: hash
      external_id: uuid
      country: { fixed: XX }
      notes: null
      signup_ip: keep
  app.orders:
    columns:
      customer_email: email
      comment: text
  app.tickets:
    columns:
      reporter: email
      body: text
  app.audit:
    columns:
      actor: email
`;

/** Every personal value of the fixture: what must be found nowhere after masking. */
function sourceValues(): string[] {
  const values: string[] = [];
  for (let i = 1; i <= USERS; i++) {
    values.push(`person${i}@corp.example`, `Firstperson${i}`, `Lastperson${i}`);
    values.push(`+31 6 ${String(10000000 + i * 7919).padStart(8, "0")}`);
  }
  return values;
}

let cluster: Cluster;
let template = 0;
before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("fixture");
  await cluster.sql("fixture", FIXTURE);
});
after(async () => cluster?.stop());

async function freshCopy(): Promise<{ name: string; client: pg.Client }> {
  const name = `copy_${++template}`;
  await cluster.sql("postgres", `CREATE DATABASE ${name} TEMPLATE fixture`);
  const client = new pg.Client({ connectionString: cluster.url(name) });
  await client.connect();
  return { name, client };
}

/** Masks the database into `<name>_masked_<n>`; the client is the masked copy's. */
async function mask(name: string, rulesText: string, key = KEY) {
  const into = `${name}_masked_${++template}`;
  const masked = await maskDatabase(cluster, name, rulesText, key, { into });
  const client = new pg.Client({ connectionString: cluster.url(into) });
  await client.connect();
  return { ...masked, client };
}

async function everyTextCell(client: pg.Client): Promise<{ where: string; value: string }[]> {
  const { rows: columns } = await client.query<{ nspname: string; relname: string; attname: string }>(
    `SELECT n.nspname, c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relkind = 'r' AND n.nspname = 'app' AND a.attnum > 0 AND NOT a.attisdropped
        AND (t.typcategory = 'S' OR t.typname IN ('jsonb', 'json'))`,
  );
  assert.ok(columns.length >= 10);
  const cells: { where: string; value: string }[] = [];
  for (const { nspname, relname, attname } of columns) {
    const { rows } = await client.query<{ v: string }>(
      `SELECT "${attname}"::text AS v FROM "${nspname}"."${relname}" WHERE "${attname}" IS NOT NULL`,
    );
    for (const row of rows) cells.push({ where: `${nspname}.${relname}.${attname}`, value: row.v });
  }
  return cells;
}

async function joinCounts(client: pg.Client) {
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM app.users u JOIN app.orders o ON o.customer_email = u.email)::int AS orders,
            (SELECT count(*) FROM app.users u JOIN app.tickets t ON t.reporter = u.email)::int AS tickets,
            (SELECT count(*) FROM app.users u JOIN app.audit a ON a.actor = u.email)::int AS audit,
            (SELECT count(*) FROM app.users u WHERE u.profile #>> '{contact,email}' = u.email)::int AS profile`,
  );
  return rows[0];
}

async function snapshot(client: pg.Client): Promise<string> {
  const { rows } = await client.query(
    `SELECT json_agg(x ORDER BY x::text)::text AS s FROM (
       SELECT to_jsonb(u) - 'external_id' || jsonb_build_object('external_id', u.external_id::text) AS x FROM app.users u
       UNION ALL SELECT to_jsonb(o) FROM app.orders o UNION ALL SELECT to_jsonb(t) FROM app.tickets t) AS all_rows`,
  );
  return rows[0].s as string;
}

test("masking leaves no source value in any text or jsonb column, keeps joins and row counts", async () => {
  const { name, client } = await freshCopy();
  let masked: pg.Client | undefined;
  try {
    const joinsBefore = await joinCounts(client);
    assert.deepEqual(joinsBefore, { orders: USERS * 3, tickets: USERS, audit: 20, profile: USERS });
    const cellsBefore = await everyTextCell(client);
    const values = sourceValues();
    assert.ok(
      values.every((v) => cellsBefore.some((cell) => cell.value.includes(v))),
      "the fixture holds every source value",
    );

    const sourceBefore = await snapshot(client);
    const result = await mask(name, RULES);
    masked = result.client;
    assert.ok(result.result.sourceDigests > USERS * 5);
    assert.deepEqual(result.prepared.tables, [], "no filter, no free SQL: no row changed before the dump");
    assert.deepEqual(Object.fromEntries(result.result.relations.map((r) => [r.relation, r.rows])), {
      "app.users": USERS,
      "app.orders": USERS * 3,
      "app.tickets": USERS,
      "app.audit": 20,
    });
    assert.deepEqual(await snapshot(client), sourceBefore, "the source is read, never written");

    const leaks = (await everyTextCell(masked)).flatMap((cell) =>
      values.filter((v) => cell.value.includes(v)).map((v) => `${cell.where} holds ${v}`),
    );
    assert.deepEqual(leaks, []);
    assert.deepEqual(await joinCounts(masked), joinsBefore);

    const { rows } = await masked.query(
      `SELECT email, full_name, phone, country, notes, profile, (SELECT count(*)::int FROM app.audit) AS audit_rows,
              (SELECT tgenabled FROM pg_trigger WHERE tgname = 'users_audit') AS trigger_state,
              (SELECT count(*)::int FROM pg_constraint WHERE contype = 'f' AND connamespace = 'app'::regnamespace) AS fks
         FROM app.users ORDER BY email LIMIT 1`,
    );
    const row = rows[0];
    assert.match(row.email, /^user_[0-9a-f]{20}@example\.invalid$/);
    assert.match(row.phone, /^\+\d\d \d \d{8}$/);
    assert.equal(row.country, "XX");
    assert.equal(row.notes, null);
    assert.equal(row.profile.plan, "basic");
    assert.equal(row.profile.contact.email, row.email);
    assert.equal(row.audit_rows, 20, "user triggers did not fire while masking");
    assert.equal(row.trigger_state, "O", "user triggers are enabled in the copy");
    assert.equal(row.fks, 2, "the foreign keys hold (the restore checked every row)");

    // The SQL fakes are the TypeScript ones: a value can be traced by whoever holds the key.
    const { rows: one } = await masked.query(`SELECT email, full_name FROM app.users WHERE email = $1`, [
      fakeEmail(KEY, "person7@corp.example"),
    ]);
    assert.equal(one.length, 1);
    assert.equal(one[0].full_name, fakeName(KEY, "Firstperson7 Lastperson7", "full"));
  } finally {
    await client.end();
    await masked?.end();
  }
});

test("the same key gives the same masked database; another key gives another", async () => {
  const snapshots: string[] = [];
  for (const key of [KEY, KEY, OTHER_KEY]) {
    const { name, client } = await freshCopy();
    await client.end();
    const { client: masked } = await mask(name, RULES, key);
    try {
      snapshots.push(await snapshot(masked));
    } finally {
      await masked.end();
    }
  }
  assert.equal(snapshots[0], snapshots[1]);
  assert.notEqual(snapshots[0], snapshots[2]);
});

test("a rule naming an unknown column or table is an exit-2 InputError naming it, before any change", async () => {
  const { client } = await freshCopy();
  try {
    const rules = parseMaskingRules(
      RULES.replace("      phone: phone\n", "      phone: phone\n      emial: email\n").replace(
        "app.audit:",
        "app.audits:",
      ),
      "mask.yml",
    );
    await assert.rejects(checkRulesAgainstCatalog(rules, client), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.exitCode, 2);
      assert.match(
        error.message,
        /^mask mask\.yml: unknown column app\.users\.emial \(line 9\), table app\.audits \(line 29\)/,
      );
      return true;
    });
  } finally {
    await client.end();
  }
});

test("strategies that do not fit the column, or split a foreign key, are InputErrors", async () => {
  const { client } = await freshCopy();
  try {
    const cases: [string, RegExp][] = [
      [
        "version: 1\ntables:\n  app.orders:\n    columns:\n      total: email\n",
        /mask\.yml:5: app\.orders\.total \(numeric\): the email strategy needs a text column/,
      ],
      [
        "version: 1\ntables:\n  app.users:\n    columns:\n      full_name: null\n",
        /full_name \(text\): the column is NOT NULL/,
      ],
      [
        "version: 1\ntables:\n  app.users:\n    columns:\n      api_token: { fixed: x }\n",
        /api_token \(text\): the column is unique/,
      ],
      [
        "version: 1\ntables:\n  app.users:\n    columns:\n      external_id: { fixed: nope }\n",
        /not a valid uuid/,
      ],
      [
        "version: 1\ntables:\n  app.users:\n    columns:\n      email: email\n",
        /app\.orders\.customer_email references app\.users\.email \(foreign key orders_customer_email_fkey\)/,
      ],
      [
        "version: 1\ntables:\n  app.users:\n    columns:\n      profile: { jsonb: { name.middle: { name: first } } }\n",
        /^mask mask\.yml: unknown jsonb path app\.users\.profile name\.middle \(line 5, in no row\)/,
      ],
      [
        'version: 1\ntables:\n  app.users:\n    where: "nosuch > 1"\n',
        /mask\.yml:3: app\.users where: column "nosuch" does not exist/,
      ],
    ];
    for (const [text, expected] of cases) {
      await assert.rejects(
        checkRulesAgainstCatalog(parseMaskingRules(text, "mask.yml"), client),
        (error: unknown) => {
          assert.ok(error instanceof InputError, String(error));
          assert.match(error.message, expected);
          return true;
        },
      );
    }
  } finally {
    await client.end();
  }
});

test("a failing rule changes nothing and writes nothing: bad SQL, or a leak the verification catches", async () => {
  const { name, client } = await freshCopy();
  try {
    const before = await snapshot(client);
    const databases = async () =>
      (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_database")).rows[0]!.n;
    const databasesBefore = await databases();
    await assert.rejects(
      mask(
        name,
        `${RULES}sql:\n  - DELETE FROM app.audit WHERE id < 3\n  - UPDATE app.users SET nosuch = 1\n`,
      ),
      (error: unknown) => {
        assert.ok(error instanceof OperationError && !(error instanceof MaskingVerificationError));
        assert.match(
          error.message,
          /while running sql entry 2, nothing was masked: column "nosuch" of relation "users" does not exist/,
        );
        return true;
      },
    );
    assert.equal(await snapshot(client), before);
    assert.equal(
      (await client.query("SELECT count(*)::int AS n FROM app.audit")).rows[0].n,
      20,
      "entry 1 rolled back",
    );

    // A filter that fails on a value: the message names the type, not the value.
    const badWhere = RULES.replace(
      "  app.orders:\n",
      '  app.orders:\n    where: "customer_email::int > 0"\n',
    );
    await assert.rejects(mask(name, badWhere), (error: unknown) => {
      assert.ok(error instanceof OperationError);
      assert.match(
        error.message,
        /filtering app\.orders \(where\), nothing was masked: invalid input syntax for type integer: "\.\.\."$/,
      );
      assert.ok(!error.message.includes("@corp.example"), error.message);
      return true;
    });

    // A fixed value that is somebody's real phone number: found among the source values.
    const leak = RULES.replace("      comment: text\n", "      comment: { fixed: '+31 6 10007919' }\n");
    await assert.rejects(mask(name, leak), (error: unknown) => {
      assert.ok(error instanceof MaskingVerificationError);
      assert.deepEqual(error.failures, ["app.orders.comment: its fixed value is among the source values"]);
      assert.ok(!error.message.includes("10007919"), "the message never quotes a value");
      return true;
    });
    // Free SQL that deletes rows of a table the rules mask without a filter.
    const deleting = `${RULES}sql:\n  - DELETE FROM app.tickets WHERE id <= 5\n`;
    await assert.rejects(mask(name, deleting), /app\.tickets: 150 rows before masking, 145 after/);
    assert.equal(await snapshot(client), before);
    assert.equal(await databases(), databasesBefore, "no masked database was restored");
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE 'lifeboat_%'`,
    );
    assert.equal(rows[0].n, 0, "no fake function outlives the transaction");
  } finally {
    await client.end();
  }
});

test("a where filter subsets; cascades may shrink children, other tables keep their counts", async () => {
  const { name, client } = await freshCopy();
  await client.end();
  const subset = RULES.replace(
    "  app.users:\n",
    '  app.users:\n    where: "email IN (SELECT customer_email FROM app.orders WHERE id <= 30)"\n',
  ).replace("  app.orders:\n", '  app.orders:\n    where: "id <= 30"\n');
  // orders must be filtered before users (NO ACTION): the rules run filters in file order.
  const ordered = subset.replace(/( {2}app\.users:\n(?: {4}.*\n)+)( {2}app\.orders:\n(?: {4}.*\n)+)/, "$2$1");
  const result = await mask(name, ordered);
  try {
    const counts = Object.fromEntries(
      result.prepared.tables.map((t) => [t.table, [t.rowsBefore, t.rowsAfter, t.filtered]]),
    );
    assert.deepEqual(counts["app.orders"], [USERS * 3, 30, true]);
    assert.deepEqual(counts["app.users"], [USERS, 30, true]);
    assert.deepEqual(counts["app.tickets"], [USERS, 30, true], "tickets cascade from users");
    assert.deepEqual(counts["app.audit"], [20, 20, false]);
    assert.deepEqual(await joinCounts(result.client), { orders: 30, tickets: 30, audit: 19, profile: 30 });
  } finally {
    await result.client.end();
  }
});

test("the coverage report lists search vectors and text arrays without a rule; a generated vector is rebuilt, not listed", async () => {
  const { client } = await freshCopy();
  try {
    // A search vector kept by a trigger still holds the source's words after masking (the masked
    // rows are written as they are); a generated one is computed again from the masked columns.
    await client.query(`
      CREATE TABLE app.search (
        id int PRIMARY KEY, words tsvector, aliases text[],
        built tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(aliases[1], ''))) STORED);
      INSERT INTO app.search (id, words, aliases)
        SELECT i, to_tsvector('simple', 'Firstperson' || i || ' person' || i || '@corp.example'),
               ARRAY['person' || i || '@corp.example', 'p' || i]
          FROM generate_series(1, 20) AS i;`);
    const warnings = await coverageReport(client, parseMaskingRules(RULES, "mask.yml"));
    const found = Object.fromEntries(warnings.map((w) => [`${w.table}.${w.column}`, w.reasons]));
    assert.deepEqual(Object.keys(found).sort(), ["app.search.aliases", "app.search.words"]);
    assert.deepEqual(found["app.search.words"], [
      "type is a text-search vector (the words it was built from)",
      "content looks like email (20 of 20 sampled)",
    ]);
    assert.deepEqual(found["app.search.aliases"], ["content looks like email (20 of 20 sampled)"]);
  } finally {
    await client.end();
  }
});

test("the coverage report lists personal-looking columns without a rule, and can fail", async () => {
  const { client } = await freshCopy();
  try {
    const partial = parseMaskingRules(
      RULES.replace("      signup_ip: keep\n", "").replace(/ {2}app\.tickets:\n(?: {4}.*\n)+/, ""),
      "mask.yml",
    );
    const warnings = await coverageReport(client, partial);
    const found = Object.fromEntries(warnings.map((w) => [`${w.table}.${w.column}`, w.reasons]));
    assert.deepEqual(Object.keys(found).sort(), [
      "app.tickets.body",
      "app.tickets.reporter",
      "app.users.signup_ip",
    ]);
    assert.ok(found["app.users.signup_ip"]!.some((r) => r.includes("IP address")));
    assert.ok(
      found["app.tickets.reporter"]!.includes(`content looks like email (${USERS} of ${USERS} sampled)`),
    );
    assert.ok(found["app.tickets.body"]!.some((r) => r.startsWith("content looks like email")));
    assert.ok(!JSON.stringify(warnings).includes("@corp.example"), "warnings quote no value");
    const failure = coverageFailure(warnings, "mask.yml");
    assert.ok(failure instanceof OperationError);
    assert.match(
      failure.message,
      /3 column\(s\) look personal but have no rule in mask\.yml: app\.tickets\.reporter, app\.tickets\.body, app\.users\.signup_ip/,
    );
    assert.deepEqual(await coverageReport(client, parseMaskingRules(RULES, "mask.yml")), []);
  } finally {
    await client.end();
  }
});
