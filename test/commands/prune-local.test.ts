/**
 * prune against the local directory store: through the CLI as a user runs it, and through
 * runPrune with a store that counts its calls or fails some deletes.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  DELETE_BATCH_KEYS,
  pruneFailureMessage,
  runPrune,
  type PruneResult,
} from "../../src/commands/prune/run.js";
import { silentLogger } from "../../src/commands/logger.js";
import { parsePruneSettings } from "../../src/settings/settings.js";
import { LocalStore } from "../../src/storage/local-store.js";
import type { Store } from "../../src/storage/store.js";
import { seedLocalFolders, type SeededFolder } from "../helpers/backup-folders.js";
import { runCli } from "../helpers/cli.js";
import { countingStore } from "../helpers/counting-store.js";

const H = 3_600_000;
const D = 24 * H;
let work: string;
let root: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-prune-"));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The store's files, but the audit trail each prune adds (test/evidence/audit.test.ts checks it). */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.parentPath.endsWith("/_audit"))
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/**
 * The label `shop`: ten daily backups (newest 1 hour ago); the 8th newest is the only verified one
 * (a passing restore-test), the 6th had a passing deep verify withdrawn by a later failure; a failed
 * backup from three days ago and one in flight (written two hours ago), both without a manifest.
 * Beside it, another label and things under `shop/` that are not backup folders.
 */
interface History {
  daily: SeededFolder[];
  failedOld: SeededFolder;
  inFlight: SeededFolder;
  others: string[];
}

function seedHistory(dir: string): History {
  const now = Date.now();
  const daily = seedLocalFolders(
    dir,
    "shop",
    Array.from({ length: 10 }, (_, i) => ({
      time: new Date(now - H - (9 - i) * D),
      dumpBytes: 1000 + i,
      checks:
        i === 2
          ? [{ kind: "restore-test", passed: true }]
          : i === 4
            ? [
                { kind: "verify-deep", passed: true, time: new Date(now - (9 - i) * D) },
                { kind: "verify-deep", passed: false, time: new Date(now - (8 - i) * D) },
                { kind: "verify", passed: true, time: new Date(now - (8 - i) * D) },
              ]
            : [],
    })),
  ).reverse(); // newest first
  const [failedOld] = seedLocalFolders(dir, "shop", [{ time: new Date(now - 3 * D), committed: false }]);
  const [inFlight] = seedLocalFolders(dir, "shop", [{ time: new Date(now - 2 * H), committed: false }]);
  seedLocalFolders(dir, "shop-staging", [{ time: new Date(now - 30 * D) }, { time: new Date(now - 20 * D) }]);
  mkdirSync(join(dir, "shop", "not-a-backup"), { recursive: true });
  writeFileSync(join(dir, "shop", "notes.txt"), "mine");
  writeFileSync(join(dir, "shop", "not-a-backup", "x"), "mine too");
  const others = files(dir).filter((file) => !file.startsWith("shop/2"));
  return { daily, failedOld: failedOld!, inFlight: inFlight!, others };
}

beforeEach(() => {
  root = join(work, `store-${Math.random().toString(36).slice(2)}`);
});

describe("prune on a local directory", () => {
  test("--dry-run prints every decision with its reason and deletes nothing", async () => {
    const history = seedHistory(root);
    const before = files(root);
    const run = await runCli([
      "prune",
      "--storage",
      root,
      "--label",
      "shop",
      "--keep-last",
      "3",
      "--dry-run",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(files(root), before, "nothing deleted");
    const lines = run.stdout.split("\n");
    assert.match(lines[0]!, /^BACKUP ID\s+STARTED \(UTC\)\s+SIZE\s+VERIFIED\s+DECISION\s+REASONS$/);
    const line = (folder: SeededFolder) =>
      lines.find((candidate) => candidate.startsWith(folder.backupId)) ?? "";
    assert.match(line(history.daily[0]!), /\bno\s+keep\s+the newest backup; keep-last \(1 of 3\)$/);
    assert.match(line(history.daily[2]!), /keep\s+keep-last \(3 of 3\)$/);
    assert.match(line(history.daily[3]!), /would delete\s+no keep rule selects it$/);
    assert.match(
      line(history.daily[5]!),
      /\bno\s+would delete\s+no keep rule selects it$/,
      "withdrawn verify",
    );
    assert.match(
      line(history.daily[7]!),
      /\byes\s+keep\s+min-verified: kept so that 1 verified backup remains$/,
    );
    assert.match(
      line(history.failedOld),
      /-\s+would delete\s+no manifest \(failed or interrupted\), 3d\S* old: older than the safe age 1d$/,
    );
    assert.match(line(history.inFlight), /-\s+keep\s+no manifest, 2h\S* old: younger than the safe age 1d/);
    assert.equal(lines.filter((candidate) => /^\d{8}T/.test(candidate)).length, 12, "one line per folder");
    assert.match(
      lines.at(-1)!,
      /^dry run: kept 4 backups \(and 1 folder without a manifest, younger than the safe age or locked\); would delete 6 backups and 1 incomplete folder, [\d.]+ KiB would be freed$/,
    );

    const json = await runCli([
      "prune",
      "--storage",
      root,
      "--label",
      "shop",
      "--keep-last",
      "3",
      "--dry-run",
      "--json",
    ]);
    assert.equal(json.code, 0);
    const result = json.json as unknown as PruneResult & { ok: boolean };
    assert.equal(result.ok, true);
    assert.equal(result.dryRun, true);
    assert.equal(result.kept, 4);
    assert.equal(result.deleted, 7);
    assert.equal(result.decisions.length, 12);
    assert.deepEqual(files(root), before, "nothing deleted");
  });

  test("deletes what the policy does not keep, and nothing outside its label's backup folders", async () => {
    const history = seedHistory(root);
    const expectedFreed = [...history.daily.slice(3, 7), ...history.daily.slice(8), history.failedOld]
      .flatMap((folder) => folder.keys)
      .reduce((sum, key) => sum + statSync(join(root, key)).size, 0);
    const run = await runCli(["prune", "--storage", root, "--label", "shop", "--keep-last", "3", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.ok, true);
    assert.equal(run.json.kept, 4);
    assert.equal(run.json.deleted, 7);
    assert.equal(run.json.deletedBackups, 6);
    assert.equal(run.json.deletedIncomplete, 1);
    assert.equal(run.json.freedBytes, expectedFreed);
    const kept = [...history.daily.slice(0, 3), history.daily[7]!, history.inFlight].flatMap((f) => f.keys);
    assert.deepEqual(files(root), [...kept, ...history.others].sort());
    assert.deepEqual(
      readdirSync(join(root, "shop")).filter((name) => name !== "_audit").length,
      5 + 2,
      "empty folders are gone too",
    );
  });

  test("warns loudly when no backup has passed a restore-test or a deep verify, and keeps going", async () => {
    const now = Date.now();
    const seeded = seedLocalFolders(
      root,
      "plain",
      [3, 2, 1].map((days) => ({ time: new Date(now - days * D) })),
    );
    const run = await runCli(["prune", "--storage", root, "--label", "plain", "--keep-daily", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /^warning: no backup under this label has passed a restore-test or a deep verify, so none is known to restore; min-verified is 1/m,
    );
    assert.deepEqual(files(root), seeded[2]!.keys.sort());
  });

  test("an empty label is not an error", async () => {
    const run = await runCli(["prune", "--storage", root, "--label", "nothing", "--keep-last", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^no backups under file:\/\/.*\/nothing\/\nkept 0 backups; deleted 0 backups, 0 B freed$/,
    );
  });

  test("one listing, and one deleteMany per 1000 keys in each of the two passes", async () => {
    const now = Date.now();
    const count = 1100;
    seedLocalFolders(
      root,
      "many",
      Array.from({ length: count }, (_, i) => ({ time: new Date(now - H - i * H) })),
    );
    const { store, calls } = countingStore(new LocalStore(root));
    const settings = parsePruneSettings({ storage: root, label: "many", "keep-last": "1" });
    const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
    assert.equal(result.deleted, count - 1);
    assert.equal(result.failed.length, 0);
    assert.equal(calls.check, 1);
    assert.equal(calls.list, 1);
    assert.equal(calls.listed, count * 2);
    // 1099 manifests (2 calls), then 1099 dumps (2 calls); never more than 1000 keys a call.
    assert.equal(calls.deleteMany, 4);
    assert.equal(calls.deleteKeys, (count - 1) * 2);
    assert.equal(Math.ceil((count - 1) / DELETE_BATCH_KEYS) * 2, 4);
    assert.equal(files(root).length, 2);
  });

  test("a partial failure is reported, and a backup whose manifest stays keeps its dump", async () => {
    const now = Date.now();
    const seeded = seedLocalFolders(
      root,
      "shop",
      [5, 4, 3, 2, 1].map((days) => ({ time: new Date(now - days * D) })),
    );
    const local = new LocalStore(root);
    const refused = new Set([
      seeded[0]!.keys.find((key) => key.endsWith("manifest.json"))!,
      seeded[1]!.keys[0]!,
    ]);
    const store: Store = Object.assign(Object.create(local) as Store, {
      deleteMany: async (keys: readonly string[]) => {
        const result = await local.deleteMany(keys.filter((key) => !refused.has(key)));
        const failed = keys
          .filter((key) => refused.has(key))
          .map((key) => ({ key, reason: "AccessDenied: Access Denied" }));
        return { deleted: result.deleted, failed };
      },
    });
    const settings = parsePruneSettings({ storage: root, label: "shop", "keep-last": "2" });
    const result = await runPrune(settings, { store, now: () => new Date(now), log: silentLogger });
    assert.deepEqual(result.failed.map((failure) => failure.key).sort(), [...refused].sort());
    assert.equal(result.deleted, 1, "only the third backup went entirely");
    const byId = new Map(result.decisions.map((decision) => [decision.backupId, decision]));
    assert.equal(byId.get(seeded[0]!.backupId)!.deleted, false);
    assert.equal(byId.get(seeded[1]!.backupId)!.deleted, false);
    assert.equal(byId.get(seeded[2]!.backupId)!.deleted, true);
    // The first backup's manifest could not be deleted: its dump is still there, whole.
    for (const key of seeded[0]!.keys) assert.ok(existsSync(join(root, key)), key);
    // The second lost its manifest (so it is no longer a backup) but kept the dump that failed.
    assert.deepEqual(
      files(root).filter((file) => file.includes(seeded[1]!.backupId)),
      [seeded[1]!.keys[0]!],
    );
    assert.match(
      pruneFailureMessage(result)!,
      /^prune could not delete 2 object\(s\), so 2 folder\(s\) remain: ".*": AccessDenied: Access Denied \(and 1 more; see the result\)$/,
    );
  });

  // issue 12: prune deleted every intact backup when the newest had lost its dump.age.
  test("a backup whose dump is missing is broken: never the newest, never verified, kept and reported", async () => {
    const now = Date.now();
    const seeded = seedLocalFolders(
      root,
      "shop",
      [4, 3, 2, 1].map((days) => ({
        time: new Date(now - days * D),
        // An old deep-verify pass sits beside the newest, which then loses its dump.
        checks: days === 1 ? [{ kind: "verify-deep", passed: true }] : [],
      })),
    ).reverse();
    const newest = seeded[0]!;
    rmSync(join(root, newest.keys[0]!));
    const settings = parsePruneSettings({
      storage: root,
      label: "shop",
      "keep-last": "1",
      "min-verified": "1",
    });
    const result = await runPrune(settings, {
      store: new LocalStore(root),
      now: () => new Date(now),
      log: silentLogger,
    });
    const byId = new Map(result.decisions.map((decision) => [decision.backupId, decision]));
    const broken = byId.get(newest.backupId)!;
    assert.equal(broken.action, "keep");
    assert.deepEqual(broken.rules, ["broken"]);
    assert.equal(broken.verified, false);
    assert.deepEqual(broken.problems, ["dump.age is missing"]);
    assert.deepEqual(
      byId.get(seeded[1]!.backupId)!.rules,
      ["newest", "keep-last"],
      "the newest intact backup",
    );
    assert.ok(result.warnings.some((warning) => warning.includes(`backup ${newest.backupId} is broken`)));
    assert.ok(existsSync(join(root, seeded[1]!.keys[0]!)), "the newest intact backup stays");
    assert.equal(result.deleted, 2);
  });

  test("a dump of another size than its manifest says is broken too", async () => {
    const now = Date.now();
    const seeded = seedLocalFolders(root, "shop", [
      { time: new Date(now - 2 * D) },
      { time: new Date(now - D) },
    ]);
    truncateSync(join(root, seeded[1]!.keys[0]!), 10);
    const settings = parsePruneSettings({
      storage: root,
      label: "shop",
      "keep-last": "1",
      "dry-run": "true",
    });
    const result = await runPrune(settings, {
      store: new LocalStore(root),
      now: () => new Date(now),
      log: silentLogger,
    });
    assert.deepEqual(result.decisions[0]!.problems, ["dump.age is 10 bytes; the manifest says 100"]);
    assert.deepEqual(result.decisions[1]!.rules, ["newest", "keep-last"]);
  });

  test("a check record counts only for the bytes it checked", async () => {
    const now = Date.now();
    const seeded = seedLocalFolders(
      root,
      "shop",
      [3, 2, 1].map((days) => ({
        time: new Date(now - days * D),
        checks: days === 3 ? [{ kind: "restore-test", passed: true, checked: "other" as const }] : [],
      })),
    );
    const settings = parsePruneSettings({
      storage: root,
      label: "shop",
      "keep-last": "1",
      "min-verified": "1",
      "dry-run": "true",
    });
    const result = await runPrune(settings, {
      store: new LocalStore(root),
      now: () => new Date(now),
      log: silentLogger,
    });
    const oldest = result.decisions.find((decision) => decision.backupId === seeded[0]!.backupId)!;
    assert.equal(oldest.verified, false, "its restore-test pass was for other bytes");
    assert.equal(oldest.action, "delete");
  });

  test("a killed backup's .partial-* file is swept once older than the safe age; a young one stays", async () => {
    const now = Date.now();
    const [kept] = seedLocalFolders(root, "shop", [{ time: new Date(now - D) }]);
    const old = join(root, "shop", "20200101T000000Z-killed", ".partial-0123");
    const young = join(root, "shop", kept!.backupId, ".partial-4567");
    mkdirSync(join(root, "shop", "20200101T000000Z-killed"), { recursive: true });
    writeFileSync(old, "half a dump");
    writeFileSync(young, "a dump being written");
    const twoDaysAgo = new Date(now - 2 * D);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    const run = await runCli(["prune", "--storage", root, "--label", "shop", "--keep-last", "1"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!existsSync(old), "the old temporary file is gone");
    assert.ok(!existsSync(join(root, "shop", "20200101T000000Z-killed")), "with its empty folder");
    assert.ok(existsSync(young), "a write that may be in flight is left alone");
  });
});
