/**
 * Shared by the fidelity tests: a store with an age key, backups and restore-tests through the CLI
 * as a user types them, and a backup that lost one object, made without mocks: the stored
 * archive's entry for it is rewritten (the statement dropped, or replaced by one that fails), then
 * compressed and encrypted again and the manifest's digests updated, as if pg_dump or pg_restore
 * had lost it. The manifest's catalog fingerprint still holds the object, so restore-test must
 * find it missing and name it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli, type CliRun } from "../helpers/cli.js";

export interface Store {
  work: string;
  storage: string;
  identityFile: string;
  recipient: string;
  cleanup(): void;
}

export function makeStore(name: string): Store {
  const work = mkdtempSync(join(tmpdir(), `lifeboat-fidelity-${name}-`));
  const identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  return {
    work,
    storage: join(work, "store"),
    identityFile,
    recipient,
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

export interface Backup {
  label: string;
  backupId: string;
  folder: string;
  manifest: Manifest;
  seconds: number;
}

export async function backup(
  store: Store,
  databaseUrl: string,
  label: string,
  extra: string[] = [],
): Promise<Backup> {
  const started = performance.now();
  const run = await runCli(
    [
      "backup",
      "--storage",
      store.storage,
      "--label",
      label,
      "--recipient",
      store.recipient,
      ...extra,
      "--json",
    ],
    { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl } },
  );
  const seconds = (performance.now() - started) / 1000;
  assert.equal(run.code, 0, run.stderr);
  const backupId = run.json.backupId as string;
  const folder = join(store.storage, label, backupId);
  const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Manifest;
  return { label, backupId, folder, manifest, seconds };
}

export interface CatalogJson {
  compared: boolean;
  rolesCreated: string[];
  missingRoles: string[];
  failures: number;
  warnings: number;
  differences: { severity: string; object: string; problem: string; reason?: string }[];
}

export function restoreTest(
  store: Store,
  label: string,
  scratchUrl: string,
  args: string[] = [],
): Promise<CliRun> {
  return runCli(
    [
      "restore-test",
      "--storage",
      store.storage,
      "--label",
      label,
      "--identity-file",
      store.identityFile,
      "--scratch-database-url",
      scratchUrl,
      ...args,
      "--json",
    ],
    { env: { PATH: process.env.PATH } },
  );
}

export function catalogOf(run: CliRun): CatalogJson {
  return run.json.catalog as CatalogJson;
}

/** A passed restore-test with the catalog compared and nothing lost. */
export function assertFaithful(run: CliRun): CatalogJson {
  const catalog = catalogOf(run);
  assert.ok(catalog, run.stderr + run.stdout);
  assert.deepEqual(
    catalog.differences.filter((d) => d.severity === "failure"),
    [],
  );
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.equal(run.json.passed, true);
  assert.equal(catalog.compared, true);
  assert.deepEqual(run.json.mismatches, []);
  // Every warning says why it is expected.
  for (const warning of catalog.differences) assert.ok(warning.reason, JSON.stringify(warning));
  return catalog;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The plain custom-format archive of a backup: age -d, then zstd -d, with the stock tools. */
export function readArchive(store: Store, folder: string): Buffer {
  const decrypted = execFileSync("age", ["-d", "-i", store.identityFile, join(folder, "dump.age")], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  return execFileSync("zstd", ["-d", "-q", "-c"], { input: decrypted, maxBuffer: 1024 * 1024 * 1024 });
}

/**
 * The definition string of the archive entry whose statement text holds `needle`: its start and
 * length. A custom archive writes a string as a sign byte and a 4-byte little-endian length, then
 * the bytes; SQL text holds no zero byte, and a length under 16 MiB ends in one, so the first zero
 * byte before the needle ends the length.
 */
function findDefinition(archive: Buffer, needle: string): { start: number; length: number } {
  const at = archive.indexOf(needle);
  assert.ok(at >= 0, `the archive holds no "${needle}"`);
  assert.equal(archive.indexOf(needle, at + 1), -1, `"${needle}" is in the archive twice`);
  let start = at;
  while (archive[start - 1] !== 0) start--;
  const length = archive.readUInt32LE(start - 4);
  assert.equal(archive[start - 5], 0, "a string's sign byte");
  assert.ok(start + length >= at + needle.length, "the needle lies inside the string");
  return { start, length };
}

/**
 * Copies `source` under `label` with one statement of the archive replaced: `replace` gets the
 * entry's definition and returns the new one. pg_dump writes to a pipe, so the archive's TOC holds
 * no data offsets and a definition may change length.
 */
export function loseFromBackup(
  store: Store,
  source: Backup,
  label: string,
  needle: string,
  replace: (definition: string) => string,
): Backup {
  const archive = readArchive(store, source.folder);
  const { start, length } = findDefinition(archive, needle);
  const definition = archive.subarray(start, start + length).toString("utf8");
  const changed = Buffer.from(replace(definition), "utf8");
  assert.notEqual(changed.toString(), definition, "the definition changed");
  const lengthBytes = Buffer.alloc(4);
  lengthBytes.writeUInt32LE(changed.length);
  const rewritten = Buffer.concat([
    archive.subarray(0, start - 4),
    lengthBytes,
    changed,
    archive.subarray(start + length),
  ]);
  return storeRewritten(store, source, label, rewritten);
}

/**
 * Copies `source` under `label` with its archive replaced by `rewritten`, compressed and encrypted
 * again, the manifest's artifact digests updated (its tables, digests and catalog are the
 * source's): a backup whose archive changed after the manifest described it.
 */
export function storeRewritten(store: Store, source: Backup, label: string, rewritten: Buffer): Backup {
  const folder = join(store.storage, label, source.backupId);
  if (folder !== source.folder) cpSync(source.folder, folder, { recursive: true });
  rmSync(join(folder, "checks"), { recursive: true, force: true });
  const compressed = execFileSync("zstd", ["-1", "-q", "-c"], {
    input: rewritten,
    maxBuffer: 1024 * 1024 * 1024,
  });
  const stored = execFileSync("age", ["-r", store.recipient], {
    input: compressed,
    maxBuffer: 1024 * 1024 * 1024,
  });
  writeFileSync(join(folder, "dump.age"), stored);
  const manifest = structuredClone(source.manifest);
  manifest.label = label;
  const dump = manifest.artifacts.find((artifact) => artifact.kind === "dump")!;
  dump.plaintext = { bytes: rewritten.length, sha256: sha256(rewritten) };
  dump.stored = { bytes: stored.length, sha256: sha256(stored) };
  writeFileSync(join(folder, "manifest.json"), JSON.stringify(manifest, null, 2));
  return { ...source, label, folder, manifest };
}

/** The statement starting with `statement` (up to its `;` and newline) taken out of a definition. */
export function withoutStatement(statement: string): (definition: string) => string {
  return (definition) => {
    const at = definition.indexOf(statement);
    assert.ok(at >= 0, `no "${statement}" in ${definition}`);
    const end = definition.indexOf(";\n", at);
    return definition.slice(0, at) + definition.slice(end < 0 ? definition.length : end + 2);
  };
}

/** The statement starting with `statement` replaced by one that fails, keeping its first words. */
export function failingStatement(statement: string, failing: string): (definition: string) => string {
  return (definition) => {
    const at = definition.indexOf(statement);
    assert.ok(at >= 0, `no "${statement}" in ${definition}`);
    const end = definition.indexOf(";\n", at);
    return `${definition.slice(0, at)}${failing}${definition.slice(end < 0 ? definition.length : end + 1)}`;
  };
}

/** The failures of a restore-test that must have failed. */
export function assertFailed(run: CliRun): string[] {
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.equal(run.json.passed, false);
  return run.json.failures as string[];
}
