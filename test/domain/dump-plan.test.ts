import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCompression } from "../../src/compress/index.js";
import { buildPgDumpArgs, emptyScope, parseCompression } from "../../src/domain/dump-plan.js";
import { InputError } from "../../src/domain/errors.js";
import { parseNamePattern } from "../../src/domain/pg-pattern.js";

const inputError = (input: string) => (error: unknown) =>
  error instanceof InputError && error.input === input;

test("--compression is Lifeboat's own: auto is zstd:1, levels are kept, none passes through", () => {
  assert.equal(formatCompression(parseCompression("auto")), "zstd:1");
  assert.equal(formatCompression(parseCompression("")), "zstd:1");
  assert.equal(formatCompression(parseCompression("zstd")), "zstd:1");
  assert.equal(formatCompression(parseCompression("zstd:9")), "zstd:9");
  assert.equal(formatCompression(parseCompression("gzip:9")), "gzip:9");
  assert.equal(formatCompression(parseCompression("none")), "none");
});

test("a compression Lifeboat cannot do is a bad input naming --compression", () => {
  assert.throws(() => parseCompression("lz4"), inputError("compression"));
  assert.throws(() => parseCompression("gzip:10"), inputError("compression"));
  assert.throws(() => parseCompression("zstd:23"), inputError("compression"));
  assert.throws(() => parseCompression("brotli"), inputError("compression"));
});

test("pg_dump always writes an uncompressed archive", () => {
  const args = buildPgDumpArgs({ scope: emptyScope(), snapshot: "00000003-1", extraArgs: [] });
  assert.deepEqual(args, ["--format=custom", "--compress=0", "--no-password", "--snapshot=00000003-1"]);
});

test("scope options become pg_dump's own flags", () => {
  const scope = {
    ...emptyScope(),
    dataOnly: true,
    includeSchemas: ["app"],
    excludeTables: ["app.audit_*"],
    excludeTableData: ["big"],
  };
  const args = buildPgDumpArgs({
    scope,
    snapshot: undefined,
    extraArgs: ["--no-owner"],
  });
  assert.deepEqual(args.slice(3), [
    "--data-only",
    "--schema=app",
    "--exclude-table=app.audit_*",
    "--exclude-table-data=big",
    "--no-owner",
  ]);
});

test("name patterns follow psql's rules: case folding, wildcards, quotes, schema.name", () => {
  assert.deepEqual(parseNamePattern("Users"), { schema: undefined, name: "^(users)$" });
  assert.deepEqual(parseNamePattern('"Users"'), { schema: undefined, name: "^(Users)$" });
  assert.deepEqual(parseNamePattern("app.audit_*"), { schema: "^(app)$", name: "^(audit_.*)$" });
  assert.deepEqual(parseNamePattern('"a.b".t?'), { schema: "^(a\\.b)$", name: "^(t.)$" });
  assert.deepEqual(parseNamePattern("db.app.t"), { schema: "^(app)$", name: "^(t)$" });
});
