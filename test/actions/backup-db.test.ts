/**
 * The backup-db bundle run the way the runner runs it: INPUT_* variables, the GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, `node dist/backup-db/index.js`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runAction } from "../helpers/action.js";
import { after, before, describe, test } from "node:test";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const BUNDLE = resolve("dist/backup-db/index.js");
let cluster: Cluster;
let work: string;
let recipient: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-action-"));
  execFileSync("age-keygen", ["-o", join(work, "key.txt")], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", join(work, "key.txt")], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const GITHUB_ENV = {
  GITHUB_ACTIONS: "true",
  GITHUB_REPOSITORY: "acme/shop",
  GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
  GITHUB_RUN_ID: "42",
  GITHUB_SERVER_URL: "https://github.com",
  GITHUB_ACTOR: "octocat",
};

describe("the backup-db action bundle", () => {
  test("backs up, sets every output, writes the job summary, and masks the password first", () => {
    assert.ok(existsSync(BUNDLE), "dist/backup-db/index.js is built (npm run build)");
    const run = runAction(
      "backup-db",
      { "database-url": cluster.url("shop"), storage: "backups", label: "shop", recipient: `${recipient}\n` },
      { cwd: work, env: GITHUB_ENV },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const firstLine = run.stdout.split("\n")[0]!;
    assert.match(firstLine, /^::add-mask::/, "masking comes before any other line");
    const masked = run.stdout.split("\n").filter((line) => line.startsWith("::add-mask::"));
    assert.ok(masked.some((line) => line === `::add-mask::${cluster.password}`));
    const unmasked = run.stdout
      .split("\n")
      .filter((line) => !line.startsWith("::add-mask::"))
      .join("\n");
    for (const text of [unmasked, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
      assert.ok(!text.includes(cluster.password), "the password appears nowhere");
    }

    const { outputs } = run;
    assert.match(outputs["backup-id"]!, /^\d{8}T\d{6}Z-[a-z0-9]+$/);
    assert.equal(outputs["backup-key"], `shop/${outputs["backup-id"]}/dump.age`);
    assert.equal(outputs["manifest-key"], `shop/${outputs["backup-id"]}/manifest.json`);
    assert.match(outputs.sha256!, /^[0-9a-f]{64}$/);
    assert.ok(Number(outputs["duration-seconds"]) > 0);
    const manifest = JSON.parse(readFileSync(join(work, "backups", outputs["manifest-key"]!), "utf8"));
    assert.equal(String(manifest.artifacts[0].stored.bytes), outputs["stored-bytes"]);
    assert.equal(manifest.artifacts[0].stored.sha256, outputs.sha256);
    assert.deepEqual(manifest.provenance, {
      repository: "acme/shop",
      commit: "0123456789abcdef0123456789abcdef01234567",
      ref: null,
      workflow: null,
      runId: "42",
      runAttempt: null,
      runUrl: "https://github.com/acme/shop/actions/runs/42",
      actor: "octocat",
      event: null,
    });
    assert.match(run.summary, /Lifeboat backup: shop/);
    assert.ok(run.summary.includes(outputs["backup-id"]!));
  });

  test("bad input fails the step with one line naming the input, and writes nothing", () => {
    const run = runAction(
      "backup-db",
      { "database-url": cluster.url("shop"), storage: "backups-bad", recipient: "age1nope" },
      { cwd: work, env: GITHUB_ENV },
    );
    assert.equal(run.status, 1);
    const errors = run.stdout.split("\n").filter((line) => line.startsWith("::error::"));
    assert.equal(errors.length, 1, run.stdout);
    assert.match(errors[0]!, /^::error::bad input: .*recipient/);
    assert.ok(!existsSync(join(work, "backups-bad")));
  });
});
