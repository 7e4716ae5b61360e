/** History: loading a label's recent backups from a store, the dashboard's figures, and the charts. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { newBackupId } from "../../src/domain/backup-id.js";
import { checkKey, manifestKey } from "../../src/domain/layout.js";
import { restoreTimeChart, sizeChart, pointLabels, chartLabel } from "../../src/report/chart.js";
import { historyStats, loadHistory, mapBounded, type HistoryPoint } from "../../src/report/history.js";
import { openStore } from "../../src/storage/open-store.js";
import type { Store } from "../../src/storage/store.js";

const H = 3_600_000;
const NOW = new Date("2026-11-22T12:00:00Z");
let dir: string;
let store: Store;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lifeboat-history-"));
  store = await openStore(dir, { cwd: dir });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function put(key: string, value: unknown): Promise<void> {
  await store.put(key, Readable.from([Buffer.from(JSON.stringify(value))]), {
    contentType: "application/json",
  });
}

function point(hoursAgo: number, overrides: Partial<HistoryPoint> = {}): HistoryPoint {
  const startedAt = new Date(NOW.getTime() - hoursAgo * H);
  return {
    backupId: newBackupId(startedAt),
    startedAt,
    committed: true,
    storedBytes: 1000,
    finishedAt: new Date(startedAt.getTime() + 60_000),
    lastCheckPassed: null,
    restoreSeconds: null,
    ...overrides,
  };
}

describe("historyStats", () => {
  test("success rate: committed folders whose latest check did not fail, over every folder in the window", () => {
    const newest = point(1, { lastCheckPassed: true, restoreSeconds: 3 });
    const stats = historyStats(
      [
        newest,
        point(25, { lastCheckPassed: false }),
        point(49),
        point(73, { committed: false, storedBytes: null }),
      ],
      NOW,
    );
    assert.deepEqual(stats, {
      attempts: 4,
      succeeded: 2,
      successRate: 0.5,
      newestAgeSeconds: 3600 - 60,
      newestBackupId: newest.backupId,
      restoreTested: 1,
    });
  });

  test("no backup: no rate and no age", () => {
    assert.deepEqual(historyStats([], NOW), {
      attempts: 0,
      succeeded: 0,
      successRate: null,
      newestAgeSeconds: null,
      newestBackupId: null,
      restoreTested: 0,
    });
  });
});

describe("loadHistory", () => {
  test("reads manifests and the latest passing restore-test of the newest 30 folders, oldest first", async () => {
    const made: string[] = [];
    for (let i = 0; i < 33; i++) {
      const startedAt = new Date(NOW.getTime() - (33 - i) * 2 * H);
      const backupId = newBackupId(startedAt);
      made.push(backupId);
      if (i === 31) {
        // no manifest, and old enough not to be in flight: a failed attempt
        await put(`app/${backupId}/dump.age`, "x");
        continue;
      }
      await put(manifestKey("app", backupId), {
        schemaVersion: 1,
        backupId,
        label: "app",
        startedAt: startedAt.toISOString(),
        finishedAt: new Date(startedAt.getTime() + 30_000).toISOString(),
        object: { name: "dump.age", bytes: 1000 + i, sha256: "0".repeat(64) },
        dump: { plaintext: { bytes: 1, sha256: "1".repeat(64) } },
        encryption: { format: "age-v1", recipients: [] },
        tables: [],
      });
      // The dump the manifest names, at its size: otherwise the backup is broken, not a success.
      await put(`app/${backupId}/dump.age`, "x".repeat(1000 + i - 2)); // JSON adds the quotes
      if (i === 30) {
        await put(checkKey("app", backupId, new Date(startedAt.getTime() + H), "restore-test", true), {
          details: { restoreSeconds: 4.25 },
        });
        await put(checkKey("app", backupId, new Date(startedAt.getTime() + 2 * H), "restore-test", false), {
          details: { restoreSeconds: 99 },
        });
      }
    }
    // in flight: a folder without a manifest started a minute ago is not an attempt yet
    await put(`app/${newBackupId(new Date(NOW.getTime() - 60_000))}/dump.age`, "x");

    const history = await loadHistory(store, "app", { now: NOW });
    assert.equal(history.points.length, 30);
    assert.equal(history.points[0]!.backupId, made[3]);
    assert.equal(history.points.at(-1)!.backupId, made[32]);
    const tested = history.points.find((entry) => entry.backupId === made[30])!;
    assert.equal(tested.restoreSeconds, 4.25, "the latest passing restore-test's time");
    assert.equal(tested.lastCheckPassed, false);
    assert.equal(history.points.find((entry) => entry.backupId === made[31])!.storedBytes, null);
    assert.equal(history.points.at(-1)!.storedBytes, 1032);
    assert.equal(history.stats.attempts, 30);
    assert.equal(history.stats.succeeded, 28);
    // A backup whose dump went missing is broken: not a success, and says why.
    await store.deleteMany([`app/${made[32]}/dump.age`]);
    const after = await loadHistory(store, "app", { now: NOW });
    assert.deepEqual(after.points.at(-1)!.problems, ["dump.age is missing"]);
    assert.equal(after.stats.succeeded, 27);
    assert.equal(history.stats.newestAgeSeconds, 2 * 3600 - 30);
  });

  test("mapBounded keeps at most the limit in flight and the input order", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
    assert.equal(most, 3);
  });
});

describe("charts", () => {
  test("no chart from fewer than two points", () => {
    assert.equal(sizeChart([point(1)]), undefined);
    assert.equal(sizeChart([point(2), point(1, { storedBytes: null, committed: false })]), undefined);
    assert.equal(restoreTimeChart([point(2, { restoreSeconds: 3 }), point(1)]), undefined);
  });

  test("sizes in a unit that fits, labels unique and safe", () => {
    const chart = sizeChart([
      point(2, { storedBytes: 2 * 1024 ** 3 }),
      point(1, { storedBytes: 3 * 1024 ** 3 }),
    ])!;
    assert.match(chart, /y-axis "GiB" 0 --> 3\.3/);
    assert.match(chart, /bar \[2, 3\]/);
    const at = (time: string, backupId: string) => ({ startedAt: new Date(time), backupId });
    assert.deepEqual(
      pointLabels([
        at("2026-11-21T01:05:01Z", "20261121T010501Z-aaaaaa"),
        at("2026-11-22T01:05:01Z", "20261122T010501Z-bbbbbb"),
        at("2026-11-22T01:05:09Z", "20261122T010509Z-cccccc"),
        at("2026-11-22T01:07:00Z", "20261122T010700Z-dddddd"),
        at("2026-11-22T01:07:00Z", "20261122T010700Z-eeeeee"),
      ]),
      ["11-21 01:05", "11-22 01:05:01", "11-22 01:05:09", "01:07:00 dddddd", "01:07:00 eeeeee"],
    );
    assert.equal(chartLabel('a"b]c\n[`d\\' + "x".repeat(40)).length, 16);
    assert.ok(!/["\]`[\\]/.test(chartLabel('a"b]c\n[`d\\')));
  });
});
