/**
 * The audit trail with real restores and prunes: each writes a signed record under
 * `<label>/_audit/` naming who, what, where and the outcome, with no secret in it; `lifeboat audit`
 * lists and verifies them; list, prune and retention never take `_audit/` for a backup.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AuditRecord } from "../../src/repository/audit-trail.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const hasMinisign = spawnSync("minisign", ["-v"]).status === 0;

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;
let signingKey: string;
let publicKeyFile: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  await cluster.createDatabase("target");
  work = mkdtempSync(join(tmpdir(), "lifeboat-audit-"));
  identityFile = join(work, "age.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  signingKey = join(work, "lifeboat.key");
  const keygen = await runCli(["keygen", "--signing", "--output", signingKey, "--json"]);
  assert.equal(keygen.code, 0, keygen.stderr);
  publicKeyFile = keygen.json.publicKeyFile as string;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const storage = () => join(work, "store");
const common = (label: string) => ["--storage", storage(), "--label", label];
const signing = () => ["--signing-key-file", signingKey];
const trusted = () => ["--trusted-key", publicKeyFile];

async function backup(label: string): Promise<string> {
  const run = await runCli(["backup", ...common(label), "--recipient", recipient, ...signing(), "--json"], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") },
  });
  assert.equal(run.code, 0, run.stderr);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return run.json.backupId as string;
}

function auditFiles(label: string): string[] {
  try {
    return readdirSync(join(storage(), label, "_audit")).sort();
  } catch {
    return [];
  }
}

describe("audit trail", () => {
  test("a restore writes a signed record: who, the backup, the target, the options, the outcome; no secret", async () => {
    const backupId = await backup("app");
    const targetUrl = cluster.url("target");
    const restore = await runCli(
      [
        "restore",
        ...common("app"),
        "--identity-file",
        identityFile,
        "--target-database-url",
        targetUrl,
        "--confirm",
        "target",
        "--safety-backup",
        "false",
        ...signing(),
        ...trusted(),
        "--json",
      ],
      {
        env: {
          PATH: process.env.PATH,
          GITHUB_ACTIONS: "true",
          GITHUB_ACTOR: "octocat",
          GITHUB_REPOSITORY: "acme/shop",
          GITHUB_RUN_ID: "4242",
          GITHUB_WORKFLOW: "restore drill",
        },
      },
    );
    assert.equal(restore.code, 0, restore.stderr);
    const files = auditFiles("app");
    const records = files.filter((name) => name.endsWith("-restore.json"));
    assert.equal(records.length, 1, files.join(", "));
    assert.ok(files.includes(`${records[0]}.minisig`));
    const text = readFileSync(join(storage(), "app", "_audit", records[0]!), "utf8");
    const record = JSON.parse(text) as AuditRecord;
    assert.equal(record.kind, "restore");
    assert.equal(record.outcome, "succeeded");
    assert.deepEqual(record.backups, [backupId]);
    assert.deepEqual(record.target, {
      kind: "database",
      host: cluster.host,
      port: cluster.port,
      database: "target",
    });
    assert.equal(record.who.actor, "octocat");
    assert.equal(record.who.runId, "4242");
    assert.equal(record.options.safetyBackup, false);
    assert.ok(!text.includes(cluster.password), "no password in the record");
    assert.ok(!text.includes("AGE-SECRET-KEY"), "no identity in the record");

    const listed = await runCli(["audit", ...common("app"), ...trusted(), "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = listed.json.entries as { signature: { state: string } }[];
    assert.deepEqual(
      entries.map((entry) => entry.signature.state),
      ["verified"],
    );
    if (hasMinisign) {
      const out = execFileSync(
        "minisign",
        ["-V", "-m", join(storage(), "app", "_audit", records[0]!), "-p", publicKeyFile],
        { encoding: "utf8" },
      );
      assert.match(out, new RegExp(`lifeboat audit label=app file=_audit/${records[0]}`));
    }

    // A failed restore is recorded too, with why.
    const refused = await runCli(
      [
        "restore",
        ...common("app"),
        "--identity-file",
        identityFile,
        "--target-database-url",
        targetUrl,
        "--confirm",
        "target",
        "--safety-backup",
        "false",
        "--backup",
        "20200101T000000Z-abcdef",
        ...signing(),
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(refused.code, 2);
    const failed = auditFiles("app").filter((name) => name.endsWith("-restore.json"));
    assert.equal(failed.length, 2);
    const second = JSON.parse(readFileSync(join(storage(), "app", "_audit", failed[1]!), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(second.outcome, "failed");
    assert.match(String(second.error), /no such backup/);

    // A forged record (unsigned) fails the audit once a trusted key is set; without one it is listed.
    writeFileSync(
      join(storage(), "app", "_audit", "20300101T000000000Z-restore.json"),
      JSON.stringify({ ...record, outcome: "succeeded", who: { ...record.who, actor: "someone-else" } }),
    );
    const forged = await runCli(["audit", ...common("app"), ...trusted()]);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /20300101T000000000Z-restore\.json \(unsigned\)/);
    const unchecked = await runCli(["audit", ...common("app")]);
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /someone-else/);
  });

  test("a prune writes a record naming what it deleted; _audit/ is never taken for a backup", async () => {
    const first = await backup("pruned");
    await backup("pruned");
    const prune = await runCli([
      "prune",
      ...common("pruned"),
      "--keep-last",
      "1",
      ...signing(),
      ...trusted(),
      "--json",
    ]);
    assert.equal(prune.code, 0, prune.stderr);
    const records = auditFiles("pruned").filter((name) => name.endsWith("-prune.json"));
    assert.equal(records.length, 1);
    const record = JSON.parse(
      readFileSync(join(storage(), "pruned", "_audit", records[0]!), "utf8"),
    ) as AuditRecord;
    assert.deepEqual(record.backups, [first]);
    assert.equal((record.options.policy as { keepLast: number }).keepLast, 1);
    // Prune again: the trail stays, and list shows one backup.
    const again = await runCli(["prune", ...common("pruned"), "--keep-last", "1", ...signing()]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(auditFiles("pruned").filter((name) => name.endsWith("-prune.json")).length, 2);
    const list = await runCli(["list", ...common("pruned"), "--json"]);
    assert.equal((list.json.backups as unknown[]).length, 1);
    // A dry run changes nothing and records nothing.
    await runCli(["prune", ...common("pruned"), "--keep-last", "1", "--dry-run"]);
    assert.equal(auditFiles("pruned").filter((name) => name.endsWith("-prune.json")).length, 2);
  });
});

describe("copy keeps the signature", () => {
  test("a signed backup copied to another store verifies there against the trusted key", async () => {
    const backupId = await backup("copied");
    const offsite = join(work, "offsite");
    const copy = await runCli(
      ["copy", "--label", "copied", "--from", storage(), "--to", offsite, "--backup", "all", "--json"],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(copy.code, 0, copy.stderr);
    const sig = readFileSync(join(offsite, "copied", backupId, "manifest.json.minisig"), "utf8");
    assert.equal(sig, readFileSync(join(storage(), "copied", backupId, "manifest.json.minisig"), "utf8"));
    const verify = await runCli(["verify", "--storage", offsite, "--label", "copied", ...trusted()], {
      env: { PATH: process.env.PATH },
    });
    assert.equal(verify.code, 0, verify.stderr);
    // The same copy without its signature is refused once a key is trusted.
    rmSync(join(offsite, "copied", backupId, "manifest.json.minisig"));
    const unsigned = await runCli(["verify", "--storage", offsite, "--label", "copied", ...trusted()], {
      env: { PATH: process.env.PATH },
    });
    assert.notEqual(unsigned.code, 0, unsigned.stderr);
  });
});
