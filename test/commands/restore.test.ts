/**
 * restore (action restore-db) against a real server: a backup restored over a target database
 * with other content, a safety backup of the target taken first (and itself restorable), chosen
 * tables only, pg_restore's errors reported as failures (exit 1), and bad input refused (exit 2)
 * with nothing restored and nothing written.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runAction } from "../helpers/action.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop } from "../helpers/fixtures.js";
import { freePort, startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let otherIdentityFile: string;
let recipient: string;
let backupId: string;

/** Other content than the backup's: a shop.orders of another shape, and a marker table. */
const TARGET_SQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, note text);
INSERT INTO shop.orders SELECT i, 'old ' || i FROM generate_series(1, 3) i;
CREATE TABLE public.marker (note text);
INSERT INTO public.marker VALUES ('before the restore');
`;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-restore-db-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  otherIdentityFile = join(work, "other.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", otherIdentityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const made = await runCli(
    ["backup", "--storage", storage, "--label", "src", "--recipient", recipient, "--json"],
    { env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") } },
  );
  assert.equal(made.code, 0, made.stderr);
  backupId = made.json.backupId as string;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function restore(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(["restore", "--storage", storage, "--identity-file", identityFile, ...args, "--json"], {
    env: { PATH: process.env.PATH, ...env },
  });
}

function manifestOf(label: string, id: string) {
  return JSON.parse(readFileSync(join(storage, label, id, "manifest.json"), "utf8")) as {
    tables: { schema: string; table: string; rows: number }[];
    encryption: { recipients: string[] };
    source: { database: string };
  };
}

async function createTarget(name: string, sql = TARGET_SQL) {
  await cluster.createDatabase(name);
  if (sql) await cluster.sql(name, sql);
}

describe("restore", () => {
  test("restores in place over a database with other content (clean), after a safety backup that itself restores the previous content", async () => {
    await createTarget("target");
    const run = await restore(
      [
        "--label",
        "src",
        "--backup",
        `before:${new Date(Date.now() + 60_000).toISOString()}`,
        "--target-database-url",
        cluster.url("target"),
        "--confirm",
        "target",
        "--strategy",
        "in-place",
        "--clean",
      ],
      { LIFEBOAT_PROGRESS_SECONDS: "0.01" },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(run.json.backupId, backupId);
    assert.deepEqual(run.json.failures, []);
    assert.ok((run.json.restoreSeconds as number) > 0);
    assert.deepEqual(run.json.pgRestoreArgs, ["--clean", "--if-exists", "--no-data-for-failed-tables"]);
    assert.match(
      run.stderr,
      /^restore: [\d.]+ \S+ of [\d.]+ \S+ read \(\d+%\), [\d.]+ \S+\/s, \d+ tables, \d+s elapsed$/m,
    );
    assert.match(
      run.stderr,
      /^Restored src\/\S+ into 127\.0\.0\.1:\d+\/target \(in-place\): .* read in [\d.]+s, 6 tables, 0 row-count differences, catalog 0 failure\(s\) \d+ warning\(s\); undo with the safety backup src-safety\/\S+$/m,
    );
    assert.ok(!run.stdout.includes(cluster.password) && !run.stderr.includes(cluster.password));

    // Every table the manifest counted has its rows; the marker (not in the backup) stays.
    const counts = await countAllRows(cluster, "target");
    for (const table of manifestOf("src", backupId).tables) {
      assert.equal(counts[`${table.schema}.${table.table}`], table.rows, `${table.schema}.${table.table}`);
    }
    assert.deepEqual(run.json.rowCheck, { tablesChecked: 6, mismatches: [] });

    // The safety backup: under src-safety, of the target, encrypted to the same recipient.
    const safety = run.json.safetyBackup as { label: string; backupId: string };
    assert.equal(safety.label, "src-safety");
    const safetyManifest = manifestOf("src-safety", safety.backupId);
    assert.equal(safetyManifest.source.database, "target");
    assert.deepEqual(safetyManifest.encryption.recipients, [recipient]);

    // ... and it brings the target's previous content back, into a third database.
    await createTarget("undo", "");
    const undo = await restore([
      "--label",
      "src-safety",
      "--backup",
      safety.backupId,
      "--target-database-url",
      cluster.url("undo"),
      "--confirm",
      "undo",
      "--safety-backup",
      "false",
    ]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(undo.json.safetyBackup, null);
    assert.match(undo.stderr, /warning: no safety backup of the target/);
    assert.deepEqual(await cluster.sql("undo", "SELECT note FROM public.marker"), [
      { note: "before the restore" },
    ]);
    assert.deepEqual(await countAllRows(cluster, "undo"), { "shop.orders": 3, "public.marker": 1 });
  });

  test("restores chosen tables only", async () => {
    await createTarget(
      "partial",
      "CREATE SCHEMA shop; CREATE SCHEMA audit; CREATE TABLE public.marker (note text)",
    );
    const run = await restore([
      "--label",
      "src",
      "--backup",
      backupId,
      "--target-database-url",
      cluster.url("partial"),
      "--confirm",
      "partial",
      "--table",
      "customers",
      "--table",
      "events",
      "--no-owner",
      "--no-privileges",
      "--safety-label",
      "partial-before",
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.deepEqual(run.json.pgRestoreArgs, [
      "--no-owner",
      "--no-privileges",
      "--table=customers",
      "--table=events",
    ]);
    assert.equal(run.json.rowCheck, null);
    assert.deepEqual(await countAllRows(cluster, "partial"), {
      "shop.customers": 1500,
      "audit.events": 2500,
      "public.marker": 0,
    });
    const safety = run.json.safetyBackup as { label: string; backupId: string };
    assert.equal(safety.label, "partial-before");
    assert.ok(existsSync(join(storage, "partial-before", safety.backupId, "manifest.json")));
  });

  test("in place, pg_restore's errors fail the restore (exit 1) with its own text, naming the safety backup", async () => {
    await createTarget("clash", "");
    await cluster.sql("clash", "CREATE SCHEMA shop; CREATE TABLE shop.customers (id int)");
    const run = await restore([
      "--label",
      "src",
      "--target-database-url",
      cluster.url("clash"),
      "--confirm",
      "clash",
      "--strategy",
      "in-place",
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^lifeboat: error: restore of src\/\S+ failed: pg_restore reported \d+ error\(s\): .*already exists.*; the target's previous content is in the safety backup src-safety\/\S+$/m,
    );
    assert.ok(
      (run.json.restoreErrors as string[]).some((error) => /relation "customers" already exists/.test(error)),
    );
  });

  test("bad input is exit 2 with one line naming the input, and nothing is restored or written", async () => {
    await createTarget("keep");
    const port = await freePort();
    const base = [
      "--label",
      "src",
      "--safety-label",
      "bad-safety",
      "--target-database-url",
      cluster.url("keep"),
    ];
    const cases: [string[], RegExp][] = [
      [base, /--confirm: required; expected the target database's name \("keep"\)/],
      [[...base, "--confirm", "shop"], /--confirm "shop": expected the target database's name "keep"/],
      [
        [...base, "--confirm", "keep", "--backup", "20200101T000000Z-zzzzzz"],
        /--backup "20200101T000000Z-zzzzzz": no such backup/,
      ],
      [
        [...base, "--confirm", "keep", "--backup", "before:2000-01-01T00:00:00Z"],
        /--backup "before:2000-01-01T00:00:00Z": no backup under .* started at or before 2000-01-01T00:00:00\.000Z/,
      ],
      [
        [...base, "--confirm", "keep", "--backup", "before:yesterday"],
        /--backup "before:yesterday": expected an ISO 8601 time/,
      ],
      [
        [
          "--label",
          "src",
          "--safety-label",
          "bad-safety",
          "--target-database-url",
          `postgresql://postgres:x@127.0.0.1:${port}/keep`,
          "--confirm",
          "keep",
        ],
        new RegExp(`--target-database-url: nothing accepts connections at 127\\.0\\.0\\.1:${port}`),
      ],
      [
        [...base, "--confirm", "keep", "--identity-file", otherIdentityFile],
        /--identity-file: the identity is for age1/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await restore(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      const errors = run.stderr.split("\n").filter((line) => line.startsWith("lifeboat: error:"));
      assert.equal(errors.length, 1, run.stderr);
      assert.match(errors[0]!, message);
      assert.ok(!run.stderr.includes(cluster.password));
    }
    assert.deepEqual(await countAllRows(cluster, "keep"), { "shop.orders": 3, "public.marker": 1 });
    assert.ok(!existsSync(join(storage, "bad-safety")), "no safety backup was started");
  });
});

describe("restore of a passphrase backup", () => {
  test("a wrong passphrase is bad input found before anything is written; the safety backup uses the same passphrase", async () => {
    const right = join(work, "pass.txt");
    const wrong = join(work, "wrong.txt");
    writeFileSync(right, "correct horse battery staple\n");
    writeFileSync(wrong, "not it\n");
    const made = await runCli(
      ["backup", "--storage", storage, "--label", "pw", "--passphrase-file", right, "--json"],
      { env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") } },
    );
    assert.equal(made.code, 0, made.stderr);
    await createTarget("pwtarget");
    const args = (file: string) => [
      "restore",
      "--storage",
      storage,
      "--label",
      "pw",
      "--passphrase-file",
      file,
      "--target-database-url",
      cluster.url("pwtarget"),
      "--confirm",
      "pwtarget",
      "--clean",
      "--json",
    ];
    const refused = await runCli(args(wrong), { env: { PATH: process.env.PATH } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^lifeboat: error: --passphrase-file: the passphrase does not decrypt backup pw\/\S+$/m,
    );
    assert.ok(!existsSync(join(storage, "pw-safety")));
    assert.deepEqual(await countAllRows(cluster, "pwtarget"), { "shop.orders": 3, "public.marker": 1 });

    const run = await runCli(args(right), { env: { PATH: process.env.PATH } });
    assert.equal(run.code, 0, run.stderr);
    const safety = run.json.safetyBackup as { backupId: string };
    const manifest = JSON.parse(
      readFileSync(join(storage, "pw-safety", safety.backupId, "manifest.json"), "utf8"),
    );
    assert.deepEqual(manifest.encryption, { format: "age-v1", recipients: [], passphrase: true });
    assert.equal((await countAllRows(cluster, "pwtarget"))["shop.orders"], 4000);
  });
});

describe("the restore-db action bundle", () => {
  test("restores with the identity input, masks the secrets, sets its outputs and writes the job summary", async () => {
    assert.ok(existsSync("dist/restore-db/index.js"), "dist/restore-db/index.js is built (npm run build)");
    await createTarget("viaaction");
    const identity = readFileSync(identityFile, "utf8");
    const run = runAction(
      "restore-db",
      {
        storage,
        label: "src",
        identity,
        "target-database-url": cluster.url("viaaction"),
        confirm: "viaaction",
        clean: "true",
        "safety-label": "action-safety",
      },
      { cwd: work },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.ok(run.masked.includes(cluster.password), "the password is masked");
    for (const text of [run.visible, run.stderr, run.summary]) {
      assert.ok(!text.includes(cluster.password) && !text.includes("AGE-SECRET-KEY-"));
    }
    assert.equal(run.outputs["backup-id"], backupId);
    assert.match(run.outputs["safety-backup-id"]!, /^\d{8}T\d{6}Z-[a-z0-9]+$/);
    assert.ok(existsSync(join(storage, "action-safety", run.outputs["safety-backup-id"]!, "manifest.json")));
    assert.ok(Number(run.outputs["restore-seconds"]) > 0);
    assert.match(run.summary, /Lifeboat restore: src\/\S+ into viaaction done/);
    assert.match(run.summary, /action-safety\//);
    assert.equal((await countAllRows(cluster, "viaaction"))["shop.orders"], 4000);
  });
});
