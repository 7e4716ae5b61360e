/**
 * The CLI against a real S3 server, Ceph's radosgw (test/helpers/rgw-server.ts), with a real
 * PostgreSQL cluster: backup, verify, restore-test, restore and prune end to end; backups under
 * object lock and prune keeping them; and a backup stopped by SIGTERM or SIGINT in the middle of
 * its upload, which must leave no multipart upload behind. The mock cannot show the last two: it
 * has no object lock and no ListMultipartUploads.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import {
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { dumpArtifact, type Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { rgwSkip, useRgwServer } from "../helpers/rgw-server.js";

const REPO = new URL("../..", import.meta.url).pathname;
const LOCKED_BUCKET = "lifeboat-locked";

describe("the CLI against radosgw", { skip: rgwSkip() }, () => {
  // The locked ~55 MB backup and the garbage of aborted uploads stay in the OSD's RAM.
  const rgw = useRgwServer({ before, after }, { memstoreBytes: 2048 * 1024 * 1024 });
  let cluster: Cluster;
  let work: string;
  let identityFile: string;
  let recipient: string;
  let s3: S3Client;

  before(
    async () => {
      cluster = await startCluster();
      await createShop(cluster, "shop");
      await cluster.createDatabase("big");
      // ~55 MB of incompressible rows, dumped uncompressed: a multipart upload of several parts.
      await cluster.sql(
        "big",
        "CREATE TABLE blob AS SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 500000) i",
      );
      work = mkdtempSync(join(tmpdir(), "lifeboat-rgw-cli-"));
      identityFile = join(work, "key.txt");
      execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
      recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
      s3 = rgw.server().client();
      await rgw.server().createBucket(LOCKED_BUCKET, { objectLock: true });
    },
    { timeout: 240_000 },
  );

  after(async () => {
    s3?.destroy();
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const env = (database = "shop") => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url(database) });

  async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  }

  async function uploadsUnder(bucket: string, prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (listed.Uploads ?? []).map((upload) => upload.Key!);
  }

  async function backup(storage: string, database: string, extra: string[] = []): Promise<string> {
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--label",
        "app",
        "--recipient",
        recipient,
        ...extra,
        ...rgw.flags(),
        "--json",
      ],
      { env: env(database) },
    );
    assert.equal(run.code, 0, run.stderr);
    return run.json.backupId as string;
  }

  test(
    "backup, verify (shallow and deep), restore-test, restore and prune, end to end",
    { timeout: 240_000 },
    async () => {
      const storage = `s3://${rgw.server().bucket}/e2e`;
      const older = await backup(storage, "shop");
      // Backup ids have whole seconds: two backups in one second would not say which is newer.
      await sleep(1100);
      const newer = await backup(storage, "shop");
      assert.deepEqual(await keysUnder(rgw.server().bucket, `e2e/app/${older}/`), [
        `e2e/app/${older}/dump.age`,
        `e2e/app/${older}/manifest.json`,
      ]);
      const cli = (args: string[]) =>
        runCli([...args, "--storage", storage, "--label", "app", ...rgw.flags()], { env: env() });

      const shallow = await cli(["verify", "--json"]);
      assert.equal(shallow.code, 0, shallow.stderr);
      assert.equal(shallow.json.verified, true);
      assert.equal(shallow.json.backupId, newer);
      const deep = await cli(["verify", "--backup", newer, "--identity-file", identityFile, "--json"]);
      assert.equal(deep.code, 0, deep.stderr);
      assert.equal(deep.json.verified, true);

      const restoreTest = await cli([
        "restore-test",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        cluster.url("postgres"),
        "--json",
      ]);
      assert.equal(restoreTest.code, 0, restoreTest.stderr + restoreTest.stdout);
      assert.equal(restoreTest.json.passed, true);
      assert.deepEqual(restoreTest.json.mismatches, []);

      await cluster.createDatabase("restored");
      const restore = await cli([
        "restore",
        "--backup",
        newer,
        "--identity-file",
        identityFile,
        "--target-database-url",
        cluster.url("restored"),
        "--confirm",
        "restored",
        "--json",
      ]);
      assert.equal(restore.code, 0, restore.stderr + restore.stdout);
      assert.equal(restore.json.backupId, newer);
      assert.deepEqual(await countAllRows(cluster, "restored"), await countAllRows(cluster, "shop"));

      const prune = await cli(["prune", "--keep-last", "1", "--json"]);
      assert.equal(prune.code, 0, prune.stderr);
      const decisions = prune.json.decisions as { backupId: string; action: string }[];
      assert.deepEqual(
        decisions.map((decision) => [decision.backupId, decision.action]),
        [
          [newer, "keep"],
          [older, "delete"],
        ],
      );
      assert.deepEqual(await keysUnder(rgw.server().bucket, `e2e/app/${older}/`), []);
      const kept = await keysUnder(rgw.server().bucket, `e2e/app/${newer}/`);
      assert.ok(
        kept.includes(`e2e/app/${newer}/dump.age`) && kept.includes(`e2e/app/${newer}/manifest.json`),
      );
      assert.ok(
        kept.some((key) => /\/checks\/.*restore-test-pass\.json$/.test(key)),
        kept.join(", "),
      );
    },
  );

  test(
    "object lock: a backup with GOVERNANCE for 1 day is locked on the server; prune keeps it and says why",
    { timeout: 240_000 },
    async () => {
      const storage = `s3://${LOCKED_BUCKET}/db`;
      // The big database: its dump is a multipart upload, which radosgw stores unlocked unless the
      // store sets the retention itself (src/storage/s3-store.ts, ensureRetention).
      const locked = await backup(storage, "big", [
        "--compression",
        "none",
        "--object-lock-mode",
        "GOVERNANCE",
        "--object-lock-days",
        "1",
      ]);
      const manifestKey = `db/app/${locked}/manifest.json`;
      const got = await s3.send(new GetObjectCommand({ Bucket: LOCKED_BUCKET, Key: manifestKey }));
      const manifest = JSON.parse(await got.Body!.transformToString()) as Manifest;
      assert.ok(dumpArtifact(manifest).stored.bytes > 32 * 1024 * 1024, "the dump spans several parts");
      const retainUntil = manifest.objectLock!.retainUntil;
      assert.equal(Date.parse(retainUntil) - Date.parse(manifest.startedAt), 86_400_000);
      for (const key of [`db/app/${locked}/dump.age`, manifestKey]) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: LOCKED_BUCKET, Key: key }));
        assert.equal(head.ObjectLockMode, "GOVERNANCE", key);
        assert.ok(
          Math.abs(head.ObjectLockRetainUntilDate!.getTime() - Date.parse(retainUntil)) < 1000,
          `${key} retained until ${head.ObjectLockRetainUntilDate?.toISOString()}, expected ${retainUntil}`,
        );
        const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED_BUCKET, Key: key }));
        assert.equal(retention.Retention?.Mode, "GOVERNANCE", key);
      }
      const unlocked = await backup(storage, "shop");

      const cli = (args: string[]) =>
        runCli(
          [
            "prune",
            "--storage",
            storage,
            "--label",
            "app",
            "--keep-last",
            "1",
            "--min-verified",
            "0",
            ...args,
            ...rgw.flags(),
          ],
          {
            env: env(),
          },
        );
      const dryRun = await cli(["--dry-run"]);
      assert.equal(dryRun.code, 0, dryRun.stderr);
      const line = dryRun.stdout.split("\n").find((text) => text.includes(locked));
      assert.match(line ?? "", /keep/i);
      assert.match(line ?? "", /object lock \(GOVERNANCE\) until \d{4}-/);

      const prune = await cli(["--json"]);
      assert.equal(prune.code, 0, prune.stderr);
      const decisions = prune.json.decisions as { backupId: string; action: string; reasons: string[] }[];
      const lockedDecision = decisions.find((decision) => decision.backupId === locked);
      assert.equal(lockedDecision?.action, "keep");
      assert.deepEqual(lockedDecision?.reasons, [
        `object lock (GOVERNANCE) until ${new Date(retainUntil).toISOString()}`,
      ]);
      assert.equal(decisions.find((decision) => decision.backupId === unlocked)?.action, "keep");
      assert.deepEqual(prune.json.failed, []);
      // Prune sent no delete for it: a delete without a version id would have added a delete marker.
      const versions = await s3.send(
        new ListObjectVersionsCommand({ Bucket: LOCKED_BUCKET, Prefix: `db/app/${locked}/` }),
      );
      assert.deepEqual(versions.DeleteMarkers ?? [], []);
      assert.deepEqual(await keysUnder(LOCKED_BUCKET, `db/app/${locked}/`), [
        `db/app/${locked}/dump.age`,
        manifestKey,
      ]);
    },
  );

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(
      `${signal} in the middle of the upload: exit non-zero, nothing stored, no multipart upload left`,
      { timeout: 180_000 },
      async (t) => {
        const prefix = `killed-${signal.toLowerCase()}`;
        const child = spawn(
          process.execPath,
          [
            "--import",
            "tsx",
            "src/cli/index.ts",
            "backup",
            "--storage",
            `s3://${rgw.server().bucket}/${prefix}`,
            "--recipient",
            recipient,
            "--compression",
            "none",
            ...rgw.flags(),
          ],
          { cwd: REPO, env: { ...env("big"), ...rgw.server().env }, stdio: ["ignore", "pipe", "pipe"] },
        );
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.resume();
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        try {
          const deadline = Date.now() + 120_000;
          while ((await uploadsUnder(rgw.server().bucket, `${prefix}/`)).length === 0) {
            assert.ok(child.exitCode === null, `the backup ended before its upload was seen: ${stderr}`);
            assert.ok(Date.now() < deadline, "the upload never started");
            await sleep(50);
          }
          child.kill(signal);
          const giveUp = new AbortController();
          const code = await Promise.race([
            exited,
            sleep(60_000, "timeout" as const, { signal: giveUp.signal }).catch(() => undefined),
          ]);
          giveUp.abort();
          assert.notEqual(code, "timeout", `the backup did not exit within 60 s of ${signal}`);
          assert.notEqual(code, 0, stderr);
          t.diagnostic(`the backup exited with code ${code} after ${signal}`);
          assert.match(stderr, new RegExp(`received ${signal}`));
        } finally {
          child.kill("SIGKILL");
        }
        assert.deepEqual(
          await uploadsUnder(rgw.server().bucket, `${prefix}/`),
          [],
          "no multipart upload left",
        );
        assert.deepEqual(await keysUnder(rgw.server().bucket, `${prefix}/`), [], "no object, no manifest");
      },
    );
  }
});
