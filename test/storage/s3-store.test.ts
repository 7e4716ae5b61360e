import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { InputError, OperationError } from "../../src/domain/errors.js";
import type { S3Options } from "../../src/storage/s3-store.js";
import {
  DEFAULT_MAX_OBJECT_BYTES,
  DEFAULT_PART_SIZE_BYTES,
  MAX_PARTS,
  MIN_PART_SIZE_BYTES,
  choosePartSize,
  uploadShape,
  createS3Store,
  describeS3Error,
} from "../../src/storage/s3-store.js";
import type { S3TestServer } from "../helpers/s3-server.js";
import { setEnv, startS3Server } from "../helpers/s3-server.js";
import { bodyOf, describeStoreContract, endlessBody, listKeys, readAll } from "./store-contract.js";

const MIB = 1024 * 1024;

let server: S3TestServer;
let restoreEnv: () => void;
let fixtures = 0;

/** Small parts, pages and batches, so every test exercises multipart, pagination and batching. */
function testOptions(overrides: S3Options = {}): S3Options {
  return {
    endpoint: server.endpoint,
    forcePathStyle: true,
    partSizeBytes: MIN_PART_SIZE_BYTES,
    listPageSize: 7,
    deleteBatchSize: 4,
    maxAttempts: 2,
    ...overrides,
  };
}

before(async () => {
  server = await startS3Server();
  restoreEnv = setEnv({ ...server.env, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined });
});

after(async () => {
  await server.stop();
  restoreEnv();
});

describeStoreContract("S3 (s3rver)", async () => {
  const base = `contract-${++fixtures}-${randomBytes(4).toString("hex")}`;
  return {
    open: (sub = "") =>
      createS3Store({ bucket: server.bucket, prefix: sub ? `${base}/${sub}` : base }, testOptions()),
    cleanup: async () => undefined,
  };
});

/** The requests received since `from`, for one store prefix. */
function requestsFor(
  prefix: string,
  from: number,
): { method: string; url: string; headers: Record<string, unknown> }[] {
  return server.requests.slice(from).filter((request) => decodeURIComponent(request.url).includes(prefix));
}

describe("S3 store", () => {
  test("its url names the bucket and the prefix without slashes around it", () => {
    assert.equal(createS3Store({ bucket: "b-1", prefix: "/a/b/" }, testOptions()).url, "s3://b-1/a/b");
    assert.equal(createS3Store({ bucket: "b-1", prefix: "" }, testOptions()).url, "s3://b-1");
  });

  test("a streamed put stores exactly the bytes given: no aws-chunked framing", async () => {
    const prefix = `exact-${randomBytes(4).toString("hex")}`;
    const store = createS3Store({ bucket: server.bucket, prefix }, testOptions());
    const from = server.requests.length;
    const small = randomBytes(300 * 1024);
    const large = randomBytes(11 * MIB + 17);
    await store.put("small", bodyOf(small));
    await store.put("large", bodyOf(large));
    assert.ok((await readAll(await store.get("small"))).equals(small));
    assert.ok((await readAll(await store.get("large"))).equals(large));
    const writes = requestsFor(prefix, from).filter((request) => request.method === "PUT");
    assert.ok(writes.length >= 4, "one PutObject and three UploadParts");
    for (const request of writes) {
      assert.doesNotMatch(String(request.headers["content-encoding"] ?? ""), /aws-chunked/);
      assert.equal(request.headers["x-amz-decoded-content-length"], undefined);
    }
  });

  test("server-side encryption is requested on PutObject and CreateMultipartUpload", async () => {
    const prefix = `sse-${randomBytes(4).toString("hex")}`;
    const store = createS3Store(
      { bucket: server.bucket, prefix },
      testOptions({ sse: "aws:kms", sseKmsKeyId: "alias/backups" }),
    );
    const from = server.requests.length;
    await store.put("small", bodyOf(randomBytes(1000)));
    await store.put("large", bodyOf(randomBytes(6 * MIB)));
    const requests = requestsFor(prefix, from);
    const put = requests.find((request) => request.method === "PUT" && request.url.includes("/small"));
    const create = requests.find((request) => request.method === "POST" && request.url.includes("uploads"));
    for (const request of [put, create]) {
      assert.ok(request);
      assert.equal(request.headers["x-amz-server-side-encryption"], "aws:kms");
      assert.equal(request.headers["x-amz-server-side-encryption-aws-kms-key-id"], "alias/backups");
    }
    assert.throws(
      () => createS3Store({ bucket: "b-1", prefix: "" }, { sse: "AES256", sseKmsKeyId: "k" }),
      InputError,
    );
  });

  test("by default only required checksums are sent; DeleteObjects carries Content-MD5", async () => {
    const prefix = `sums-${randomBytes(4).toString("hex")}`;
    const store = createS3Store({ bucket: server.bucket, prefix }, testOptions());
    const from = server.requests.length;
    await store.put("a", bodyOf(randomBytes(100)));
    await store.deleteMany(["a"]);
    const requests = server.requests.slice(from);
    const put = requests.find((request) => request.method === "PUT");
    assert.ok(put);
    assert.equal(Object.keys(put.headers).filter((name) => name.startsWith("x-amz-checksum-")).length, 0);
    const del = requests.find((request) => request.method === "POST" && request.url.includes("delete"));
    assert.ok(del);
    assert.match(String(del.headers["content-md5"]), /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(Object.keys(del.headers).filter((name) => name.startsWith("x-amz-checksum-")).length, 0);
    assert.equal(await store.head("a"), undefined);
  });

  test('checksums "when-supported" sends CRC32 checksums with each upload', async () => {
    const prefix = `crc-${randomBytes(4).toString("hex")}`;
    const store = createS3Store(
      { bucket: server.bucket, prefix },
      testOptions({ checksums: "when-supported" }),
    );
    const from = server.requests.length;
    const data = randomBytes(1000);
    await store.put("a", bodyOf(data));
    const put = requestsFor(prefix, from).find((request) => request.method === "PUT");
    assert.ok(put?.headers["x-amz-checksum-crc32"], "a CRC32 checksum header");
    assert.ok((await readAll(await store.get("a"))).equals(data));
  });

  test("check() with a wrong secret fails with an InputError about access", async () => {
    const restore = setEnv({ AWS_SECRET_ACCESS_KEY: "not-the-secret" });
    try {
      const store = createS3Store({ bucket: server.bucket, prefix: "x" }, testOptions());
      await assert.rejects(store.check(), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.equal(error.input, "storage");
        assert.match(
          error.message,
          /^--storage "s3:\/\/lifeboat-test\/x": access to s3:\/\/lifeboat-test denied \(HTTP 403 SignatureDoesNotMatch\)/,
        );
        assert.match(error.message, /check the credentials/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    } finally {
      restore();
    }
  });

  test("check() with an unknown access key fails with an InputError about access", async () => {
    const restore = setEnv({ AWS_ACCESS_KEY_ID: "AKIDUNKNOWN" });
    try {
      const store = createS3Store({ bucket: server.bucket, prefix: "" }, testOptions());
      await assert.rejects(store.check(), /denied/);
    } finally {
      restore();
    }
  });

  test("check() of a missing bucket fails with an InputError naming it", async () => {
    const store = createS3Store({ bucket: "no-such-bucket", prefix: "p" }, testOptions());
    await assert.rejects(store.check(), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.input, "storage");
      assert.equal(
        error.message,
        '--storage "s3://no-such-bucket/p": bucket "no-such-bucket" does not exist',
      );
      return true;
    });
  });

  test("check() of an endpoint nobody listens on fails with an InputError naming the endpoint", async () => {
    const dead = await startS3Server();
    await dead.stop();
    const store = createS3Store({ bucket: "b-1", prefix: "" }, testOptions({ endpoint: dead.endpoint }));
    await assert.rejects(store.check(), (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.match(
        error.message,
        new RegExp(`cannot reach the S3 endpoint ${dead.endpoint}: .*ECONNREFUSED`),
      );
      return true;
    });
  });

  test("a store dying mid-upload fails the put in bounded time, and nothing is left visible", async () => {
    const directory = mkdtempSync(join(tmpdir(), "lifeboat-s3-dying-"));
    try {
      const dying = await startS3Server({ directory });
      const location = { bucket: dying.bucket, prefix: "dying" };
      const store = createS3Store(location, testOptions({ endpoint: dying.endpoint, maxAttempts: 2 }));
      let stoppedAt = 0;
      const body = endlessBody((total) => {
        if (total >= 12 * MIB && stoppedAt === 0) {
          stoppedAt = Date.now();
          void dying.stop();
        }
      });
      await assert.rejects(store.put("dump.age", body), (error: unknown) => {
        assert.ok(error instanceof OperationError, String(error));
        assert.match(error.message, /^storing "dump.age" in s3:\/\/lifeboat-test\/dying failed: /);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
      assert.ok(stoppedAt > 0);
      assert.ok(Date.now() - stoppedAt < 15_000, "the put gave up within 15 s");
      assert.ok(body.destroyed, "the body was released");

      const revived = await startS3Server({ directory, port: dying.port });
      try {
        const after = createS3Store(location, testOptions({ endpoint: revived.endpoint }));
        assert.equal(await after.head("dump.age"), undefined);
        assert.deepEqual(await listKeys(after), []);
      } finally {
        await revived.stop();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test("a put reads the body no further ahead than the parts in flight (bounded memory)", async () => {
    const prefix = `bounded-${randomBytes(4).toString("hex")}`;
    const queueSize = 2;
    const partSize = MIN_PART_SIZE_BYTES;
    const store = createS3Store({ bucket: server.bucket, prefix }, testOptions({ queueSize }));
    const from = server.requests.length;
    const controller = new AbortController();
    let mostAhead = 0;
    const body = endlessBody((total) => {
      const partsSent = requestsFor(prefix, from).filter((request) =>
        request.url.includes("partNumber="),
      ).length;
      mostAhead = Math.max(mostAhead, total - partsSent * partSize);
      if (total >= 40 * MIB) controller.abort(new Error("enough"));
    });
    await assert.rejects(store.put("stream", body, { signal: controller.signal }), OperationError);
    assert.ok(
      mostAhead <= (queueSize + 1) * partSize + MIB,
      `read ${mostAhead} bytes ahead of the parts sent; at most (queue + 1) parts may be held`,
    );
  });

  test("operations against a stopped store reject with an OperationError, not a hang", async () => {
    const gone = await startS3Server();
    await gone.stop();
    const store = createS3Store({ bucket: "b-1", prefix: "" }, testOptions({ endpoint: gone.endpoint }));
    await assert.rejects(store.put("k", bodyOf(Buffer.from("x"))), OperationError);
    await assert.rejects(store.get("k"), OperationError);
    await assert.rejects(store.head("k"), OperationError);
    await assert.rejects(listKeys(store), OperationError);
    const result = await store.deleteMany(["k"]);
    assert.deepEqual(result.deleted, []);
    assert.equal(result.failed.length, 1);
    assert.match(result.failed[0]?.reason ?? "", /ECONNREFUSED/);
  });
});

describe("uploadShape", () => {
  const base = { partSizeBytes: DEFAULT_PART_SIZE_BYTES, queueSize: 4 };

  test("keeps the store's part size and queue when the hinted size fits", () => {
    assert.deepEqual(uploadShape(base, undefined), { partSize: 8 * MIB, queueSize: 4 });
    assert.deepEqual(uploadShape(base, 50 * 1024 * MIB), { partSize: 8 * MIB, queueSize: 4 });
  });

  test("grows parts for a large hint and shrinks the queue so memory stays near 64 MiB", () => {
    const oneTiB = 1024 ** 4;
    const shape = uploadShape(base, 2 * oneTiB);
    assert.ok(Math.ceil((2 * oneTiB) / shape.partSize) <= MAX_PARTS);
    assert.equal(shape.queueSize, 1);
    const medium = uploadShape(base, 150 * 1024 * MIB);
    assert.equal(medium.partSize, 16 * MIB);
    assert.equal(medium.queueSize, 4);
    const larger = uploadShape(base, 400 * 1024 * MIB);
    assert.equal(larger.partSize, 41 * MIB);
    assert.equal(larger.queueSize, 1);
  });
});

describe("choosePartSize", () => {
  test("defaults to 8 MiB parts, which allow objects of 78.1 GiB (10,000 x 8 MiB)", () => {
    assert.equal(choosePartSize(), DEFAULT_PART_SIZE_BYTES);
    assert.equal(DEFAULT_PART_SIZE_BYTES, 8 * MIB);
    assert.equal(DEFAULT_MAX_OBJECT_BYTES, 10_000 * 8 * MIB);
  });

  test("keeps the requested size when the largest object fits in 10,000 parts", () => {
    assert.equal(choosePartSize({ partSizeBytes: 16 * MIB }), 16 * MIB);
    assert.equal(choosePartSize({ maxObjectBytes: 50 * 1024 * MIB }), DEFAULT_PART_SIZE_BYTES);
    assert.equal(choosePartSize({ maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES }), DEFAULT_PART_SIZE_BYTES);
  });

  test("grows the part size in whole MiB so that the largest object never needs more than 10,000 parts", () => {
    for (const maxObjectBytes of [DEFAULT_MAX_OBJECT_BYTES + 1, 500 * 1024 * MIB, 1024 ** 4, 5 * 1024 ** 4]) {
      const partSize = choosePartSize({ maxObjectBytes });
      assert.ok(partSize > DEFAULT_PART_SIZE_BYTES);
      assert.equal(partSize % MIB, 0);
      assert.ok(Math.ceil(maxObjectBytes / partSize) <= MAX_PARTS, `${maxObjectBytes} in ${partSize}`);
    }
    assert.equal(choosePartSize({ maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES + 1 }), 9 * MIB);
    assert.equal(choosePartSize({ partSizeBytes: 5 * MIB, maxObjectBytes: 100 * 1024 * MIB }), 11 * MIB);
  });

  test("refuses part sizes and object sizes outside S3's limits", () => {
    assert.throws(() => choosePartSize({ partSizeBytes: 4 * MIB }), InputError);
    assert.throws(() => choosePartSize({ partSizeBytes: 6 * 1024 * MIB }), InputError);
    assert.throws(() => choosePartSize({ partSizeBytes: 5.5 * MIB + 0.5 }), InputError);
    assert.throws(() => choosePartSize({ maxObjectBytes: 6 * 1024 ** 4 }), InputError);
    assert.throws(() => choosePartSize({ maxObjectBytes: 0 }), InputError);
  });
});

describe("describeS3Error", () => {
  test("gives one line with the code and the HTTP status", () => {
    const error = Object.assign(new Error("Access Denied"), {
      name: "AccessDenied",
      $metadata: { httpStatusCode: 403 },
    });
    assert.equal(describeS3Error(error), "AccessDenied: Access Denied (HTTP 403)");
    const head = Object.assign(new Error("UnknownError"), {
      name: "Unknown",
      $metadata: { httpStatusCode: 403 },
    });
    assert.equal(describeS3Error(head), "HTTP 403");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    assert.equal(describeS3Error(refused), "connect ECONNREFUSED 127.0.0.1:9");
  });
});
