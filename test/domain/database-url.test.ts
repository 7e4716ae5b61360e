import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDatabaseUrl, redactUrls } from "../../src/domain/database-url.js";
import { InputError } from "../../src/domain/errors.js";

test("the password is split off; what remains is safe to show", () => {
  const url = parseDatabaseUrl("postgresql://app:s%40cret@db.example.com:6432/shop?sslmode=require");
  assert.equal(url.password, "s@cret");
  assert.equal(url.host, "db.example.com");
  assert.equal(url.port, 6432);
  assert.equal(url.database, "shop");
  assert.equal(url.user, "app");
  assert.equal(url.withoutPassword, "postgresql://app@db.example.com:6432/shop?sslmode=require");
  assert.equal(url.redacted, "postgresql://db.example.com:6432/shop");
  for (const text of [url.withoutPassword, url.redacted]) assert.ok(!text.includes("cret"));
});

test("a password in the query string is split off too", () => {
  const url = parseDatabaseUrl("postgres://u@h/d?password=hunter2&sslmode=disable");
  assert.equal(url.password, "hunter2");
  assert.ok(!url.withoutPassword.includes("hunter2"));
  assert.equal(url.params.sslmode, "disable");
});

test("malformed URLs are bad input naming --database-url", () => {
  for (const text of [
    "",
    "not a url",
    "mysql://u:p@h/d",
    "postgresql://u:p@h:99999/d",
    "postgresql://u:p@h:5432/",
  ]) {
    assert.throws(
      () => parseDatabaseUrl(text),
      (error: unknown) =>
        error instanceof InputError && error.input === "database-url" && !error.message.includes("\n"),
      text,
    );
  }
});

test("redactUrls hides passwords inside other tools' messages", () => {
  assert.equal(
    redactUrls('connection to "postgresql://u:hunter2@h/d" failed'),
    'connection to "postgresql://u:***@h/d" failed',
  );
});

test("a remote host gets sslmode=require written into withoutPassword, so pg_dump encrypts too", () => {
  const url = parseDatabaseUrl("postgresql://app:pw@db.example.com/shop");
  assert.equal(url.sslmode, "require");
  assert.equal(url.withoutPassword, "postgresql://app@db.example.com/shop?sslmode=require");
  assert.equal(url.redacted, "postgresql://db.example.com/shop");
  assert.equal(url.params.sslmode, "require");
});

test("a local host keeps libpq's default (prefer) and its URL unchanged", () => {
  for (const host of ["localhost", "127.0.0.1:5433", "[::1]"]) {
    const url = parseDatabaseUrl(`postgresql://app:pw@${host}/shop`);
    assert.equal(url.sslmode, "prefer", host);
    assert.equal(url.withoutPassword, `postgresql://app@${host}/shop`, host);
  }
});

test("node-postgres's ssl=true becomes sslmode=require, since libpq refuses an ssl parameter", () => {
  const url = parseDatabaseUrl("postgresql://app:pw@localhost/shop?ssl=true&application_name=x");
  assert.equal(url.sslmode, "require");
  assert.equal(url.withoutPassword, "postgresql://app@localhost/shop?application_name=x&sslmode=require");
  assert.equal(url.params.ssl, undefined);
});
