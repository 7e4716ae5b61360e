import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { LocalStore, createLocalStore } from "../../src/storage/local-store.js";
import { bodyOf, describeStoreContract, failingBody, listKeys } from "./store-contract.js";

describeStoreContract("local directory", async () => {
  const base = mkdtempSync(join(tmpdir(), "lifeboat-local-store-"));
  return {
    open: (sub = "") => createLocalStore(join(base, sub)),
    cleanup: async () => rmSync(base, { recursive: true, force: true }),
  };
});

/** Every file under `dir`, relative, including the hidden ones. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe("local directory store", () => {
  let base: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "lifeboat-local-"));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test("its url is the file URL of its absolute root", () => {
    const store = createLocalStore(join(base, "with space"));
    assert.equal(store.url, pathToFileURL(join(base, "with space")).href);
    assert.throws(() => new LocalStore("relative/path"));
  });

  test("check() accepts a missing root without creating it; the first put creates it", async () => {
    const root = join(base, "new", "nested", "root");
    const store = createLocalStore(root);
    await store.check();
    assert.ok(!existsSync(join(base, "new")), "check() creates nothing");
    await store.put("a/b", bodyOf(Buffer.from("x")));
    assert.ok(existsSync(join(root, "a", "b")));
  });

  test("check() fails with an InputError naming the storage input when a file is in the way", async () => {
    const file = join(base, "a-file");
    writeFileSync(file, "not a directory");
    for (const root of [file, join(file, "below")]) {
      await assert.rejects(createLocalStore(root).check(), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.input, "storage");
        assert.match(
          error.message,
          /^--storage "file:\/\/.*": cannot use the directory .*: a file is in the way/,
        );
        return true;
      });
    }
  });

  test(
    "check() fails with an InputError when the directory is not writable",
    { skip: process.getuid?.() === 0 ? "root may write anywhere" : false },
    async () => {
      const root = join(base, "read-only");
      mkdirSync(root);
      chmodSync(root, 0o500);
      try {
        await assert.rejects(createLocalStore(root).check(), InputError);
      } finally {
        chmodSync(root, 0o700);
      }
    },
  );

  test("a failed put leaves no temporary file behind", async () => {
    const root = join(base, "failed-put");
    const store = createLocalStore(root);
    await store.put("kept", bodyOf(Buffer.from("kept")));
    await assert.rejects(store.put("dir/broken", failingBody(300 * 1024)), OperationError);
    const controller = new AbortController();
    const pending = store.put("dir/aborted", failingBody(10 * 1024 * 1024), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 5);
    await assert.rejects(pending, OperationError);
    assert.deepEqual(filesUnder(root), ["kept"]);
  });

  test("files being written (.partial-*) are never listed", async () => {
    const root = join(base, "in-flight");
    const store = createLocalStore(root);
    await store.put("label/id/manifest.json", bodyOf(Buffer.from("{}")));
    writeFileSync(join(root, "label", "id", ".partial-0123abcd"), "half a dump");
    assert.deepEqual(await listKeys(store), ["label/id/manifest.json"]);
    assert.equal(await store.head("label/id/manifest.json").then((info) => info?.size), 2);
  });

  test("deleteMany removes directories it empties, up to but not including the root", async () => {
    const root = join(base, "prune");
    const store = createLocalStore(root);
    for (const key of ["l/b1/dump.age", "l/b1/checks/1.json", "l/b2/manifest.json"]) {
      await store.put(key, bodyOf(Buffer.from(key)));
    }
    assert.deepEqual((await store.deleteMany(["l/b1/dump.age", "l/b1/checks/1.json"])).failed, []);
    assert.deepEqual(readdirSync(join(root, "l")), ["b2"]);
    assert.deepEqual((await store.deleteMany(["l/b2/manifest.json"])).failed, []);
    assert.ok(existsSync(root), "the root stays");
    assert.deepEqual(readdirSync(root), []);
  });

  test("deleteMany does not prune a directory that holds a put in flight", async () => {
    const root = join(base, "prune-in-flight");
    const store = createLocalStore(root);
    await store.put("l/b/manifest.json", bodyOf(Buffer.from("{}")));
    writeFileSync(join(root, "l", "b", ".partial-feed"), "");
    await store.deleteMany(["l/b/manifest.json"]);
    assert.deepEqual(readdirSync(join(root, "l", "b")), [".partial-feed"]);
  });

  test("list of a missing root yields nothing", async () => {
    assert.deepEqual(await listKeys(createLocalStore(join(base, "does-not-exist"))), []);
  });

  test("objects are written 0600 in directories 0700, whatever the umask", async () => {
    const root = join(base, "modes");
    const previous = process.umask(0o022);
    try {
      const store = createLocalStore(root);
      await store.put("label/id/dump.pgdump", bodyOf(Buffer.from("plain rows")));
      assert.equal(statSync(join(root, "label", "id", "dump.pgdump")).mode & 0o777, 0o600);
      for (const dir of [root, join(root, "label"), join(root, "label", "id")]) {
        assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
      }
    } finally {
      process.umask(previous);
    }
  });

  test("check() and put() under a path where no directory can be made fail at once (no recursive mkdir spin)", async () => {
    const store = createLocalStore("/proc/lifeboat-test/store");
    const started = performance.now();
    await assert.rejects(store.check("write"), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(
        error.message,
        /^--storage "file:\/\/\/proc\/lifeboat-test\/store": cannot use the directory/,
      );
      return true;
    });
    await assert.rejects(store.put("a/b", bodyOf(Buffer.from("x"))), OperationError);
    assert.ok(performance.now() - started < 5000, "fails fast");
  });

  test("check('read') needs no write access and creates nothing", async () => {
    const root = join(base, "read-check", "missing");
    await createLocalStore(root).check("read");
    assert.ok(!existsSync(join(base, "read-check")));
    const file = join(base, "read-check-file");
    writeFileSync(file, "x");
    await assert.rejects(createLocalStore(file).check("read"), InputError);
  });

  test("sweepLeftovers removes .partial-* files older than the cut-off, and nothing else", async () => {
    const root = join(base, "sweep");
    const store = createLocalStore(root);
    await store.put("l/b1/manifest.json", bodyOf(Buffer.from("{}")));
    const old = join(root, "l", "b1", ".partial-0ld");
    const young = join(root, "l", "b1", ".partial-y0ung");
    mkdirSync(join(root, "l", "b2"), { recursive: true });
    const alone = join(root, "l", "b2", ".partial-alone");
    for (const file of [old, young, alone]) writeFileSync(file, "half");
    const dayAgo = new Date(Date.now() - 86_400_000);
    utimesSync(old, dayAgo, dayAgo);
    utimesSync(alone, dayAgo, dayAgo);
    const removed = await store.sweepLeftovers("l/", new Date(Date.now() - 3_600_000));
    assert.deepEqual(removed.sort(), ["l/b1/.partial-0ld", "l/b2/.partial-alone"]);
    assert.deepEqual(filesUnder(root), ["l/b1/.partial-y0ung", "l/b1/manifest.json"]);
    assert.ok(!existsSync(join(root, "l", "b2")), "a folder left empty goes too");
  });
});
