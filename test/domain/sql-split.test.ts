import assert from "node:assert/strict";
import { test } from "node:test";
import { splitSqlStatements } from "../../src/domain/sql-split.js";

test("splits at statement ends, not at semicolons in quotes, dollar quotes or comments", () => {
  const sql = `-- orders exist; really
SELECT count(*) > 0 FROM shop.orders;
SELECT 'a;b' = 'a;b';  /* a comment; with /* nesting; */ still */
SELECT $$x;y$$ = $tag$x;y$tag$;
SELECT "weird;name" IS NULL FROM (SELECT NULL AS "weird;name") t
`;
  assert.deepEqual(splitSqlStatements(sql), {
    statements: [
      "-- orders exist; really\nSELECT count(*) > 0 FROM shop.orders",
      "SELECT 'a;b' = 'a;b'",
      "/* a comment; with /* nesting; */ still */\nSELECT $$x;y$$ = $tag$x;y$tag$",
      'SELECT "weird;name" IS NULL FROM (SELECT NULL AS "weird;name") t',
    ],
    problem: undefined,
  });
});

test("an unclosed quote, dollar quote or comment is a problem", () => {
  assert.match(splitSqlStatements("SELECT 'open;").problem ?? "", /' quote/);
  assert.match(splitSqlStatements("SELECT $$open;").problem ?? "", /dollar quote/);
  assert.match(splitSqlStatements("SELECT 1; /* open").problem ?? "", /comment/);
});

test("comments and blank statements alone are not statements", () => {
  assert.deepEqual(splitSqlStatements(" ; -- nothing\n;").statements, []);
});
