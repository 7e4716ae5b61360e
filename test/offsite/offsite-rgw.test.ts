/**
 * Offsite copies (issue 15) across two different S3 servers: Ceph's radosgw (real, with Object
 * Lock) and the mock, each with its own credentials, plus a local directory. One backup into all
 * three; a copy from the mock into an object-locked radosgw bucket, whose objects then carry the
 * destination's retention and which prune there leaves alone; prune with other rules elsewhere.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { GetObjectRetentionCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { rgwSkip, useRgwServer } from "../helpers/rgw-server.js";
import { startS3Server, type S3TestServer } from "../helpers/s3-server.js";

const LOCKED_BUCKET = "lifeboat-offsite-locked";

describe("offsite copies across radosgw, the mock and a directory", { skip: rgwSkip() }, () => {
  const rgw = useRgwServer({ before, after });
  let cluster: Cluster;
  let work: string;
  let identityFile: string;
  let recipient: string;
  let mock: S3TestServer;
  let s3: S3Client;

  before(
    async () => {
      cluster = await startCluster();
      await createShop(cluster, "shop");
      work = mkdtempSync(join(tmpdir(), "lifeboat-offsite-rgw-"));
      identityFile = join(work, "key.txt");
      execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
      recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
      mock = await startS3Server({ directory: join(work, "mock") });
      s3 = rgw.server().client();
      await rgw.server().createBucket(LOCKED_BUCKET, { objectLock: true });
    },
    { timeout: 240_000 },
  );

  after(async () => {
    s3?.destroy();
    await mock?.stop();
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // radosgw's credentials are the default chain's (useRgwServer sets them); the mock is a second
  // account, named by the URL's credentials=MOCK.
  const env = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    DATABASE_URL: cluster.url("shop"),
    MOCK_AWS_ACCESS_KEY_ID: mock.accessKeyId,
    MOCK_AWS_SECRET_ACCESS_KEY: mock.secretAccessKey,
  });
  const rgwUrl = (bucket: string, prefix: string) =>
    `s3://${bucket}/${prefix}?endpoint=${rgw.server().endpoint}&force-path-style=true`;
  const mockUrl = (prefix: string) =>
    `s3://${mock.bucket}/${prefix}?endpoint=${mock.endpoint}&force-path-style=true&region=${mock.region}&credentials=MOCK`;

  async function rgwKeys(bucket: string, prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  }

  test(
    "a backup to three destinations, a copy into a locked bucket, and prune by each store's rules",
    { timeout: 300_000 },
    async () => {
      const local = join(work, "local");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const run = await runCli(
          [
            "backup",
            "--storage",
            rgwUrl(rgw.server().bucket, "three"),
            "--storage",
            mockUrl("three"),
            "--storage",
            local,
            "--label",
            "app",
            "--recipient",
            recipient,
            "--json",
          ],
          { env: env() },
        );
        assert.equal(run.code, 0, run.stderr);
        const id = run.json.backupId as string;
        ids.push(id);
        assert.deepEqual(
          (run.json.destinations as { manifestKey?: string }[]).map((destination) => destination.manifestKey),
          [`app/${id}/manifest.json`, `app/${id}/manifest.json`, `app/${id}/manifest.json`],
        );
        await sleep(1100);
      }
      assert.deepEqual(await rgwKeys(rgw.server().bucket, `three/app/${ids[0]}/`), [
        `three/app/${ids[0]}/dump.age`,
        `three/app/${ids[0]}/manifest.json`,
      ]);
      assert.equal(readdirSync(join(local, "app")).length, 3);

      // From the mock (its own credentials) into radosgw's locked bucket, checked by decrypting.
      const copy = await runCli(
        [
          "copy",
          "--from",
          `s3://${mock.bucket}/three?endpoint=${mock.endpoint}&force-path-style=true&region=${mock.region}`,
          "--to",
          rgwUrl(LOCKED_BUCKET, "vault"),
          "--label",
          "app",
          "--backup",
          "all",
          "--identity-file",
          identityFile,
          "--object-lock-mode",
          "GOVERNANCE",
          "--object-lock-days",
          "1",
          "--json",
        ],
        {
          env: {
            ...env(),
            LIFEBOAT_FROM_AWS_ACCESS_KEY_ID: mock.accessKeyId,
            LIFEBOAT_FROM_AWS_SECRET_ACCESS_KEY: mock.secretAccessKey,
          },
        },
      );
      assert.equal(copy.code, 0, copy.stderr);
      assert.deepEqual(
        (copy.json.copied as { backupId: string; decrypted: boolean }[]).map((entry) => entry.decrypted),
        [true, true, true],
      );
      for (const key of await rgwKeys(LOCKED_BUCKET, "vault/app/")) {
        const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED_BUCKET, Key: key }));
        assert.equal(retention.Retention?.Mode, "GOVERNANCE", key);
        assert.ok(retention.Retention!.RetainUntilDate!.getTime() > Date.now() + 20 * 3_600_000, key);
      }
      const verifyThere = await runCli(
        [
          "verify",
          "--storage",
          rgwUrl(LOCKED_BUCKET, "vault"),
          "--label",
          "app",
          "--identity-file",
          identityFile,
        ],
        { env: env() },
      );
      assert.equal(verifyThere.code, 0, verifyThere.stderr);

      // Each store by its own rules: radosgw keeps 2, the directory 1, the vault is locked.
      const prune = (storage: string, keep: string) =>
        runCli(["prune", "--storage", storage, "--label", "app", "--keep-last", keep, "--json"], {
          env: env(),
        });
      const atRgw = await prune(rgwUrl(rgw.server().bucket, "three"), "2");
      assert.equal(atRgw.code, 0, atRgw.stderr);
      const atLocal = await prune(local, "1");
      assert.equal(atLocal.code, 0, atLocal.stderr);
      const atVault = await prune(rgwUrl(LOCKED_BUCKET, "vault"), "1");
      assert.equal(atVault.code, 0, atVault.stderr);
      const manifests = async (bucket: string, prefix: string) =>
        (await rgwKeys(bucket, prefix)).filter((key) => key.endsWith("manifest.json")).length;
      assert.equal(await manifests(rgw.server().bucket, "three/app/"), 2);
      assert.equal(readdirSync(join(local, "app")).filter((name) => name !== "_audit").length, 1);
      assert.equal(await manifests(LOCKED_BUCKET, "vault/app/"), 3, "the lock keeps every copy");
      // The mock was never pruned: it still holds all three.
      const listMock = await runCli(["list", "--storage", mockUrl("three"), "--label", "app", "--json"], {
        env: env(),
      });
      assert.equal((listMock.json.backups as unknown[]).length, 3, listMock.stderr);

      // A second copy finds everything there and writes nothing.
      const again = await runCli(
        [
          "copy",
          "--from",
          local,
          "--to",
          rgwUrl(LOCKED_BUCKET, "vault"),
          "--label",
          "app",
          "--backup",
          "all",
          "--json",
        ],
        { env: env() },
      );
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.json.copied, []);
      assert.deepEqual(again.json.present, [ids[2]]);
    },
  );
});
