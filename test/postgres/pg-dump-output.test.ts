import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, test } from "node:test";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import { createArchiveTap } from "../../src/postgres/archive/index.js";
import { startPgDump } from "../../src/postgres/pg-dump.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

// pg_dump's archive reaches the backup through a FIFO read in 1 MiB chunks, or through an ordinary
// pipe where no FIFO can be made: both must give the same archive, rows and digests.
describe("pg_dump output: FIFO and ordinary pipe", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster();
    await cluster.sql(
      "postgres",
      `CREATE TABLE t (id int PRIMARY KEY, body text);
       INSERT INTO t SELECT g, repeat(md5(g::text), 3) || E'\\n' || g FROM generate_series(1, 40000) g;`,
    );
  });
  after(() => cluster?.stop());

  const start = (table: string, ordinaryPipe: boolean) =>
    startPgDump({
      pgDump: join(cluster.binDir, "pg_dump"),
      args: ["--format=custom", "--compress=0", `--table=${table}`],
      url: parseDatabaseUrl(cluster.url()),
      env: process.env,
      ordinaryPipe,
    });

  async function dump(ordinaryPipe: boolean) {
    const running = start("public.t", ordinaryPipe);
    const tap = createArchiveTap();
    const lengths: number[] = [];
    let rest = 0;
    const hash = createHash("sha256");
    await pipeline(
      running.output,
      tap.stream,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lengths.push(chunk.length);
          hash.update(chunk);
          rest += chunk.length;
          callback();
        },
      }),
    );
    const summary = await tap.summary;
    return { summary, lengths, bytes: rest, sha256: hash.digest("hex") };
  }

  test("the same rows and table digest either way; the FIFO's chunks are 1 MiB", async () => {
    const fifo = await dump(false);
    const pipe = await dump(true);
    const table = (result: typeof fifo) => result.summary.tables.find((entry) => entry.table === "t");
    assert.equal(table(fifo)?.rows, 40000);
    assert.equal(table(pipe)?.rows, 40000);
    assert.equal(table(fifo)?.sha256, table(pipe)?.sha256);
    assert.ok(fifo.bytes > 2 * 1024 * 1024, "an archive of several MiB");
    assert.ok(
      fifo.lengths.slice(0, -1).every((length) => length === 1024 * 1024),
      "every FIFO chunk but the last is 1 MiB",
    );
    // The ordinary pipe still gathers pg_dump's few-KiB writes into larger chunks.
    assert.ok(
      pipe.lengths.length < pipe.bytes / 16384,
      `${pipe.lengths.length} chunks for ${pipe.bytes} bytes`,
    );
  });

  test("a pg_dump that fails is an error either way, never a short archive", async () => {
    for (const ordinaryPipe of [false, true]) {
      const running = start("public.no_such_table", ordinaryPipe);
      await assert.rejects(
        pipeline(running.output, new Writable({ write: (_chunk, _encoding, callback) => callback() })),
        /pg_dump exited with status 1: .*no matching tables/,
        `ordinaryPipe ${ordinaryPipe}`,
      );
    }
  });
});
