/**
 * verify against real backups in a local directory and in S3: intact ones pass, tampered, cut
 * short or mismatched ones fail (with the identity and without, where detectable), gates trip,
 * and every run leaves a check record.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runVerify } from "../../src/commands/verify/run.js";
import { silentLogger } from "../../src/commands/logger.js";
import { parseVerifySettings } from "../../src/settings/settings.js";
import { openStore } from "../../src/storage/open-store.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { useS3Server } from "../helpers/s3-server.js";

let cluster: Cluster;
let work: string;
let identityFile: string;
let otherIdentityFile: string;
let recipient: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-verify-"));
  identityFile = join(work, "key.txt");
  otherIdentityFile = join(work, "other-key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", otherIdentityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") });

/** A fresh backup under its own label in a local store; returns the storage dir, label and id. */
async function backup(
  label: string,
  extra: string[] = [],
): Promise<{ storage: string; backupId: string; folder: string }> {
  const storage = join(work, "store");
  const run = await runCli(
    ["backup", "--storage", storage, "--label", label, "--recipient", recipient, ...extra, "--json"],
    {
      env: env(),
    },
  );
  assert.equal(run.code, 0, run.stderr);
  const backupId = run.json.backupId as string;
  return { storage, backupId, folder: join(storage, label, backupId) };
}

function checks(folder: string): string[] {
  try {
    return readdirSync(join(folder, "checks")).sort();
  } catch {
    return [];
  }
}

function flipByte(file: string, position: (size: number) => number): void {
  const data = readFileSync(file);
  const at = position(data.length);
  data[at] = data[at]! ^ 0x01;
  writeFileSync(file, data);
}

describe("verify", () => {
  test("an intact backup passes without the identity (stored object) and with it (decrypted, archive read)", async () => {
    const { storage, backupId, folder } = await backup("intact");
    const shallow = await runCli(["verify", "--storage", storage, "--label", "intact", "--json"], {
      env: env(),
    });
    assert.equal(shallow.code, 0, shallow.stderr);
    assert.equal(shallow.json.verified, true);
    assert.equal(shallow.json.kind, "verify");
    assert.equal(shallow.json.backupId, backupId);

    const deep = await runCli(
      [
        "verify",
        "--storage",
        storage,
        "--label",
        "intact",
        "--backup",
        backupId,
        "--identity-file",
        identityFile,
        "--json",
      ],
      { env: env() },
    );
    assert.equal(deep.code, 0, deep.stderr);
    assert.equal(deep.json.kind, "verify-deep");
    assert.equal(deep.json.tablesListed, 6);

    const records = checks(folder);
    assert.equal(records.length, 2);
    assert.match(records[0]!, /^\d{8}T\d{9}Z-verify-pass\.json$/);
    assert.match(records[1]!, /^\d{8}T\d{9}Z-verify-deep-pass\.json$/);
    const record = JSON.parse(readFileSync(join(folder, "checks", records[1]!), "utf8"));
    assert.equal(record.passed, true);
    assert.equal(record.backupId, backupId);
    assert.equal(record.details.deep, true);

    const list = await runCli(["list", "--storage", storage, "--label", "intact"], { env: env() });
    assert.match(list.stdout, /verify-deep pass/);
  });

  for (const [where, position] of [
    ["the header", () => 30],
    ["the middle", (size: number) => Math.floor(size / 2)],
    ["the last byte", (size: number) => size - 1],
  ] as const) {
    test(`one flipped byte in ${where} fails verify, with the identity and without`, async () => {
      const label = `flip-${where.replace(/\W/g, "")}`;
      const { storage, folder } = await backup(label);
      flipByte(join(folder, "dump.age"), position);
      const shallow = await runCli(["verify", "--storage", storage, "--label", label], { env: env() });
      assert.equal(shallow.code, 1, shallow.stderr);
      assert.match(
        shallow.stderr,
        /^lifeboat: error: backup \S+ failed verification: the sha256 of dump\.age is/m,
      );
      const deep = await runCli(
        ["verify", "--storage", storage, "--label", label, "--identity-file", identityFile],
        {
          env: env(),
        },
      );
      assert.equal(deep.code, 1, deep.stderr);
      assert.match(deep.stderr, /failed verification: reading dump\.age failed: /);
      assert.deepEqual(
        checks(folder).map((name) => name.replace(/^\d+T\d+Z-/, "")),
        ["verify-fail.json", "verify-deep-fail.json"],
      );
    });
  }

  test("an object cut short fails verify, with the identity and without", async () => {
    const { storage, folder } = await backup("truncated");
    const object = join(folder, "dump.age");
    truncateSync(object, readFileSync(object).length - 100);
    const shallow = await runCli(["verify", "--storage", storage, "--label", "truncated"], { env: env() });
    assert.equal(shallow.code, 1);
    assert.match(shallow.stderr, /the store holds \d+ bytes of dump\.age; the manifest says \d+/);
    const deep = await runCli(
      ["verify", "--storage", storage, "--label", "truncated", "--identity-file", identityFile],
      {
        env: env(),
      },
    );
    assert.equal(deep.code, 1);
    assert.match(deep.stderr, /truncated/);
  });

  test("a manifest that does not match its object fails verify", async () => {
    const { storage, folder } = await backup("mismatch");
    const other = await backup("mismatch-source");
    // The object of another backup under this backup's manifest: a swapped or stale object.
    cpSync(join(other.folder, "dump.age"), join(folder, "dump.age"));
    const run = await runCli(
      ["verify", "--storage", storage, "--label", "mismatch", "--identity-file", identityFile],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, /failed verification/);
  });

  test("gates: max-age, max-size-change (fail or warn) and min-size", async () => {
    const storage = join(work, "store");
    await backup("gates");
    // Backup ids order by their start second; the next backup must start in a later one.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
    await cluster.sql(
      "shop",
      "CREATE TABLE public.growth AS SELECT i, md5(i::text) AS v FROM generate_series(1, 20000) i",
    );
    try {
      const { backupId } = await backup("gates");
      const store = await openStore(storage);
      const verify = (raw: Record<string, string>, now = new Date()) =>
        runVerify(parseVerifySettings({ storage, label: "gates", ...raw }), {
          store,
          env: process.env,
          now: () => now,
          log: silentLogger,
        });
      const fresh = await verify({ "max-age": "26h" });
      assert.equal(fresh.verified, true);
      const stale = await verify({ "max-age": "26h" }, new Date(Date.now() + 27 * 3600 * 1000));
      assert.equal(stale.verified, false);
      assert.match(
        stale.failures[0]!,
        new RegExp(`the newest backup \\(${backupId}\\) is 27\\.0h old, more than max-age 26\\.0h`),
      );

      const grew = await verify({ "max-size-change": "50%" });
      assert.equal(grew.verified, false);
      assert.match(grew.failures[0]!, /the stored size changed by \+?\d+\.\d% against the previous backup/);
      const warned = await verify({ "max-size-change": "50%", "size-change-action": "warn" });
      assert.equal(warned.verified, true);
      assert.equal(warned.warnings.length, 1);

      const small = await verify({ "min-size": "1GB" });
      assert.equal(small.verified, false);
      assert.match(small.failures[0]!, /less than min-size 1000000000/);
    } finally {
      await cluster.sql("shop", "DROP TABLE public.growth");
    }
  });

  test("bad input is exit 2, and leaves no check record", async () => {
    const { storage, backupId, folder } = await backup("bad-input");
    const cases: [string[], RegExp][] = [
      [["--backup", "20200101T000000Z-nosuch"], /--backup "20200101T000000Z-nosuch": no such backup/],
      [["--backup", "yesterday"], /--backup "yesterday": expected latest or a backup id/],
      [["--label", "empty-label"], /--label "empty-label": no backups under/],
      [
        ["--identity-file", otherIdentityFile],
        /--identity-file: the identity is for age1\S+, but backup \S+ is encrypted to age1/,
      ],
      [
        ["--identity-file", join(work, "missing.txt")],
        /--identity-file ".*missing\.txt": cannot read it \(ENOENT\)/,
      ],
      [["--max-age", "a day"], /--max-age "a day": expected a duration/],
      [["--max-size-change", "lots"], /--max-size-change "lots": expected a percentage/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(["verify", "--storage", storage, "--label", "bad-input", ...args], {
        env: env(),
      });
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.split("\n").length, 1, run.stderr);
    }
    assert.deepEqual(checks(folder), [], `no check record for ${backupId}`);
  });

  test("a passphrase backup: verified with the passphrase, refused without, failed with a wrong one", async () => {
    const storage = join(work, "store");
    const good = join(work, "pass.txt");
    const bad = join(work, "wrong-pass.txt");
    writeFileSync(good, "the right passphrase\n");
    writeFileSync(bad, "a wrong passphrase\n");
    const made = await runCli(
      ["backup", "--storage", storage, "--label", "pass", "--passphrase-file", good],
      { env: env() },
    );
    assert.equal(made.code, 0, made.stderr);
    const ok = await runCli(["verify", "--storage", storage, "--label", "pass", "--passphrase-file", good], {
      env: env(),
    });
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await runCli(
      ["verify", "--storage", storage, "--label", "pass", "--passphrase-file", bad],
      { env: env() },
    );
    // A wrong key is bad input (issue 12), found from the age header: exit 2, nothing recorded.
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^lifeboat: error: --passphrase-file: the passphrase does not open backup /m);
    const missing = await runCli(
      ["verify", "--storage", storage, "--label", "pass", "--identity-file", identityFile],
      {
        env: env(),
      },
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /encrypted with a passphrase/);
  });
});

describe("verify against S3", () => {
  const s3 = useS3Server({ before, after });

  test("streams the object from the store, decrypts it and reads the archive", async () => {
    const storage = `s3://${s3.server().bucket}/verify`;
    const s3Args = s3.flags();
    const made = await runCli(["backup", "--storage", storage, "--recipient", recipient, ...s3Args], {
      env: env(),
    });
    assert.equal(made.code, 0, made.stderr);
    const run = await runCli(
      ["verify", "--storage", storage, "--identity-file", identityFile, ...s3Args, "--json"],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.kind, "verify-deep");
    assert.match(String(run.json.checkKey), /^default\/\S+\/checks\/\d+T\d+Z-verify-deep-pass\.json$/);
  });
});
