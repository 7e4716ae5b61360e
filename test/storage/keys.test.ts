import assert from "node:assert/strict";
import { test } from "node:test";
import { OperationError } from "../../src/domain/errors.js";
import { assertValidKey, assertValidPrefix, compareKeys } from "../../src/storage/keys.js";

test("keys are relative, /-separated, without empty, . or .. segments", () => {
  for (const key of ["a", "label/20260101T000000Z-abc/manifest.json", "a/.hidden", "a..b", "ü/ö"]) {
    assertValidKey(key);
  }
  for (const key of ["", "/a", "a/", "a//b", "../a", "a/..", "./a", "a\\b", "a\u0000b", "x/.partial-1"]) {
    assert.throws(() => assertValidKey(key), OperationError, JSON.stringify(key));
  }
});

test("prefixes may be empty, end with / or stop mid-segment", () => {
  for (const prefix of ["", "a/", "a/b", "label/2026", "a/.part"]) assertValidPrefix(prefix);
  for (const prefix of ["/", "/a", "../", "a/../", "a//", "a\\", "a/.."]) {
    assert.throws(() => assertValidPrefix(prefix), OperationError, JSON.stringify(prefix));
  }
});

test("keys compare by their UTF-8 bytes, the order S3 lists them in", () => {
  const keys = ["a/b", "a-c", "a0", "\u{1F600}", "\uFFFD", "B", "a"];
  assert.deepEqual([...keys].sort(compareKeys), ["B", "a", "a-c", "a/b", "a0", "\uFFFD", "\u{1F600}"]);
});
