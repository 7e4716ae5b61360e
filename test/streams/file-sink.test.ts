import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, test } from "node:test";
import { createFileSink } from "../../src/streams/file-sink.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-file-sink-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("the file sink writes every chunk, private, and reports each one after it is in the file", async () => {
  const chunks = [Buffer.alloc(300_000, 1), Buffer.alloc(0), Buffer.from("middle"), Buffer.alloc(70_000, 2)];
  const file = join(work, "out");
  writeFileSync(file, "older and longer content ".repeat(100_000));
  const reported: { chunk: Buffer; sizeThen: number }[] = [];
  await pipeline(
    Readable.from(chunks),
    createFileSink(file, {
      mode: 0o600,
      afterWrite: (chunk) => reported.push({ chunk, sizeThen: statSync(file).size }),
    }),
  );
  const expected = Buffer.concat(chunks);
  assert.ok(readFileSync(file).equals(expected), "truncated, then written in order");
  const nonEmpty = chunks.filter((chunk) => chunk.length > 0);
  assert.deepEqual(
    reported.filter(({ chunk }) => chunk.length > 0).map(({ chunk }) => chunk),
    nonEmpty,
  );
  let written = 0;
  for (const { chunk, sizeThen } of reported) {
    written += chunk.length;
    assert.equal(sizeThen, written, "reported once its bytes are in the file, before the next chunk");
  }
  const created = join(work, "created");
  await pipeline(Readable.from([Buffer.from("x")]), createFileSink(created, { mode: 0o600 }));
  assert.equal(statSync(created).mode & 0o777, 0o600);
});

test("the file sink fails the pipeline when the file cannot be opened, reporting no chunk", async () => {
  const reported: Buffer[] = [];
  await assert.rejects(
    pipeline(
      Readable.from([Buffer.from("data")]),
      createFileSink(join(work, "missing", "out"), {
        mode: 0o600,
        afterWrite: (chunk) => reported.push(chunk),
      }),
    ),
    { code: "ENOENT" },
  );
  assert.deepEqual(reported, []);
});

test("destroyed while a write is in flight, the file sink closes the file only once that write returned", async () => {
  const events: string[] = [];
  const sink = createFileSink(join(work, "big"), {
    mode: 0o600,
    afterWrite: (chunk) => events.push(`written ${chunk.length}`),
  });
  const big = Buffer.alloc(256 * 1024 * 1024, 7);
  sink.write(big, () => events.push("write callback"));
  sink.on("error", () => events.push("error"));
  const closed = new Promise((resolve) => sink.once("close", resolve));
  // The write goes to the thread pool once the file is open (construct): destroy while it runs.
  setTimeout(() => sink.destroy(new Error("the pipeline failed")), 20);
  await closed;
  events.push("close");
  assert.ok(events.indexOf(`written ${big.length}`) >= 0, events.join(", "));
  assert.ok(events.indexOf(`written ${big.length}`) < events.indexOf("close"), events.join(", "));
  assert.equal(sink.bytesWritten, big.length);
});
