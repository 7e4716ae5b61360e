/** The one reader of option values: choices, ranges, defaults and errors, all from the table entry. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { isGiven, readOption, readOptions } from "../../src/settings/read-option.js";
import { OPTIONS, type OptionSpec } from "../../src/settings/spec.js";

function refused(run: () => unknown, input: string, message: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.equal(error.input, input);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

describe("choices", () => {
  test("match case-insensitively and read as the table's spelling", () => {
    assert.equal(readOption({ "s3-checksums": "WHEN-REQUIRED" }, OPTIONS.s3Checksums), "when-required");
    assert.equal(readOption({ "notify-on": "Always" }, OPTIONS.notifyOn), "always");
    assert.equal(readOption({ "object-lock-mode": "governance" }, OPTIONS.objectLockMode), "GOVERNANCE");
    assert.equal(readOption({ "s3-sse": "AWS:KMS" }, OPTIONS.s3Sse), "aws:kms");
    assert.equal(readOption({ "s3-sse": " aes256 " }, OPTIONS.s3Sse), "AES256");
  });

  test("anything else is one line naming the option, the value and every choice", () => {
    refused(
      () => readOption({ "s3-checksums": "sometimes" }, OPTIONS.s3Checksums),
      "s3-checksums",
      '--s3-checksums "sometimes": expected when-required or when-supported',
    );
    refused(
      () => readOption({ "notify-on": "weekly" }, OPTIONS.notifyOn),
      "notify-on",
      '--notify-on "weekly": expected failure or success or always or never',
    );
  });

  test("an absent choice takes the default, or stays absent without one", () => {
    assert.equal(readOption({}, OPTIONS.s3Checksums), "when-required");
    assert.equal(readOption({}, OPTIONS.s3Sse), undefined);
    assert.equal(isGiven({}, OPTIONS.s3Checksums), false);
    assert.equal(isGiven({ "s3-checksums": "when-required" }, OPTIONS.s3Checksums), true);
  });
});

describe("whole numbers", () => {
  test("inside the range they read as numbers", () => {
    assert.equal(readOption({ jobs: "1" }, OPTIONS.jobs), 1);
    assert.equal(readOption({ jobs: "64" }, OPTIONS.jobs), 64);
    assert.equal(readOption({ "keep-daily": "0" }, OPTIONS.keepDaily), 0);
    assert.equal(readOption({}, OPTIONS.keepDaily), undefined);
    assert.equal(readOption({}, OPTIONS.minVerified), 1);
  });

  test("outside it, or not whole, the error states the range", () => {
    for (const value of ["0", "65", "2.5", "-1", "four", "1e1"]) {
      refused(
        () => readOption({ jobs: value }, OPTIONS.jobs),
        "jobs",
        `--jobs "${value}": expected a whole number from 1 to 64`,
      );
    }
    refused(
      () => readOption({ "keep-daily": "99999999999999999999" }, OPTIONS.keepDaily),
      "keep-daily",
      '--keep-daily "99999999999999999999": expected a whole number >= 0',
    );
  });

  test("keywords are accepted beside the numbers, and a table entry can word the expectation", () => {
    assert.equal(readOption({ "pg-version": "AUTO" }, OPTIONS.pgVersion), "auto");
    assert.equal(readOption({ "pg-version": "17" }, OPTIONS.pgVersion), 17);
    assert.equal(readOption({}, OPTIONS.pgVersion), "auto");
    refused(
      () => readOption({ "pg-version": "9" }, OPTIONS.pgVersion),
      "pg-version",
      '--pg-version "9": expected auto or a major version such as 17',
    );
  });
});

describe("booleans", () => {
  test("bare flags, and true/false words from an action, either case", () => {
    assert.equal(readOption({ clean: true }, OPTIONS.clean), true);
    assert.equal(readOption({ clean: "YES" }, OPTIONS.clean), true);
    assert.equal(readOption({ clean: "off" }, OPTIONS.clean), false);
    assert.equal(readOption({}, OPTIONS.noEncryption), false);
    refused(
      () => readOption({ clean: "maybe" }, OPTIONS.clean),
      "clean",
      '--clean "maybe": expected true or false',
    );
  });

  test("true-false options take their keywords too, and their default is read like a value", () => {
    assert.equal(readOption({}, OPTIONS.safetyBackup), true);
    assert.equal(readOption({ "safety-backup": "False" }, OPTIONS.safetyBackup), false);
    assert.equal(readOption({}, OPTIONS.includeRoles), "auto");
    assert.equal(readOption({ "include-roles": "on" }, OPTIONS.includeRoles), true);
    refused(
      () => readOption({ "include-roles": "maybe" }, OPTIONS.includeRoles),
      "include-roles",
      '--include-roles "maybe": expected auto or true or false',
    );
  });
});

describe("durations, sizes, percentages, URLs", () => {
  test("read in their units, with a lower bound from the table", () => {
    assert.equal(readOption({}, OPTIONS.safeAge), 24 * 3_600_000);
    assert.equal(readOption({ "safe-age": "1h" }, OPTIONS.safeAge), 3_600_000);
    refused(
      () => readOption({ "safe-age": "59m" }, OPTIONS.safeAge),
      "safe-age",
      '--safe-age "59m": expected at least 1h, so that a backup in flight is never removed',
    );
    assert.equal(readOption({ "min-size": "2KiB" }, OPTIONS.minSize), 2048);
    assert.equal(readOption({ "max-size-change": "50%" }, OPTIONS.maxSizeChange), 0.5);
  });

  test("a URL must be http or https; a secret one is never repeated in the error", () => {
    assert.equal(
      readOption({ "s3-endpoint": "http://127.0.0.1:9000" }, OPTIONS.s3Endpoint),
      "http://127.0.0.1:9000",
    );
    refused(
      () => readOption({ "s3-endpoint": "minio:9000" }, OPTIONS.s3Endpoint),
      "s3-endpoint",
      '--s3-endpoint "minio:9000": expected an http:// or https:// URL',
    );
    assert.throws(
      () =>
        readOption({ "slack-webhook-url": "hooks.slack.com/services/T/B/sekrit" }, OPTIONS.slackWebhookUrl),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "slack-webhook-url" &&
        !error.message.includes("sekrit") &&
        error.message.includes("the value is not shown"),
    );
  });
});

describe("absent, empty and required values", () => {
  test("an empty or blank value is absent, so it takes the default (an action's empty input)", () => {
    assert.equal(readOption({ label: "" }, OPTIONS.label), "default");
    assert.equal(readOption({ label: "  " }, OPTIONS.label), "default");
    assert.equal(readOption({ backup: "" }, OPTIONS.backup), "latest");
  });

  test("a required option without a value or default names what it expects", () => {
    refused(
      () => readOption({}, OPTIONS.storage),
      "storage",
      "--storage: required; expected s3://bucket/prefix, file:///absolute/path or a directory path",
    );
  });

  test("lists: repeated, split on lines and commas, without blanks and comments", () => {
    assert.deepEqual(readOption({ recipient: ["a, b", "c\n\n# note\nd"] }, OPTIONS.recipient), [
      "a",
      "b",
      "c",
      "d",
    ]);
    assert.deepEqual(readOption({}, OPTIONS.recipient), []);
  });

  test("readOptions reads a record of entries under the caller's keys", () => {
    const spec = { mode: OPTIONS.encryption, days: OPTIONS.objectLockDays } satisfies Record<
      string,
      OptionSpec
    >;
    assert.deepEqual(readOptions({ encryption: "NONE", "object-lock-days": "7" }, spec), {
      mode: "none",
      days: 7,
    });
  });
});
