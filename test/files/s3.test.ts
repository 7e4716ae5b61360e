import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import { InputError } from "../../src/domain/errors.js";
import { DirectoryTarget } from "../../src/files/directory-target.js";
import { INDEX_NAME, parseIndex } from "../../src/files/files-index.js";
import { openFilesSource, parseFilesSource } from "../../src/files/files-source.js";
import { restoreFiles } from "../../src/files/restore-files.js";
import { createFilesS3Client } from "../../src/files/s3-client.js";
import type { FilesS3Options } from "../../src/files/s3-client.js";
import { S3Source } from "../../src/files/s3-source.js";
import { S3Target } from "../../src/files/s3-target.js";
import type { S3TargetOptions } from "../../src/files/s3-target.js";
import { readTar } from "../../src/files/tar-reader.js";
import { writeTar } from "../../src/files/tar-writer.js";
import { verifyArchive } from "../../src/files/verify-archive.js";
import type { S3TestServer } from "../helpers/s3-server.js";
import { setEnv, startS3Server } from "../helpers/s3-server.js";
import { collect, pseudoRandom } from "./files-helpers.js";

let server: S3TestServer;
let restoreEnv: () => void;
let admin: S3Client;
const work = mkdtempSync(join(tmpdir(), "lifeboat-files-s3-"));

const LONG_KEY = `${"long-folder-".repeat(9)}/${"very-long-name-".repeat(9)}/${"z".repeat(80)} 😀.png`;
/** What the buckets hold: bucket -> key -> content. */
const OBJECTS: Record<string, Record<string, Buffer>> = {
  photos: {
    "ünïcödé/写真 😀.jpg": pseudoRandom(50_000, 1),
    [LONG_KEY]: pseudoRandom(3_000, 2),
    "empty.txt": Buffer.alloc(0),
    "nested/a/b/c.txt": Buffer.from("c\n"),
    "nested/.emptyFolderPlaceholder": Buffer.alloc(0),
    ...Object.fromEntries(
      Array.from({ length: 23 }, (_, i) => [`many/item-${i}.txt`, Buffer.from(`item ${i}`)]),
    ),
  },
  avatars: { "user-1/avatar.png": pseudoRandom(7_777, 3), "user-2/": Buffer.alloc(0) },
  "empty-bucket": {},
};

/** The source's own S3 options: the mock's endpoint, path-style, small pages to exercise paging. */
function sourceOptions(overrides: FilesS3Options = {}): FilesS3Options {
  return { endpoint: server.endpoint, forcePathStyle: true, listPageSize: 7, maxAttempts: 1, ...overrides };
}

function targetOptions(overrides: S3TargetOptions = {}): S3TargetOptions {
  return { ...sourceOptions(), ...overrides };
}

async function archiveOf(source: S3Source): Promise<Buffer> {
  const { stream, summary } = writeTar(source.entries(), { source: source.url });
  const bytes = await collect(stream);
  await summary;
  return bytes;
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const response = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

before(async () => {
  server = await startS3Server();
  restoreEnv = setEnv({ ...server.env, AWS_PROFILE: undefined, AWS_SESSION_TOKEN: undefined });
  admin = createFilesS3Client({ endpoint: server.endpoint, forcePathStyle: true });
  for (const [bucket, objects] of Object.entries(OBJECTS)) {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, body] of Object.entries(objects)) {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }
  }
});

after(async () => {
  admin.destroy();
  await server.stop();
  restoreEnv();
  rmSync(work, { recursive: true, force: true });
});

describe("S3 files source", () => {
  test("s3://BUCKET: every object, paged, read back byte for byte with its ETag in the index", async () => {
    const source = new S3Source({ bucket: "photos", prefix: "" }, sourceOptions());
    await source.check();
    const bytes = await archiveOf(source);
    source.destroy();
    const contents = new Map<string, Buffer>();
    for await (const entry of readTar(Readable.from([bytes])))
      contents.set(entry.path, await collect(entry.body));
    const index = parseIndex(contents.get(INDEX_NAME)!.toString("utf8"));
    contents.delete(INDEX_NAME);
    assert.deepEqual([...contents.keys()].sort(), Object.keys(OBJECTS.photos!).sort());
    for (const [key, body] of Object.entries(OBJECTS.photos!)) assert.deepEqual(contents.get(key), body, key);
    const record = index.records.find((line) => line.path === "empty.txt");
    assert.equal(record?.size, 0);
    assert.equal(record?.etag, `"${createHash("md5").update("").digest("hex")}"`);
    assert.equal(index.header.source, "s3://photos");
    const report = await verifyArchive(Readable.from([bytes]));
    assert.equal(report.ok, true);
    assert.equal(report.files, Object.keys(OBJECTS.photos!).length);
  });

  test("s3://BUCKET/PREFIX: only the keys under PREFIX/, stored relative to it", async () => {
    const source = new S3Source({ bucket: "photos", prefix: "nested" }, sourceOptions());
    const paths: string[] = [];
    for await (const entry of source.entries()) paths.push(entry.path);
    source.destroy();
    assert.deepEqual(paths, [".emptyFolderPlaceholder", "a/b/c.txt"]);
  });

  test("s3://*: every bucket the credentials list, one folder each, empty buckets kept", async () => {
    const spec = parseFilesSource("s3://*", { cwd: "/" });
    const source = openFilesSource(spec, sourceOptions());
    await source.check();
    const entries: { path: string; type: string }[] = [];
    for await (const entry of source.entries()) entries.push({ path: entry.path, type: entry.type });
    source.destroy();
    const folders = entries.filter((entry) => !entry.path.includes("/")).map((entry) => entry.path);
    for (const bucket of ["avatars", "empty-bucket", "photos"]) assert.ok(folders.includes(bucket), bucket);
    assert.deepEqual(
      entries.filter((entry) => entry.path.startsWith("photos/")).length,
      Object.keys(OBJECTS.photos!).length,
    );
    assert.ok(entries.some((entry) => entry.path === "avatars/user-1/avatar.png" && entry.type === "file"));
    // A console's folder marker is a folder, not an empty file named "user-2/".
    assert.ok(entries.some((entry) => entry.path === "avatars/user-2" && entry.type === "directory"));
  });

  test("the files credentials are its own: LIFEBOAT_FILES_AWS_* win over the store's AWS_* ones", async () => {
    const undo = setEnv({
      AWS_SECRET_ACCESS_KEY: "the-backup-store-secret",
      LIFEBOAT_FILES_AWS_ACCESS_KEY_ID: server.accessKeyId,
      LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    });
    try {
      const source = new S3Source({ bucket: "avatars", prefix: "" }, sourceOptions());
      await source.check();
      source.destroy();
      const wrong = new S3Source(
        { bucket: "avatars", prefix: "" },
        sourceOptions({
          env: {
            LIFEBOAT_FILES_AWS_ACCESS_KEY_ID: server.accessKeyId,
            LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY: "nope",
          },
        }),
      );
      await assert.rejects(wrong.check(), /access denied/);
      wrong.destroy();
    } finally {
      undo();
    }
  });
});

describe("bad sources fail before anything is written: InputError, exit 2, naming the input", () => {
  const cases: {
    name: string;
    source: () => { check(): Promise<void>; destroy(): void };
    message: RegExp;
  }[] = [
    {
      name: "an unreachable endpoint",
      source: () =>
        new S3Source(
          { bucket: "photos", prefix: "" },
          sourceOptions({ endpoint: "http://127.0.0.1:9" }),
          "s3://photos",
        ),
      message: /^--files "s3:\/\/photos": cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9/,
    },
    {
      name: "a missing bucket",
      source: () =>
        new S3Source({ bucket: "no-such-bucket", prefix: "x" }, sourceOptions(), "s3://no-such-bucket/x"),
      message: /^--files "s3:\/\/no-such-bucket\/x": bucket "no-such-bucket" does not exist/,
    },
    {
      name: "wrong credentials",
      source: () =>
        new S3Source(
          { bucket: "photos", prefix: "" },
          sourceOptions({ credentials: { accessKeyId: server.accessKeyId, secretAccessKey: "wrong" } }),
          "s3://photos",
        ),
      message: /^--files "s3:\/\/photos": access denied .*LIFEBOAT_FILES_AWS_ACCESS_KEY_ID/,
    },
    {
      name: "wrong credentials for s3://*",
      source: () =>
        openFilesSource(
          parseFilesSource("s3://*", { cwd: "/" }),
          sourceOptions({ credentials: { accessKeyId: "someone", secretAccessKey: "wrong" } }),
        ),
      message: /^--files "s3:\/\/\*": access denied/,
    },
    {
      name: "a directory that does not exist",
      source: () => openFilesSource(parseFilesSource("./no/such/dir", { cwd: work })),
      message: /^--files "\.\/no\/such\/dir": the directory does not exist$/,
    },
    {
      name: "a file where a directory is expected",
      source: () => {
        writeFileSync(join(work, "plain-file"), "x");
        return openFilesSource(parseFilesSource(join(work, "plain-file"), { cwd: "/" }));
      },
      message: /expected a directory or an s3:\/\/ URL, found a file/,
    },
  ];
  for (const { name, source, message } of cases) {
    test(name, async () => {
      const opened = source();
      try {
        await assert.rejects(opened.check(), (error: unknown) => {
          assert.ok(error instanceof InputError, String(error));
          assert.equal(error.exitCode, 2);
          assert.equal(error.input, "files");
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /S3RVER|wrong/);
          return true;
        });
      } finally {
        opened.destroy();
      }
    });
  }

  test("source syntax: s3://* takes no prefix, unknown schemes and empty values are refused", () => {
    assert.throws(() => parseFilesSource("s3://*/photos", { cwd: "/" }), /s3:\/\/\* means every bucket/);
    assert.throws(() => parseFilesSource("gs://bucket", { cwd: "/" }), InputError);
    assert.throws(() => parseFilesSource(" ", { cwd: "/" }), InputError);
    assert.deepEqual(parseFilesSource("exports/firestore", { cwd: "/work" }), {
      kind: "directory",
      path: "/work/exports/firestore",
      input: "exports/firestore",
    });
    assert.deepEqual(parseFilesSource("s3://photos/a/b/", { cwd: "/" }), {
      kind: "s3",
      bucket: "photos",
      prefix: "a/b",
      input: "s3://photos/a/b/",
    });
  });
});

describe("restore-files targets", () => {
  let archive: Buffer;
  before(async () => {
    const source = new S3Source({ bucket: "photos", prefix: "" }, sourceOptions());
    archive = await archiveOf(source);
    source.destroy();
  });

  test("into an empty bucket: every object byte for byte, then nothing overwritten unless asked", async () => {
    await admin.send(new CreateBucketCommand({ Bucket: "restored" }));
    const target = new S3Target({ bucket: "restored", prefix: "from-backup" }, targetOptions());
    const first = await restoreFiles(Readable.from([archive]), target);
    const count = Object.keys(OBJECTS.photos!).length;
    assert.deepEqual(
      {
        written: first.written,
        skipped: first.skippedExisting,
        failed: first.failed,
        damaged: first.damaged,
      },
      { written: count, skipped: 0, failed: 0, damaged: [] },
    );
    assert.equal(first.indexChecked, true);
    for (const [key, body] of Object.entries(OBJECTS.photos!)) {
      assert.deepEqual(await objectBytes("restored", `from-backup/${key}`), body, key);
    }
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: "restored", Prefix: "from-backup/" }));
    assert.equal(listed.KeyCount, count);

    await admin.send(
      new PutObjectCommand({ Bucket: "restored", Key: "from-backup/empty.txt", Body: "changed since" }),
    );
    const again = await restoreFiles(Readable.from([archive]), target);
    assert.deepEqual([again.written, again.skippedExisting, again.failed], [0, count, 0]);
    assert.equal(readAsText(await objectBytes("restored", "from-backup/empty.txt")), "changed since");

    const overwrite = new S3Target(
      { bucket: "restored", prefix: "from-backup" },
      targetOptions({ overwrite: true }),
    );
    const forced = await restoreFiles(Readable.from([archive]), overwrite);
    assert.deepEqual([forced.written, forced.skippedExisting], [count, 0]);
    assert.equal((await objectBytes("restored", "from-backup/empty.txt")).length, 0);
    target.destroy();
    overwrite.destroy();
  });

  test("into an empty directory: every file byte for byte, existing files kept", async () => {
    const out = join(work, "restored-dir");
    const first = await restoreFiles(Readable.from([archive]), new DirectoryTarget(out));
    assert.equal(first.failed, 0, JSON.stringify(first.failures));
    assert.equal(first.written, Object.keys(OBJECTS.photos!).length);
    for (const [key, body] of Object.entries(OBJECTS.photos!))
      assert.deepEqual(readFileSync(join(out, key)), body, key);
    writeFileSync(join(out, "empty.txt"), "mine");
    const again = await restoreFiles(Readable.from([archive]), new DirectoryTarget(out));
    assert.equal(again.written, 0);
    assert.equal(again.skippedExisting, Object.keys(OBJECTS.photos!).length);
    assert.equal(readFileSync(join(out, "empty.txt"), "utf8"), "mine");
  });

  test("a file over 64 MiB goes up as a multipart upload, byte for byte", async () => {
    const size = 65 * 1024 * 1024 + 123;
    const chunk = pseudoRandom(1024 * 1024, 9);
    const content = (): Readable =>
      Readable.from(
        (function* () {
          for (let sent = 0; sent < size; sent += chunk.length)
            yield chunk.subarray(0, Math.min(chunk.length, size - sent));
        })(),
      );
    const { stream } = writeTar([
      { path: "videos/big.mp4", type: "file", size, mtime: new Date(), open: async () => content() },
    ]);
    await admin.send(new CreateBucketCommand({ Bucket: "restored-big" }));
    const target = new S3Target({ bucket: "restored-big", prefix: "" }, targetOptions());
    const result = await restoreFiles(stream, target);
    target.destroy();
    assert.deepEqual([result.written, result.failed, result.damaged], [1, 0, []]);
    const stored = await admin.send(new GetObjectCommand({ Bucket: "restored-big", Key: "videos/big.mp4" }));
    const hash = createHash("sha256");
    for await (const part of stored.Body as Readable) hash.update(part as Buffer);
    const expected = createHash("sha256");
    for await (const part of content()) expected.update(part as Buffer);
    assert.equal(hash.digest("hex"), expected.digest("hex"));
    assert.equal(stored.ContentLength, size);
    assert.ok(
      server.requests.some((request) => /^\/restored-big\/videos\/big\.mp4\?.*uploadId=/.test(request.url)),
    );
  });

  test("a missing target bucket is an InputError naming the target", async () => {
    const target = new S3Target({ bucket: "not-there", prefix: "" }, targetOptions({ input: "to" }));
    await assert.rejects(
      target.check(),
      (error: unknown) => error instanceof InputError && /^--to "s3:\/\/not-there"/.test(error.message),
    );
    target.destroy();
  });
});

function readAsText(bytes: Buffer): string {
  return bytes.toString("utf8");
}
