/**
 * A deep verify checks the manifest's per-table rows and content digests against the archive it
 * decrypts: a manifest whose row count or digest no longer describes its dump (one flipped digit,
 * the dump itself intact) fails, named by table, where it used to pass as "verified".
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let backupId: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-verify-tables-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const made = await runCli(
    ["backup", "--storage", storage, "--label", "shop", "--recipient", recipient, "--json"],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") },
    },
  );
  assert.equal(made.code, 0, made.stderr);
  backupId = made.json.backupId as string;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Table {
  schema: string;
  table: string;
  rows: number;
  sha256?: string;
}

/** A copy of the store whose manifest's first table with rows is changed by `edit`. */
function storeWithEditedManifest(
  name: string,
  edit: (table: Table) => void,
): { store: string; table: string } {
  const store = join(work, name);
  cpSync(storage, store, { recursive: true });
  const path = join(store, "shop", backupId, "manifest.json");
  const manifest = JSON.parse(readFileSync(path, "utf8")) as { tables: Table[] };
  const table = manifest.tables.find((candidate) => candidate.rows > 0 && candidate.sha256)!;
  edit(table);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  return { store, table: `${table.schema}.${table.table}` };
}

function verify(store: string) {
  return runCli(["verify", "--storage", store, "--label", "shop", "--identity-file", identityFile], {
    env: { PATH: process.env.PATH },
  });
}

test("the intact backup verifies deeply", async () => {
  const run = await verify(storage);
  assert.equal(run.code, 0, run.stderr);
});

test("a row count the archive does not hold fails deep verify, naming the table; a failed record", async () => {
  const { store, table } = storeWithEditedManifest("rows", (entry) => (entry.rows += 1));
  const run = await verify(store);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`${table.replace(".", "\\.")}: the archive holds \\d+ rows; the manifest says \\d+`),
  );
  assert.match(readdirSync(join(store, "shop", backupId, "checks")).join(" "), /-verify-deep-fail\.json$/);
});

test("a content digest the archive does not match fails deep verify, naming the table", async () => {
  const { store, table } = storeWithEditedManifest("digest", (entry) => {
    entry.sha256 = (entry.sha256![0] === "0" ? "1" : "0") + entry.sha256!.slice(1);
  });
  const run = await verify(store);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`${table.replace(".", "\\.")}: the archive's data has sha256 `));
});
