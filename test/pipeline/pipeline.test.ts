import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable, Transform, Writable } from "node:stream";
import { describe, test } from "node:test";
import { generateIdentity, parseIdentities, parseRecipient } from "../../src/crypto/age/index.js";
import { PLAINTEXT, STORED, readStages, writeStages } from "../../src/pipeline/artifact-stages.js";
import { compose, runIntoConsumer, runPipeline } from "../../src/pipeline/pipeline.js";
import { digestStage, tapStage, transformStage } from "../../src/pipeline/stage.js";
import type { Digest } from "../../src/domain/manifest.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

describe("pipeline", () => {
  test("stages run in order and each yields its named result", async () => {
    const data = randomBytes(300_000);
    const upper = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        callback(null, Buffer.concat([chunk, chunk]));
      },
    });
    let chunksSeen = 0;
    const out = collect();
    const results = await runPipeline(
      Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      [
        digestStage("before"),
        tapStage("chunks", { update: () => chunksSeen++, finish: () => chunksSeen }),
        transformStage("double", upper),
        digestStage("after"),
      ],
      out.sink,
    );
    assert.deepEqual(results.get<Digest>("before"), { bytes: data.length, sha256: sha256(data) });
    assert.equal(results.get<Digest>("after").bytes, out.bytes().length);
    assert.equal(results.get<number>("chunks"), chunksSeen);
    assert.ok(chunksSeen >= 2);
    assert.equal(results.has("decrypt"), false);
    assert.throws(() => results.get("nothing"), /no stage named nothing/);
  });

  test("a tap's result is not available before its stream ended", () => {
    const stage = digestStage("early");
    assert.throws(() => stage.result(), /before the stream ended/);
  });

  test("two stages of one name are refused", () => {
    assert.throws(() => compose([digestStage("x"), digestStage("x")]), /two stages named x/);
  });

  test("a tap that throws fails the pipeline", async () => {
    await assert.rejects(
      runPipeline(
        Readable.from([Buffer.from("abc")]),
        [
          tapStage("parser", {
            update: () => {
              throw new Error("not an archive");
            },
            finish: () => 0,
          }),
        ],
        collect().sink,
      ),
      /not an archive/,
    );
  });

  test("a consumer that fails stops the chain, and a chain that fails stops the consumer", async () => {
    let sourceDestroyed = false;
    const source = new Readable({ read() {} });
    source.push(randomBytes(1000));
    source.on("close", () => (sourceDestroyed = true));
    await assert.rejects(
      runIntoConsumer(source, [digestStage("d")], async () => {
        throw new Error("store refused");
      }),
      /store refused/,
    );
    assert.ok(sourceDestroyed || source.destroyed);

    const failing = new Readable({
      read() {
        this.destroy(new Error("pg_dump died"));
      },
    });
    await assert.rejects(
      runIntoConsumer(failing, [digestStage("d")], async (output) => {
        for await (const _chunk of output) {
          // drain
        }
      }),
      /pg_dump died/,
    );
  });

  test("artifact stages: what the write side records is what the read side measures", async () => {
    const { identity, recipient } = generateIdentity();
    // Half random, half repetitive: compression must shrink it, and random bytes catch a stage that
    // drops or reorders data.
    const plaintext = Buffer.concat([randomBytes(100_000), Buffer.alloc(100_000, "1\tsome row\n")]);
    const cases = [[parseRecipient(recipient)], []].flatMap((recipients) =>
      ["none", "zstd:1", "gzip:6"].map((compression) => ({ recipients, compression })),
    );
    for (const { recipients, compression } of cases) {
      const { value: stored, results } = await runIntoConsumer(
        Readable.from([plaintext]),
        writeStages({ recipients, compression }),
        async (output) => {
          const chunks: Buffer[] = [];
          for await (const chunk of output) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        },
      );
      const written = { stored: results.get<Digest>(STORED), plaintext: results.get<Digest>(PLAINTEXT) };
      assert.deepEqual(written.plaintext, { bytes: plaintext.length, sha256: sha256(plaintext) });
      assert.deepEqual(written.stored, { bytes: stored.length, sha256: sha256(stored) });
      if (compression !== "none")
        assert.ok(stored.length < 150_000, `${compression}: ${stored.length} bytes`);
      const encryption = recipients.length > 0 ? "age-v1" : "none";

      const out = collect();
      const read = await runPipeline(
        Readable.from([stored]),
        readStages({ encryption, compression }, parseIdentities(identity)),
        out.sink,
      );
      assert.deepEqual(read.get<Digest>(STORED), written.stored);
      assert.deepEqual(read.get<Digest>(PLAINTEXT), written.plaintext);
      assert.ok(out.bytes().equals(plaintext));

      const shallow = await runPipeline(
        Readable.from([stored]),
        readStages({ encryption, compression }, undefined),
        collect().sink,
      );
      assert.deepEqual(shallow.get<Digest>(STORED), written.stored);
      assert.equal(shallow.has(PLAINTEXT), false);
    }
  });

  test("an unknown artifact compression is refused by the read side", () => {
    assert.throws(() => readStages({ encryption: "none", compression: "lz4:1" }, []), /compression "lz4:1"/);
  });

  test("an unknown compression is refused by the write side as a bad --compression", () => {
    assert.throws(() => writeStages({ recipients: [], compression: "brotli" }), /--compression "brotli"/);
  });
});
