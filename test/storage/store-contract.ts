/**
 * The contract every Store must pass, local directory and S3 alike (src/storage/store.ts says what
 * it promises). A test file calls `describeStoreContract` with a fixture factory; each test gets a
 * fresh, empty location.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { NotFoundError, OperationError } from "../../src/domain/errors.js";
import type { ObjectInfo, Store } from "../../src/storage/store.js";

export interface StoreFixture {
  /**
   * A store at the fixture's fresh base location, or at `sub` below it (a sub-directory or
   * sub-prefix), so tests can check that stores at neighbouring locations do not see each other.
   * Multi-part uploads must use parts of at most 5 MiB, so that the 12 MiB test spans three parts.
   */
  open(sub?: string): Store;
  cleanup(): Promise<void>;
}

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A stream of `data` in 64 KiB chunks. */
export function bodyOf(data: Buffer): Readable {
  return Readable.from(
    (function* chunks() {
      for (let offset = 0; offset < data.length; offset += CHUNK) yield data.subarray(offset, offset + CHUNK);
    })(),
    { objectMode: false },
  );
}

/** A stream that yields `bytesBeforeError` random bytes and then fails. */
export function failingBody(bytesBeforeError: number, message = "the producer died"): Readable {
  return Readable.from(
    (async function* chunks() {
      for (let sent = 0; sent < bytesBeforeError; sent += CHUNK) {
        yield randomBytes(Math.min(CHUNK, bytesBeforeError - sent));
        await sleep(0);
      }
      throw new Error(message);
    })(),
    { objectMode: false },
  );
}

/** An endless stream that calls `onBytes` with the running total after each chunk. */
export function endlessBody(onBytes: (total: number) => void): Readable {
  return Readable.from(
    (async function* chunks() {
      for (let total = CHUNK; ; total += CHUNK) {
        yield randomBytes(CHUNK);
        onBytes(total);
        await sleep(1);
      }
    })(),
    { objectMode: false },
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function listAll(store: Store, prefix = ""): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) all.push(info);
  return all;
}

export async function listKeys(store: Store, prefix = ""): Promise<string[]> {
  return (await listAll(store, prefix)).map((info) => info.key);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** S3 lists keys by their UTF-8 bytes. */
function byteOrder(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function assertNothingVisible(store: Store, key: string): Promise<void> {
  assert.equal(await store.head(key), undefined, `${key} must not exist`);
  assert.deepEqual(await listKeys(store), [], "nothing may be listed");
  await assert.rejects(store.get(key), NotFoundError);
}

export function describeStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  const it = (title: string, body: (fixture: StoreFixture) => Promise<void>, timeout = 60_000): void => {
    test(title, { timeout }, async () => {
      const fixture = await makeFixture();
      try {
        await body(fixture);
      } finally {
        await fixture.cleanup();
      }
    });
  };

  describe(`${name}: the Store contract`, () => {
    it("check() accepts a usable location", async ({ open }) => {
      await open().check();
    });

    it("put then get returns the same bytes, and head reports size and time", async ({ open }) => {
      const store = open();
      const data = randomBytes(1000);
      const before = Date.now();
      assert.deepEqual(await store.put("a/b/small.bin", bodyOf(data)), { bytes: 1000 });
      assert.deepEqual(await readAll(await store.get("a/b/small.bin")), data);
      const info = await store.head("a/b/small.bin");
      assert.ok(info);
      assert.equal(info.key, "a/b/small.bin");
      assert.equal(info.size, 1000);
      assert.ok(Math.abs(info.lastModified.getTime() - before) < 60_000, "lastModified is about now");
    });

    it("a 12 MiB object (several upload parts) round-trips exactly", async ({ open }) => {
      const store = open();
      const data = randomBytes(12 * MIB);
      assert.deepEqual(
        await store.put("big/dump.age", bodyOf(data), { contentType: "application/octet-stream" }),
        {
          bytes: data.length,
        },
      );
      const back = await readAll(await store.get("big/dump.age"));
      assert.equal(back.length, data.length);
      assert.equal(sha256(back), sha256(data));
      assert.equal((await store.head("big/dump.age"))?.size, data.length);
    });

    it("an empty object round-trips", async ({ open }) => {
      const store = open();
      assert.deepEqual(await store.put("empty", bodyOf(Buffer.alloc(0))), { bytes: 0 });
      assert.equal((await readAll(await store.get("empty"))).length, 0);
      assert.equal((await store.head("empty"))?.size, 0);
    });

    it("a second put replaces the object", async ({ open }) => {
      const store = open();
      await store.put("k", bodyOf(Buffer.from("first version")));
      await store.put("k", bodyOf(Buffer.from("second")));
      assert.equal((await readAll(await store.get("k"))).toString(), "second");
      assert.deepEqual(await listKeys(store), ["k"]);
    });

    it("head of a missing key is undefined and get rejects with NotFoundError", async ({ open }) => {
      const store = open();
      await store.put("present", bodyOf(Buffer.from("x")));
      assert.equal(await store.head("missing"), undefined);
      assert.equal(await store.head("present/below"), undefined);
      await assert.rejects(store.get("missing"), NotFoundError);
      await assert.rejects(store.get("nested/missing"), NotFoundError);
    });

    it("list returns the keys under a prefix in key order", async ({ open }) => {
      const store = open();
      const keys = ["b", "a/c/d", "a-c", "a/b", "a0", "a.x", "ab/z", "a/c/a", "c/d/e/f"];
      for (const [index, key] of keys.entries()) await store.put(key, bodyOf(Buffer.alloc(index + 1)));
      const all = await listAll(store);
      assert.deepEqual(
        all.map((info) => info.key),
        byteOrder(keys),
      );
      for (const info of all) assert.equal(info.size, keys.indexOf(info.key) + 1);
      assert.deepEqual(await listKeys(store, "a/"), ["a/b", "a/c/a", "a/c/d"]);
      assert.deepEqual(await listKeys(store, "a"), byteOrder(keys.filter((key) => key.startsWith("a"))));
      assert.deepEqual(await listKeys(store, "a/c"), ["a/c/a", "a/c/d"]);
      assert.deepEqual(await listKeys(store, "c/d/e/f"), ["c/d/e/f"]);
      assert.deepEqual(await listKeys(store, "nothing/"), []);
    });

    it("list returns every one of many keys, in order, across pages", async ({ open }) => {
      const store = open();
      const keys = Array.from({ length: 30 }, (_, index) => `many/${String(index).padStart(3, "0")}.json`);
      for (const key of [...keys].reverse()) await store.put(key, bodyOf(Buffer.from(key)));
      assert.deepEqual(await listKeys(store, "many/"), keys);
    });

    it("deleteMany deletes the keys, counts missing keys as deleted and leaves the others", async ({
      open,
    }) => {
      const store = open();
      const keys = Array.from({ length: 9 }, (_, index) => `del/${index}/object`);
      for (const key of [...keys, "keep/object"]) await store.put(key, bodyOf(Buffer.from(key)));
      const asked = [...keys, "del/missing", "never/was/here"];
      const result = await store.deleteMany(asked);
      assert.deepEqual(result.failed, []);
      assert.deepEqual([...result.deleted].sort(), [...asked].sort());
      assert.deepEqual(await listKeys(store), ["keep/object"]);
      for (const key of keys) assert.equal(await store.head(key), undefined);
      assert.deepEqual(await store.deleteMany([]), { deleted: [], failed: [] });
    });

    it("a put whose body fails midway rejects and leaves nothing visible", async ({ open }) => {
      const store = open();
      await assert.rejects(store.put("broken/small", failingBody(100 * 1024)), (error: unknown) => {
        assert.ok(error instanceof OperationError);
        assert.match(error.message, /the producer died/);
        return true;
      });
      await assertNothingVisible(store, "broken/small");
      await assert.rejects(store.put("broken/big", failingBody(7 * MIB)), OperationError);
      await assertNothingVisible(store, "broken/big");
    });

    it("a put aborted through its signal rejects promptly and leaves nothing visible", async ({ open }) => {
      const store = open();
      const controller = new AbortController();
      let abortedAt = 0;
      const body = endlessBody((total) => {
        if (total >= 7 * MIB && !controller.signal.aborted) {
          abortedAt = Date.now();
          controller.abort(new Error("pg_dump failed"));
        }
      });
      await assert.rejects(
        store.put("aborted/dump", body, { signal: controller.signal }),
        (error: unknown) => {
          assert.ok(error instanceof OperationError);
          assert.match(error.message, /aborted/);
          return true;
        },
      );
      assert.ok(Date.now() - abortedAt < 10_000, "the put gave up within 10 s of the abort");
      assert.ok(body.destroyed, "the body was released");
      await assertNothingVisible(store, "aborted/dump");
    });

    it("a put with an already aborted signal rejects and stores nothing", async ({ open }) => {
      const store = open();
      await assert.rejects(
        store.put("never", bodyOf(Buffer.from("data")), { signal: AbortSignal.abort() }),
        OperationError,
      );
      await assertNothingVisible(store, "never");
    });

    it("stores at neighbouring locations do not see each other's keys", async ({ open }) => {
      const outer = open();
      const inner = open("p");
      const sibling = open("p2");
      await inner.put("x/object", bodyOf(Buffer.from("inner")));
      await sibling.put("y", bodyOf(Buffer.from("sibling")));
      assert.deepEqual(await listKeys(inner), ["x/object"]);
      assert.deepEqual(await listKeys(sibling), ["y"]);
      assert.equal(await sibling.head("x/object"), undefined);
      assert.equal(await inner.head("y"), undefined);
      assert.deepEqual(await listKeys(outer), ["p/x/object", "p2/y"]);
      assert.deepEqual(await listKeys(outer, "p/"), ["p/x/object"]);
      assert.equal((await readAll(await outer.get("p/x/object"))).toString(), "inner");
      assert.deepEqual((await sibling.deleteMany(["x/object"])).failed, []);
      assert.ok(await inner.head("x/object"), "a delete in the sibling did not touch the inner store");
    });

    it("keys that could escape the store's root are refused", async ({ open }) => {
      const store = open("inside");
      const bad = ["../outside", "a/../../b", "/etc/passwd", "a\\b", "a//b", "", "./a", "a/", "a/.partial-x"];
      for (const key of bad) {
        await assert.rejects(
          store.put(key, bodyOf(Buffer.from("x"))),
          OperationError,
          `put ${JSON.stringify(key)}`,
        );
        await assert.rejects(store.get(key), OperationError, `get ${JSON.stringify(key)}`);
        await assert.rejects(store.head(key), OperationError, `head ${JSON.stringify(key)}`);
        await assert.rejects(store.deleteMany([key]), OperationError, `delete ${JSON.stringify(key)}`);
      }
      await assert.rejects(listKeys(store, "../"), OperationError);
      assert.deepEqual(await listKeys(open()), []);
    });
  });
}
