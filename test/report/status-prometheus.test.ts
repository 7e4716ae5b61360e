import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildStatus } from "../../src/report/status/model.js";
import { escapeLabelValue, renderPrometheus, writeFileAtomic } from "../../src/report/status/prometheus.js";
import { parseExposition, sampleValue } from "../helpers/prometheus-parser.js";
import { DAY, HOUR, NOW, SECRET, TOKEN, label, mixedStore, nightly } from "./status-fixtures.js";

const nowSeconds = NOW.getTime() / 1000;

test("the parser refuses what Prometheus would refuse", () => {
  const ok = '# HELP a_b help\n# TYPE a_b gauge\na_b{x="1"} 2\n';
  assert.equal(sampleValue(parseExposition(ok), "a_b", { x: "1" }), 2);
  const bad: [string, RegExp][] = [
    ["a_b 1\n", /without a TYPE/],
    ["# TYPE a_b gauge\na_b 1", /final line feed/],
    ["# TYPE 1a gauge\n", /invalid metric name/],
    ['# TYPE a gauge\na{1x="v"} 1\n', /invalid label name/],
    ['# TYPE a gauge\na{__x="v"} 1\n', /reserved/],
    ['# TYPE a gauge\na{x="\\t"} 1\n', /invalid escape/],
    ['# TYPE a gauge\na{x="v",x="w"} 1\n', /given twice/],
    ['# TYPE a gauge\na{x="v"} 1\na{x="v"} 2\n', /duplicate series/],
    ["# TYPE a gauge\na 1 1700000000000\n", /timestamps/],
    ["# TYPE a gauge\na one\n", /invalid value/],
    ["# TYPE a gauge\n# TYPE a counter\n", /second TYPE/],
    ['# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="y"} 1\n', /not together/],
    ["# TYPE a teapot\n", /unknown type/],
  ];
  for (const [text, error] of bad) assert.throws(() => parseExposition(text), error, JSON.stringify(text));
  assert.equal(
    sampleValue(parseExposition('# TYPE a gauge\na{x="q\\"b\\\\s\\nn"} NaN\n'), "a", { x: 'q"b\\s\nn' }),
    NaN,
  );
});

test("every status figure is a typed gauge with a HELP line, valid names and no duplicate series", () => {
  const text = renderPrometheus(
    buildStatus(mixedStore(), { now: NOW, thresholds: { maxRestoreAgeSeconds: 8 * DAY } }),
  );
  const families = parseExposition(text);
  for (const family of families.values()) {
    assert.equal(family.type, "gauge", family.name);
    assert.ok(family.help && family.help.length > 10, `${family.name} has HELP`);
    assert.match(family.name, /^lifeboat_[a-z_]+$/);
    assert.ok(family.samples.length > 0, `${family.name} has samples`);
    if (
      family.name.includes("timestamp") ||
      family.name.endsWith("age_seconds") ||
      family.name.includes("duration")
    ) {
      assert.match(family.name, /_seconds$/);
    }
  }
  assert.deepEqual(
    [...families.keys()].filter((name) => name.endsWith("_bytes")),
    ["lifeboat_stored_bytes", "lifeboat_backup_size_bytes"],
  );
  for (const name of [
    "lifeboat_last_success_timestamp_seconds",
    "lifeboat_backup_age_seconds",
    "lifeboat_stored_bytes",
    "lifeboat_backups",
    "lifeboat_verified_backups",
    "lifeboat_restore_duration_seconds",
    "lifeboat_backup_duration_seconds",
    "lifeboat_success_ratio",
    "lifeboat_label_healthy",
  ]) {
    assert.ok(families.has(name), name);
  }
  assert.ok(!text.includes(SECRET) && !text.includes(TOKEN));
});

test("the values are the model's: timestamps in Unix seconds, 0 for never, sizes in bytes", () => {
  const model = buildStatus(
    [label("prod", nightly(10, { restoreEvery: 3, startBytes: 40_000_000, growth: 0 })), label("empty", [])],
    { now: NOW },
  );
  const families = parseExposition(renderPrometheus(model));
  const prod = { label: "prod" };
  const v = (name: string, labels: Record<string, string> = prod) => sampleValue(families, name, labels);
  assert.equal(
    v("lifeboat_last_success_timestamp_seconds", { label: "prod", kind: "backup" }),
    nowSeconds - 6 * HOUR + 90,
  );
  assert.equal(
    v("lifeboat_last_success_timestamp_seconds", { label: "prod", kind: "verify" }),
    nowSeconds - 5 * HOUR,
  );
  assert.equal(
    v("lifeboat_last_success_timestamp_seconds", { label: "prod", kind: "restore_test" }),
    nowSeconds - 4 * HOUR,
  );
  assert.equal(v("lifeboat_backup_age_seconds"), 6 * HOUR - 90);
  assert.equal(v("lifeboat_stored_bytes"), 400_000_000);
  assert.equal(v("lifeboat_backup_size_bytes"), 40_000_000);
  assert.equal(v("lifeboat_backups"), 10);
  assert.equal(v("lifeboat_verified_backups"), 4);
  assert.equal(v("lifeboat_restore_duration_seconds"), 40);
  assert.equal(v("lifeboat_backup_duration_seconds"), 90);
  assert.equal(v("lifeboat_success_ratio"), 1);
  assert.equal(v("lifeboat_label_healthy"), 1);
  assert.equal(v("lifeboat_label_verdict", { label: "prod", verdict: "green" }), 1);
  assert.equal(v("lifeboat_label_verdict", { label: "prod", verdict: "red" }), 0);
  assert.equal(v("lifeboat_last_check_passed", { label: "prod", kind: "verify" }), 1);
  assert.equal(v("lifeboat_status_timestamp_seconds", {}), nowSeconds);

  const empty = { label: "empty" };
  assert.equal(v("lifeboat_label_healthy", empty), 0);
  for (const kind of ["backup", "verify", "restore_test"]) {
    assert.equal(v("lifeboat_last_success_timestamp_seconds", { label: "empty", kind }), 0, kind);
  }
  // Figures that do not exist are absent, not zero.
  assert.equal(v("lifeboat_backup_age_seconds", empty), undefined);
  assert.equal(v("lifeboat_restore_duration_seconds", empty), undefined);
  assert.equal(v("lifeboat_success_ratio", empty), undefined);
  assert.equal(v("lifeboat_stored_bytes", empty), 0);
  assert.equal(v("lifeboat_labels", { verdict: "red" }), 1);
});

test("the last good backup is the newest whose latest check did not fail; the age is the newest's", () => {
  const model = buildStatus(
    [
      label("db", [
        { ago: 2 * HOUR, durationSeconds: 60, checks: [{ kind: "verify", passed: false, ago: HOUR }] },
        { ago: 20 * HOUR, durationSeconds: 60, checks: [{ kind: "verify", ago: 19 * HOUR }] },
      ]),
    ],
    { now: NOW },
  );
  const families = parseExposition(renderPrometheus(model));
  assert.equal(
    sampleValue(families, "lifeboat_last_success_timestamp_seconds", { label: "db", kind: "backup" }),
    nowSeconds - 20 * HOUR + 60,
  );
  assert.equal(sampleValue(families, "lifeboat_backup_age_seconds", { label: "db" }), 2 * HOUR - 60);
  assert.equal(sampleValue(families, "lifeboat_last_check_passed", { label: "db", kind: "verify" }), 0);
  assert.equal(
    sampleValue(families, "lifeboat_last_success_timestamp_seconds", { label: "db", kind: "verify" }),
    nowSeconds - 19 * HOUR,
  );
});

test("label values with quotes, backslashes and line feeds survive escaping", () => {
  const hostile = 'a"b\\c\nd}e,f="g"';
  assert.equal(escapeLabelValue(hostile), 'a\\"b\\\\c\\nd}e,f=\\"g\\"');
  const text = renderPrometheus(buildStatus([label(hostile, nightly(2, { restoreEvery: 1 }))], { now: NOW }));
  const families = parseExposition(text);
  assert.equal(sampleValue(families, "lifeboat_backups", { label: hostile }), 2);
  assert.equal(families.get("lifeboat_backups")!.samples.length, 1);
});

test("writeFileAtomic replaces the file whole and leaves no temporary file behind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-status-prom-"));
  try {
    const path = join(dir, "lifeboat.prom");
    writeFileSync(path, "old\n");
    const big = renderPrometheus(buildStatus(mixedStore(), { now: NOW })).repeat(50);
    // A reader polling meanwhile sees the old file or the new one, never a part.
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const seen = readFileSync(path, "utf8");
        assert.ok(seen === "old\n" || seen === big, `a torn read of ${seen.length} characters`);
        reads++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await writeFileAtomic(path, big);
    stop = true;
    await reader;
    assert.ok(reads > 0);
    assert.equal(readFileSync(path, "utf8"), big);
    assert.deepEqual(readdirSync(dir), ["lifeboat.prom"]);
    await assert.rejects(writeFileAtomic(join(dir, "missing", "x.prom"), "x"), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ["lifeboat.prom"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
