/**
 * Offsite copies (issue 15) against the S3 mock (test/helpers/s3-server.ts) and local
 * directories, with a real PostgreSQL cluster: one backup streamed into several destinations, each
 * with its own options and credentials; a destination that dies in the middle of the upload; an
 * unreachable one refused before anything is dumped; `copy` of a whole label, incrementally, and
 * refused for a tampered source; a destination that dies mid-copy, finished by the next copy; a
 * copy whose bytes read back wrong; and prune with other rules at each store.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  type Dirent,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { runCopy } from "../../src/commands/copy/run.js";
import { parseCopySettings } from "../../src/settings/settings.js";
import { openStore } from "../../src/storage/open-store.js";
import type { Store } from "../../src/storage/store.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startS3Server, type S3TestServer } from "../helpers/s3-server.js";

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;
let mock: S3TestServer;

const silent = { info: () => undefined, warn: () => undefined };

before(
  async () => {
    cluster = await startCluster();
    await createShop(cluster, "shop");
    await cluster.createDatabase("big");
    // ~55 MB of incompressible text, stored uncompressed: an upload of several 8 MiB parts.
    await cluster.sql(
      "big",
      "CREATE TABLE blob AS SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 500000) i",
    );
    work = mkdtempSync(join(tmpdir(), "lifeboat-offsite-"));
    identityFile = join(work, "key.txt");
    execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
    recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
    mock = await startS3Server({ directory: join(work, "mock") });
  },
  { timeout: 120_000 },
);

after(async () => {
  await mock?.stop();
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The mock as a second account: its URL options and the environment its credentials come from. */
function mockUrl(server: S3TestServer, prefix: string): string {
  return `s3://${server.bucket}/${prefix}?endpoint=${server.endpoint}&force-path-style=true&region=${server.region}&credentials=OFFSITE`;
}

function env(database = "shop"): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    DATABASE_URL: cluster.url(database),
    OFFSITE_AWS_ACCESS_KEY_ID: mock.accessKeyId,
    OFFSITE_AWS_SECRET_ACCESS_KEY: mock.secretAccessKey,
  };
}

function client(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

async function keysUnder(server: S3TestServer, prefix: string): Promise<string[]> {
  const s3 = client(server);
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  } finally {
    s3.destroy();
  }
}

/** Files under a directory, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

async function backup(storages: string[], extra: string[] = [], database = "shop") {
  return runCli(
    [
      "backup",
      ...storages.flatMap((storage) => ["--storage", storage]),
      "--label",
      "app",
      "--recipient",
      recipient,
      ...extra,
      "--json",
    ],
    { env: env(database) },
  );
}

describe("one backup, several destinations", () => {
  test(
    "streams one dump into two directories and an S3 store with its own credentials; each commits the same backup and verifies",
    { timeout: 120_000 },
    async () => {
      const a = join(work, "three-a");
      const b = join(work, "three-b");
      const run = await backup([a, mockUrl(mock, "three"), `file://${b}`]);
      assert.equal(run.code, 0, run.stderr);
      const id = run.json.backupId as string;
      const destinations = run.json.destinations as { url: string; manifestKey?: string }[];
      assert.equal(destinations.length, 3);
      assert.ok(destinations.every((destination) => destination.manifestKey === `app/${id}/manifest.json`));
      // The URL's options never show: no query, no credentials.
      assert.equal(destinations[1]!.url, `s3://${mock.bucket}/three`);
      assert.deepEqual(filesUnder(a), [`app/${id}/dump.age`, `app/${id}/manifest.json`]);
      assert.deepEqual(filesUnder(b), filesUnder(a));
      assert.deepEqual(await keysUnder(mock, "three/"), [
        `three/app/${id}/dump.age`,
        `three/app/${id}/manifest.json`,
      ]);
      assert.deepEqual(
        readFileSync(join(a, "app", id, "dump.age")),
        readFileSync(join(b, "app", id, "dump.age")),
      );
      for (const storage of [a, mockUrl(mock, "three"), b]) {
        const verify = await runCli(
          ["verify", "--storage", storage, "--label", "app", "--identity-file", identityFile, "--json"],
          { env: env() },
        );
        assert.equal(verify.code, 0, `${storage}: ${verify.stderr}`);
        assert.equal(verify.json.backupId, id);
      }
    },
  );

  test(
    "an unreachable destination is exit 2 before anything is dumped, naming it",
    { timeout: 60_000 },
    async () => {
      const a = join(work, "unreachable-a");
      const run = await backup([
        a,
        `s3://${mock.bucket}/x?endpoint=http://127.0.0.1:9&force-path-style=true&credentials=OFFSITE`,
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /s3:\/\/lifeboat-test\/x/);
      assert.match(run.stderr, /cannot reach/);
      assert.deepEqual(filesUnder(a), []);
    },
  );

  test("bad destination lists are exit 2 naming the input", { timeout: 30_000 }, async () => {
    const a = join(work, "bad-a");
    const cases: [string[], string[], RegExp][] = [
      [
        [a, join(work, "bad-b")],
        ["--min-destinations", "3"],
        /--min-destinations 3: expected at most .* \(2\)/,
      ],
      [
        [a, `s3://${mock.bucket}/x?secret=abc`],
        [],
        /--storage "s3:\/\/lifeboat-test\/x": unknown option "secret"/,
      ],
      [[a, `s3://${mock.bucket}/x?region=a&region=b`], [], /region given twice/],
      [[a, a], [], /given twice/],
      [
        [a, `s3://${mock.bucket}/x?credentials=NOPE&endpoint=${mock.endpoint}`],
        [],
        /NOPE_AWS_ACCESS_KEY_ID is not set/,
      ],
    ];
    for (const [storages, extra, expected] of cases) {
      const run = await backup(storages, extra);
      assert.equal(run.code, 2, `${storages.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, expected);
      assert.doesNotMatch(run.stderr, /abc/);
    }
    const list = await runCli(["list", "--storage", a, "--storage", join(work, "bad-b")], { env: env() });
    assert.equal(list.code, 2);
    assert.match(list.stderr, /--storage: 2 URLs given; this command acts on one store/);
    assert.deepEqual(filesUnder(a), []);
  });

  /** Stops `server` once an upload of the dump reached it, while the backup is still running. */
  async function stopMidUpload(server: S3TestServer, prefix: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (
      !server.requests.some((request) => request.url.includes(`/${prefix}/`) && request.url.includes("dump"))
    ) {
      if (Date.now() > deadline) throw new Error("the upload never started");
      await sleep(5);
    }
    await server.stop();
  }

  test(
    "a destination dying mid-upload fails the run naming it, and no destination holds a manifest",
    { timeout: 180_000 },
    async () => {
      const dying = await startS3Server({ directory: join(work, "dying-1") });
      const a = join(work, "dying-a");
      const b = join(work, "dying-b");
      const [run] = await Promise.all([
        backup([a, mockUrl(dying, "d"), b], ["--compression", "none"], "big").then(async (result) => {
          await dying.stop();
          return result;
        }),
        stopMidUpload(dying, "d"),
      ]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /s3:\/\/lifeboat-test\/d/);
      assert.match(run.stderr, /every destination must commit/);
      assert.deepEqual(
        filesUnder(join(a, "app")).filter((file) => file.endsWith("manifest.json")),
        [],
      );
      assert.deepEqual(
        filesUnder(join(b, "app")).filter((file) => file.endsWith("manifest.json")),
        [],
      );
      // What the local destinations got was taken back (at most a killed writer's temporary file).
      assert.deepEqual(
        filesUnder(join(a, "app")).filter((file) => file.endsWith("dump")),
        [],
      );
    },
  );

  test(
    "with --min-destinations 2 the others commit whole backups and the dead one is named",
    { timeout: 180_000 },
    async () => {
      const dying = await startS3Server({ directory: join(work, "dying-2") });
      const a = join(work, "min-a");
      const b = join(work, "min-b");
      const [run] = await Promise.all([
        backup([a, mockUrl(dying, "d"), b], ["--compression", "none", "--min-destinations", "2"], "big").then(
          async (result) => {
            await dying.stop();
            return result;
          },
        ),
        stopMidUpload(dying, "d"),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /destination s3:\/\/lifeboat-test\/d failed/);
      const id = run.json.backupId as string;
      const destinations = run.json.destinations as { url: string; manifestKey?: string; error?: string }[];
      assert.deepEqual(
        destinations.map((destination) => destination.manifestKey !== undefined),
        [true, false, true],
      );
      assert.ok(destinations[1]!.error);
      for (const storage of [a, b]) {
        assert.deepEqual(filesUnder(storage), [`app/${id}/dump.age`, `app/${id}/manifest.json`]);
        const verify = await runCli(
          ["verify", "--storage", storage, "--label", "app", "--identity-file", identityFile],
          {
            env: env(),
          },
        );
        assert.equal(verify.code, 0, verify.stderr);
      }
    },
  );
});

describe("copy", () => {
  const source = () => join(work, "copy-src");

  async function copy(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    return runCli(["copy", "--label", "app", ...args, "--json"], { env: { ...env(), ...extraEnv } });
  }

  test(
    "copies a whole label incrementally, checks every copy, and each store keeps its own retention",
    { timeout: 180_000 },
    async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const run = await backup([source()]);
        assert.equal(run.code, 0, run.stderr);
        ids.push(run.json.backupId as string);
        await sleep(1100);
      }
      const to = `s3://${mock.bucket}/offsite?endpoint=${mock.endpoint}&force-path-style=true&region=${mock.region}`;
      const toEnv = {
        LIFEBOAT_TO_AWS_ACCESS_KEY_ID: mock.accessKeyId,
        LIFEBOAT_TO_AWS_SECRET_ACCESS_KEY: mock.secretAccessKey,
      };
      const first = await copy(
        ["--from", source(), "--to", to, "--backup", "all", "--identity-file", identityFile],
        toEnv,
      );
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        (first.json.copied as { backupId: string; decrypted: boolean }[]).map((entry) => [
          entry.backupId,
          entry.decrypted,
        ]),
        [
          [ids[0], true],
          [ids[1], true],
        ],
      );
      // The manifest is the original's, byte for byte; check records stay where they were.
      const s3 = client(mock);
      const { GetObjectCommand } = await import("@aws-sdk/client-s3");
      const got = await s3.send(
        new GetObjectCommand({ Bucket: mock.bucket, Key: `offsite/app/${ids[1]}/manifest.json` }),
      );
      assert.equal(
        await got.Body!.transformToString(),
        readFileSync(join(source(), "app", ids[1]!, "manifest.json"), "utf8"),
      );
      s3.destroy();

      const again = await copy(["--from", source(), "--to", to, "--backup", "all"], toEnv);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.json.copied, []);
      assert.deepEqual(again.json.present, [ids[0], ids[1]]);

      const third = await backup([source()]);
      ids.push(third.json.backupId as string);
      const latest = await copy(["--from", source(), "--to", to], toEnv);
      assert.equal(latest.code, 0, latest.stderr);
      assert.deepEqual(
        (latest.json.copied as { backupId: string }[]).map((entry) => entry.backupId),
        [ids[2]],
      );

      // Without the destination's credentials the copy is exit 2 before anything is written.
      const denied = await runCli(
        [
          "copy",
          "--label",
          "app",
          "--from",
          source(),
          "--to",
          `s3://${mock.bucket}/other?endpoint=${mock.endpoint}&force-path-style=true&credentials=MISSING`,
        ],
        { env: env() },
      );
      assert.equal(denied.code, 2);
      assert.match(denied.stderr, /MISSING_AWS_ACCESS_KEY_ID is not set/);

      // Retention per store: the source keeps one, the offsite copy keeps all three.
      const pruneHere = await runCli(
        ["prune", "--storage", source(), "--label", "app", "--keep-last", "1", "--json"],
        { env: env() },
      );
      assert.equal(pruneHere.code, 0, pruneHere.stderr);
      const pruneThere = await runCli(
        ["prune", "--storage", `${to}&credentials=OFFSITE`, "--label", "app", "--keep-last", "3", "--json"],
        { env: env() },
      );
      assert.equal(pruneThere.code, 0, pruneThere.stderr);
      const listHere = await runCli(["list", "--storage", source(), "--label", "app", "--json"], {
        env: env(),
      });
      assert.deepEqual(
        (listHere.json.backups as { backupId: string }[]).map((entry) => entry.backupId),
        [ids[2]],
      );
      const manifestsThere = (await keysUnder(mock, "offsite/app/")).filter((key) =>
        key.endsWith("manifest.json"),
      );
      assert.equal(manifestsThere.length, 3);
    },
  );

  test(
    "a tampered source backup is refused: exit 1, nothing of it at the destination",
    { timeout: 120_000 },
    async () => {
      const from = join(work, "tamper-src");
      const to = join(work, "tamper-dst");
      const run = await backup([from]);
      assert.equal(run.code, 0, run.stderr);
      const id = run.json.backupId as string;
      const dump = join(from, "app", id, "dump.age");
      const bytes = readFileSync(dump);
      bytes[bytes.length - 100] ^= 0xff;
      writeFileSync(dump, bytes);
      const copied = await copy(["--from", from, "--to", to, "--backup", id]);
      assert.equal(copied.code, 1, copied.stderr);
      assert.match(copied.stderr, /does not match its manifest.*refusing to copy/);
      assert.deepEqual(filesUnder(to), []);
    },
  );

  test(
    "a different backup under the same id at the destination is never overwritten",
    { timeout: 60_000 },
    async () => {
      const from = join(work, "same-id-src");
      const to = join(work, "same-id-dst");
      const run = await backup([from]);
      assert.equal(run.code, 0, run.stderr);
      const id = run.json.backupId as string;
      const first = await copy(["--from", from, "--to", to, "--backup", id]);
      assert.equal(first.code, 0, first.stderr);
      // Another backup that happens to hold the same id (another database, a clock gone wrong).
      const theirs = join(to, "app", id, "manifest.json");
      const other = readFileSync(theirs, "utf8").replace(
        /"durationSeconds": [0-9.]+/,
        '"durationSeconds": 999',
      );
      writeFileSync(theirs, other);
      const again = await copy(["--from", from, "--to", to, "--backup", id]);
      assert.equal(again.code, 1, again.stderr);
      assert.match(again.stderr, /holds a different backup under the same id; never overwritten/);
      assert.equal(readFileSync(theirs, "utf8"), other);
    },
  );

  test(
    "a destination that dies mid-copy holds no manifest; the next copy finishes",
    { timeout: 240_000 },
    async () => {
      const from = join(work, "die-src");
      const run = await backup([from], ["--compression", "none"], "big");
      assert.equal(run.code, 0, run.stderr);
      const id = run.json.backupId as string;
      const directory = join(work, "die-dst");
      const dying = await startS3Server({ directory });
      const port = dying.port;
      const to = mockUrl(dying, "c");
      const [cut] = await Promise.all([
        copy(["--from", from, "--to", to, "--backup", "all"], {
          LIFEBOAT_TO_AWS_ACCESS_KEY_ID: dying.accessKeyId,
          LIFEBOAT_TO_AWS_SECRET_ACCESS_KEY: dying.secretAccessKey,
        }),
        (async () => {
          const deadline = Date.now() + 60_000;
          while (!dying.requests.some((request) => request.url.includes(`/c/app/${id}/dump`))) {
            if (Date.now() > deadline) throw new Error("the copy never started uploading");
            await sleep(5);
          }
          await dying.stop();
        })(),
      ]);
      assert.equal(cut.code, 1, cut.stderr);
      const revived = await startS3Server({ directory, port });
      try {
        assert.deepEqual(
          (await keysUnder(revived, "c/")).filter((key) => key.endsWith("manifest.json")),
          [],
        );
        const next = await copy(["--from", from, "--to", to, "--backup", "all"]);
        assert.equal(next.code, 0, next.stderr);
        assert.deepEqual(
          (next.json.copied as { backupId: string }[]).map((entry) => entry.backupId),
          [id],
        );
        assert.deepEqual(await keysUnder(revived, "c/"), [
          `c/app/${id}/dump.age`,
          `c/app/${id}/manifest.json`,
        ]);
      } finally {
        await revived.stop();
      }
    },
  );

  test(
    "a copy whose bytes read back differently fails and takes back what it wrote",
    { timeout: 60_000 },
    async () => {
      const from = join(work, "reread-src");
      const to = join(work, "reread-dst");
      const run = await backup([from]);
      assert.equal(run.code, 0, run.stderr);
      const settings = parseCopySettings({ from, to, label: "app", backup: "all" });
      const real = await openStore(to);
      // A destination that hands back other bytes than it was given (a bad disk, a broken proxy).
      const lying: Store = {
        url: real.url,
        check: (access) => real.check(access),
        put: (key, body, options) => real.put(key, body, options),
        head: (key) => real.head(key),
        list: (prefix) => real.list(prefix),
        deleteMany: (keys) => real.deleteMany(keys),
        get: async (key) => {
          const chunks: Buffer[] = [];
          for await (const chunk of await real.get(key)) chunks.push(chunk as Buffer);
          const bytes = Buffer.concat(chunks);
          if (key.endsWith("dump.age")) bytes[10] ^= 1;
          return Readable.from([bytes]);
        },
      };
      const result = await runCopy(settings, {
        env: {},
        cwd: work,
        now: () => new Date(),
        log: silent,
        stores: { from: await openStore(from), to: lying },
      });
      assert.equal(result.copied.length, 0);
      assert.equal(result.failed.length, 1);
      assert.match(result.failed[0]!.reason, /does not match the manifest on reading it back/);
      assert.deepEqual(filesUnder(to), []);
    },
  );
});
