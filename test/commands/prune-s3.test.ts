/**
 * prune against an S3-protocol server on loopback, through the real AWS SDK: the CLI end to end,
 * the requests it makes, and object lock. s3rver has no object lock (it answers NotImplemented),
 * so the lock tests put a bucket with object lock in front of it: GetObjectLockConfiguration,
 * HeadObject's retention headers and DeleteObjects' per-key AccessDenied answered as AWS S3 does.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  DeleteObjectsCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { runPrune, type PruneResult } from "../../src/commands/prune/run.js";
import { silentLogger } from "../../src/commands/logger.js";
import { parsePruneSettings } from "../../src/settings/settings.js";
import { createS3Store, type S3Store } from "../../src/storage/s3-store.js";
import { seedFolders, type SeededFolder } from "../helpers/backup-folders.js";
import { runCli } from "../helpers/cli.js";
import { setEnv, startS3Server, type S3TestServer } from "../helpers/s3-server.js";
import { listKeys } from "../storage/store-contract.js";

const H = 3_600_000;
const D = 24 * H;
let s3: S3TestServer;
let work: string;
let restoreEnv: () => void;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-prune-s3-"));
  s3 = await startS3Server({ directory: join(work, "s3") });
  restoreEnv = setEnv({ ...s3.env, AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined });
});

after(async () => {
  restoreEnv?.();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function openStore(prefix: string, options: { deleteBatchSize?: number } = {}): S3Store {
  return createS3Store(
    { bucket: s3.bucket, prefix },
    { endpoint: s3.endpoint, forcePathStyle: true, ...options },
  );
}

const s3Args = () => ["--s3-endpoint", s3.endpoint, "--s3-force-path-style"];

/** Five daily backups (newest first), the 4th with a passing restore-test; and a failed one. */
async function seedHistory(store: S3Store, label: string, now: number) {
  const daily = (
    await seedFolders(
      store,
      label,
      [5, 4, 3, 2, 1].map((days) => ({
        time: new Date(now - days * D),
        checks: days === 4 ? [{ kind: "restore-test", passed: true }] : [],
      })),
    )
  ).reverse();
  const [failed] = await seedFolders(store, label, [{ time: new Date(now - 10 * D), committed: false }]);
  return { daily, failed: failed! };
}

const keysOf = (folders: SeededFolder[]) => folders.flatMap((folder) => folder.keys);

describe("prune on S3", () => {
  test("dry-run, then prune: one listing, one lock question, one DeleteObjects per pass", async () => {
    const prefix = `cli-${randomBytes(4).toString("hex")}`;
    const store = openStore(prefix);
    const now = Date.now();
    const { daily } = await seedHistory(store, "shop", now);
    // A neighbouring label whose name starts with this one's, and an object that is not a backup.
    const [neighbour] = await seedFolders(store, "shop-staging", [{ time: new Date(now - 30 * D) }]);
    await store.put("shop/notes.txt", Readable.from([Buffer.from("not a backup")]));
    const storage = `s3://${s3.bucket}/${prefix}`;
    const before = await listKeys(store);

    const first = s3.requests.length;
    const dry = await runCli(
      [
        "prune",
        "--storage",
        storage,
        "--label",
        "shop",
        "--keep-last",
        "2",
        "--dry-run",
        "--json",
        ...s3Args(),
      ],
      { env: { PATH: process.env.PATH, ...s3.env } },
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await listKeys(store), before, "a dry run deletes nothing");
    const dryRequests = s3.requests.slice(first).map((request) => `${request.method} ${request.url}`);
    assert.ok(
      dryRequests.every((line) => !line.startsWith("POST") && !line.startsWith("DELETE")),
      dryRequests.join("\n"),
    );
    const dryResult = dry.json as unknown as PruneResult;
    // The folder without a manifest was just written: younger than the safe age, whatever its id says.
    assert.deepEqual(
      dryResult.decisions.map((d) => [d.action, d.rules.join(",")]),
      [
        ["keep", "newest,keep-last"],
        ["keep", "keep-last"],
        ["delete", "no-rule"],
        ["keep", "min-verified"],
        ["delete", "no-rule"],
        ["keep", "in-flight"],
      ],
    );

    const start = s3.requests.length;
    const run = await runCli(
      ["prune", "--storage", storage, "--label", "shop", "--keep-last", "2", "--json", ...s3Args()],
      { env: { PATH: process.env.PATH, ...s3.env } },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.deleted, 2);
    assert.equal(run.json.kept, 3);
    const requests = s3.requests.slice(start);
    const count = (pattern: RegExp) => requests.filter((r) => pattern.test(`${r.method} ${r.url}`)).length;
    assert.equal(count(/^GET .*[?&]list-type=2/), 2, "check() and the one listing page");
    assert.equal(
      count(/^GET .*[?&]object-lock/),
      1,
      "one lock question for the bucket (s3rver: NotImplemented)",
    );
    assert.equal(count(/^HEAD /), 0, "no per-object requests when the bucket cannot lock");
    assert.equal(count(/^POST .*[?&]delete/), 2, "manifests, then the rest");
    // Each backup's manifest (is it intact?) and the one check record that decides a verification.
    // ...plus the newest kept one's again: the audit record is locked like it (docs/evidence.md).
    assert.equal(count(/^GET .*\/manifest\.json/), 6, "one GET per committed backup's manifest, and one");
    assert.equal(count(/^GET .*\/checks\//), 1, "the deciding check record, to match it with the manifest");
    assert.equal(count(/^PUT .*\/_audit\/.*-prune\.json/), 1, "the audit record");
    assert.equal(requests.length, 13, requests.map((r) => `${r.method} ${r.url}`).join("\n"));
    const after = await listKeys(store);
    assert.deepEqual(
      after.filter((key) => !key.startsWith("shop/_audit/")),
      before.filter((key) => !keysOf([daily[2]!, daily[4]!]).includes(key)),
    );
    assert.ok(
      neighbour!.keys.every((key) => after.includes(key)),
      "the neighbouring label is untouched",
    );
  });

  test("a folder without a manifest goes once older than the safe age, counted from its newest object", async () => {
    const store = openStore(`incomplete-${randomBytes(4).toString("hex")}`);
    const now = Date.now();
    const { failed } = await seedHistory(store, "shop", now);
    const settings = parsePruneSettings({ storage: "s3://x/y", label: "shop", "keep-last": "10" });
    const soon = await runPrune(settings, { store, now: () => new Date(now + 23 * H), log: silentLogger });
    assert.equal(soon.deleted, 0);
    const later = await runPrune(settings, { store, now: () => new Date(now + 25 * H), log: silentLogger });
    assert.equal(later.deleted, 1);
    assert.equal(later.deletedIncomplete, 1);
    for (const key of failed.keys) assert.ok(!(await listKeys(store)).includes(key));
  });

  test("each pass is split into DeleteObjects calls of at most the store's batch size", async () => {
    // A batch size of 3 stands in for S3's 1000 (the command hands the store 1000 keys at most).
    const store = openStore(`batches-${randomBytes(4).toString("hex")}`, { deleteBatchSize: 3 });
    const now = Date.now();
    await seedFolders(
      store,
      "shop",
      Array.from({ length: 6 }, (_, i) => ({ time: new Date(now - (i + 1) * H) })),
    );
    const start = s3.requests.length;
    const settings = parsePruneSettings({
      storage: "s3://x/y",
      label: "shop",
      "keep-last": "1",
      "min-verified": "0",
    });
    const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
    assert.equal(result.deleted, 5);
    const deletes = s3.requests.slice(start).filter((r) => r.method === "POST" && /[?&]delete/.test(r.url));
    assert.equal(deletes.length, 4, "5 manifests in 2 calls of 3, then 5 dumps in 2 calls of 3");
  });

  describe("with object lock (a bucket with object lock, simulated in front of s3rver)", () => {
    /**
     * Answers GetObjectLockConfiguration as a bucket with object lock enabled, adds retention to
     * HeadObject for `retained` keys, and refuses DeleteObjects for `retained` keys with AWS's
     * per-key AccessDenied. Everything else goes to s3rver.
     */
    function lockBucket(store: S3Store, retained: Map<string, Date>): { heads: string[] } {
      const client = store.client;
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      const heads: string[] = [];
      client.send = (async (command: unknown) => {
        if (command instanceof GetObjectLockConfigurationCommand) {
          return { ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" } };
        }
        if (command instanceof HeadObjectCommand) {
          const key = command.input.Key!;
          heads.push(key);
          const response = (await send(command)) as Record<string, unknown>;
          const until = retained.get(key);
          return until
            ? { ...response, ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: until }
            : response;
        }
        if (command instanceof DeleteObjectsCommand) {
          const objects = command.input.Delete!.Objects!;
          const refused = objects.filter((object) => retained.has(object.Key!));
          const allowed = objects.filter((object) => !retained.has(object.Key!));
          if (allowed.length) {
            await send(
              new DeleteObjectsCommand({ ...command.input, Delete: { Objects: allowed, Quiet: true } }),
            );
          }
          return {
            Errors: refused.map((object) => ({
              Key: object.Key,
              Code: "AccessDenied",
              Message: "Access Denied because object protected by object lock.",
            })),
          };
        }
        return send(command);
      }) as S3Client["send"];
      return { heads };
    }

    test("a backup under a retention in force is kept, and only the would-be deletions are asked about", async () => {
      const prefix = `lock-${randomBytes(4).toString("hex")}`;
      const store = openStore(prefix);
      const now = Date.now();
      const { daily } = await seedHistory(store, "shop", now);
      const lockedDump = daily[4]!.keys.find((key) => key.endsWith("dump.age"))!;
      const { heads } = lockBucket(store, new Map([[`${prefix}/${lockedDump}`, new Date(now + 30 * D)]]));
      const settings = parsePruneSettings({ storage: "s3://x/y", label: "shop", "keep-last": "2" });
      const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
      assert.deepEqual(
        result.decisions.map((d) => [d.backupId, d.action, d.rules.join(",")]),
        [
          [daily[0]!.backupId, "keep", "newest,keep-last"],
          [daily[1]!.backupId, "keep", "keep-last"],
          [daily[2]!.backupId, "delete", "no-rule"],
          [daily[3]!.backupId, "keep", "min-verified"],
          [daily[4]!.backupId, "keep", "object-lock"],
          [result.decisions[5]!.backupId, "keep", "in-flight"],
        ],
      );
      assert.match(result.decisions[4]!.reasons[0]!, /^object lock \(COMPLIANCE\) until \d{4}-/);
      assert.deepEqual(
        heads.sort(),
        [...daily[2]!.keys, ...daily[4]!.keys].map((key) => `${prefix}/${key}`).sort(),
        "HeadObject only for the objects of backups the policy would delete",
      );
      assert.deepEqual(result.failed, []);
      const left = await listKeys(store);
      assert.ok(daily[4]!.keys.every((key) => left.includes(key)));
      assert.ok(daily[2]!.keys.every((key) => !left.includes(key)));
    });

    test("when the bucket's lock configuration cannot be read, each object is asked; a legal hold keeps", async () => {
      const prefix = `unknown-${randomBytes(4).toString("hex")}`;
      const store = openStore(prefix);
      const now = Date.now();
      const { daily } = await seedHistory(store, "shop", now);
      const held = `${prefix}/${daily[2]!.keys[0]!}`;
      const send = store.client.send.bind(store.client) as (command: unknown) => Promise<unknown>;
      const asked: string[] = [];
      store.client.send = (async (command: unknown) => {
        if (command instanceof GetObjectLockConfigurationCommand) {
          throw Object.assign(new Error("Access Denied"), {
            name: "AccessDenied",
            $metadata: { httpStatusCode: 403 },
          });
        }
        if (command instanceof HeadObjectCommand) {
          asked.push(command.input.Key!);
          const response = (await send(command)) as Record<string, unknown>;
          return command.input.Key === held ? { ...response, ObjectLockLegalHoldStatus: "ON" } : response;
        }
        return send(command);
      }) as S3Client["send"];
      const settings = parsePruneSettings({ storage: "s3://x/y", label: "shop", "keep-last": "2" });
      const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
      const decision = result.decisions.find((d) => d.backupId === daily[2]!.backupId)!;
      assert.deepEqual([decision.action, decision.reasons], ["keep", ["object lock: legal hold"]]);
      assert.ok(asked.includes(held));
      assert.equal(result.deleted, 1, "the other backup no rule keeps is deleted");
    });

    test("a lock the listing could not see: DeleteObjects' AccessDenied is reported, not hidden", async () => {
      const prefix = `denied-${randomBytes(4).toString("hex")}`;
      const store = openStore(prefix);
      const now = Date.now();
      const { daily } = await seedHistory(store, "shop", now);
      const manifest = daily[2]!.keys.find((key) => key.endsWith("manifest.json"))!;
      // Locked, but HeadObject does not say so (as when the caller lacks s3:GetObjectRetention).
      lockBucket(store, new Map([[`${prefix}/${manifest}`, new Date(now + D)]]));
      const headless = store.client.send.bind(store.client);
      store.client.send = (async (command: unknown) => {
        if (command instanceof HeadObjectCommand) return {};
        return headless(command as never);
      }) as S3Client["send"];
      const settings = parsePruneSettings({ storage: "s3://x/y", label: "shop", "keep-last": "2" });
      const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
      assert.deepEqual(result.failed, [
        { key: manifest, reason: "AccessDenied: Access Denied because object protected by object lock." },
      ]);
      const decision = result.decisions.find((d) => d.backupId === daily[2]!.backupId)!;
      assert.equal(decision.deleted, false);
      // Its manifest stayed, so its dump stayed too: the backup is still whole.
      const left = await listKeys(store);
      assert.ok(daily[2]!.keys.every((key) => left.includes(key)));
      assert.equal(result.deleted, 1);
    });
  });
});
