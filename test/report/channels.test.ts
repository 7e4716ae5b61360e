/**
 * Every notification channel against a recording HTTP server on loopback: the payload each service
 * expects (Slack Block Kit, a Discord embed within Discord's limits, a Teams Adaptive Card, the
 * signed generic event, heartbeat pings in order), retries, the notify-on rule, bad options, and
 * no secret in anything sent or logged.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { InputError, OperationError } from "../../src/domain/errors.js";
import type { Logger } from "../../src/commands/logger.js";
import { historyStats, type HistoryPoint } from "../../src/report/history.js";
import { buildErrorReport, buildRestoreTestReport, type Report } from "../../src/report/report.js";
import type { RestoreTestResult } from "../../src/commands/restore-test/run.js";
import { CHANNELS, CHANNEL_OPTIONS, readChannelSettings } from "../../src/report/channels/index.js";
import { deliverToChannels, pingStart, type DeliveryOptions } from "../../src/report/channels/deliver.js";
import {
  DISCORD_LIMITS,
  embedLength,
  renderDiscord,
  type DiscordPayload,
} from "../../src/report/channels/discord.js";
import { ADAPTIVE_CARD_CONTENT_TYPE, type TeamsPayload } from "../../src/report/channels/teams.js";
import { WEBHOOK_EVENT_VERSION, type WebhookEvent } from "../../src/report/channels/webhook.js";
import { withSuffix } from "../../src/report/channels/ping.js";
import { COMMANDS, commandSpec } from "../../src/settings/spec.js";
import { parseCommandArgs } from "../../src/cli/args.js";
import {
  startRecordingServer,
  type RecordedRequest,
  type RecordingServer,
  type Route,
} from "../helpers/recording-server.js";

const RUN = "https://github.com/acme/shop/actions/runs/42";
const TOKEN = randomBytes(10).toString("hex");
const HMAC_SECRET = `whsec_${randomBytes(12).toString("hex")}`;
/** A password with the characters that JSON and URLs escape: the known gap of scrubbing JSON text. */
const DB_PASSWORD = `p"a\\s/s@w:o%rd ${randomBytes(4).toString("hex")}`;

let server: RecordingServer;
const sent: RecordedRequest[] = [];

before(async () => {
  server = await startRecordingServer();
});
after(async () => {
  await server?.close();
});

const ok: Route["responses"] = [{ status: 200, body: "ok" }];
const urls = () => ({
  slack: `${server.url}/slack/T0001/B0002/${TOKEN}`,
  discord: `${server.url}/discord/api/webhooks/123/${TOKEN}`,
  teams: `${server.url}/teams/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=${TOKEN}`,
  webhook: `${server.url}/hook/${TOKEN}`,
  ping: `${server.url}/ping/${TOKEN}`,
});

async function routes(byPrefix: Record<string, Route["responses"]> = {}) {
  await server.setRoutes(
    ["slack", "discord", "teams", "hook", "ping", "cron"].map((name) => ({
      method: "POST",
      path: `^/${name}/`,
      responses: byPrefix[name] ?? ok,
    })),
  );
  await server.reset();
}

async function requests(): Promise<RecordedRequest[]> {
  const list = await server.requests();
  sent.push(...list);
  return list;
}

function recordingLog(): Logger & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (message) => infos.push(message), warn: (message) => warns.push(message) };
}

const fast = { sleep: async () => undefined, baseDelayMs: 1 };

function options(log: Logger, extra: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    log,
    poster: fast,
    secrets: [`postgres://app:${encodeURIComponent(DB_PASSWORD)}@db/shop`, DB_PASSWORD],
    ...extra,
  };
}

function restoreTestResult(overrides: Partial<RestoreTestResult> = {}): RestoreTestResult {
  return {
    passed: true,
    backupId: "20261122T010500Z-abc123",
    scratchDatabase: "lifeboat_scratch_x",
    kept: false,
    restoreSeconds: 12.5,
    mode: "file",
    tablesChecked: 6,
    mismatches: [],
    restoreErrors: [],
    toleratedErrors: [],
    assertions: [{ sql: "select count(*) > 0 from orders", passed: true, detail: "true" }],
    run: { command: "npx prisma migrate deploy", exitCode: 0, output: "applied 2 migrations\n" },
    failures: [],
    pgRestoreLog: "",
    roles: null,
    catalog: {
      compared: true,
      notices: [],
      rolesCreated: [],
      missingRoles: [],
      failures: 0,
      warnings: 0,
      differences: [],
    },
    checkKey: "app/x/checks/y.json",
    ...overrides,
  };
}

function passing(): Report {
  const report = buildRestoreTestReport(restoreTestResult(), { label: "shop", runUrl: RUN });
  const points: HistoryPoint[] = [0, 1].map((index) => ({
    backupId: `2026112${index}T010500Z-abc${index}`,
    startedAt: new Date(Date.UTC(2026, 10, 20 + index)),
    committed: true,
    storedBytes: 1000 + index,
    finishedAt: new Date(Date.UTC(2026, 10, 20 + index, 0, 1)),
    lastCheckPassed: true,
    restoreSeconds: 10,
  }));
  report.history = { label: "shop", points, stats: historyStats(points, new Date(Date.UTC(2026, 10, 22))) };
  return report;
}

/** A failure whose message quotes secrets the way a careless lower layer might. */
function failing(): Report {
  return buildErrorReport(
    "backup-db",
    new OperationError(
      `connect to postgres://app:${encodeURIComponent(DB_PASSWORD)}@db/shop failed (password "${DB_PASSWORD}")`,
    ),
    { label: "shop", runUrl: RUN },
  );
}

function settings(raw: Record<string, string>) {
  return readChannelSettings(raw);
}

describe("the channel table", () => {
  test("every channel's options are in every reporting command's options, secrets marked, with env fallbacks", () => {
    const names = CHANNEL_OPTIONS.map((option) => option.name);
    assert.deepEqual(
      CHANNELS.map((channel) => channel.name),
      ["slack", "discord", "teams", "webhook", "ping"],
    );
    for (const spec of COMMANDS.filter((command) => command.options.some((o) => o.name === "notify-on"))) {
      for (const name of names) {
        const option = spec.options.find((candidate) => candidate.name === name);
        assert.ok(option, `${spec.command} lacks --${name}`);
        assert.ok(!option.actionOnly, `--${name} reaches the CLI`);
        assert.match(option.env ?? "", /^LIFEBOAT_[A-Z_]+$/);
      }
    }
    for (const option of CHANNEL_OPTIONS.filter((o) => /url|secret/.test(o.name))) {
      assert.equal(option.secret, true, `${option.name} is a secret`);
    }
    assert.ok(COMMANDS.filter((command) => command.options.some((o) => o.name === "ping-url")).length >= 5);
  });

  test("the CLI takes every channel as a flag or from its environment variable", () => {
    const raw = parseCommandArgs(
      commandSpec("verify"),
      ["--discord-webhook-url", "https://discord.example/x", "--notify-on", "always"],
      {
        LIFEBOAT_SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T/B/abcdefgh",
        LIFEBOAT_PING_URL: "https://hc-ping.example/abcdefgh",
        LIFEBOAT_WEBHOOK_URL: "https://hooks.example/lifeboat",
        LIFEBOAT_WEBHOOK_SECRET: "s3cret-s3cret",
      },
    );
    const parsed = readChannelSettings(raw);
    assert.equal(parsed.notifyOn, "always");
    assert.deepEqual(
      parsed.channels.map((channel) => channel.name),
      ["slack", "discord", "webhook", "ping"],
    );
    assert.ok(
      parsed.channels.find((channel) => channel.name === "webhook")!.secrets.includes("s3cret-s3cret"),
    );
  });

  test("bad values are InputErrors naming the option, never quoting it", () => {
    const secret = "sekrit-path-123";
    for (const name of [
      "slack-webhook-url",
      "discord-webhook-url",
      "teams-webhook-url",
      "webhook-url",
      "ping-url",
    ]) {
      assert.throws(
        () => settings({ [name]: `ftp://x/${secret}` }),
        (error: unknown) =>
          error instanceof InputError && error.input === name && !error.message.includes(secret),
        name,
      );
    }
    assert.throws(
      () => settings({ "webhook-secret": "abc" }),
      (error: unknown) => error instanceof InputError && error.input === "webhook-secret",
    );
    assert.throws(
      () => settings({ "notify-on": "sometimes" }),
      /--notify-on "sometimes": expected failure or success or always or never/,
    );
    assert.deepEqual(settings({}), { notifyOn: "failure", channels: [] });
  });
});

describe("channels on loopback", () => {
  beforeEach(async () => {
    await routes();
  });

  test("Slack: Block Kit with its text fallback", async () => {
    const log = recordingLog();
    const results = await deliverToChannels(
      passing(),
      settings({ "slack-webhook-url": urls().slack, "notify-on": "always" }),
      options(log),
    );
    assert.deepEqual(results, [{ channel: "slack", status: "sent", attempts: 1 }]);
    const [request] = await requests();
    assert.equal(request!.url, new URL(urls().slack).pathname);
    const payload = JSON.parse(request!.body) as { text: string; blocks: { type: string }[] };
    assert.match(
      payload.text,
      /^✅ Lifeboat restore-test: shop passed: Backup 20261122T010500Z-abc123 restored/,
    );
    assert.deepEqual(
      payload.blocks.map((block) => block.type),
      ["header", "section", "section", "context", "actions"],
    );
    assert.deepEqual(log.infos, ["Slack message sent."]);
  });

  test("Discord: one embed within Discord's limits, mentions off", async () => {
    const report = failing();
    report.title = `T${"i".repeat(400)}`;
    report.facts = Array.from({ length: 40 }, (_, index) => ({
      label: `fact ${index} ${"n".repeat(300)}`,
      value: "v".repeat(2000),
    }));
    report.failures = Array.from({ length: 30 }, (_, index) => `failure ${index} ${"x".repeat(600)}`);
    await deliverToChannels(
      report,
      settings({ "discord-webhook-url": urls().discord }),
      options(recordingLog()),
    );
    const [request] = await requests();
    const payload = JSON.parse(request!.body) as DiscordPayload;
    assert.equal(payload.embeds.length, 1);
    const embed = payload.embeds[0]!;
    assert.equal(embed.title.length, DISCORD_LIMITS.title);
    assert.ok(embed.description.length <= DISCORD_LIMITS.description);
    assert.ok(embed.fields.length > 0 && embed.fields.length <= DISCORD_LIMITS.fields);
    for (const field of embed.fields) {
      assert.ok(
        field.name.length <= DISCORD_LIMITS.fieldName && field.value.length <= DISCORD_LIMITS.fieldValue,
      );
    }
    assert.ok(embedLength(embed) <= DISCORD_LIMITS.embedTotal, `embed of ${embedLength(embed)} characters`);
    assert.ok(payload.content.length <= DISCORD_LIMITS.content);
    assert.equal(embed.color, 0xe01e5a, "red for a failure");
    assert.equal(embed.url, RUN);
    assert.deepEqual(payload.allowed_mentions, { parse: [] });
    assert.match(embed.description, /^\*\*failed\*\*: /);
    assert.match(embed.footer.text, /label shop · backup-db/);

    const small = renderDiscord(passing()).embeds[0]!;
    assert.equal(small.color, 0x2eb67d);
    assert.deepEqual(
      small.fields.map((field) => field.name),
      passing().facts.map((fact) => fact.label),
    );
    assert.match(small.description, /2\/2 succeeded/);
  });

  test("Teams: a message with one Adaptive Card attachment (not the retired MessageCard)", async () => {
    await deliverToChannels(
      failing(),
      settings({ "teams-webhook-url": urls().teams }),
      options(recordingLog()),
    );
    const [request] = await requests();
    assert.ok(request!.url.startsWith("/teams/workflows/abc/triggers/manual/paths/invoke?"));
    const payload = JSON.parse(request!.body) as TeamsPayload & { "@type"?: string };
    assert.equal(payload["@type"], undefined);
    assert.equal(payload.type, "message");
    assert.equal(payload.attachments.length, 1);
    const attachment = payload.attachments[0]!;
    assert.equal(attachment.contentType, ADAPTIVE_CARD_CONTENT_TYPE);
    assert.equal(attachment.contentUrl, null);
    const card = attachment.content;
    assert.equal(card.type, "AdaptiveCard");
    assert.equal(card.$schema, "http://adaptivecards.io/schemas/adaptive-card.json");
    assert.equal(card.version, "1.4");
    const [heading, headline, facts] = card.body as {
      type: string;
      text?: string;
      color?: string;
      facts?: unknown[];
    }[];
    assert.equal(heading!.type, "TextBlock");
    assert.equal(heading!.color, "Attention");
    assert.match(heading!.text!, /Lifeboat backup: shop FAILED/);
    assert.equal(headline!.type, "TextBlock");
    assert.equal(facts!.type, "FactSet");
    assert.deepEqual(facts!.facts, [
      { title: "Label", value: "shop" },
      { title: "Result", value: "failed" },
    ]);
    assert.ok(card.body.every((element) => typeof element.type === "string"));
    assert.deepEqual(card.actions, [{ type: "Action.OpenUrl", title: "Open the workflow run", url: RUN }]);
  });

  test("webhook: the versioned event, signed; the test recomputes the HMAC", async () => {
    const now = new Date("2026-11-29T01:00:00Z");
    await deliverToChannels(
      failing(),
      settings({ "webhook-url": urls().webhook, "webhook-secret": HMAC_SECRET }),
      options(recordingLog(), { now: () => now }),
    );
    const [request] = await requests();
    const expected = `sha256=${createHmac("sha256", HMAC_SECRET).update(request!.body).digest("hex")}`;
    assert.equal(request!.headers["x-lifeboat-signature"], expected);
    const event = JSON.parse(request!.body) as WebhookEvent;
    assert.equal(request!.headers["x-lifeboat-timestamp"], String(event.timestamp));
    assert.equal(event.timestamp, Math.floor(now.getTime() / 1000));
    assert.equal(request!.headers["x-lifeboat-event"], "run.finished");
    assert.equal(request!.headers["x-lifeboat-delivery"], event.id);
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.equal(event.version, WEBHOOK_EVENT_VERSION);
    assert.equal(event.event, "run.finished");
    assert.equal(event.command, "backup-db");
    assert.equal(event.label, "shop");
    assert.equal(event.outcome, "fail");
    assert.equal(event.backupId, null);
    assert.equal(event.runUrl, RUN);
    assert.deepEqual(event.figures[0], { label: "Label", value: "shop" });
    assert.equal(event.failures.length, 1);
    assert.equal(event.history, null);

    await server.reset();
    await deliverToChannels(
      passing(),
      settings({ "webhook-url": urls().webhook, "notify-on": "always" }),
      options(recordingLog()),
    );
    const [unsigned] = await requests();
    assert.equal(unsigned!.headers["x-lifeboat-signature"], undefined, "no secret, no signature");
    const passed = JSON.parse(unsigned!.body) as WebhookEvent;
    assert.equal(passed.outcome, "pass");
    assert.equal(passed.backupId, "20261122T010500Z-abc123");
    assert.deepEqual(
      passed.history && { attempts: passed.history.attempts, succeeded: passed.history.succeeded },
      {
        attempts: 2,
        succeeded: 2,
      },
    );
  });

  test("pings: /start before, the URL on success, /fail on failure, in order, whatever notify-on says", async () => {
    const log = recordingLog();
    const ping = settings({ "ping-url": urls().ping, "notify-on": "never" });
    const base = new URL(urls().ping).pathname;
    await pingStart(ping, { action: "backup-db", label: "shop" }, options(log));
    await deliverToChannels(passing(), ping, options(log));
    await pingStart(ping, { action: "backup-db", label: "shop" }, options(log));
    await deliverToChannels(failing(), ping, options(log));
    const list = await requests();
    assert.deepEqual(
      list.map((request) => request.url),
      [`${base}/start`, base, `${base}/start`, `${base}/fail`],
    );
    assert.match(list[0]!.body, /^Lifeboat backup-db started \(label shop\)$/);
    assert.match(list[1]!.body, /^Lifeboat restore-test: shop passed: passed\n/);
    assert.match(String(list[3]!.headers["content-type"]), /^text\/plain/);
    assert.deepEqual(log.infos, [
      "heartbeat ping (start) sent.",
      "heartbeat ping sent.",
      "heartbeat ping (start) sent.",
      "heartbeat ping sent.",
    ]);
  });

  test("pings: explicit start, success and failure URLs (Cronitor's ?state=), and only those given", async () => {
    const cron = `${server.url}/cron/p/${TOKEN}/backup`;
    const ping = settings({
      "ping-start-url": `${cron}?state=run`,
      "ping-success-url": `${cron}?state=complete`,
      "ping-failure-url": `${cron}?state=fail`,
    });
    await pingStart(ping, { action: "prune", label: "shop" }, options(recordingLog()));
    await deliverToChannels(failing(), ping, options(recordingLog()));
    const path = new URL(cron).pathname;
    assert.deepEqual(
      (await requests()).map((request) => request.url),
      [`${path}?state=run`, `${path}?state=fail`],
    );

    await server.reset();
    const successOnly = settings({ "ping-success-url": `${cron}?state=complete` });
    const started = await pingStart(successOnly, { action: "prune", label: "shop" }, options(recordingLog()));
    const results = await deliverToChannels(failing(), successOnly, options(recordingLog()));
    assert.deepEqual(started, []);
    assert.deepEqual(results, [{ channel: "ping", status: "skipped", attempts: 0 }]);
    assert.equal((await requests()).length, 0);
    assert.equal(
      withSuffix("https://hc-ping.com/key/db-backup?create=1", "fail"),
      "https://hc-ping.com/key/db-backup/fail?create=1",
    );
  });

  test("notify-on decides for messages: failure, success, always, never", async () => {
    const all = (notifyOn: string) =>
      settings({
        "slack-webhook-url": urls().slack,
        "discord-webhook-url": urls().discord,
        "teams-webhook-url": urls().teams,
        "webhook-url": urls().webhook,
        "notify-on": notifyOn,
      });
    const cases: [string, Report, number][] = [
      ["failure", failing(), 4],
      ["failure", passing(), 0],
      ["success", passing(), 4],
      ["success", failing(), 0],
      ["always", passing(), 4],
      ["always", failing(), 4],
      ["never", failing(), 0],
    ];
    for (const [notifyOn, report, expected] of cases) {
      await server.reset();
      const results = await deliverToChannels(report, all(notifyOn), options(recordingLog()));
      assert.equal((await requests()).length, expected, `${notifyOn} on ${report.verdict}`);
      assert.equal(results.filter((result) => result.status === "sent").length, expected);
    }
  });
});

describe("delivery never fails the run", () => {
  test("429 then 200 is exactly two posts", async () => {
    await routes({
      discord: [{ status: 429, headers: { "retry-after": "0" }, body: { retry_after: 0 } }, ...ok!],
    });
    const log = recordingLog();
    const results = await deliverToChannels(
      failing(),
      settings({ "discord-webhook-url": urls().discord }),
      options(log),
    );
    assert.equal((await requests()).length, 2);
    assert.deepEqual(results, [{ channel: "discord", status: "sent", attempts: 2 }]);
    assert.deepEqual(log.infos, ["Discord message sent (after 2 attempts)."]);
  });

  test("always 500 gives up without throwing, with one warning that names no URL", async () => {
    await routes({ teams: [{ status: 500, body: `upstream said ${urls().teams}` }], slack: ok });
    const log = recordingLog();
    const results = await deliverToChannels(
      failing(),
      settings({ "teams-webhook-url": urls().teams, "slack-webhook-url": urls().slack }),
      options(log),
    );
    assert.deepEqual(results, [
      { channel: "slack", status: "sent", attempts: 1 },
      { channel: "teams", status: "failed", attempts: 4 },
    ]);
    assert.equal((await requests()).filter((request) => request.url.startsWith("/teams/")).length, 4);
    assert.equal(log.warns.length, 1);
    assert.match(
      log.warns[0]!,
      /^Lifeboat could not send the Teams message \(4 attempt\(s\)\): Microsoft Teams answered 500/,
    );
    assert.ok(!log.warns[0]!.includes(TOKEN));
  });

  test("a fetch that throws, or a channel that nothing listens to, is a warning", async () => {
    const log = recordingLog();
    const results = await deliverToChannels(
      failing(),
      settings({ "webhook-url": "http://127.0.0.1:9/hook/" + TOKEN, "ping-url": urls().ping }),
      options(log, {
        fetch: (() => {
          throw new TypeError(`boom at ${urls().ping}`);
        }) as typeof fetch,
        poster: { ...fast, maxAttempts: 2 },
      }),
    );
    assert.deepEqual(
      results.map((result) => result.status),
      ["failed", "failed"],
    );
    assert.equal(log.warns.length, 2);
    for (const warning of log.warns) assert.ok(!warning.includes(TOKEN), warning);
    await assert.doesNotReject(
      pingStart(
        settings({ "ping-url": "http://127.0.0.1:9/x" }),
        { action: "prune", label: "x" },
        options(log, { poster: { ...fast, maxAttempts: 1 } }),
      ),
    );
  });
});

describe("no secret leaves", () => {
  test("no password (raw, percent-encoded or JSON-escaped), token, HMAC secret or webhook URL in any payload sent here", async () => {
    await routes();
    const every = settings({
      "slack-webhook-url": urls().slack,
      "discord-webhook-url": urls().discord,
      "teams-webhook-url": urls().teams,
      "webhook-url": urls().webhook,
      "webhook-secret": HMAC_SECRET,
      "ping-url": urls().ping,
      "notify-on": "always",
    });
    const log = recordingLog();
    const report = failing();
    report.facts.push({ label: "Target", value: `postgres://app:${DB_PASSWORD}@db/shop` });
    report.warnings.push(`the Discord webhook ${urls().discord} was slow`);
    report.failures.push(`posting to ${urls().slack} failed`);
    await pingStart(every, { action: "backup-db", label: "shop" }, options(log));
    const results = await deliverToChannels(report, every, options(log));
    assert.deepEqual(
      results.map((result) => result.status),
      ["sent", "sent", "sent", "sent", "sent"],
    );
    await requests();
    assert.ok(sent.length >= 20, `${sent.length} requests checked`);
    const forms = (secret: string) => [
      secret,
      encodeURIComponent(secret),
      JSON.stringify(secret).slice(1, -1),
    ];
    const secrets = [DB_PASSWORD, TOKEN, HMAC_SECRET, ...Object.values(urls())].flatMap(forms);
    for (const request of sent) {
      const visible = `${request.body}\n${JSON.stringify(request.headers)}`;
      for (const secret of secrets) {
        assert.ok(
          !visible.includes(secret),
          `a secret (${secret.slice(0, 12)}...) in ${request.url.split("/")[1]}: ${visible.slice(visible.indexOf(secret) - 60, visible.indexOf(secret) + 40)}`,
        );
      }
    }
    for (const line of [...log.infos, ...log.warns])
      for (const secret of secrets) assert.ok(!line.includes(secret));
    const discord = sent.filter((request) => request.url.startsWith("/discord/")).at(-1)!;
    assert.match(
      discord.body,
      /connect to \*\*\* failed \(password \\"\*\*\*\\"\)/,
      "scrubbed, still readable",
    );
  });
});
