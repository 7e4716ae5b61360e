/**
 * The fakes computed by worker threads are the fakes the main thread computes, byte for byte and
 * digest for digest, in the batch's order; a worker that fails fails the batch; and the worker
 * bundle that dist/ ships computes the same as the sources.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { fakeOf, maskBatch, PLAIN_FAKES, type BatchSpec, type Row } from "../../src/masking/batch.js";
import { FakePool, MIN_POOL_ROWS } from "../../src/masking/fake-pool.js";
import { maskingKey } from "../../src/masking/fakes.js";
import type { ValueStrategy } from "../../src/masking/rules.js";

const KEY = maskingKey("fake-pool-test-key-0123456789");

const SPEC: BatchSpec = {
  read: [
    { kind: "email" },
    { kind: "name", part: "full", unique: true },
    { kind: "phone" },
    { kind: "text" },
    { kind: "uuid" },
    { kind: "hash" },
  ],
  fakedAt: [0, 1, 2, 3, 4, 5],
  sizes: [undefined, 12, undefined, undefined, undefined, undefined],
  digests: true,
};

/** Rows as the cursor gives them: tableoid, ctid, then the values, some NULL, some not ASCII. */
function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => [
    "16384",
    `(${Math.floor(i / 40)},${(i % 40) + 1})`,
    i % 17 === 0 ? null : `person${i}@corp.example`,
    `Zoë Ångström ${i}`,
    i % 5 === 0 ? "no digits" : `+44 (0)20 ${String(i).padStart(8, "0")}`,
    `wrote in on ${i}:\tcall\nme at person${i}@corp.example \\ 🙂`,
    String(i),
    i % 3 === 0 ? "" : `token-${i}`,
  ]);
}

test("a batch computed by worker threads equals the batch computed in the main thread", async () => {
  const batch = rows(MIN_POOL_ROWS * 3 + 7);
  const expected = maskBatch(KEY, SPEC, batch);
  const pool = new FakePool(KEY, 3);
  try {
    const pooled = await pool.run(SPEC, batch);
    assert.equal(pooled.text, expected.text);
    assert.deepEqual(pooled.digests, expected.digests);
    assert.equal(pooled.text.split("\n").length, batch.length + 1);
    // The same pool serves the next table's batches, small ones in the main thread.
    const small = rows(10);
    assert.deepEqual(await pool.run(SPEC, small), maskBatch(KEY, SPEC, small));
  } finally {
    await pool.close();
  }
});

test("a worker that fails fails the batch, naming what failed and no value", async () => {
  const pool = new FakePool(KEY, 2);
  try {
    const broken: BatchSpec = {
      ...SPEC,
      read: [{ kind: "fixed", value: "x" }],
      fakedAt: [0],
      sizes: [undefined],
    };
    await assert.rejects(pool.run(broken, rows(MIN_POOL_ROWS * 2)), (error: unknown) => {
      assert.match(String(error), /a masking worker thread failed: no fake is computed for fixed/);
      assert.ok(!/corp\.example/.test(String(error)));
      return true;
    });
  } finally {
    await pool.close();
  }
});

test("the fakes written as they are never hold a character COPY's text format escapes", () => {
  const strategies: ValueStrategy[] = [
    { kind: "email" },
    { kind: "hash" },
    { kind: "uuid" },
    { kind: "text" },
    ...(["first", "last", "full"] as const).flatMap((part) => [
      { kind: "name" as const, part, unique: false },
      { kind: "name" as const, part, unique: true },
    ]),
  ];
  assert.deepEqual(new Set(strategies.map((s) => s.kind)), PLAIN_FAKES);
  const sources = rows(300).flatMap((row) => row.slice(2).filter((v): v is string => v !== null));
  sources.push("", "\\", "\t\n\r", "a\\b\tc\nd\re", " ".repeat(70), "é\t🙂\n".repeat(30));
  for (const strategy of strategies) {
    for (const source of sources) {
      const fake = fakeOf(KEY, strategy, source);
      assert.ok(/^[A-Za-z0-9 .@_-]*$/.test(fake), `${strategy.kind} of ${JSON.stringify(source)}`);
    }
  }
  // A phone fake keeps the source's separators: it is escaped.
  assert.equal(PLAIN_FAKES.has("phone"), false);
  assert.match(fakeOf(KEY, { kind: "phone" }, "+1\t555\\0100"), /\t.*\\/);
});

test("the worker bundle in dist/ computes what the sources compute", async () => {
  const bundle = resolve("dist/mask-worker/index.js");
  assert.ok(existsSync(bundle), "dist/mask-worker/index.js is built (npm run build)");
  const worker = new Worker(bundle, {
    workerData: { innerPad: new Uint8Array(KEY.innerPad), outerPad: new Uint8Array(KEY.outerPad) },
    execArgv: [],
  });
  try {
    const batch = rows(500);
    const reply = new Promise<{ text: string; digests: Int32Array }>((done, fail) => {
      worker.once("message", done);
      worker.once("error", fail);
    });
    worker.postMessage({ id: 1, spec: SPEC, rows: batch });
    const expected = maskBatch(KEY, SPEC, batch);
    const got = await reply;
    assert.equal(got.text, expected.text);
    assert.deepEqual(got.digests, expected.digests);
  } finally {
    await worker.terminate();
  }
});

test("stopping the pool while a batch is computed fails that batch instead of leaving it waiting", async () => {
  const pool = new FakePool(KEY, 2);
  const running = assert.rejects(
    pool.run(SPEC, rows(MIN_POOL_ROWS * 20)),
    /the masking worker threads were stopped/,
  );
  await pool.close();
  await running;
  await assert.rejects(pool.run(SPEC, rows(10)), /stopped/);
});
