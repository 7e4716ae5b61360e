/** The reporting inputs (parsed before the command runs) and the scrubber every rendering goes through. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scrubber } from "../../src/actions/report.js";
import { InputError } from "../../src/domain/errors.js";
import { parseReportSettings } from "../../src/settings/report-settings.js";

describe("parseReportSettings", () => {
  test("defaults: comment on pull requests, Slack on failure, artifact when possible", () => {
    assert.deepEqual(parseReportSettings({}), {
      commentOnPr: "auto",
      githubToken: undefined,
      slackWebhookUrl: undefined,
      notifyOn: "failure",
      reportArtifact: "auto",
    });
    assert.equal(parseReportSettings({ "notify-on": "Always" }).notifyOn, "always");
  });

  test("a bad value is an InputError naming the input; the webhook is never quoted", () => {
    assert.throws(
      () => parseReportSettings({ "notify-on": "sometimes" }),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "notify-on" &&
        error.message === '--notify-on "sometimes": expected failure or success or always or never',
    );
    assert.throws(
      () => parseReportSettings({ "comment-on-pr": "yes" }),
      (error: unknown) => error instanceof InputError && error.input === "comment-on-pr",
    );
    assert.throws(
      () => parseReportSettings({ "slack-webhook-url": "hooks.slack.com/services/T/B/sekrit" }),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "slack-webhook-url" &&
        !error.message.includes("sekrit"),
    );
  });
});

describe("scrubber", () => {
  test("replaces known secrets (longest first) and any URL password", () => {
    const scrub = scrubber(["hunter22", "hunter2233", "abc"]);
    assert.equal(scrub("pw hunter2233 and hunter22"), "pw *** and ***");
    assert.equal(scrub("abc stays: too short to replace safely"), "abc stays: too short to replace safely");
    assert.equal(
      scrub("failed: postgresql://app:s3cr%40t@db.example.com:5432/shop and s3://bucket/x"),
      "failed: postgresql://app:***@db.example.com:5432/shop and s3://bucket/x",
    );
  });
});
