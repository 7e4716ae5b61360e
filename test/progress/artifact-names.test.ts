/**
 * Artifact names say the bytes' real encoding: an unencrypted zstd dump is dump.pgdump.zst (zstd -d
 * opens it), gzip dump.pgdump.gz, uncompressed dump.pgdump, encrypted dump.age as before. A backup
 * an older Lifeboat wrote, with its unencrypted zstd dump named dump.pgdump, still lists, verifies
 * and restores, since readers go by the manifest's artifact names.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dumpFileName, isDumpKey } from "../../src/domain/layout.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-names-"));
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") });

describe("artifact names", () => {
  test("the name follows encryption and compression", () => {
    assert.equal(dumpFileName(true, "zstd:1"), "dump.age");
    assert.equal(dumpFileName(true, "none"), "dump.age");
    assert.equal(dumpFileName(false, "zstd:3"), "dump.pgdump.zst");
    assert.equal(dumpFileName(false, "gzip:6"), "dump.pgdump.gz");
    assert.equal(dumpFileName(false, "none"), "dump.pgdump");
    assert.throws(() => dumpFileName(false, "lz9:1"), /no file name for compression "lz9:1"/);
    for (const name of ["dump.age", "dump.pgdump", "dump.pgdump.zst", "dump.pgdump.gz"]) {
      assert.ok(isDumpKey(`prod/20261129T000000Z-abc123/${name}`), name);
    }
    assert.ok(!isDumpKey("prod/20261129T000000Z-abc123/roles.sql"));
    assert.ok(!isDumpKey("prod/20261129T000000Z-abc123/dump.pgdump.zst.tmp"));
  });

  test("an unencrypted zstd backup is dump.pgdump.zst, which zstd -d and pg_restore open; renamed as older Lifeboats wrote it, it still reads", async () => {
    const storage = join(work, "store");
    const made = await runCli(
      ["backup", "--storage", storage, "--label", "shop", "--encryption", "none", "--json"],
      {
        env: env(),
      },
    );
    assert.equal(made.code, 0, made.stderr);
    const backupId = made.json.backupId as string;
    const folder = join(storage, "shop", backupId);
    const manifestFile = join(folder, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
      artifacts: { name: string; kind: string; compression: string; encryption: string }[];
    };
    const dump = manifest.artifacts.find((artifact) => artifact.kind === "dump")!;
    assert.deepEqual(
      { name: dump.name, compression: dump.compression, encryption: dump.encryption },
      { name: "dump.pgdump.zst", compression: "zstd:1", encryption: "none" },
    );
    // Stock tools: zstd -d, then pg_restore reads the archive.
    const plain = join(work, "plain.pgdump");
    execFileSync("zstd", ["-d", "-q", "-o", plain, join(folder, "dump.pgdump.zst")]);
    const listing = execFileSync(join(cluster.binDir, "pg_restore"), ["--list", plain], { encoding: "utf8" });
    assert.match(listing, /TABLE DATA shop orders/);

    // What an older Lifeboat wrote: the same zstd bytes under dump.pgdump.
    renameSync(join(folder, "dump.pgdump.zst"), join(folder, "dump.pgdump"));
    dump.name = "dump.pgdump";
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const list = await runCli(["list", "--storage", storage, "--label", "shop", "--json"], { env: env() });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(backupId));
    const verify = await runCli(["verify", "--storage", storage, "--label", "shop", "--json"], {
      env: env(),
    });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.json.verified, true);
    assert.equal(verify.json.kind, "verify-deep");
    const restoreTest = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "shop",
        "--scratch-database-url",
        cluster.url("postgres"),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(restoreTest.code, 0, restoreTest.stderr);
    assert.equal(restoreTest.json.ok, true);
  });
});
