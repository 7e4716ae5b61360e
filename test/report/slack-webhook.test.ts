/** The Slack webhook client against a recording server on loopback: retries, backoff, caps, and no URL in its errors. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { postSlackWebhook } from "../../src/report/channels/slack.js";
import { retryAfterMs } from "../../src/report/channels/webhook-poster.js";
import { startRecordingServer, type RecordingServer } from "../helpers/recording-server.js";

let server: RecordingServer;
const PATH = "/services/T0001/B0002/XXXXsecretXXXX";

before(async () => {
  server = await startRecordingServer();
});

after(async () => {
  await server?.close();
});

async function script(responses: { status: number; headers?: Record<string, string>; body?: unknown }[]) {
  await server.setRoutes([{ method: "POST", path: "^/services/", responses }]);
  await server.reset();
}

function recordingSleep(): { sleeps: number[]; sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

describe("postSlackWebhook", () => {
  test("posts the JSON payload once on 200", async () => {
    await script([{ status: 200, body: "ok" }]);
    const { sleeps, sleep } = recordingSleep();
    const outcome = await postSlackWebhook(`${server.url}${PATH}`, { text: "hello" }, { sleep });
    assert.deepEqual(outcome, { ok: true, attempts: 1, status: 200 });
    const requests = await server.requests();
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.method, "POST");
    assert.match(String(requests[0]!.headers["content-type"]), /^application\/json/);
    assert.deepEqual(JSON.parse(requests[0]!.body), { text: "hello" });
    assert.deepEqual(sleeps, []);
  });

  test("honours Retry-After on 429, capped by maxDelayMs", async () => {
    await script([
      { status: 429, headers: { "retry-after": "7" }, body: "rate_limited" },
      { status: 429, headers: { "retry-after": "3600" }, body: "rate_limited" },
      { status: 200, body: "ok" },
    ]);
    const { sleeps, sleep } = recordingSleep();
    const outcome = await postSlackWebhook(
      `${server.url}${PATH}`,
      { text: "x" },
      { sleep, maxDelayMs: 20_000 },
    );
    assert.equal(outcome.ok, true);
    assert.equal(outcome.attempts, 3);
    assert.deepEqual(sleeps, [7000, 20_000]);
    assert.equal((await server.requests()).length, 3);
  });

  test("backs off exponentially on 5xx and gives up after maxAttempts without the URL in the error", async () => {
    await script([{ status: 500, body: "internal error" }]);
    const { sleeps, sleep } = recordingSleep();
    const url = `${server.url}${PATH}`;
    const outcome = await postSlackWebhook(url, { text: "x" }, { sleep, maxAttempts: 4, baseDelayMs: 100 });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.attempts, 4);
    assert.equal(outcome.status, 500);
    assert.deepEqual(sleeps, [100, 200, 400]);
    assert.match(outcome.error!, /Slack answered 500 \(internal error\)/);
    assert.ok(!outcome.error!.includes(PATH) && !outcome.error!.includes("XXXXsecretXXXX"));
    assert.equal((await server.requests()).length, 4);
  });

  test("does not retry a permanent 4xx (a revoked webhook)", async () => {
    await script([{ status: 404, body: "no_service" }]);
    const { sleeps, sleep } = recordingSleep();
    const outcome = await postSlackWebhook(`${server.url}${PATH}`, { text: "x" }, { sleep });
    assert.deepEqual(outcome, {
      ok: false,
      attempts: 1,
      status: 404,
      error: "Slack answered 404 (no_service)",
    });
    assert.deepEqual(sleeps, []);
  });

  test("stops at the total time cap instead of waiting past it", async () => {
    await script([{ status: 503, body: "unavailable" }]);
    let clock = 0;
    const sleeps: number[] = [];
    const outcome = await postSlackWebhook(
      `${server.url}${PATH}`,
      { text: "x" },
      {
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
        baseDelayMs: 1000,
        totalTimeoutMs: 5000,
        maxAttempts: 10,
      },
    );
    assert.equal(outcome.ok, false);
    assert.deepEqual(sleeps, [1000, 2000]);
    assert.equal(outcome.attempts, 3);
    assert.match(outcome.error!, /time limit/);
  });

  test("retries network errors and never names the URL", async () => {
    const { sleeps, sleep } = recordingSleep();
    const url = `http://127.0.0.1:9${PATH}`; // port 9 (discard): nothing listens
    const outcome = await postSlackWebhook(url, { text: "x" }, { sleep, maxAttempts: 2, baseDelayMs: 10 });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.attempts, 2);
    assert.deepEqual(sleeps, [10]);
    assert.match(outcome.error!, /the request to Slack failed/);
    assert.ok(!outcome.error!.includes("XXXXsecretXXXX"));
  });

  test("retryAfterMs reads seconds and HTTP dates", () => {
    assert.equal(retryAfterMs("2", 0), 2000);
    assert.equal(retryAfterMs(null, 0), undefined);
    assert.equal(retryAfterMs("soon", 0), undefined);
    const now = Date.parse("2026-11-22T00:00:00Z");
    assert.equal(retryAfterMs("Sun, 22 Nov 2026 00:00:05 GMT", now), 5000);
  });
});
