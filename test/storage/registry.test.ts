import assert from "node:assert/strict";
import { test } from "node:test";
import { LocalStore } from "../../src/storage/local-store.js";
import { STORE_DRIVERS, formatLocation, openLocation, parseLocation } from "../../src/storage/registry.js";

test("each scheme belongs to exactly one driver, and each driver formats what it parses", () => {
  const schemes = STORE_DRIVERS.flatMap((driver) => driver.schemes);
  assert.deepEqual(schemes.sort(), ["file", "s3"]);
  assert.equal(new Set(schemes).size, schemes.length);
  for (const text of ["s3://bucket-1/a/b", "file:///var/backups"]) {
    assert.equal(formatLocation(parseLocation(text, { cwd: "/" })), text);
  }
});

test("a driver names the options it takes: S3's are its own, a directory takes none", () => {
  const byKind = new Map(STORE_DRIVERS.map((driver) => [driver.kind, driver]));
  assert.ok(byKind.get("s3")!.options.includes("s3-endpoint"));
  assert.deepEqual(byKind.get("file")!.options, []);
});

test("a scheme no driver claims is refused, listing every driver's forms", () => {
  assert.throws(() => parseLocation("gs://bucket", { cwd: "/", input: "storage" }), {
    message:
      '--storage "gs://bucket": expected s3://bucket/prefix, file:///absolute/path or a directory path',
  });
});

test("openLocation dispatches on the location's kind", async () => {
  const store = await openLocation({ kind: "file", path: "/srv/backups" });
  assert.ok(store instanceof LocalStore);
  assert.equal(store.url, "file:///srv/backups");
});
