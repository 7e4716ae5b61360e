/// <reference lib="dom" />
/**
 * `lifeboat status` over a store filled by the CLI itself on a throwaway cluster: a healthy label
 * (verified and restore-tested), one whose newest backup failed a real restore-test, one whose
 * dump was damaged and failed a real verify, and a named label with nothing in it. Every output
 * (text, JSON, the page in Chromium, the metrics through a parser) says the same thing, and none
 * carries a secret.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { chromiumSkipReason, launchChromium } from "../helpers/browser.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { parseExposition, sampleValue } from "../helpers/prometheus-parser.js";
import { useS3Server } from "../helpers/s3-server.js";

const OUTPUT_DIR = resolve("test-output/status");
const skip = chromiumSkipReason();

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let recipient: string;

const env = () => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") });
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function backup(label: string): Promise<string> {
  const run = await runCli(
    ["backup", "--storage", storage, "--label", label, "--recipient", recipient, "--json"],
    { env: env() },
  );
  assert.equal(run.code, 0, run.stderr);
  // Backup ids have whole seconds: the next backup of a label starts in another one.
  await sleep(1100);
  return run.json.backupId as string;
}

async function restoreTest(label: string, extra: string[] = []) {
  return runCli(
    [
      "restore-test",
      ...["--storage", storage, "--label", label, "--identity-file", identityFile],
      ...["--scratch-database-url", cluster.url("postgres"), ...extra, "--json"],
    ],
    { env: env() },
  );
}

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-status-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();

  // production: two backups, the newest verified deeply and restore-tested.
  await backup("production");
  await backup("production");
  const deep = await runCli(
    ["verify", "--storage", storage, "--label", "production", "--identity-file", identityFile],
    { env: env() },
  );
  assert.equal(deep.code, 0, deep.stderr);
  const passed = await restoreTest("production");
  assert.equal(passed.code, 0, passed.stderr);

  // staging: an older good backup, and a newer one whose restore-test fails an assertion.
  await backup("staging");
  await backup("staging");
  const assertions = join(work, "false.sql");
  writeFileSync(assertions, "select count(*) = -1 from customers;\n");
  const failed = await restoreTest("staging", ["--assertions", assertions]);
  assert.equal(failed.code, 1, failed.stderr);

  // broken: one backup whose stored dump was damaged, then verified.
  const brokenId = await backup("broken");
  const dump = join(storage, "broken", brokenId, "dump.age");
  const data = readFileSync(dump);
  data[data.length >> 1] ^= 0x01;
  writeFileSync(dump, data);
  const verify = await runCli(["verify", "--storage", storage, "--label", "broken"], { env: env() });
  assert.equal(verify.code, 1, verify.stderr);
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface LabelJson {
  label: string;
  verdict: string;
  reasons: string[];
  lastRestoreTest: { passed: boolean; failure: string | null } | null;
  lastPassingRestoreTest: { restoreSeconds: number | null } | null;
  lastVerify: { kind: string; passed: boolean } | null;
  retention: { backups: number; verified: number; incomplete: number };
  successRate: { attempts: number; succeeded: number };
  storage: { totalBytes: number };
}

describe("lifeboat status", () => {
  test("every label in the store: verdicts, reasons and exit 1 for the red one", async () => {
    const run = await runCli(["status", "--storage", storage, "--json"], { env: { PATH: process.env.PATH } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /red: broken/);
    const labels = run.json.labels as LabelJson[];
    assert.deepEqual(
      labels.map((label) => [label.label, label.verdict]),
      [
        ["broken", "red"],
        ["production", "green"],
        ["staging", "amber"],
      ],
    );
    const [broken, production, staging] = labels as [LabelJson, LabelJson, LabelJson];
    assert.deepEqual(production.reasons, []);
    assert.deepEqual(production.retention, { backups: 2, verified: 1, incomplete: 0 });
    assert.equal(production.lastVerify?.kind, "verify-deep");
    assert.ok((production.lastPassingRestoreTest?.restoreSeconds ?? -1) >= 0, "restore time measured");
    assert.ok(production.storage.totalBytes > 0);

    assert.equal(staging.lastRestoreTest?.passed, false);
    assert.match(staging.lastRestoreTest?.failure ?? "", /assertion/i);
    assert.ok(staging.reasons.some((reason) => /newest backup \S+ failed its latest check/.test(reason)));
    assert.deepEqual(staging.successRate, { attempts: 2, succeeded: 1, ratio: 0.5, window: 30 });

    assert.equal(broken.lastVerify?.passed, false);
    assert.match(broken.reasons[0]!, /no good backup/);
  });

  test("named labels: a healthy one exits 0 in text; an empty one is red", async () => {
    const good = await runCli(["status", "--storage", storage, "--labels", "production"]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^LABEL\s+VERDICT/m);
    assert.match(good.stdout, /^production\s+GREEN\s/m);
    assert.doesNotMatch(good.stdout, /staging|broken/);

    const empty = await runCli([
      "status",
      "--storage",
      storage,
      "--labels",
      "production,nothing-here",
      "--json",
    ]);
    assert.equal(empty.code, 1);
    const labels = empty.json.labels as LabelJson[];
    assert.deepEqual(
      labels.map((label) => [label.label, label.verdict, label.reasons[0] ?? ""]),
      [
        ["nothing-here", "red", "no backup"],
        ["production", "green", ""],
      ],
    );
  });

  test("thresholds: --max-restore-age turns labels without a passing restore-test red", async () => {
    const run = await runCli([
      "status",
      "--storage",
      storage,
      "--labels",
      "production,staging",
      "--max-restore-age",
      "8d",
      "--json",
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /red: staging$/m);
    const [production, staging] = run.json.labels as [LabelJson, LabelJson];
    assert.equal(production.verdict, "green");
    assert.equal(staging.verdict, "red");
    assert.match(staging.reasons[0]!, /^no passing restore-test \(max-restore-age 8d\)$/);
  });

  test("bad input is one line naming the option, exit 2", async () => {
    for (const [args, pattern] of [
      [["--max-age", "soon"], /^lifeboat: error: --max-age "soon": expected/],
      [["--window", "0"], /^lifeboat: error: --window "0": expected/],
      [["--labels", "no/slash"], /^lifeboat: error: --labels "no\/slash": expected/],
      [["--min-success-rate", "120%"], /--min-success-rate/],
    ] as const) {
      const run = await runCli(["status", "--storage", storage, ...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    }
  });

  test("--html in Chromium and --prometheus through the parser say the same, with no secret", async (t) => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    const page = join(OUTPUT_DIR, "status-command.html");
    const metrics = join(work, "lifeboat.prom");
    const run = await runCli(
      [
        "status",
        "--storage",
        storage,
        "--labels",
        "production,staging,broken,nothing-here",
        "--html",
        page,
        "--prometheus",
        metrics,
      ],
      { env: { PATH: process.env.PATH, LIFEBOAT_IDENTITY: readFileSync(identityFile, "utf8") } },
    );
    assert.equal(run.code, 1);
    assert.deepEqual(
      readdirSync(work).filter((name) => name.includes(".tmp")),
      [],
      "no temporary file left",
    );
    const html = readFileSync(page, "utf8");
    const prom = readFileSync(metrics, "utf8");
    const identity = readFileSync(identityFile, "utf8").match(/AGE-SECRET-KEY-1\S+/)![0];
    for (const output of [html, prom, run.stdout, run.stderr]) {
      assert.ok(!output.includes(identity), "no identity");
      assert.ok(!output.includes(cluster.password), "no database password");
    }

    const families = parseExposition(prom);
    const healthy = (label: string) => sampleValue(families, "lifeboat_label_healthy", { label });
    assert.deepEqual(["production", "staging", "broken", "nothing-here"].map(healthy), [1, 1, 0, 0]);
    assert.ok(sampleValue(families, "lifeboat_restore_duration_seconds", { label: "production" })! >= 0);
    assert.equal(
      sampleValue(families, "lifeboat_last_check_passed", { label: "staging", kind: "restore_test" }),
      0,
    );
    assert.equal(
      sampleValue(families, "lifeboat_last_success_timestamp_seconds", {
        label: "nothing-here",
        kind: "backup",
      }),
      0,
    );
    assert.equal(sampleValue(families, "lifeboat_labels", { verdict: "red" }), 2);

    if (skip) return t.skip(skip);
    const browsing = await launchChromium();
    try {
      const tab = await browsing.context.newPage();
      await tab.setViewportSize({ width: 1280, height: 900 });
      await tab.goto(pathToFileURL(page).href, { waitUntil: "load" });
      const rows = await tab.$$eval("table.labels tbody tr", (trs) =>
        trs.map((tr) => [
          tr.querySelector("th")!.textContent,
          tr.querySelector(".badge")!.textContent,
          getComputedStyle(tr.querySelector(".badge")!).backgroundColor,
        ]),
      );
      assert.deepEqual(
        rows.map(([label, verdict]) => [label, verdict]),
        [
          ["broken", "RED"],
          ["nothing-here", "RED"],
          ["production", "GREEN"],
          ["staging", "AMBER"],
        ],
      );
      const [r, g, b] = rows[0]![2]!.match(/\d+/g)!.map(Number) as [number, number, number];
      assert.ok(r > 150 && r > g + 80 && r > b + 80, `red badge ${rows[0]![2]}`);
      const points = await tab.$$eval("section.label", (sections) =>
        sections.map((section) => [
          section.querySelector("h2 span")!.textContent,
          section.querySelectorAll("svg.chart circle.point").length,
        ]),
      );
      // production: 2 sizes + 2 durations + 1 restore time.
      assert.deepEqual(
        points.find(([label]) => label === "production"),
        ["production", 5],
      );
      assert.ok(!(await tab.locator("body").innerText()).includes(cluster.password));
      await tab.screenshot({ path: join(OUTPUT_DIR, "status-command.png"), fullPage: true });
      assert.deepEqual(browsing.blocked, []);
    } finally {
      await browsing.close();
    }
  });
});

describe("lifeboat status over S3", () => {
  const s3 = useS3Server({ before, after });

  test("finds every label under the prefix from one listing, and prints no credential", async () => {
    const url = `s3://${s3.server().bucket}/pg`;
    for (const label of ["alpha", "beta"]) {
      const made = await runCli(
        ["backup", "--storage", url, "--label", label, "--recipient", recipient, ...s3.flags()],
        { env: env() },
      );
      assert.equal(made.code, 0, made.stderr);
    }
    const page = join(work, "s3.html");
    const run = await runCli(["status", "--storage", url, ...s3.flags(), "--html", page, "--json"], {
      env: { PATH: process.env.PATH },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      (run.json.labels as LabelJson[]).map((label) => [label.label, label.verdict]),
      [
        ["alpha", "amber"],
        ["beta", "amber"],
      ],
    );
    assert.equal(run.json.storage, url);
    const secret = process.env.AWS_SECRET_ACCESS_KEY!;
    assert.ok(secret.length > 0);
    for (const output of [run.stdout, run.stderr, readFileSync(page, "utf8")]) {
      assert.ok(!output.includes(secret), "no S3 secret");
    }
  });
});
