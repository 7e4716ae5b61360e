import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildPgDumpArgs,
  emptyScope,
  formatCompression,
  parseCompression,
} from "../../src/domain/dump-plan.js";
import { InputError } from "../../src/domain/errors.js";
import { parseNamePattern } from "../../src/domain/pg-pattern.js";

const inputError = (input: string) => (error: unknown) =>
  error instanceof InputError && error.input === input;

test("auto compression is gzip:1 before pg_dump 16 and zstd from 16 on", () => {
  assert.equal(formatCompression(parseCompression("auto", 15)), "gzip:1");
  assert.equal(formatCompression(parseCompression("auto", 17)), "zstd");
  assert.equal(formatCompression(parseCompression("gzip:9", 15)), "gzip:9");
  assert.equal(formatCompression(parseCompression("none", 15)), "none");
  assert.equal(formatCompression(parseCompression("lz4:3", 16)), "lz4:3");
});

test("compression that pg_dump cannot do is a bad input naming --compression", () => {
  assert.throws(() => parseCompression("zstd", 15), /needs pg_dump 16/);
  assert.throws(() => parseCompression("gzip:10", 15), inputError("compression"));
  assert.throws(() => parseCompression("brotli", 17), inputError("compression"));
});

test("pg_dump 15 gets a bare gzip level, newer ones method:level", () => {
  const scope = emptyScope();
  const args15 = buildPgDumpArgs({
    scope,
    compression: parseCompression("auto", 15),
    pgDumpMajor: 15,
    snapshot: "00000003-1",
    extraArgs: [],
  });
  assert.deepEqual(args15, ["--format=custom", "--compress=1", "--no-password", "--snapshot=00000003-1"]);
  const args17 = buildPgDumpArgs({
    scope,
    compression: parseCompression("none", 17),
    pgDumpMajor: 17,
    snapshot: undefined,
    extraArgs: [],
  });
  assert.ok(args17.includes("--compress=none"));
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
    compression: { method: "none" },
    pgDumpMajor: 15,
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
