import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCopyStatement } from "../../src/postgres/archive/copy-statement.js";

test("a copy statement gives its table and its columns in the archive's order", () => {
  assert.deepEqual(parseCopyStatement("COPY public.child (a, b, d, c) FROM stdin;\n"), {
    schema: "public",
    table: "child",
    columns: ["a", "b", "d", "c"],
  });
});

test("quoted names: quotes doubled, dots, spaces, commas, parentheses and non-ASCII inside", () => {
  assert.deepEqual(
    parseCopyStatement(
      'COPY "Weird ""Sch.ema"""."Tab le.""q"" Ü ☃" ("Col ""1""", "a, b", "(x)", "order", n_2) FROM stdin;\n',
    ),
    {
      schema: 'Weird "Sch.ema"',
      table: 'Tab le."q" Ü ☃',
      columns: ['Col "1"', "a, b", "(x)", "order", "n_2"],
    },
  );
});

test("a table without columns; under --load-via-partition-root the root is named", () => {
  assert.deepEqual(parseCopyStatement("COPY public.empty  FROM stdin;\n"), {
    schema: "public",
    table: "empty",
    columns: [],
  });
  assert.equal(parseCopyStatement("COPY public.paint (c, n) FROM stdin;\n")?.table, "paint");
});

test("anything else is not read", () => {
  for (const statement of [
    "",
    "INSERT INTO public.t VALUES (1);",
    "COPY public.t (a, b TO stdout;",
    'COPY public."unterminated (a) FROM stdin;',
    "COPY t (a) FROM stdin;",
    "COPY public.t (a) TO stdout;",
  ]) {
    assert.equal(parseCopyStatement(statement), undefined, statement);
  }
});
