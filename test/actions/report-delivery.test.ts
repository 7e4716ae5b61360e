/**
 * Reporting from the real action bundles, run the way the runner runs them, against a real
 * cluster and local storage, with GitHub's API and a Slack webhook played by a recording server on
 * loopback: the sticky pull request comment (created, then updated in place; found across pages),
 * the fail-soft paths (403 on comments, Slack down, no artifact service), Slack's retries, a
 * failing backup reported to Slack, and no secret in anything sent or printed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runAction, type ActionRun } from "../helpers/action.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  startRecordingServer,
  type RecordedRequest,
  type RecordingServer,
  type Route,
} from "../helpers/recording-server.js";

const PR = 7;
const TOKEN = `ghs_${randomBytes(18).toString("hex")}`;
const WEBHOOK_SECRET = randomBytes(12).toString("hex");
const PASSPHRASE = `correct horse ${randomBytes(6).toString("hex")}`;

let cluster: Cluster;
let server: RecordingServer;
let work: string;
let identity: string;
let recipient: string;
let webhook: string;
let env: NodeJS.ProcessEnv;
const runs: ActionRun[] = [];
const sent: RecordedRequest[] = [];

const COMMENTS: Route = { path: "^/repos/acme/shop/issues", githubComments: true };
const slack = (responses: Route["responses"]): Route => ({ method: "POST", path: "^/slack/", responses });

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  server = await startRecordingServer([COMMENTS, slack([{ status: 200, body: "ok" }])]);
  work = mkdtempSync(join(tmpdir(), "lifeboat-report-"));
  execFileSync("age-keygen", ["-o", join(work, "key.txt")], { stdio: "pipe" });
  identity = readFileSync(join(work, "key.txt"), "utf8");
  recipient = execFileSync("age-keygen", ["-y", join(work, "key.txt")], { encoding: "utf8" }).trim();
  webhook = `${server.url}/slack/T0001/B0002/${WEBHOOK_SECRET}`;
  writeFileSync(
    join(work, "event.json"),
    JSON.stringify({ action: "synchronize", number: PR, pull_request: { number: PR } }),
  );
  env = {
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "acme/shop",
    GITHUB_RUN_ID: "42",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_EVENT_NAME: "pull_request",
    GITHUB_EVENT_PATH: join(work, "event.json"),
    GITHUB_API_URL: server.url,
  };
});

after(async () => {
  await cluster?.stop();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a bundle and keeps what it printed and what it sent, for the secrets check at the end. */
async function run(action: string, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}) {
  await server.reset();
  const result = runAction(
    action,
    { "github-token": TOKEN, ...inputs },
    { cwd: work, env: { ...env, ...extraEnv } },
  );
  const requests = await server.requests();
  runs.push(result);
  sent.push(...requests);
  return { result, requests };
}

function backupInputs(extra: Record<string, string> = {}): Record<string, string> {
  return { "database-url": cluster.url("shop"), storage: "backups", label: "shop", recipient, ...extra };
}

const posts = (requests: RecordedRequest[], prefix: string) =>
  requests.filter((request) => request.method === "POST" && request.url.startsWith(prefix));
const warnings = (result: ActionRun) =>
  result.stdout.split("\n").filter((line) => line.startsWith("::warning"));

describe("reporting from the action bundles", () => {
  test("the first run creates the PR comment, the second updates the same one (found across pages)", async () => {
    await server.setRoutes([COMMENTS, slack([{ status: 200, body: "ok" }])]);
    await server.seedComments(
      Array.from({ length: 120 }, (_, index) => ({ issue: PR, body: `chatter ${index}` })),
    );

    const first = await run("backup-db", backupInputs());
    assert.equal(first.result.status, 0, first.result.stdout + first.result.stderr);
    const created = posts(first.requests, `/repos/acme/shop/issues/${PR}/comments`);
    assert.equal(created.length, 1, "one new comment");
    assert.equal(created[0]!.headers.authorization, `token ${TOKEN}`);
    const pages = first.requests.filter((request) => request.method === "GET");
    assert.equal(pages.length, 2, "both pages of comments were searched");
    let ours = (await server.comments()).filter((comment) => comment.body.includes("lifeboat:report"));
    assert.equal(ours.length, 1);
    assert.ok(ours[0]!.body.startsWith("<!-- lifeboat:report backup-db shop -->"));
    assert.ok(ours[0]!.body.includes(first.result.outputs["backup-id"]!));
    assert.equal(
      posts(first.requests, "/slack/").length,
      0,
      "notify-on failure: no Slack message on success",
    );

    const second = await run("backup-db", backupInputs());
    assert.equal(second.result.status, 0, second.result.stdout + second.result.stderr);
    assert.equal(posts(second.requests, "/repos/").length, 0, "no second comment");
    const patches = second.requests.filter((request) => request.method === "PATCH");
    assert.deepEqual(
      patches.map((request) => request.url),
      [`/repos/acme/shop/issues/comments/${ours[0]!.id}`],
    );
    ours = (await server.comments()).filter((comment) => comment.body.includes("lifeboat:report"));
    assert.equal(ours.length, 1);
    assert.ok(ours[0]!.body.includes(second.result.outputs["backup-id"]!), "updated in place");
    assert.match(second.result.summary, /<h2>Lifeboat backup: shop<\/h2>/);
    assert.match(second.result.summary, /```mermaid\nxychart-beta\n {2}title "Stored size per backup"/);
    assert.match(second.result.summary, /2\/2 succeeded \(100%\) over the last 2 backups/);
  });

  test("restore-test keeps its own comment, and skips the artifact with a notice offline", async () => {
    const { result, requests } = await run("restore-test", {
      storage: "backups",
      label: "shop",
      identity,
      "scratch-database-url": cluster.url("postgres"),
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(posts(requests, `/repos/acme/shop/issues/${PR}/comments`).length, 1);
    const ours = (await server.comments()).filter((comment) => comment.body.includes("lifeboat:report"));
    assert.deepEqual(ours.map((comment) => comment.body.split("\n")[0]).sort(), [
      "<!-- lifeboat:report backup-db shop -->",
      "<!-- lifeboat:report restore-test shop -->",
    ]);
    assert.match(
      result.stdout,
      /^::notice title=Lifeboat report::The restore-test report artifact was skipped/m,
    );
    assert.match(result.summary, /Lifeboat restore-test: shop passed/);
  });

  test("an artifact upload that fails is a warning, not a red step", async () => {
    const { result } = await run(
      "restore-test",
      { storage: "backups", label: "shop", identity, "scratch-database-url": cluster.url("postgres") },
      { ACTIONS_RUNTIME_TOKEN: "not-a-jwt", ACTIONS_RESULTS_URL: `${server.url}/results/` },
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /^::warning title=Lifeboat report::Lifeboat could not write the report artifact: /m,
    );
  });

  test("403 on comments (a read-only token, a fork) leaves the step green with a warning", async () => {
    await server.setRoutes([
      {
        path: "^/repos/acme/shop/issues",
        responses: [{ status: 403, body: { message: "Resource not accessible by integration" } }],
      },
    ]);
    const { result } = await run("backup-db", backupInputs());
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.ok(
      warnings(result).some((line) =>
        line.startsWith(
          `::warning title=Lifeboat report::Lifeboat could not comment on pull request #${PR}: GitHub answered 403`,
        ),
      ),
      result.stdout,
    );
    assert.ok(!result.stdout.includes("::error"));
  });

  test("Slack: 429 then 200 is exactly two posts", async () => {
    await server.setRoutes([
      COMMENTS,
      slack([
        { status: 429, headers: { "retry-after": "1" }, body: "rate_limited" },
        { status: 200, body: "ok" },
      ]),
    ]);
    const { result, requests } = await run(
      "backup-db",
      backupInputs({ "slack-webhook-url": webhook, "notify-on": "always" }),
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const messages = posts(requests, "/slack/");
    assert.equal(messages.length, 2);
    const payload = JSON.parse(messages[1]!.body) as { text: string; blocks: { type: string }[] };
    assert.match(payload.text, /^✅ Lifeboat backup: shop: Backup \S+ stored/);
    assert.equal(payload.blocks[0]!.type, "header");
    assert.match(result.stdout, /Slack message sent \(after 2 attempts\)/);
  });

  test("Slack always 500: the backup stays green, with a warning", async () => {
    await server.setRoutes([COMMENTS, slack([{ status: 500, body: "oops" }])]);
    const { result, requests } = await run(
      "backup-db",
      backupInputs({ "slack-webhook-url": webhook, "notify-on": "success" }),
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(posts(requests, "/slack/").length, 4);
    assert.ok(
      warnings(result).some((line) =>
        /could not send the Slack message \(4 attempt\(s\)\): Slack answered 500/.test(line),
      ),
      result.stdout,
    );
  });

  test("a failing backup is sent to Slack with notify-on failure, and the step is red", async () => {
    await server.setRoutes([COMMENTS, slack([{ status: 200, body: "ok" }])]);
    const { result, requests } = await run("backup-db", {
      "database-url": cluster.url("shop", { password: "wrong-password-123" }),
      storage: "backups",
      label: "shop",
      passphrase: PASSPHRASE,
      "slack-webhook-url": webhook,
    });
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.equal(result.stdout.split("\n").filter((line) => line.startsWith("::error::")).length, 1);
    const messages = posts(requests, "/slack/");
    assert.equal(messages.length, 1);
    const payload = JSON.parse(messages[0]!.body) as { text: string };
    assert.match(payload.text, /^❌ Lifeboat backup: shop FAILED/);
    assert.ok(!messages[0]!.body.includes("wrong-password-123"));
    assert.match(result.summary, /Lifeboat backup: shop FAILED/);
    const ours = (await server.comments()).find((comment) =>
      comment.body.startsWith("<!-- lifeboat:report backup-db shop -->"),
    );
    assert.match(ours!.body, /FAILED/, "the sticky comment shows the failure");
  });

  test("bad reporting input fails before the command runs, naming the input", async () => {
    const { result, requests } = await run(
      "backup-db",
      backupInputs({ storage: "never-made", "notify-on": "sometimes" }),
    );
    assert.equal(result.status, 1);
    assert.match(
      result.stdout,
      /^::error::bad input: notify-on "sometimes": expected failure or success or always or never$/m,
    );
    assert.equal(requests.length, 0);
    assert.ok(!existsSync(join(work, "never-made")));
    const hidden = await run(
      "backup-db",
      backupInputs({ storage: "never-made", "slack-webhook-url": `ftp://x/${WEBHOOK_SECRET}` }),
    );
    assert.equal(hidden.result.status, 1);
    assert.match(
      hidden.result.stdout,
      /^::error::bad input: slack-webhook-url: expected a Slack incoming webhook URL/m,
    );
  });

  test("no password, identity, passphrase, token or webhook URL in anything sent or printed", () => {
    assert.ok(runs.length >= 8 && sent.length > 0);
    const secrets = [
      cluster.password,
      "wrong-password-123",
      identity.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-"))!,
      PASSPHRASE,
      TOKEN,
      WEBHOOK_SECRET,
    ];
    for (const request of sent) {
      const { authorization: _authorization, ...headers } = request.headers;
      const visible = `${request.body}\n${JSON.stringify(headers)}`;
      for (const secret of secrets)
        assert.ok(
          !visible.includes(secret),
          `a secret in a ${request.method} ${request.url.slice(0, 20)} body`,
        );
      if (!request.url.startsWith("/slack/")) assert.ok(!request.url.includes(WEBHOOK_SECRET));
    }
    for (const result of runs) {
      for (const text of [result.visible, result.stderr, result.summary, JSON.stringify(result.outputs)]) {
        for (const secret of secrets) assert.ok(!text.includes(secret), "a secret in the output");
      }
    }
  });
});
