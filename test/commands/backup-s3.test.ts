/**
 * backup into an S3-protocol server on loopback, through the real AWS SDK, recovered with stock
 * tools; its bad inputs and a store that dies in the middle of the upload.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { setEnv, startS3Server, type S3TestServer } from "../helpers/s3-server.js";
import { restoreWithStockTools } from "../helpers/stock-tools.js";

let cluster: Cluster;
let s3: S3TestServer;
let work: string;
let identityFile: string;
let recipient: string;
let restoreEnv: () => void;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-s3-backup-"));
  s3 = await startS3Server({ directory: join(work, "s3") });
  restoreEnv = setEnv({ ...s3.env, AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined });
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  restoreEnv?.();
  await s3?.stop();
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function client(): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

async function getObject(key: string): Promise<Buffer> {
  const response = await client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

const s3Args = () => ["--s3-endpoint", s3.endpoint, "--s3-force-path-style"];
const env = (database = "shop") => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url(database) });

describe("backup to S3", () => {
  test("streams an encrypted dump that stock tools recover, with no checksum headers by default", async () => {
    const requestsBefore = s3.requests.length;
    const run = await runCli(
      [
        "backup",
        "--storage",
        `s3://${s3.bucket}/nightly`,
        "--label",
        "shop",
        "--recipient",
        recipient,
        ...s3Args(),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const backupId = run.json.backupId as string;
    assert.deepEqual(await keysUnder("nightly/"), [
      `nightly/shop/${backupId}/dump.age`,
      `nightly/shop/${backupId}/manifest.json`,
    ]);
    const manifest = JSON.parse(
      (await getObject(`nightly/shop/${backupId}/manifest.json`)).toString(),
    ) as Manifest;
    const object = await getObject(`nightly/shop/${backupId}/dump.age`);
    assert.equal(object.length, manifest.artifacts[0]!.stored.bytes);
    assert.equal(createHash("sha256").update(object).digest("hex"), manifest.artifacts[0]!.stored.sha256);

    const encrypted = join(work, "dump.age");
    writeFileSync(encrypted, object);
    await cluster.createDatabase("restored_s3");
    restoreWithStockTools({
      identityFile,
      object: encrypted,
      compression: manifest.artifacts[0]!.compression,
      pgRestore: join(cluster.binDir, "pg_restore"),
      targetUrl: cluster.url("restored_s3"),
    });
    const restored = await countAllRows(cluster, "restored_s3");
    for (const table of manifest.tables) assert.equal(restored[`${table.schema}.${table.table}`], table.rows);

    // S3-compatible stores (R2, B2, MinIO) reject the SDK's default flexible checksums.
    const writes = s3.requests.slice(requestsBefore).filter((request) => request.method === "PUT");
    assert.ok(writes.length > 0);
    for (const request of writes) {
      const checksumHeaders = Object.keys(request.headers).filter((name) =>
        name.startsWith("x-amz-checksum-"),
      );
      assert.deepEqual(checksumHeaders, [], `${request.url} sent ${checksumHeaders.join(", ")}`);
    }

    const list = await runCli(
      ["list", "--storage", `s3://${s3.bucket}/nightly`, "--label", "shop", ...s3Args()],
      {
        env: env(),
      },
    );
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${backupId}\\s`, "m"));
  });

  test("object lock: the dump and the manifest are uploaded with a retention and a checksum", async () => {
    const requestsBefore = s3.requests.length;
    const run = await runCli(
      [
        "backup",
        "--storage",
        `s3://${s3.bucket}/locked`,
        "--recipient",
        recipient,
        "--object-lock-mode",
        "governance",
        "--object-lock-days",
        "30",
        ...s3Args(),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const backupId = run.json.backupId as string;
    const manifest = JSON.parse(
      (await getObject(`locked/default/${backupId}/manifest.json`)).toString(),
    ) as Manifest;
    assert.equal(manifest.objectLock?.mode, "GOVERNANCE");
    const days = (Date.parse(manifest.objectLock!.retainUntil) - Date.parse(manifest.startedAt)) / 86_400_000;
    assert.equal(days, 30);
    // Object creations (PutObject, CreateMultipartUpload) carry the lock; what carries bytes
    // (PutObject, UploadPart) carries a checksum, as S3 demands for locked objects.
    const writes = s3.requests
      .slice(requestsBefore)
      .filter((r) => r.method === "PUT" || (r.method === "POST" && r.url.includes("?uploads")));
    for (const key of [`locked/default/${backupId}/dump.age`, `locked/default/${backupId}/manifest.json`]) {
      const created = writes.filter(
        (r) => r.url.split("?")[0] === `/${s3.bucket}/${key}` && !/[?&]partNumber=/.test(r.url),
      );
      assert.ok(created.length > 0, key);
      for (const request of created) {
        if (request.url.includes("uploadId=")) continue;
        assert.equal(request.headers["x-amz-object-lock-mode"], "GOVERNANCE", key);
        assert.equal(
          request.headers["x-amz-object-lock-retain-until-date"],
          manifest.objectLock!.retainUntil,
          key,
        );
      }
    }
    const withBytes = writes.filter(
      (r) => (r.method === "PUT" && !r.url.includes("uploadId=")) || /[?&]partNumber=/.test(r.url),
    );
    assert.ok(withBytes.length > 0);
    for (const request of withBytes) {
      assert.ok(
        Object.keys(request.headers).some((name) => name.startsWith("x-amz-checksum-")),
        request.url,
      );
    }
  });

  test("object lock needs both options and s3:// storage", async () => {
    for (const [args, message] of [
      [["--object-lock-days", "7"], /--object-lock-mode: required/],
      [
        ["--object-lock-mode", "strict", "--object-lock-days", "7"],
        /--object-lock-mode "strict": expected GOVERNANCE or COMPLIANCE/,
      ],
      [["--object-lock-mode", "COMPLIANCE", "--object-lock-days", "0"], /--object-lock-days "0"/],
    ] as const) {
      const run = await runCli(
        ["backup", "--storage", `s3://${s3.bucket}/lock-bad`, "--recipient", recipient, ...args, ...s3Args()],
        { env: env() },
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
    const local = await runCli(
      [
        "backup",
        "--storage",
        "local-dir",
        "--recipient",
        recipient,
        "--object-lock-mode",
        "COMPLIANCE",
        "--object-lock-days",
        "7",
      ],
      { env: env() },
    );
    assert.equal(local.code, 2);
    assert.match(local.stderr, /needs s3:\/\/ storage/);
  });

  test("a missing bucket is bad input (exit 2) and nothing is written", async () => {
    const run = await runCli(
      ["backup", "--storage", "s3://no-such-bucket/x", "--recipient", recipient, ...s3Args()],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^lifeboat: error: .*no-such-bucket.*$/);
    assert.equal(run.stderr.trim().split("\n").length, 1);
  });

  test("a wrong S3 secret is bad input (exit 2) and nothing is written", async () => {
    const restore = setEnv({ AWS_SECRET_ACCESS_KEY: "not-the-secret" });
    try {
      const run = await runCli(
        ["backup", "--storage", `s3://${s3.bucket}/wrong-secret`, "--recipient", recipient, ...s3Args()],
        { env: env() },
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^lifeboat: error: .*(denied|credentials|signature)/i);
      assert.ok(!run.stderr.includes("not-the-secret"));
      assert.equal(run.stderr.trim().split("\n").length, 1);
    } finally {
      restore();
    }
    assert.deepEqual(await keysUnder("wrong-secret/"), []);
  });

  test("the store dying mid-upload: exit 1, no manifest, no object, and the next run is clean", async () => {
    await cluster.createDatabase("big");
    // ~45 MB of incompressible rows, dumped uncompressed: several 8 MiB parts.
    await cluster.sql(
      "big",
      "CREATE TABLE blob AS SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 400000) i",
    );
    const storage = `s3://${s3.bucket}/dying`;
    const backup = runCli(
      ["backup", "--storage", storage, "--recipient", recipient, "--compression", "none", ...s3Args()],
      { env: env("big") },
    );
    const deadline = Date.now() + 60_000;
    while (
      !s3.requests.some((request) => /[?&]partNumber=/.test(request.url) && request.url.includes("/dying/"))
    ) {
      assert.ok(Date.now() < deadline, "the upload never started");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const port = s3.port;
    await s3.stop();
    const run = await backup;
    assert.equal(run.code, 1, run.stderr);
    const errorLines = run.stderr.split("\n").filter((line) => line.startsWith("lifeboat: error:"));
    assert.equal(errorLines.length, 1, run.stderr);
    assert.match(errorLines[0]!, /s3:\/\/lifeboat-test\/dying.*ECONNREFUSED/);

    s3 = await startS3Server({ directory: join(work, "s3"), port });
    assert.deepEqual(await keysUnder("dying/"), [], "nothing visible after the failed upload");
    const again = await runCli(
      ["backup", "--storage", storage, "--recipient", recipient, ...s3Args(), "--json"],
      {
        env: env("big"),
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await keysUnder("dying/")).length, 2);
  });
});
