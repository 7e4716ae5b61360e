/** The verify-backup and restore-test bundles, run the way the runner runs them. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runAction } from "../helpers/action.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let identity: string;
let backupId: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-actions-"));
  execFileSync("age-keygen", ["-o", join(work, "key.txt")], { stdio: "pipe" });
  identity = readFileSync(join(work, "key.txt"), "utf8");
  const recipient = execFileSync("age-keygen", ["-y", join(work, "key.txt")], { encoding: "utf8" }).trim();
  const made = await runCli(
    ["backup", "--storage", join(work, "backups"), "--label", "app", "--recipient", recipient, "--json"],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") },
    },
  );
  assert.equal(made.code, 0, made.stderr);
  backupId = made.json.backupId as string;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const secretLine = () => identity.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-"))!;

describe("verify-backup action", () => {
  test("deep-verifies with the identity input, masks it, and sets its outputs", () => {
    const run = runAction(
      "verify-backup",
      { storage: "backups", label: "app", identity, "max-age": "1h" },
      { cwd: work },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.ok(run.masked.includes(secretLine()), "the identity is masked");
    assert.ok(!run.visible.includes("AGE-SECRET-KEY-") && !run.summary.includes("AGE-SECRET-KEY-"));
    assert.equal(run.outputs.verified, "true");
    assert.equal(run.outputs["backup-id"], backupId);
    assert.equal(run.outputs.reason, "");
    assert.match(run.summary, /Lifeboat verify: app passed/);
  });

  test("a failed gate turns the step red with the reason as output", () => {
    const run = runAction(
      "verify-backup",
      { storage: "backups", label: "app", "min-size": "1TB" },
      { cwd: work },
    );
    assert.equal(run.status, 1);
    assert.equal(run.outputs.verified, "false");
    assert.match(run.outputs.reason!, /less than min-size/);
    assert.match(run.stdout, /^::error::backup \S+ failed verification: .*min-size/m);
  });
});

describe("restore-test action", () => {
  test("restores into a scratch database, masks the scratch URL's password, and sets its outputs", () => {
    const run = runAction(
      "restore-test",
      { storage: "backups", label: "app", identity, "scratch-database-url": cluster.url("postgres") },
      { cwd: work },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.ok(run.masked.includes(cluster.password));
    assert.ok(!run.visible.includes(cluster.password) && !run.summary.includes(cluster.password));
    assert.equal(run.outputs.passed, "true");
    assert.equal(run.outputs["backup-id"], backupId);
    assert.equal(run.outputs["tables-checked"], "6");
    assert.equal(run.outputs.mismatches, "0");
    assert.ok(Number(run.outputs["restore-seconds"]) > 0);
    assert.match(run.summary, /Lifeboat restore-test: app passed/);
  });
});
