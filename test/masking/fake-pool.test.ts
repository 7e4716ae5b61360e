/**
 * The masked rows computed by worker threads are the rows the main thread computes, byte for byte
 * and digest for digest; a worker that fails fails the batch; the COPY text of every strategy is
 * what COPY TO would print; and the worker bundle that dist/ ships computes what the sources do.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import {
  decodeField,
  encodeField,
  fakeOf,
  maskCopyRows,
  type RelationSpec,
  type RowsResult,
} from "../../src/masking/copy-rows.js";
import { FakePool, MIN_POOL_BYTES } from "../../src/masking/fake-pool.js";
import { looksFake, maskingKey } from "../../src/masking/fakes.js";

const KEY = maskingKey("fake-pool-test-key-0123456789");

/** Fields: id, email, name (cut to 12), phone, text, uuid, hash, jsonb. */
const SPEC: RelationSpec = {
  fields: 8,
  rules: [
    { field: 1, strategy: { kind: "email" }, label: 0 },
    { field: 2, strategy: { kind: "name", part: "full", unique: true }, label: 1, cut: 12 },
    { field: 3, strategy: { kind: "phone" }, label: 2 },
    { field: 4, strategy: { kind: "text" }, label: 3 },
    { field: 5, strategy: { kind: "uuid" }, label: 4 },
    { field: 6, strategy: { kind: "hash" }, label: 5 },
    {
      field: 7,
      paths: [
        { path: ["contact", "email"], strategy: { kind: "email" }, label: 6 },
        { path: ["plan"], strategy: { kind: "fixed", value: "basic" }, label: 7, fixed: '"basic"' },
      ],
    },
  ],
  uniques: [{ fields: [2], nullsNotDistinct: false }],
};

/** Rows as pg_dump writes them: COPY text, some NULL, some not ASCII, escapes in values. */
function rows(n: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const values = [
      String(i),
      i % 17 === 0 ? null : `person${i}@corp.example`,
      `Zoë Ångström ${i}`,
      i % 5 === 0 ? "no digits" : `+44 (0)20 ${String(i).padStart(8, "0")}`,
      `wrote in on ${i}:\tcall\nme at person${i}@corp.example \\ 🙂`,
      String(i),
      i % 3 === 0 ? "" : `token-${i}`,
      `{"plan": "pro", "contact": {"email": "person${i}@corp.example", "note": "a \\"quote\\""}}`,
    ];
    lines.push(values.map((v) => (v === null ? "\\N" : encodeField(v))).join("\t"));
  }
  return Buffer.from(lines.map((line) => `${line}\n`).join(""));
}

function same(a: RowsResult, b: RowsResult): void {
  assert.ok(a.output.equals(b.output));
  assert.deepEqual(a.sources, b.sources);
  assert.deepEqual(a.lookups, b.lookups);
  assert.deepEqual(a.uniques, b.uniques);
  assert.equal(a.rows, b.rows);
}

test("a batch masked by a worker thread equals the batch masked in the main thread", async () => {
  const batch = rows(3000);
  assert.ok(batch.length > MIN_POOL_BYTES);
  const expected = maskCopyRows(KEY, SPEC, batch);
  assert.equal(expected.rows, 3000);
  const pool = new FakePool(KEY, 3);
  try {
    const results = await Promise.all([pool.run(SPEC, batch), pool.run(SPEC, batch), pool.run(SPEC, batch)]);
    for (const result of results) same(result, expected);
    // Small batches stay in the main thread, with the same result.
    const small = rows(10);
    same(await pool.run(SPEC, small), maskCopyRows(KEY, SPEC, small));
  } finally {
    await pool.close();
  }
  const lines = expected.output.toString("utf8").split("\n");
  assert.equal(lines.length, 3001);
  const fields = lines[1]!
    .split("\t")
    .map((_, i, all) => decodeField(Buffer.from(all[i]!), 0, Buffer.byteLength(all[i]!)));
  assert.equal(fields[0], "1");
  assert.equal(fields[1], fakeOf(KEY, { kind: "email" }, "person1@corp.example"));
  assert.equal(
    fields[2],
    fakeOf(KEY, { kind: "name", part: "full", unique: true }, "Zoë Ångström 1").slice(0, 12),
  );
  assert.equal(
    fields[4],
    fakeOf(KEY, { kind: "text" }, "wrote in on 1:\tcall\nme at person1@corp.example \\ 🙂"),
  );
  assert.equal(
    fields[7],
    `{"plan": "basic", "contact": {"email": "${fakeOf(KEY, { kind: "email" }, "person1@corp.example")}", "note": "a \\"quote\\""}}`,
  );
  assert.equal(lines[0]!.split("\t")[1], "\\N", "NULL stays NULL");
  // Looked up: phones with digits (2,400), uuids and hashes (3,000 each), names that the cut left
  // unlike a fake; never emails (always shaped like a fake).
  const lookedUp = expected.lookups.length / 3;
  assert.ok(lookedUp >= 2400 + 3000 * 2 && lookedUp <= 2400 + 3000 * 3, String(lookedUp));
});

test("a worker that fails fails the batch, naming what failed and no value", async () => {
  const pool = new FakePool(KEY, 2);
  try {
    const broken: RelationSpec = { ...SPEC, fields: 9 };
    await assert.rejects(pool.run(broken, rows(3000)), (error: unknown) => {
      assert.match(
        String(error),
        /a masking worker thread failed: a row of 8 fields where the COPY statement names 9/,
      );
      assert.ok(!/corp\.example/.test(String(error)));
      return true;
    });
  } finally {
    await pool.close();
  }
});

test("COPY text is read and written as COPY reads and prints it", () => {
  const samples = ["", "plain", "tab\there", "new\nline", "back\\slash", "\r\b\f\v", "é🙂", "\\N"];
  for (const sample of samples) {
    const encoded = encodeField(sample);
    assert.equal(decodeField(Buffer.from(encoded), 0, Buffer.byteLength(encoded)), sample);
    assert.ok(!/[\t\n\r\b\f\v]/.test(encoded), `${JSON.stringify(sample)} has no raw control character`);
  }
  assert.equal(decodeField(Buffer.from("\\N"), 0, 2), null);
  // COPY FROM also reads octal and hex escapes, which COPY TO never writes.
  const octalAndHex = Buffer.from("\\101\\x42\\x4");
  assert.equal(decodeField(octalAndHex, 0, octalAndHex.length), "AB\u0004");
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
    const reply = new Promise<{ result: RowsResult }>((done, fail) => {
      worker.once("message", done);
      worker.once("error", fail);
    });
    worker.postMessage({ id: 1, spec: SPEC, input: batch });
    const got = (await reply).result;
    same({ ...got, output: Buffer.from(got.output) }, maskCopyRows(KEY, SPEC, batch));
  } finally {
    await worker.terminate();
  }
});

test("stopping the pool while a batch is computed fails that batch instead of leaving it waiting", async () => {
  const pool = new FakePool(KEY, 2);
  const running = assert.rejects(pool.run(SPEC, rows(30_000)), /the masking worker threads were stopped/);
  await pool.close();
  await running;
  await assert.rejects(pool.run(SPEC, rows(10)), /stopped/);
});

test("email, name and text fakes are always shaped like a fake, so they are never looked up", () => {
  const sources = ["", "x", "a b", "ann@corp.example", "Zoë Ångström", "\t\n\\", "🙂".repeat(40)];
  for (let i = 0; i < 3000; i++) sources.push(`source ${i} `.repeat(1 + (i % 9)).slice(0, 1 + (i % 97)));
  for (const source of sources) {
    const fakes = [
      fakeOf(KEY, { kind: "email" }, source),
      fakeOf(KEY, { kind: "text" }, source),
      ...(["first", "last", "full"] as const).flatMap((part) => [
        fakeOf(KEY, { kind: "name", part, unique: false }, source),
        fakeOf(KEY, { kind: "name", part, unique: true }, source),
      ]),
    ];
    for (const fake of fakes) assert.ok(fake === "" || looksFake(fake), JSON.stringify({ source, fake }));
  }
});
