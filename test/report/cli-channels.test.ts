/**
 * The CLI reports to the same channels as the actions: options as flags or environment variables,
 * the start ping before the command, the report (or the error) after it, stdout left to the
 * command's own output, and exit codes that delivery never changes.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startRecordingServer, type RecordingServer } from "../helpers/recording-server.js";

const SECRET = randomBytes(12).toString("hex");
let server: RecordingServer;
let storage: string;

before(async () => {
  server = await startRecordingServer([
    {
      method: "POST",
      path: "^/(slack|discord|ping|teams|hook)/",
      responses: [{ status: 200, body: "ok" }],
    },
  ]);
  storage = mkdtempSync(join(tmpdir(), "lifeboat-cli-channels-"));
});
after(async () => {
  await server?.close();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

describe("the CLI's notification channels", () => {
  test("a failing verify: start ping, Slack (from its environment variable) and the /fail ping; exit code kept", async () => {
    await server.reset();
    const run = await runCli(
      ["verify", "--storage", storage, "--label", "shop", "--ping-url", `${server.url}/ping/${SECRET}`],
      {
        env: { PATH: process.env.PATH, LIFEBOAT_SLACK_WEBHOOK_URL: `${server.url}/slack/T1/B2/${SECRET}` },
      },
    );
    assert.equal(run.code, 2, run.stderr);
    const requests = await server.requests();
    const paths = requests.map((request) => request.url.replace(SECRET, "S"));
    assert.equal(paths[0], "/ping/S/start", "the start ping comes before the command");
    // The report goes to every channel at once: Slack and the failure ping in either order.
    assert.deepEqual(paths.slice(1).sort(), ["/ping/S/fail", "/slack/T1/B2/S"]);
    const slack = JSON.parse(requests.find((request) => request.url.startsWith("/slack/"))!.body) as {
      text: string;
    };
    assert.match(slack.text, /^❌ Lifeboat verify: shop FAILED: bad input: --label "shop": no backups under/);
    assert.match(run.stderr, /Slack message sent\./);
    assert.ok(!run.stderr.includes(SECRET) && !run.stdout.includes(SECRET));
  });

  test("a passing prune with --notify-on always: Discord gets the report, stdout stays the command's JSON", async () => {
    await server.reset();
    const run = await runCli(
      [
        "prune",
        "--storage",
        storage,
        "--label",
        "shop",
        "--keep-last",
        "2",
        "--json",
        "--notify-on",
        "always",
      ],
      {
        env: {
          PATH: process.env.PATH,
          LIFEBOAT_DISCORD_WEBHOOK_URL: `${server.url}/discord/api/webhooks/1/${SECRET}`,
        },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.ok, true);
    const requests = await server.requests();
    assert.equal(requests.length, 1);
    const payload = JSON.parse(requests[0]!.body) as { embeds: { title: string; color: number }[] };
    assert.equal(payload.embeds[0]!.title, "Lifeboat prune: shop");
    assert.equal(payload.embeds[0]!.color, 0x2eb67d);
  });

  test("Teams (Adaptive Card) and the signed JSON webhook from the CLI, with the verify's failure", async () => {
    await server.reset();
    const hmac = randomBytes(16).toString("hex");
    const run = await runCli(
      [
        ...["verify", "--storage", storage, "--label", "shop"],
        ...[
          "--teams-webhook-url",
          `${server.url}/teams/workflows/abc/triggers/manual/paths/invoke?sig=${SECRET}`,
        ],
        ...["--webhook-url", `${server.url}/hook/${SECRET}`],
      ],
      { env: { PATH: process.env.PATH, LIFEBOAT_WEBHOOK_SECRET: hmac } },
    );
    assert.equal(run.code, 2, run.stderr);
    const requests = await server.requests();
    assert.equal(requests.length, 2, JSON.stringify(requests.map((request) => request.url)));
    const teams = requests.find((request) => request.url.startsWith("/teams/"))!;
    const card = JSON.parse(teams.body) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { text?: string }[] };
      }[];
    };
    assert.equal(card.type, "message");
    assert.equal(card.attachments[0]!.contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(card.attachments[0]!.content.type, "AdaptiveCard");
    assert.match(card.attachments[0]!.content.body[0]!.text!, /Lifeboat verify: shop FAILED/);
    const hook = requests.find((request) => request.url.startsWith("/hook/"))!;
    assert.equal(
      hook.headers["x-lifeboat-signature"],
      `sha256=${createHmac("sha256", hmac).update(hook.body).digest("hex")}`,
    );
    const event = JSON.parse(hook.body) as { event: string; command: string; outcome: string; label: string };
    assert.deepEqual(
      [event.event, event.command, event.outcome, event.label],
      ["run.finished", "verify-backup", "fail", "shop"],
    );
    for (const request of requests) assert.ok(!request.body.includes(hmac), "the HMAC secret is never sent");
    assert.ok(![run.stdout, run.stderr].some((text) => text.includes(SECRET) || text.includes(hmac)));
  });

  test("a bad channel option is exit 2 before anything runs or is sent", async () => {
    await server.reset();
    const run = await runCli([
      "prune",
      "--storage",
      storage,
      "--keep-last",
      "2",
      "--ping-url",
      `${server.url}/ping/${SECRET}`,
      "--teams-webhook-url",
      `ftp://teams/${SECRET}`,
    ]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /lifeboat: error: --teams-webhook-url: expected the HTTP POST URL of a Teams Workflows webhook/,
    );
    assert.ok(!run.stderr.includes(SECRET));
    assert.equal((await server.requests()).length, 0);
  });
});
