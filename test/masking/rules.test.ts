/**
 * The rules file's shape: every strategy form parses to what applyMasking expects, and every
 * structural mistake is an exit-2 InputError naming the file, the line and what was expected.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { parseMaskingRules, splitQualifiedName } from "../../src/masking/rules.js";

test("every strategy form parses", () => {
  const rules = parseMaskingRules(
    `version: 1
tables:
  public.users:
    where: "created_at > now() - interval '90 days'"
    columns:
      email: email
      display: name
      first: { name: first }
      handle: { name: full, unique: true }
      phone: phone
      bio: text
      token: hash
      ext: uuid
      notes: null
      quoted_null: "null"
      country: { fixed: NL }
      score: { fixed: 0 }
      id: keep
      profile:
        jsonb:
          contact.email: email
          names.0: { name: last }
          age: { fixed: 40 }
  '"Odd.Schema"."T"':
    columns:
      x: text
sql:
  - DELETE FROM public.sessions
`,
    "mask.yml",
  );
  assert.equal(rules.tables.length, 2);
  const users = rules.tables[0]!;
  assert.equal(users.where, "created_at > now() - interval '90 days'");
  assert.deepEqual(Object.fromEntries(users.columns.map((c) => [c.column, c.strategy])), {
    email: { kind: "email" },
    display: { kind: "name", part: "full", unique: false },
    first: { kind: "name", part: "first", unique: false },
    handle: { kind: "name", part: "full", unique: true },
    phone: { kind: "phone" },
    bio: { kind: "text" },
    token: { kind: "hash" },
    ext: { kind: "uuid" },
    notes: { kind: "null" },
    quoted_null: { kind: "null" },
    country: { kind: "fixed", value: "NL" },
    score: { kind: "fixed", value: 0 },
    id: { kind: "keep" },
    profile: {
      kind: "jsonb",
      paths: [
        { path: ["contact", "email"], strategy: { kind: "email" }, line: 21 },
        { path: ["names", "0"], strategy: { kind: "name", part: "last", unique: false }, line: 22 },
        { path: ["age"], strategy: { kind: "fixed", value: 40 }, line: 23 },
      ],
    },
  });
  assert.equal(users.columns[0]!.line, 6);
  assert.deepEqual([rules.tables[1]!.schema, rules.tables[1]!.table], ["Odd.Schema", "T"]);
  assert.deepEqual(rules.sql, ["DELETE FROM public.sessions"]);
  assert.match(rules.digest, /^[0-9a-f]{64}$/);
});

test("structural mistakes name the file, the line and what was expected", () => {
  const cases: [string, RegExp][] = [
    ["tables: {}\n", /^mask m\.yml:1: expected `version: 1` at the top$/],
    [
      "version: 1\ntables:\n  users:\n    columns:\n      a: email\n",
      /^mask m\.yml:3: table `users`: expected a schema-qualified name/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    columns:\n      a: scramble\n",
      /^mask m\.yml:5: public\.u\.a: expected a strategy \(keep, null, email, .*\), got `scramble`$/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    columns:\n      a: { name: middle }\n",
      /^mask m\.yml:5: public\.u\.a: `name` must be first, last or full$/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    columns:\n      a: { fixed: [1] }\n",
      /^mask m\.yml:5: public\.u\.a: `fixed` needs a string, number or boolean/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    colums:\n      a: email\n",
      /^mask m\.yml:4: table public\.u: unknown key `colums`: expected columns or where$/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    columns:\n      a: email\n      a: phone\n",
      /^mask m\.yml:6: not valid YAML \(Map keys must be unique/,
    ],
    [
      "version: 1\ntables:\n  public.u:\n    columns:\n      p:\n        jsonb:\n          a.b: keep\n",
      /^mask m\.yml:7: public\.u\.p a\.b: expected a strategy \(null, email/,
    ],
    ["version: 1\nsql: DELETE FROM x\n", /^mask m\.yml:2: `sql` must be a list of SQL statements/],
    ["version: 1\n", /^mask m\.yml:1: no rules/],
    [
      "version: 1\ntables:\n  public.u:\n    where: 3\n",
      /^mask m\.yml:4: table public\.u: `where` must be a SQL condition/,
    ],
    ["version: 1\nextra: 1\n", /^mask m\.yml:2: unknown key `extra`: expected version, tables or sql$/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(
      () => parseMaskingRules(text, "m.yml"),
      (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.equal(error.exitCode, 2);
        assert.equal(error.input, "mask");
        assert.match(error.message, expected);
        return true;
      },
    );
  }
});

test("schema-qualified names split on the dot outside quotes", () => {
  assert.deepEqual(splitQualifiedName("public.users"), { schema: "public", table: "users" });
  assert.deepEqual(splitQualifiedName('"a.b"."c""d"'), { schema: "a.b", table: 'c"d' });
  assert.equal(splitQualifiedName("users"), undefined);
  assert.equal(splitQualifiedName("a.b.c"), undefined);
  assert.equal(splitQualifiedName("a."), undefined);
});
