import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { BackupRepository } from "../../src/repository/backup-repository.js";
import { LocalStore } from "../../src/storage/local-store.js";
import { listKeys } from "../storage/store-contract.js";
import { placeholderManifest, seedLocalFolders } from "../helpers/backup-folders.js";

const D = 86_400_000;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-repository-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

function fresh(): { root: string; repository: BackupRepository; store: LocalStore } {
  const root = mkdtempSync(join(work, "store-"));
  const store = new LocalStore(root);
  return { root, store, repository: new BackupRepository(store) };
}

describe("backup repository", () => {
  test("latest is the newest intact backup; a broken newer one is passed over and named", async () => {
    const { root, repository } = fresh();
    const now = Date.now();
    const [older, newer] = seedLocalFolders(root, "app", [
      { time: new Date(now - 2 * D) },
      { time: new Date(now - D) },
    ]);
    rmSync(join(root, newer!.keys[0]!));
    const resolved = await repository.resolve("app", "latest");
    assert.equal(resolved.manifest.backupId, older!.backupId);
    assert.deepEqual(resolved.skipped, [{ backupId: newer!.backupId, problems: ["dump.age is missing"] }]);
    const forVerify = await repository.resolve("app", "latest", { includeBroken: true });
    assert.equal(forVerify.manifest.backupId, newer!.backupId);
    assert.deepEqual(forVerify.problems, ["dump.age is missing"]);
    const byId = await repository.resolve("app", newer!.backupId);
    assert.deepEqual(byId.problems, ["dump.age is missing"]);
    await assert.rejects(repository.resolve("app", "nonsense"), InputError);
    await assert.rejects(repository.resolve("empty", "latest"), InputError);
  });

  test("a writer commits last, and abort takes back every artifact it wrote", async () => {
    const { root, repository } = fresh();
    const time = new Date();
    const writer = repository.beginBackup("app", "20261129T010000Z-abcdef");
    const body = Buffer.from("ciphertext");
    await writer.putArtifact("dump.age", Readable.from([body]));
    assert.deepEqual(await repository.folders("app").then((f) => f.map((x) => x.committed)), [false]);
    assert.deepEqual((await repository.incompleteFolders("app")).length, 1);
    const manifest = placeholderManifest("app", "20261129T010000Z-abcdef", time, body);
    const key = await writer.commit(manifest);
    assert.equal(key, "app/20261129T010000Z-abcdef/manifest.json");
    assert.equal(JSON.parse(readFileSync(join(root, key), "utf8")).schemaVersion, 2);
    const [inspected] = await repository.inspect("app", { checkRecords: true });
    assert.deepEqual(inspected!.problems, []);

    const failed = repository.beginBackup("app", "20261129T020000Z-ghijkl");
    await failed.putArtifact("dump.age", Readable.from([body]));
    await failed.putArtifact("roles.sql.age", Readable.from([body]));
    await failed.abort();
    assert.deepEqual(await listKeys(new LocalStore(root)), [
      "app/20261129T010000Z-abcdef/dump.age",
      "app/20261129T010000Z-abcdef/manifest.json",
    ]);
    await assert.rejects(failed.commit(manifest), /given to app\/20261129T020000Z-ghijkl/);
  });

  test("check records: only those that checked the manifest's bytes are matching; deleteBackup goes manifest first", async () => {
    const { root, repository } = fresh();
    const now = Date.now();
    const [good, other] = seedLocalFolders(root, "app", [
      { time: new Date(now - 2 * D), checks: [{ kind: "verify-deep", passed: true }] },
      { time: new Date(now - D), checks: [{ kind: "restore-test", passed: true, checked: "other" }] },
    ]);
    const inspected = await repository.inspect("app", { checkRecords: true });
    const byId = new Map(inspected.map((entry) => [entry.folder.backupId, entry]));
    assert.deepEqual(
      byId.get(good!.backupId)!.matchingChecks.map((check) => check.kind),
      ["verify-deep"],
    );
    assert.deepEqual(byId.get(other!.backupId)!.matchingChecks, []);
    const folder = byId.get(good!.backupId)!.folder;
    const result = await repository.deleteBackup("app", folder);
    assert.equal(result.deleted[0], `app/${good!.backupId}/manifest.json`);
    assert.equal(result.failed.length, 0);
    assert.deepEqual(
      (await repository.folders("app")).map((f) => f.backupId),
      [other!.backupId],
    );
  });

  test("deleteKeys refuses keys outside the label", async () => {
    const { repository } = fresh();
    await assert.rejects(repository.deleteKeys("app", ["other/x"]), /not inside app\//);
  });
});
