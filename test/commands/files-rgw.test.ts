/**
 * --files against a real S3 server (Ceph's radosgw), as Supabase Storage's S3 endpoint would be
 * read: a bucket of 1,000 small objects plus unicode, very long and empty keys, backed up with the
 * database into a store in the same server under other credentials' variables, deep-verified, and
 * restored into an empty bucket, every object compared.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { rgwSkip, useRgwServer } from "../helpers/rgw-server.js";
import { pseudoRandom } from "../files/files-helpers.js";

const SOURCE = "storage-photos";
// radosgw here answers a PUT or GET in ~50 ms; filling and restoring 10,000 objects would take
// minutes. The 10,000-entry archive itself is test/files/tar.test.ts's.
const MANY = 1_000;
const SPECIAL: Record<string, Buffer> = {
  "ünïcödé/写真 😀.jpg": pseudoRandom(200_000, 1),
  [`${"very-long-folder-".repeat(10)}/${"n".repeat(200)}.png`]: pseudoRandom(5_000, 2),
  "empty.bin": Buffer.alloc(0),
};

async function listAll(s3: S3Client, bucket: string): Promise<Map<string, { size: number; etag: string }>> {
  const found = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const object of page.Contents ?? []) {
      found.set(object.Key!, { size: object.Size ?? -1, etag: object.ETag ?? "" });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

describe("files sources against radosgw", { skip: rgwSkip() }, () => {
  const rgw = useRgwServer({ before, after });
  let cluster: Cluster;
  let work: string;
  let identityFile: string;
  let recipient: string;
  let s3: S3Client;

  before(
    async () => {
      cluster = await startCluster();
      await createShop(cluster, "shop");
      work = mkdtempSync(join(tmpdir(), "lifeboat-files-rgw-"));
      identityFile = join(work, "key.txt");
      execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
      recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
      s3 = rgw.server().client();
      await rgw.server().createBucket(SOURCE);
      await rgw.server().createBucket("restored");
      const keys = Array.from({ length: MANY }, (_, i) => `many/${String(i).padStart(5, "0")}.txt`);
      for (let start = 0; start < keys.length; start += 32) {
        await Promise.all(
          keys
            .slice(start, start + 32)
            .map((key) =>
              s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: Buffer.from(`object ${key}`) })),
            ),
        );
      }
      for (const [key, body] of Object.entries(SPECIAL)) {
        await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
      }
    },
    { timeout: 600_000 },
  );

  after(async () => {
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test(
    "backup, deep verify and restore-files into an empty bucket: every object comes back",
    { timeout: 600_000 },
    async () => {
      const server = rgw.server();
      const storage = `s3://${server.bucket}/backups`;
      const store = ["--storage", storage, "--s3-endpoint", server.endpoint, "--s3-force-path-style"];
      const files = ["--files-s3-endpoint", server.endpoint, "--files-s3-force-path-style"];
      // The store's keys in AWS_*, the source's in LIFEBOAT_FILES_AWS_*: two separate chains.
      const env = {
        PATH: process.env.PATH,
        ...server.env,
        DATABASE_URL: cluster.url("shop"),
        LIFEBOAT_FILES_AWS_ACCESS_KEY_ID: server.accessKeyId,
        LIFEBOAT_FILES_AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      };
      const backup = await runCli(
        ["backup", ...store, "--recipient", recipient, "--files", `s3://${SOURCE}`, ...files, "--json"],
        { env },
      );
      assert.equal(backup.code, 0, backup.stderr);
      const [artifact] = backup.json.files as { files: number; name: string }[];
      assert.equal(artifact?.files, MANY + Object.keys(SPECIAL).length);

      const verify = await runCli(["verify", ...store, "--identity-file", identityFile, "--json"], { env });
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal(verify.json.filesChecked, MANY + Object.keys(SPECIAL).length);

      const restore = await runCli(
        [
          "restore-files",
          ...store,
          "--identity-file",
          identityFile,
          "--to",
          "s3://restored",
          "--confirm",
          "restored",
          ...files,
          "--json",
        ],
        { env },
      );
      assert.equal(restore.code, 0, restore.stderr);
      assert.equal(restore.json.written, MANY + Object.keys(SPECIAL).length);

      const original = await listAll(s3, SOURCE);
      const restored = await listAll(s3, "restored");
      // Single-part objects: the ETag is the content's MD5, so equal ETags are equal bytes.
      assert.deepEqual([...restored.entries()].sort(), [...original.entries()].sort());
      for (const [key, body] of Object.entries(SPECIAL)) {
        const got = await s3.send(new GetObjectCommand({ Bucket: "restored", Key: key }));
        assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), key);
      }
    },
  );
});
