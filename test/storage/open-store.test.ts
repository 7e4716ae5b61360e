import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { LocalStore } from "../../src/storage/local-store.js";
import { openStore } from "../../src/storage/open-store.js";
import { S3Store } from "../../src/storage/s3-store.js";

test("openStore opens a local directory for a path or a file URL", async () => {
  const relative = await openStore("backups", { cwd: "/srv" });
  assert.ok(relative instanceof LocalStore);
  assert.equal(relative.url, "file:///srv/backups");
  const url = await openStore("file:///var/backups", { cwd: "/srv" });
  assert.ok(url instanceof LocalStore);
  assert.equal(url.root, "/var/backups");
});

test("openStore opens an S3 store for s3:// with the S3 options", async () => {
  const store = await openStore("s3://my-backups/prod/", {
    s3: {
      endpoint: "http://127.0.0.1:9",
      region: "auto",
      forcePathStyle: true,
      partSizeBytes: 8 * 1024 * 1024,
    },
  });
  assert.ok(store instanceof S3Store);
  assert.equal(store.url, "s3://my-backups/prod");
  assert.equal(store.bucket, "my-backups");
  assert.equal(store.prefix, "prod");
  assert.equal(store.partSizeBytes, 8 * 1024 * 1024);
  assert.equal(await store.client.config.region(), "auto");
  assert.equal(store.client.config.forcePathStyle, true);
  assert.equal(await store.client.config.requestChecksumCalculation(), "WHEN_REQUIRED");
  assert.equal(await store.client.config.responseChecksumValidation(), "WHEN_REQUIRED");
});

test("openStore refuses a malformed URL with an InputError before opening anything", async () => {
  await assert.rejects(openStore("gs://bucket"), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.equal(error.input, "storage");
    return true;
  });
});
