/**
 * restore-test's catalog proof on real shapes (test/helpers/real-schemas.ts): grants and owners
 * naming roles that exist on the source only, partitions, RLS policies, publications, large
 * objects. On a vanilla scratch server the roles are created NOLOGIN first and the restored catalog
 * matches the manifest's fingerprint; a grant the restore cannot have fails the test by name; a
 * SQL_ASCII source is restored into a SQL_ASCII scratch database.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { buildRealSchema, createEncodedDatabase, SOURCE_ONLY_ROLES } from "../helpers/real-schemas.js";

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let recipient: string;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await source.createDatabase("real");
  await buildRealSchema(source, "real");
  await createEncodedDatabase(source, "ascii", "SQL_ASCII");
  work = mkdtempSync(join(tmpdir(), "lifeboat-rt-catalog-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function backup(label: string, database: string): Promise<string> {
  const run = await runCli(
    ["backup", "--storage", storage, "--label", label, "--recipient", recipient, "--json"],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: source.url(database) },
    },
  );
  assert.equal(run.code, 0, run.stderr);
  return join(storage, label, run.json.backupId as string);
}

function restoreTest(label: string, args: string[] = []) {
  return runCli(
    [
      "restore-test",
      "--storage",
      storage,
      "--label",
      label,
      "--identity-file",
      identityFile,
      "--scratch-database-url",
      scratch.url("postgres"),
      ...args,
      "--json",
    ],
    { env: { PATH: process.env.PATH } },
  );
}

interface CatalogJson {
  compared: boolean;
  rolesCreated: string[];
  missingRoles: string[];
  failures: number;
  warnings: number;
  differences: { severity: string; object: string; problem: string; reason?: string }[];
}

describe("restore-test compares the catalog", () => {
  test("a real schema on a vanilla scratch server: the source-only roles are created NOLOGIN, zero catalog failures", async (t) => {
    const folder = await backup("real", "real");
    const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Manifest;
    assert.ok(manifest.catalog, "the manifest holds the catalog fingerprint");
    assert.deepEqual(Object.keys(manifest.catalog.partitionedTables).sort(), ["sales"]);

    const run = await restoreTest("real");
    const catalog = run.json.catalog as CatalogJson;
    const failures = catalog.differences.filter((d) => d.severity === "failure");
    assert.deepEqual(failures, []);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(catalog.compared, true);
    assert.deepEqual(catalog.missingRoles, []);
    assert.deepEqual([...catalog.rolesCreated].sort(), [...SOURCE_ONLY_ROLES].sort());
    const roles = await scratch.sql<{ rolname: string; rolcanlogin: boolean }>(
      "postgres",
      "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)",
      [[...SOURCE_ONLY_ROLES]],
    );
    assert.equal(roles.length, SOURCE_ONLY_ROLES.length);
    assert.ok(roles.every((role) => !role.rolcanlogin));
    // Every warning says why it is expected (database settings are not in a dump, for one).
    for (const warning of catalog.differences.filter((d) => d.severity === "warning")) {
      assert.ok(warning.reason, JSON.stringify(warning));
    }
    assert.deepEqual(run.json.failures, []);
    t.diagnostic(
      `warnings: ${catalog.differences.map((d) => `${d.object}: ${d.problem} (${d.reason})`).join("; ")}`,
    );
  });

  test("a grant the restored copy lacks fails the test, named by object, in the result, the report line and the check record", async () => {
    const folder = await backup("tampered", "real");
    // The manifest's digests cover the artifacts, not the fingerprint: claim one more grant than
    // the dump holds, as if pg_restore had lost it.
    const manifestFile = join(folder, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
    manifest.catalog!.acl["auditor=D"] = { "table public.": ["rls_only"] };
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));

    const run = await restoreTest("tampered");
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const failures = run.json.failures as string[];
    assert.equal(failures.length, 1, failures.join("\n"));
    assert.match(failures[0]!, /^catalog: table public\.rls_only: .*auditor=D/);
    assert.match(run.stderr, /restore-test of \S+ failed: catalog: table public\.rls_only/);
    assert.equal((run.json.catalog as CatalogJson).failures, 1);
    const records = readdirSync(join(folder, "checks"));
    assert.equal(records.length, 1);
    const record = JSON.parse(readFileSync(join(folder, "checks", records[0]!), "utf8"));
    assert.equal(record.passed, false);
    assert.deepEqual(record.failures, failures);
    assert.equal(record.details.catalog.failures, 1);
  });

  test("a SQL_ASCII source restores into a SQL_ASCII scratch database, bytes and catalog intact", async () => {
    await backup("ascii", "ascii");
    const run = await restoreTest("ascii", [
      "--run",
      `psql -v ON_ERROR_STOP=1 -Atc "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()" -c "SELECT encode(convert_to(v, 'SQL_ASCII'), 'hex') FROM public.raw_bytes WHERE id = 1"`,
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const output = (run.json.run as { output: string }).output;
    assert.match(output, /^SQL_ASCII$/m);
    assert.match(output, /^636166e9$/m);
    assert.equal((run.json.catalog as CatalogJson).failures, 0);
  });
});
