import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseManifest, type Manifest } from "../../src/domain/manifest.js";

// A real manifest (schema 1, normalised to schema 2 by the parser) to vary.
const base: Manifest = parseManifest(
  readFileSync("test/fixtures/v1/store/age/20261129T005621Z-fyfbug/manifest.json", "utf8"),
  "fixture",
);
const SHA = "a".repeat(64);

function parse(changes: Partial<Manifest>): Manifest {
  return parseManifest(JSON.stringify({ ...base, schemaVersion: 2, ...changes }), "m.json");
}

test("per-table sha256 and the large-object summary are read when present", () => {
  const manifest = parse({
    tables: [{ schema: "public", table: "t", rows: 3, sha256: SHA }],
    largeObjects: { count: 2, bytes: 10, sha256: SHA },
  });
  assert.equal(manifest.tables[0]!.sha256, SHA);
  assert.deepEqual(manifest.largeObjects, { count: 2, bytes: 10, sha256: SHA });
  // Older manifests have neither: still valid.
  assert.equal(parse({ tables: [{ schema: "public", table: "t", rows: 3 }] }).largeObjects, undefined);
});

test("a malformed per-table sha256 or large-object summary makes the manifest invalid, naming the field", () => {
  assert.throws(
    () => parse({ tables: [{ schema: "public", table: "t", rows: 3, sha256: "xyz" }] }),
    /tables\[\]\.sha256/,
  );
  assert.throws(() => parse({ largeObjects: { count: -1, bytes: 0, sha256: SHA } }), /largeObjects/);
  assert.throws(() => parse({ largeObjects: { count: 1, bytes: 5, sha256: "nope" } }), /largeObjects/);
});

test("the recorded time zones are zone names; anything else makes the manifest invalid, naming the field", () => {
  const dump = { ...base.dump!, timeZone: "UTC" };
  assert.equal(parse({ dump }).dump?.timeZone, "UTC");
  assert.equal(parse({ dump: { ...dump, timeZone: "America/St_Johns" } }).dump?.timeZone, "America/St_Johns");
  for (const bad of ["", "UTC'; DROP TABLE x; --", "a b", 7]) {
    assert.throws(() => parse({ dump: { ...dump, timeZone: bad as string } }), /dump\.timeZone/, String(bad));
  }
  const catalog = { version: 1, database: {}, timeZone: "UTC" } as unknown as Manifest["catalog"];
  assert.equal(parse({ catalog }).catalog?.timeZone, "UTC");
  assert.throws(() => parse({ catalog: { ...catalog!, timeZone: "$$ x" } }), /catalog\.timeZone/);
  // Older manifests record neither.
  assert.equal(parse({}).dump?.timeZone, undefined);
});
