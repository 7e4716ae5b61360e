import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import {
  buildStatus,
  DEFAULT_THRESHOLDS,
  renderStatusJson,
  type StatusModel,
  type StatusThresholds,
} from "../../src/report/status/model.js";
import { renderStatusText } from "../../src/report/status/text.js";
import { DAY, HOUR, NOW, SECRET, TOKEN, ago, backup, label, mixedStore, nightly } from "./status-fixtures.js";

const only = (model: StatusModel) => {
  assert.equal(model.labels.length, 1);
  return model.labels[0]!;
};

test("a fresh, verified, restore-tested label is green with its figures", () => {
  const status = only(
    buildStatus([label("prod", nightly(10, { restoreEvery: 3, startBytes: 40_000_000, growth: 0 }))], {
      now: NOW,
      thresholds: { maxRestoreAgeSeconds: 8 * DAY },
    }),
  );
  assert.equal(status.verdict, "green");
  assert.deepEqual(status.reasons, []);
  // The newest started 6 h ago and ran 90 s.
  assert.equal(status.newest?.ageSeconds, 6 * HOUR - 90);
  assert.equal(status.newest?.durationSeconds, 90);
  assert.equal(status.newest?.storedBytes, 40_000_000);
  assert.equal(status.newestGood?.backupId, status.newest?.backupId);
  assert.equal(status.lastVerify?.kind, "verify");
  assert.equal(status.lastVerify?.ageSeconds, 5 * HOUR);
  assert.equal(status.lastVerify?.passed, true);
  assert.equal(status.lastRestoreTest?.ageSeconds, 4 * HOUR);
  assert.equal(status.lastRestoreTest?.restoreSeconds, 40);
  assert.deepEqual(status.successRate, { attempts: 10, succeeded: 10, ratio: 1, window: 30 });
  assert.deepEqual(status.retention, { backups: 10, verified: 4, incomplete: 0 });
  assert.equal(status.storage.totalBytes, 400_000_000);
  assert.equal(status.series.length, 10);
  assert.ok(status.series[0]!.startedAt < status.series[9]!.startedAt, "series oldest first");
  assert.deepEqual(
    status.series.map((point) => point.restoreSeconds !== null),
    [true, false, false, true, false, false, true, false, false, true],
  );
  assert.equal(status.latestChecks.length, 5);
  assert.equal(status.latestChecks[0]!.kind, "restore-test", "newest check first");
});

test("max-age: a backup 30 h old is red at 26 h and green at 36 h", () => {
  const input = [
    label("db", [{ ago: 30 * HOUR, durationSeconds: 0, checks: [{ kind: "verify-deep", ago: 29 * HOUR }] }]),
  ];
  const strict = only(buildStatus(input, { now: NOW }));
  assert.equal(strict.verdict, "red");
  assert.deepEqual(strict.reasons, ["newest good backup is 1d6h old (max-age 1d2h)"]);
  const lenient = only(buildStatus(input, { now: NOW, thresholds: { maxAgeSeconds: 36 * HOUR } }));
  assert.equal(lenient.verdict, "green");
  assert.equal(DEFAULT_THRESHOLDS.maxAgeSeconds, 26 * HOUR);
});

test("a failed check on the newest backup is amber while an older good one is fresh, red once it is not", () => {
  const specs = [
    {
      ago: 2 * HOUR,
      checks: [{ kind: "verify" as const, passed: false, ago: HOUR, failures: ["sha256 mismatch"] }],
    },
    { ago: 20 * HOUR, checks: [{ kind: "verify-deep" as const, ago: 19 * HOUR }] },
  ];
  const fresh = only(buildStatus([label("db", specs)], { now: NOW, thresholds: { minSuccessRate: 0 } }));
  assert.equal(fresh.verdict, "amber");
  assert.match(fresh.reasons[0]!, /^newest backup \S+ failed its latest check \(verify: sha256 mismatch\)$/);
  assert.equal(fresh.newestGood?.ageSeconds, 20 * HOUR - 120);
  assert.equal(fresh.lastVerify?.passed, false);
  assert.equal(fresh.lastPassingVerify?.kind, "verify-deep");

  const stale = only(
    buildStatus([label("db", specs)], { now: NOW, thresholds: { maxAgeSeconds: 12 * HOUR } }),
  );
  assert.equal(stale.verdict, "red");
  assert.match(stale.reasons[0]!, /^newest good backup is 19h58m old/);

  const allFailed = only(buildStatus([label("db", [specs[0]!])], { now: NOW }));
  assert.equal(allFailed.verdict, "red");
  assert.equal(allFailed.reasons[0], "no good backup: every backup's latest check failed");
});

test("an empty label is red (no backup), and the exit code is 1 when any label is red", () => {
  const model = buildStatus([label("empty", []), label("ok", nightly(3, { restoreEvery: 1 }))], { now: NOW });
  assert.deepEqual(
    model.labels.map((status) => [status.label, status.verdict, status.reasons]),
    [
      ["empty", "red", ["no backup"]],
      ["ok", "green", []],
    ],
  );
  assert.equal(model.verdict, "red");
  assert.equal(model.exitCode, 1);
  assert.deepEqual(model.counts, { green: 1, amber: 0, red: 1 });
  const empty = model.labels[0]!;
  assert.equal(empty.newest, null);
  assert.equal(empty.successRate.ratio, null);
  assert.deepEqual(empty.retention, { backups: 0, verified: 0, incomplete: 0 });

  const nothing = buildStatus([], { now: NOW });
  assert.equal(nothing.verdict, "red");
  assert.equal(nothing.exitCode, 1);
});

test("amber alone exits 0", () => {
  const model = buildStatus([label("plain", nightly(3))], { now: NOW });
  assert.equal(model.labels[0]!.verdict, "amber");
  assert.deepEqual(model.labels[0]!.reasons, [
    "no verified backup: no restore-test or deep verify has passed",
  ]);
  assert.equal(model.verdict, "amber");
  assert.equal(model.exitCode, 0);
});

test("max-restore-age judges the newest passing restore-test only when set", () => {
  const specs = nightly(10, { restoreEvery: 9 }); // restore-tests 4 h and 9 d 4 h ago
  const withoutRecent = specs.map((spec, index) =>
    index === 0 ? { ...spec, checks: spec.checks!.slice(0, 1) } : spec,
  );
  const limit = { maxRestoreAgeSeconds: 8 * DAY };
  assert.equal(only(buildStatus([label("db", specs)], { now: NOW, thresholds: limit })).verdict, "green");
  const stale = only(buildStatus([label("db", withoutRecent)], { now: NOW, thresholds: limit }));
  assert.equal(stale.verdict, "red");
  assert.deepEqual(stale.reasons, ["last passing restore-test was 9d4h ago (max-restore-age 8d)"]);
  assert.equal(only(buildStatus([label("db", withoutRecent)], { now: NOW })).verdict, "green");

  const never = only(buildStatus([label("db", nightly(2))], { now: NOW, thresholds: limit }));
  assert.equal(never.verdict, "red");
  assert.equal(never.reasons[0], "no passing restore-test (max-restore-age 8d)");

  const failedLast = nightly(3, { restoreEvery: 1 });
  failedLast[0]!.checks![1] = {
    kind: "restore-test",
    passed: false,
    ago: 4 * HOUR,
    failures: ["3 tables differ"],
  };
  const amber = only(
    buildStatus([label("db", failedLast)], {
      now: NOW,
      thresholds: { ...limit, maxAgeSeconds: 2 * DAY, minSuccessRate: 0 },
    }),
  );
  assert.equal(amber.verdict, "amber");
  assert.deepEqual(amber.reasons, [
    `newest backup ${amber.newest!.backupId} failed its latest check (restore-test: 3 tables differ)`,
  ]);
  // A failed restore-test of an older backup is its own reason.
  failedLast[0]!.checks!.pop();
  failedLast[1]!.checks![1] = {
    kind: "restore-test",
    passed: false,
    ago: 4 * HOUR,
    failures: ["3 tables differ"],
  };
  const older = only(
    buildStatus([label("db", failedLast)], { now: NOW, thresholds: { ...limit, minSuccessRate: 0 } }),
  );
  assert.equal(older.verdict, "amber");
  assert.match(older.reasons.join("\n"), /^latest restore-test failed \(\S+: 3 tables differ\)$/);
  assert.equal(older.lastPassingRestoreTest?.ageSeconds, 2 * DAY + 4 * HOUR);
});

test("success rate: the 30 newest folders, in-flight ones left out, failed and unfinished ones counted against", () => {
  const specs = nightly(40, { restoreEvery: 1 });
  // The 10 oldest fail their check: outside the window, they do not count.
  for (const spec of specs.slice(30)) spec.checks = [{ kind: "verify", passed: false, ago: spec.ago - HOUR }];
  // Inside the window: one failed check, one folder without a manifest from 2 days ago.
  specs[5]!.checks = [{ kind: "verify", passed: false, ago: specs[5]!.ago - HOUR }];
  specs.push({ ago: 2 * DAY + 600, committed: false });
  // A backup being written right now is not an attempt yet.
  specs.push({ ago: 600, committed: false });
  const status = only(buildStatus([label("db", specs)], { now: NOW, thresholds: { minSuccessRate: 0.95 } }));
  assert.deepEqual(status.successRate, { attempts: 30, succeeded: 28, ratio: 28 / 30, window: 30 });
  assert.equal(status.retention.incomplete, 2);
  assert.equal(status.retention.backups, 40);
  assert.equal(status.verdict, "amber");
  assert.deepEqual(status.reasons, ["success rate 93.3% (28/30) is below 95%"]);
  // The charts show the committed backups of the window only.
  assert.equal(status.series.length, 29);

  const narrow = only(buildStatus([label("db", specs)], { now: NOW, thresholds: { window: 5 } }));
  assert.deepEqual(narrow.successRate, { attempts: 5, succeeded: 4, ratio: 0.8, window: 5 });
  assert.match(narrow.reasons.join("\n"), /success rate 80% \(4\/5\) is below 90%/);
});

test("stored-size trend compares the newest backup with the newest one at least a week old", () => {
  const specs = [
    {
      ago: 2 * HOUR,
      bytes: 1_200_000,
      checks: [{ kind: "restore-test" as const, ago: HOUR, restoreSeconds: 5 }],
    },
    { ago: 3 * DAY, bytes: 1_100_000 },
    { ago: 8 * DAY, bytes: 1_000_000 },
    { ago: 15 * DAY, bytes: 500_000 },
  ];
  const status = only(buildStatus([label("db", specs)], { now: NOW }));
  assert.deepEqual(status.storage, {
    totalBytes: 3_800_000,
    newestBytes: 1_200_000,
    weekAgoBytes: 1_000_000,
    trendRatio: 0.2,
  });
  const young = only(buildStatus([label("db", specs.slice(0, 2))], { now: NOW }));
  assert.equal(young.storage.weekAgoBytes, null);
  assert.equal(young.storage.trendRatio, null);
});

test("a label that cannot be read is red, and no secret reaches the model, the text or the JSON", () => {
  const model = buildStatus(mixedStore(), {
    now: NOW,
    storage: `s3://AKIAEXAMPLE:${SECRET}@backups/pg?X-Amz-Signature=${TOKEN}`,
    secrets: [TOKEN],
  });
  const unreadable = model.labels.find((status) => status.label === "unreadable")!;
  assert.equal(unreadable.verdict, "red");
  assert.match(
    unreadable.reasons[0]!,
    /^could not read the label: AccessDenied listing s3:\/\/bucket\/unreadable\/ with token \*\*\*$/,
  );
  const staging = model.labels.find((status) => status.label === "staging")!;
  assert.equal(staging.verdict, "red");
  assert.match(
    staging.reasons.join("\n"),
    /failed its latest check \(verify: sha256 mismatch reading postgres:\/\/admin:\*\*\*@db/,
  );
  const json = renderStatusJson(model);
  const text = renderStatusText(model);
  for (const output of [json, text]) {
    assert.ok(!output.includes(SECRET), "no password");
    assert.ok(!output.includes(TOKEN), "no token");
  }
  assert.equal(model.storage?.includes("AKIAEXAMPLE"), false);
});

test("the JSON is the model with stable field names", () => {
  const model = buildStatus([label("db", nightly(2, { restoreEvery: 1 }))], { now: NOW });
  const parsed = JSON.parse(renderStatusJson(model)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [
    "schemaVersion",
    "generatedAt",
    "storage",
    "thresholds",
    "verdict",
    "exitCode",
    "counts",
    "labels",
  ]);
  const first = (parsed.labels as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(first), [
    "label",
    "verdict",
    "reasons",
    "error",
    "newest",
    "newestGood",
    "lastVerify",
    "lastPassingVerify",
    "lastRestoreTest",
    "lastPassingRestoreTest",
    "successRate",
    "storage",
    "retention",
    "series",
    "latestChecks",
  ]);
  assert.equal(parsed.generatedAt, NOW.toISOString());
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(model)));
});

test("the text table has a row per label and the reasons of the labels that are not green", () => {
  const model = buildStatus(
    [
      label("ok", nightly(3, { restoreEvery: 1 })),
      label("empty", []),
      label("evil\u001b[2Jname", [
        { ago: 40 * HOUR, checks: [{ kind: "restore-test", ago: 39 * HOUR, restoreSeconds: 3 }] },
      ]),
    ],
    { now: NOW },
  );
  const lines = renderStatusText(model).split("\n");
  assert.match(
    lines[0]!,
    /^LABEL\s+VERDICT\s+NEWEST\s+LAST VERIFY\s+LAST RESTORE-TEST\s+RESTORE\s+SUCCESS\s+STORED/,
  );
  assert.match(
    lines.find((line) => line.startsWith("ok "))!,
    /^ok\s+GREEN\s+6\.0h ago\s+pass 5\.0h ago\s+pass 4\.0h ago\s+40s\s+100% \(3\/3\)/,
  );
  assert.match(
    lines.find((line) => line.startsWith("empty "))!,
    /^empty\s+RED\s+none\s+never\s+never\s+-\s+-\s+0 B/,
  );
  const text = lines.join("\n");
  assert.ok(!text.includes("\u001b"), "control characters are escaped");
  assert.match(text, /evil\\x1b\[2Jname \(red\):\n {2}- newest good backup is 1d15h old/);
  assert.match(text, /empty \(red\):\n {2}- no backup/);
  assert.match(lines.at(-2)!, /^RED: 1 green, 0 amber, 2 red at 2026-11-28T12:00:00.000Z$/);
});

test("a bad threshold is bad input naming its option", () => {
  const cases: [Partial<StatusThresholds>, RegExp][] = [
    [{ maxAgeSeconds: 0 }, /^--max-age: expected a duration longer than 0$/],
    [{ maxRestoreAgeSeconds: -1 }, /^--max-restore-age: /],
    [{ minSuccessRate: 1.5 }, /^--min-success-rate: expected a percentage from 0% to 100%$/],
    [{ window: 0 }, /^--window: /],
  ];
  for (const [thresholds, message] of cases) {
    assert.throws(
      () => buildStatus([], { now: NOW, thresholds }),
      (error: unknown) => error instanceof InputError && error.exitCode === 2 && message.test(error.message),
    );
  }
});

test("the inputs' order does not matter and a check's time, not its position, makes it the latest", () => {
  const a = backup({
    ago: 3 * HOUR,
    checks: [
      { kind: "verify-deep", ago: HOUR },
      { kind: "verify", passed: false, ago: 2 * HOUR },
    ],
  });
  const b = backup({ ago: 30 * HOUR, checks: [{ kind: "restore-test", ago: 29 * HOUR, restoreSeconds: 9 }] });
  const one = buildStatus([{ label: "x", backups: [a, b] }], { now: NOW });
  const two = buildStatus([{ label: "x", backups: [b, { ...a, checks: [...a.checks].reverse() }] }], {
    now: NOW,
  });
  assert.deepEqual(one, two);
  assert.equal(one.labels[0]!.lastVerify?.kind, "verify-deep");
  assert.equal(one.labels[0]!.verdict, "green");
  assert.equal(ago(0).getTime(), NOW.getTime());
});
