/**
 * The S3 store against a real S3 server, Ceph's radosgw (test/helpers/rgw-server.ts): the Store
 * contract, as against the mock in s3-store.test.ts, and what the mock cannot show: that failed
 * and aborted puts leave no multipart upload behind, that a body the server rejects (BadDigest)
 * fails the put cleanly, object lock, and the lifecycle rule docs/prune.md recommends.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import {
  CreateMultipartUploadCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from "@aws-sdk/client-s3";
import { OperationError } from "../../src/domain/errors.js";
import { createS3Store, MIN_PART_SIZE_BYTES, type S3Options } from "../../src/storage/s3-store.js";
import { rgwSkip, useRgwServer } from "../helpers/rgw-server.js";
import {
  bodyOf,
  describeStoreContract,
  endlessBody,
  failingBody,
  listKeys,
  readAll,
} from "./store-contract.js";

const MIB = 1024 * 1024;
/** Lifecycle "days" of this many seconds, for the AbortIncompleteMultipartUpload rule. */
const LC_DAY_SECONDS = 5;

describe("S3 store on radosgw", { skip: rgwSkip() }, () => {
  const rgw = useRgwServer({ before, after }, { lcDebugIntervalSeconds: LC_DAY_SECONDS });
  let fixtures = 0;
  let s3: S3Client;

  before(() => {
    s3 = rgw.server().client();
  });
  after(() => s3?.destroy());

  test("started", (t) => {
    t.diagnostic(`radosgw started in ${rgw.server().startMs} ms`);
  });

  /** As in s3-store.test.ts: small parts, pages and batches exercise multipart, paging, batching. */
  function testOptions(overrides: S3Options = {}): S3Options {
    return {
      endpoint: rgw.server().endpoint,
      forcePathStyle: true,
      partSizeBytes: MIN_PART_SIZE_BYTES,
      listPageSize: 7,
      deleteBatchSize: 4,
      maxAttempts: 2,
      ...overrides,
    };
  }

  const uniquePrefix = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

  async function uploadsUnder(bucket: string, prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (listed.Uploads ?? []).map((upload) => `${upload.Key} ${upload.UploadId}`);
  }

  describeStoreContract("S3 (radosgw)", async () => {
    const base = `contract-${++fixtures}-${randomBytes(4).toString("hex")}`;
    return {
      open: (sub = "") =>
        createS3Store({ bucket: rgw.server().bucket, prefix: sub ? `${base}/${sub}` : base }, testOptions()),
      cleanup: async () => {
        // The contract's failed and aborted puts must not leave multipart uploads on a real server.
        assert.deepEqual(await uploadsUnder(rgw.server().bucket, `${base}/`), [], "no multipart upload left");
      },
    };
  });

  describe("failed puts leave no multipart upload", () => {
    test("a body that fails after two parts: the put rejects and the upload is aborted", async () => {
      const prefix = uniquePrefix("body-fails");
      const store = createS3Store({ bucket: rgw.server().bucket, prefix }, testOptions());
      await assert.rejects(store.put("dump.age", failingBody(12 * MIB)), /the producer died/);
      assert.deepEqual(await uploadsUnder(rgw.server().bucket, `${prefix}/`), []);
      assert.deepEqual(await listKeys(store), []);
    });

    test("a put aborted through its signal mid-upload aborts its multipart upload", async () => {
      const prefix = uniquePrefix("signal");
      const store = createS3Store({ bucket: rgw.server().bucket, prefix }, testOptions());
      const controller = new AbortController();
      let sawUpload = false;
      const body = endlessBody((total) => {
        if (total === 11 * MIB) {
          void uploadsUnder(rgw.server().bucket, `${prefix}/`).then((uploads) => {
            sawUpload = uploads.length === 1;
            controller.abort(new Error("SIGTERM"));
          });
        }
      });
      await assert.rejects(store.put("dump.age", body, { signal: controller.signal }), /aborted: SIGTERM/);
      assert.ok(sawUpload, "the multipart upload existed while the put ran");
      assert.deepEqual(await uploadsUnder(rgw.server().bucket, `${prefix}/`), []);
    });
  });

  describe("a checksum the server rejects", () => {
    /**
     * Rewrites the Content-MD5 of the matching requests on the wire (after the SDK computed its
     * own, before signing), as a body corrupted between the client and the store would look.
     */
    function corruptContentMd5(client: S3Client, commandName: string, partNumber?: number): void {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { PartNumber?: number };
          const request = args.request as { headers?: Record<string, string> };
          if (
            context.commandName === commandName &&
            request.headers &&
            (partNumber === undefined || input.PartNumber === partNumber)
          ) {
            request.headers["content-md5"] = createHash("md5").update("not the body").digest("base64");
          }
          return next(args);
        },
        { step: "build", priority: "low", name: "corruptContentMd5" },
      );
    }

    for (const [what, commandName, partNumber, size] of [
      ["a single PutObject", "PutObjectCommand", undefined, 100 * 1024],
      ["the second part of a multipart upload", "UploadPartCommand", 2, 12 * MIB],
    ] as const) {
      test(`BadDigest on ${what}: one clear line, and nothing left`, async () => {
        const prefix = uniquePrefix("bad-digest");
        const store = createS3Store({ bucket: rgw.server().bucket, prefix }, testOptions());
        corruptContentMd5(store.client, commandName, partNumber);
        await assert.rejects(store.put("dump.age", bodyOf(randomBytes(size))), (error: unknown) => {
          assert.ok(error instanceof OperationError, String(error));
          assert.match(
            error.message,
            new RegExp(
              `^storing "dump.age" in s3://${rgw.server().bucket}/${prefix} failed: BadDigest\\b.*\\(HTTP 400\\)$`,
            ),
          );
          assert.doesNotMatch(error.message, /\n/);
          return true;
        });
        assert.equal(await store.head("dump.age"), undefined);
        assert.deepEqual(await listKeys(store), []);
        assert.deepEqual(await uploadsUnder(rgw.server().bucket, `${prefix}/`), []);
      });
    }

    test("the right Content-MD5 is accepted (the rejection above is the digest, not the header)", async () => {
      const prefix = uniquePrefix("good-digest");
      const store = createS3Store({ bucket: rgw.server().bucket, prefix }, testOptions());
      store.client.middlewareStack.add(
        (next, context) => async (args) => {
          const request = args.request as { headers?: Record<string, string>; body?: unknown };
          if (
            context.commandName === "PutObjectCommand" &&
            request.headers &&
            Buffer.isBuffer(request.body)
          ) {
            request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
          }
          return next(args);
        },
        { step: "build", priority: "low", name: "rightContentMd5" },
      );
      const data = randomBytes(100 * 1024);
      await store.put("dump.age", bodyOf(data));
      assert.ok((await readAll(await store.get("dump.age"))).equals(data));
    });
  });

  describe("object lock", () => {
    test("a put with a retention is locked, and objectLocks() reports it; a bucket without lock refuses it", async () => {
      const bucket = `locked-${randomBytes(3).toString("hex")}`;
      await rgw.server().createBucket(bucket, { objectLock: true });
      const store = createS3Store({ bucket, prefix: "p" }, testOptions({ checksums: "when-supported" }));
      const until = new Date(Date.now() + 86_400_000);
      until.setMilliseconds(0);
      await store.put("small", bodyOf(randomBytes(1000)), { retention: { mode: "GOVERNANCE", until } });
      await store.put("large", bodyOf(randomBytes(11 * MIB)), { retention: { mode: "COMPLIANCE", until } });
      await store.put("free", bodyOf(randomBytes(10)));
      for (const [key, mode] of [
        ["small", "GOVERNANCE"],
        ["large", "COMPLIANCE"],
      ] as const) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `p/${key}` }));
        assert.equal(head.ObjectLockMode, mode, key);
        assert.equal(head.ObjectLockRetainUntilDate?.toISOString(), until.toISOString(), key);
        const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: `p/${key}` }));
        assert.equal(retention.Retention?.Mode, mode);
      }
      const locks = await store.objectLocks(["small", "large", "free", "missing"]);
      assert.deepEqual([...locks.keys()].sort(), ["large", "small"]);
      assert.equal(locks.get("large")?.mode, "COMPLIANCE");
      assert.equal(locks.get("small")?.retainUntil?.toISOString(), until.toISOString());

      const plain = createS3Store(
        { bucket: rgw.server().bucket, prefix: uniquePrefix("no-lock") },
        testOptions({ checksums: "when-supported" }),
      );
      // Single PutObject and multipart alike: nothing is stored unprotected while claiming a lock.
      for (const [key, size] of [
        ["small", 1000],
        ["large", 11 * MIB],
      ] as const) {
        await assert.rejects(
          plain.put(key, bodyOf(randomBytes(size)), { retention: { mode: "GOVERNANCE", until } }),
          OperationError,
          key,
        );
      }
      assert.deepEqual(await listKeys(plain), []);
      assert.deepEqual(await uploadsUnder(rgw.server().bucket, `${plain.prefix}/`), []);
      assert.deepEqual(
        await plain.objectLocks(["small"]),
        new Map(),
        "no lock asked of a bucket without lock",
      );
    });

    test("deleting a locked key through the store leaves the locked version in place", async () => {
      const bucket = `locked-${randomBytes(3).toString("hex")}`;
      await rgw.server().createBucket(bucket, { objectLock: true });
      const store = createS3Store({ bucket, prefix: "" }, testOptions({ checksums: "when-supported" }));
      const until = new Date(Date.now() + 86_400_000);
      await store.put("k", bodyOf(Buffer.from("locked")), { retention: { mode: "GOVERNANCE", until } });
      // Without a version id S3 adds a delete marker: the key disappears, the data does not. This is
      // why prune asks for locks before it deletes (see the prune tests on radosgw).
      const result = await store.deleteMany(["k"]);
      assert.deepEqual(result.failed, []);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      assert.equal(versions.Versions?.length, 1, "the locked version is still there");
      assert.equal(versions.DeleteMarkers?.length, 1);
    });
  });

  describe("the lifecycle rule of docs/prune.md", () => {
    function documentedRules(): LifecycleRule[] {
      const doc = readFileSync(new URL("../../docs/prune.md", import.meta.url), "utf8");
      const block = /<!-- lifecycle-rule:[^>]*-->\s*```json\n([\s\S]*?)\n```/.exec(doc);
      assert.ok(block, "docs/prune.md has the lifecycle-rule JSON block");
      return (JSON.parse(block[1]!) as { Rules: LifecycleRule[] }).Rules;
    }

    test(
      "is accepted, stored as written, and aborts an abandoned upload",
      { timeout: 180_000 },
      async (t) => {
        const bucket = `lifecycle-${randomBytes(3).toString("hex")}`;
        await rgw.server().createBucket(bucket, { objectLock: true });
        const rules = documentedRules();
        assert.ok(rules.some((rule) => rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation));
        await s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: { Rules: rules },
          }),
        );
        const stored = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
        const byId = new Map((stored.Rules ?? []).map((rule) => [rule.ID, rule]));
        for (const rule of rules) {
          const got = byId.get(rule.ID);
          assert.ok(got, `rule ${rule.ID} stored`);
          assert.equal(got.Status, rule.Status);
          assert.deepEqual(got.AbortIncompleteMultipartUpload, rule.AbortIncompleteMultipartUpload);
          assert.deepEqual(got.NoncurrentVersionExpiration, rule.NoncurrentVersionExpiration);
        }

        // A backup killed outright: its upload is started, a part sent, and never aborted.
        const key = "postgres/default/killed/dump.age";
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: 1,
            Body: randomBytes(MIN_PART_SIZE_BYTES),
          }),
        );
        assert.equal((await uploadsUnder(bucket, "postgres/")).length, 1);
        const startedAt = Date.now();
        while ((await uploadsUnder(bucket, "postgres/")).length > 0) {
          assert.ok(
            Date.now() - startedAt < 150_000,
            `the rule did not abort the upload within 150 s (a lifecycle day is ${LC_DAY_SECONDS} s)\n${rgw.server().logTail()}`,
          );
          await sleep(1000);
        }
        t.diagnostic(`the lifecycle rule aborted the upload after ${Date.now() - startedAt} ms`);
      },
    );
  });
});
