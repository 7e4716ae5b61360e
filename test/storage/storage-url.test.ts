import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { formatStorageUrl, parseStorageUrl, problemWithBucketName } from "../../src/storage/storage-url.js";

const cwd = "/work/project";
const parse = (text: string) => parseStorageUrl(text, { cwd });

function assertRefused(text: string, pattern?: RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => {
      assert.ok(error instanceof InputError, `${JSON.stringify(text)} must be refused`);
      assert.equal(error.input, "storage");
      assert.ok(error.message.startsWith(`--storage ${JSON.stringify(text)}: `), error.message);
      assert.match(
        error.message,
        /expected s3:\/\/bucket\/prefix, file:\/\/\/absolute\/path or a directory path$/,
      );
      assert.doesNotMatch(error.message, /\n/);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe("parseStorageUrl", () => {
  test("s3://bucket/prefix gives the bucket and the prefix without slashes around it", () => {
    assert.deepEqual(parse("s3://my-backups/prod/db"), {
      kind: "s3",
      bucket: "my-backups",
      prefix: "prod/db",
    });
    assert.deepEqual(parse("s3://my-backups/prod/db/"), {
      kind: "s3",
      bucket: "my-backups",
      prefix: "prod/db",
    });
    assert.deepEqual(parse("s3://my-backups//prod/"), { kind: "s3", bucket: "my-backups", prefix: "prod" });
    assert.deepEqual(parse("s3://my.backups.1"), { kind: "s3", bucket: "my.backups.1", prefix: "" });
    assert.deepEqual(parse("s3://my-backups/"), { kind: "s3", bucket: "my-backups", prefix: "" });
    assert.deepEqual(parse("S3://my-backups/a"), { kind: "s3", bucket: "my-backups", prefix: "a" });
    assert.deepEqual(parse("  s3://my-backups/a\n"), { kind: "s3", bucket: "my-backups", prefix: "a" });
  });

  test("file:///path gives an absolute local path", () => {
    assert.deepEqual(parse("file:///var/backups"), { kind: "file", path: "/var/backups" });
    assert.deepEqual(parse("file:///var/backups/"), { kind: "file", path: "/var/backups" });
    assert.deepEqual(parse("file:///var/my%20backups"), { kind: "file", path: "/var/my backups" });
    assert.deepEqual(parse("file://localhost/var/backups"), { kind: "file", path: "/var/backups" });
    assert.deepEqual(parse("file:///"), { kind: "file", path: "/" });
  });

  test("a plain path is a directory, relative ones resolved against the working directory", () => {
    assert.deepEqual(parse("/srv/backups"), { kind: "file", path: "/srv/backups" });
    assert.deepEqual(parse("backups"), { kind: "file", path: "/work/project/backups" });
    assert.deepEqual(parse("./backups/"), { kind: "file", path: "/work/project/backups" });
    assert.deepEqual(parse("../elsewhere"), { kind: "file", path: "/work/elsewhere" });
    assert.deepEqual(parse("."), { kind: "file", path: "/work/project" });
  });

  test("malformed values are refused with an InputError naming the value and the expected forms", () => {
    assertRefused("");
    assertRefused("   ", /empty/);
    assertRefused("s3://", /no bucket/);
    assertRefused("s3:///prefix", /no bucket/);
    assertRefused("s3:bucket/prefix");
    assertRefused("s3://My_Bucket/x", /bucket "My_Bucket"/);
    assertRefused("s3://ab", /3 to 63/);
    assertRefused("s3://192.168.1.1", /IP address/);
    assertRefused("gs://bucket");
    assertRefused("http://example.com/bucket");
    assertRefused("https://s3.amazonaws.com/bucket");
    assertRefused("file://server/share", /host/);
    assertRefused("file:///tmp/x?y=1", /query/);
  });

  test("the message has exactly the documented shape", () => {
    assert.throws(() => parse("gs://x"), {
      message: '--storage "gs://x": expected s3://bucket/prefix, file:///absolute/path or a directory path',
    });
  });

  test("the input named in errors can be changed", () => {
    assert.throws(
      () => parseStorageUrl("gs://x", { cwd, input: "target" }),
      (error: unknown) =>
        error instanceof InputError && error.input === "target" && error.message.startsWith("--target "),
    );
  });
});

describe("problemWithBucketName", () => {
  test("accepts S3 bucket names and explains what is wrong with others", () => {
    for (const name of ["abc", "my-bucket", "my.bucket", "a1b2c3", "x".repeat(63)]) {
      assert.equal(problemWithBucketName(name), undefined, name);
    }
    assert.match(problemWithBucketName("ab") ?? "", /3 to 63/);
    assert.match(problemWithBucketName("x".repeat(64)) ?? "", /3 to 63/);
    assert.match(problemWithBucketName("Upper") ?? "", /lowercase/);
    assert.match(problemWithBucketName("under_score") ?? "", /lowercase/);
    assert.match(problemWithBucketName("-abc") ?? "", /start and end/);
    assert.match(problemWithBucketName("abc.") ?? "", /start and end/);
    assert.match(problemWithBucketName("a..b") ?? "", /adjacent dots/);
    assert.match(problemWithBucketName("10.0.0.1") ?? "", /IP address/);
  });
});

describe("formatStorageUrl", () => {
  test("gives the canonical text of a location", () => {
    assert.equal(formatStorageUrl({ kind: "s3", bucket: "b-1", prefix: "a/b" }), "s3://b-1/a/b");
    assert.equal(formatStorageUrl({ kind: "s3", bucket: "b-1", prefix: "" }), "s3://b-1");
    assert.equal(formatStorageUrl({ kind: "file", path: "/var/my backups" }), "file:///var/my%20backups");
  });

  test("round-trips through parseStorageUrl", () => {
    for (const text of ["s3://b-1/a/b", "s3://b-1", "file:///var/my%20backups"]) {
      assert.equal(formatStorageUrl(parse(text)), text);
    }
  });
});
