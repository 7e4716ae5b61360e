/**
 * Backups made by the code that wrote manifest schema 1 (test/fixtures/v1, made at bb9bde9) stay
 * readable: parsed into the schema-2 shape, listed, verified shallow and deep, restore-tested and
 * restored. The fixtures are copied first: verify and restore-test write check records.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { listBackups } from "../../src/commands/list/run.js";
import { silentLogger } from "../../src/commands/logger.js";
import { runRestore } from "../../src/commands/restore/run.js";
import { parseManifest } from "../../src/domain/manifest.js";
import { parseRestoreSettings, parseStorageSettings } from "../../src/settings/settings.js";
import { LocalStore } from "../../src/storage/local-store.js";
import type { Store } from "../../src/storage/store.js";
import { FIXTURE_IDENTITY, FIXTURE_PASSPHRASE, FIXTURE_ROWS } from "../fixtures/v1/fixture.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "v1", "store");
const LABELS = ["age", "passphrase", "plain"] as const;
let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let passphraseFile: string;

before(async () => {
  cluster = await startCluster();
  work = mkdtempSync(join(tmpdir(), "lifeboat-v1-"));
  storage = join(work, "store");
  cpSync(fixtures, storage, { recursive: true });
  identityFile = join(work, "identity.txt");
  writeFileSync(identityFile, FIXTURE_IDENTITY + "\n");
  passphraseFile = join(work, "passphrase.txt");
  writeFileSync(passphraseFile, FIXTURE_PASSPHRASE + "\n");
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH });
const backupIdOf = (label: string) => readdirSync(join(fixtures, label))[0]!;
const keysFor = (label: string) =>
  label === "age"
    ? ["--identity-file", identityFile]
    : label === "passphrase"
      ? ["--passphrase-file", passphraseFile]
      : [];

describe("version-1 backups", () => {
  test("parse into the schema-2 shape: the dump and the roles object as artifacts", () => {
    const id = backupIdOf("age");
    const text = readFileSync(join(fixtures, "age", id, "manifest.json"), "utf8");
    const raw = JSON.parse(text) as {
      schemaVersion: number;
      object: { name: string; bytes: number; sha256: string };
      dump: { plaintext: { bytes: number; sha256: string }; compression: string };
      roles: { name: string; bytes: number; sha256: string; plaintext: object; count: number };
    };
    assert.equal(raw.schemaVersion, 1);
    const manifest = parseManifest(text, "fixture");
    assert.equal(manifest.schemaVersion, 2);
    assert.deepEqual(manifest.artifacts, [
      {
        name: "dump.age",
        kind: "dump",
        stored: { bytes: raw.object.bytes, sha256: raw.object.sha256 },
        plaintext: raw.dump.plaintext,
        compression: "none",
        encryption: "age-v1",
      },
      {
        name: "roles.sql.age",
        kind: "roles",
        stored: { bytes: raw.roles.bytes, sha256: raw.roles.sha256 },
        plaintext: raw.roles.plaintext,
        compression: "none",
        encryption: "age-v1",
        count: raw.roles.count,
      },
    ]);
    assert.equal(manifest.dump?.compression, raw.dump.compression);
    assert.ok(!("plaintext" in manifest.dump!) && !("object" in manifest) && !("roles" in manifest));
    const plain = parseManifest(
      readFileSync(join(fixtures, "plain", backupIdOf("plain"), "manifest.json"), "utf8"),
      "x",
    );
    assert.deepEqual(
      plain.artifacts.map((artifact) => [artifact.name, artifact.kind, artifact.encryption]),
      [["dump.pgdump", "dump", "none"]],
    );
  });

  test("are listed, intact, with their last check", async () => {
    for (const label of LABELS) {
      const run = await runCli(["list", "--storage", storage, "--label", label, "--json"], { env: env() });
      assert.equal(run.code, 0, run.stderr);
      const backups = run.json.backups as {
        backupId: string;
        problems: string[];
        lastCheck: unknown;
        storedBytes: number;
      }[];
      assert.equal(backups.length, 1, label);
      assert.equal(backups[0]!.backupId, backupIdOf(label));
      assert.deepEqual(backups[0]!.problems, []);
      assert.ok(backups[0]!.storedBytes > 1000);
      assert.equal(backups[0]!.lastCheck === null, label === "passphrase", label);
    }
  });

  test("verify shallow and deep, and a schema-1 deep-verify record still counts for prune", async () => {
    for (const label of LABELS) {
      const shallow = await runCli(["verify", "--storage", storage, "--label", label, "--json"], {
        env: env(),
      });
      assert.equal(shallow.code, 0, `${label}: ${shallow.stderr}`);
      assert.equal(shallow.json.kind, label === "plain" ? "verify-deep" : "verify");
      const deep = await runCli(
        ["verify", "--storage", storage, "--label", label, ...keysFor(label), "--json"],
        {
          env: env(),
        },
      );
      assert.equal(deep.code, 0, `${label}: ${deep.stderr}`);
      assert.equal(deep.json.kind, "verify-deep");
      assert.equal(deep.json.tablesListed, 4);
    }
    // The dry run counts the fixture's own (schema-1) verify-deep pass: it names the dump's sha256.
    cpSync(fixtures, join(work, "store-copy"), { recursive: true });
    const counted = await runCli(
      [
        "prune",
        "--storage",
        join(work, "store-copy"),
        "--label",
        "age",
        "--keep-last",
        "1",
        "--dry-run",
        "--json",
      ],
      { env: env() },
    );
    const decisions = counted.json.decisions as { verified: boolean }[];
    assert.deepEqual(
      decisions.map((decision) => decision.verified),
      [true],
    );
  });

  test("restore-test each into a scratch database, with the roles object applied first", async () => {
    for (const label of LABELS) {
      const run = await runCli(
        [
          "restore-test",
          "--storage",
          storage,
          "--label",
          label,
          ...keysFor(label),
          "--scratch-database-url",
          cluster.url("postgres"),
          "--json",
        ],
        { env: env() },
      );
      assert.equal(run.code, 0, `${label}: ${run.stderr}`);
      assert.equal(run.json.tablesChecked, Object.keys(FIXTURE_ROWS).length);
      assert.deepEqual(run.json.mismatches, []);
      if (label === "age") {
        const roles = run.json.roles as { created: string[]; existing: string[] };
        assert.ok([...roles.created, ...roles.existing].includes("fixture_reader"), JSON.stringify(roles));
      }
    }
  });

  test("restore into an existing database, checked first", async () => {
    for (const label of LABELS) {
      const target = `target_${label}`;
      await cluster.createDatabase(target);
      const run = await runCli(
        [
          "restore",
          "--storage",
          storage,
          "--label",
          label,
          ...keysFor(label),
          "--target-database-url",
          cluster.url(target),
          "--confirm",
          target,
          "--safety-backup",
          "false",
          "--json",
        ],
        { env: env() },
      );
      assert.equal(run.code, 0, `${label}: ${run.stderr}`);
      const rows = await cluster.sql<{ n: string }>(target, "SELECT count(*) AS n FROM shop.orders");
      assert.equal(Number(rows[0]!.n), FIXTURE_ROWS["shop.orders"]);
    }
  });

  // issue 12: list, verify and restore required a writable local store.
  test("list and restore need read access only: no write check, no write", async () => {
    const writes: string[] = [];
    const local = new LocalStore(fixtures);
    const readOnly: Store = {
      url: local.url,
      check: async (access) => {
        if (access !== "read") throw new Error(`check(${String(access)}) on a read path`);
        await local.check("read");
      },
      put: async (key, body) => {
        body.destroy();
        writes.push(key);
        throw new Error("read-only");
      },
      get: (key) => local.get(key),
      head: (key) => local.head(key),
      list: (prefix) => local.list(prefix),
      deleteMany: async (keys) => {
        writes.push(...keys);
        throw new Error("read-only");
      },
    };
    const listed = await listBackups(parseStorageSettings({ storage: fixtures, label: "plain" }), {
      store: readOnly,
      now: () => new Date(),
    });
    assert.equal(listed.length, 1);
    await cluster.createDatabase("target_readonly");
    const result = await runRestore(
      parseRestoreSettings({
        storage: fixtures,
        label: "plain",
        "target-database-url": cluster.url("target_readonly"),
        confirm: "target_readonly",
        "safety-backup": "false",
      }),
      { store: readOnly, env: { PATH: process.env.PATH }, now: () => new Date(), log: silentLogger },
    );
    assert.equal(result.passed, true, result.failures.join("; "));
    assert.deepEqual(writes, []);
  });

  // issue 12: restore wrote tampered rows into the target before failing.
  test("a tampered unencrypted dump of the right size reaches no database: restore checks first", async () => {
    const tampered = join(work, "tampered");
    cpSync(join(fixtures, "plain"), join(tampered, "plain"), { recursive: true });
    const dump = join(tampered, "plain", backupIdOf("plain"), "dump.pgdump");
    const bytes = readFileSync(dump);
    bytes[bytes.length - 200]! ^= 0x01;
    writeFileSync(dump, bytes);
    await cluster.createDatabase("target_tampered");
    const restore = await runCli(
      [
        "restore",
        "--storage",
        tampered,
        "--label",
        "plain",
        "--target-database-url",
        cluster.url("target_tampered"),
        "--confirm",
        "target_tampered",
        "--json",
      ],
      { env: env() },
    );
    assert.equal(restore.code, 1, restore.stderr);
    assert.match(
      restore.stderr,
      /(does not match its manifest, so nothing was restored|failed): the sha256 of dump\.pgdump is/,
    );
    const tables = await cluster.sql<{ n: string }>(
      "target_tampered",
      "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    assert.equal(Number(tables[0]!.n), 0, "nothing reached the target");
    assert.ok(!readdirSync(tampered).some((name) => name.endsWith("-safety")), "no safety backup either");
    const restoreTest = await runCli(
      [
        "restore-test",
        "--storage",
        tampered,
        "--label",
        "plain",
        "--scratch-database-url",
        cluster.url("postgres"),
        "--json",
      ],
      { env: env() },
    );
    assert.equal(restoreTest.code, 1);
    assert.match(String(restoreTest.json.error), /the sha256 of dump\.pgdump is/);
  });
});
