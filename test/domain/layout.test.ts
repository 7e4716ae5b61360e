import assert from "node:assert/strict";
import { test } from "node:test";
import { isBackupId, newBackupId, parseBackupIdTime } from "../../src/domain/backup-id.js";
import { InputError } from "../../src/domain/errors.js";
import {
  checkKey,
  dumpKey,
  groupBackupFolders,
  manifestKey,
  validateLabel,
} from "../../src/domain/layout.js";

const at = (iso: string) => new Date(iso);

test("backup ids encode the UTC start second and sort by time", () => {
  const id = newBackupId(at("2026-11-22T01:05:09.876Z"), Buffer.from([0, 1, 2, 3, 4, 5]));
  assert.equal(id, "20261122T010509Z-876abcdef");
  assert.deepEqual(parseBackupIdTime(id), at("2026-11-22T01:05:09Z"));
  const later = newBackupId(at("2026-11-22T01:05:10Z"));
  assert.ok(later > id);
  assert.ok(isBackupId(later));
  // Within one second, by the millisecond (issue 12): whatever the random part.
  const sameSecond = newBackupId(at("2026-11-22T01:05:09.877Z"), Buffer.from([0, 0, 0, 0, 0, 0]));
  assert.ok(sameSecond > id);
});

test("text that merely looks like a backup id is not one", () => {
  for (const text of ["20261340T010509Z-abcdef", "20261122T010509Z", "20261122T010509Z-ABC", "latest", ""]) {
    assert.equal(isBackupId(text), false, text);
  }
});

test("labels are path-safe names", () => {
  assert.equal(validateLabel("prod-eu_1.db"), "prod-eu_1.db");
  for (const bad of ["", "../x", "a/b", ".hidden", "x".repeat(65), "with space"]) {
    assert.throws(
      () => validateLabel(bad),
      (error: unknown) => error instanceof InputError && error.input === "label",
    );
  }
});

test("a folder is a backup only once its manifest exists, and folders come newest first", () => {
  const id1 = "20261120T000000Z-aaaaaa";
  const id2 = "20261121T000000Z-bbbbbb";
  const id3 = "20261122T000000Z-cccccc";
  const object = (key: string, size = 10) => ({ key, size, lastModified: at("2026-11-22T00:00:00Z") });
  const folders = groupBackupFolders("prod", [
    object(dumpKey("prod", id1, true), 100),
    object(manifestKey("prod", id1)),
    object(checkKey("prod", id1, at("2026-11-21T03:00:00.123Z"), "verify", true)),
    object(checkKey("prod", id1, at("2026-11-21T02:00:00Z"), "restore-test", false)),
    object(dumpKey("prod", id3, true), 300),
    object(manifestKey("prod", id2)),
    object("prod/not-a-backup/manifest.json"),
    object("other/20261122T000000Z-dddddd/manifest.json"),
  ]);
  assert.deepEqual(
    folders.map((folder) => [folder.backupId, folder.committed]),
    [
      [id3, false],
      [id2, true],
      [id1, true],
    ],
  );
  const oldest = folders[2]!;
  assert.deepEqual(
    oldest.checks.map((check) => [check.kind, check.passed]),
    [
      ["restore-test", false],
      ["verify", true],
    ],
  );
  assert.equal(oldest.checks[1]!.time.toISOString(), "2026-11-21T03:00:00.123Z");
});
