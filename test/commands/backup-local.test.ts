/**
 * backup into a local directory against a real throwaway PostgreSQL, recovered with stock tools
 * only: `age -d` and `pg_restore`.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { fakePgDump, restoreWithStockTools } from "../helpers/stock-tools.js";

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-backup-"));
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

const env = () => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") });

describe("backup to a local directory", () => {
  test("makes an age-encrypted custom-format dump that stock age and pg_restore recover, with exact row counts", async () => {
    const storage = join(work, "store-a");
    const run = await runCli(
      ["backup", "--storage", storage, "--label", "shop", "--recipient", recipient, "--json"],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const backupId = run.json.backupId as string;
    assert.match(backupId, /^\d{8}T\d{6}Z-[a-z0-9]+$/);
    assert.deepEqual(listFiles(storage), [`shop/${backupId}/dump.age`, `shop/${backupId}/manifest.json`]);

    const manifest = JSON.parse(
      readFileSync(join(storage, "shop", backupId, "manifest.json"), "utf8"),
    ) as Manifest;
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.backupId, backupId);
    assert.deepEqual(manifest.encryption, { format: "age-v1", recipients: [recipient], passphrase: false });
    assert.equal(manifest.source?.database, "shop");
    // pg_dump writes an uncompressed archive; Lifeboat compresses it with zstd level 1 by default.
    assert.equal(manifest.dump?.compression, "none");
    assert.ok(manifest.tool.pgDumpArgs?.includes("--compress=0"), manifest.tool.pgDumpArgs?.join(" "));
    const counted = Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.table}`, t.rows]));
    assert.deepEqual(counted, SHOP_ROWS);
    assert.equal(
      manifest.totalRows,
      Object.values(SHOP_ROWS).reduce((a, b) => a + b, 0),
    );
    // The catalog fingerprint of the same snapshot: every counted table is in it.
    const catalog = manifest.catalog!;
    assert.equal(catalog.version, 1);
    assert.equal(catalog.database.encoding, "UTF8");
    assert.equal(catalog.globals, true);
    const fingerprinted = Object.entries(catalog.tables).flatMap(([schema, names]) =>
      names.map((name) => `${schema}.${name}`),
    );
    assert.deepEqual(fingerprinted.sort(), Object.keys(SHOP_ROWS).sort());

    const object = readFileSync(join(storage, "shop", backupId, "dump.age"));
    const [dumpArtifact] = manifest.artifacts;
    assert.deepEqual(
      {
        name: dumpArtifact!.name,
        kind: dumpArtifact!.kind,
        compression: dumpArtifact!.compression,
        encryption: dumpArtifact!.encryption,
      },
      { name: "dump.age", kind: "dump", compression: "zstd:1", encryption: "age-v1" },
    );
    assert.equal(object.length, dumpArtifact!.stored.bytes);
    assert.equal(sha256(object), dumpArtifact!.stored.sha256);
    assert.equal(object.subarray(0, 21).toString(), "age-encryption.org/v1");

    // Recovery with stock tools only, exactly as docs/format.md says: age, then zstd, then pg_restore.
    const compressed = execFileSync("age", [
      "-d",
      "-i",
      identityFile,
      join(storage, "shop", backupId, "dump.age"),
    ]);
    assert.equal(compressed.subarray(0, 4).toString("hex"), "28b52ffd", "a zstd frame inside the age file");
    const plain = join(work, "dump.pgdump");
    execFileSync("zstd", ["-d", "-q", "-o", plain], { input: compressed });
    const dump = readFileSync(plain);
    assert.equal(dump.length, dumpArtifact!.plaintext.bytes);
    assert.equal(sha256(dump), dumpArtifact!.plaintext.sha256);
    await cluster.createDatabase("restored_a");
    execFileSync(
      join(cluster.binDir, "pg_restore"),
      ["--no-owner", "--exit-on-error", "-d", cluster.url("restored_a"), plain],
      {
        env: { ...process.env },
        stdio: "pipe",
      },
    );
    const restored = await countAllRows(cluster, "restored_a");
    for (const table of manifest.tables)
      assert.equal(restored[`${table.schema}.${table.table}`], table.rows, table.table);

    const list = await runCli(["list", "--storage", storage, "--label", "shop"], { env: env() });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${backupId}\\s`, "m"));
  });

  test("the manifest's rows, per-table sha256 and large objects come from the archive itself", async () => {
    await cluster.createDatabase("contents");
    await cluster.sql(
      "contents",
      `CREATE TABLE public.m (id int, note text) PARTITION BY RANGE (id);
       CREATE TABLE public.m_low PARTITION OF public.m FOR VALUES FROM (0) TO (100);
       CREATE TABLE public.m_high PARTITION OF public.m FOR VALUES FROM (100) TO (1000);
       INSERT INTO public.m SELECT g, E'line\\nwith a newline ' || g FROM generate_series(1, 250) g;
       CREATE TABLE public.empty (id int);
       SELECT lo_from_bytea(0, convert_to(repeat('large object ', 5000), 'UTF8'));`,
    );
    const storage = join(work, "store-contents");
    const run = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
      env: { ...env(), DATABASE_URL: cluster.url("contents") },
    });
    assert.equal(run.code, 0, run.stderr);
    const folder = join(storage, "default", run.json.backupId as string);
    const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Manifest;
    // What COPY ... TO STDOUT writes for each table is what the manifest's sha256 covers.
    const copyDigest = (table: string) =>
      sha256(
        execFileSync(join(cluster.binDir, "psql"), [
          "-X",
          "-q",
          "-d",
          cluster.url("contents"),
          "-c",
          `COPY ${table} TO STDOUT`,
        ]),
      );
    assert.deepEqual(manifest.tables, [
      { schema: "public", table: "empty", rows: 0, sha256: copyDigest("public.empty") },
      { schema: "public", table: "m_high", rows: 151, sha256: copyDigest("public.m_high") },
      { schema: "public", table: "m_low", rows: 99, sha256: copyDigest("public.m_low") },
    ]);
    assert.equal(manifest.totalRows, 250);
    const [lo] = await cluster.sql<{ oid: string; bytes: number; sha256: string }>(
      "contents",
      "SELECT oid::text AS oid, length(lo_get(oid)) AS bytes, encode(sha256(lo_get(oid)), 'hex') AS sha256 FROM pg_largeobject_metadata",
    );
    assert.deepEqual(manifest.largeObjects, {
      count: 1,
      bytes: lo!.bytes,
      sha256: sha256(Buffer.from(`${lo!.oid} ${lo!.bytes} ${lo!.sha256}\n`)),
    });
  });

  test("rows committed while pg_dump runs are neither dumped nor counted", async () => {
    // A pg_dump wrapper announces that it started (the snapshot is exported by then) and waits
    // for the test to commit more rows before dumping: the counts and the dump must both come
    // from the snapshot, and so must agree with each other and not with the live table.
    const storage = join(work, "store-b");
    const started = join(work, "gated-started");
    const go = join(work, "gated-go");
    const bin = fakePgDump(
      join(work, "gated-pg-dump"),
      join(cluster.binDir, "pg_dump"),
      `touch ${started}
while [ ! -f ${go} ]; do sleep 0.05; done
exec "$REAL" "$@"`,
    );
    const backup = runCli(
      [
        "backup",
        "--storage",
        storage,
        "--recipient",
        recipient,
        "--include-schema",
        "shop",
        "--pg-bin-dir",
        bin,
        "--json",
      ],
      { env: env() },
    );
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20));
    // The catalog fingerprint was taken by now, sequence values included: it read them on a
    // connection of its own and left no sequence locked in the snapshot's transaction.
    const sequenceLocks = await cluster.sql<{ pid: number; relname: string }>(
      "shop",
      `SELECT l.pid, c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE l.locktype = 'relation' AND c.relkind = 'S' AND l.pid <> pg_backend_pid()`,
    );
    assert.deepEqual(sequenceLocks, []);
    await cluster.sql(
      "shop",
      "INSERT INTO shop.customers (email) SELECT 'late' || i || '@x' FROM generate_series(1, 5) i",
    );
    writeFileSync(go, "");
    const run = await backup;
    assert.equal(run.code, 0, run.stderr);
    const folder = join(storage, "default", run.json.backupId as string);
    const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Manifest;
    assert.deepEqual(
      manifest.tables.map((t) => [t.schema, t.table, t.rows]),
      [
        ["shop", "customers", 1500],
        ["shop", "orders", 4000],
      ],
    );
    assert.equal(manifest.catalog!.sequences.shop!.customers_id_seq, "1500");
    const [live] = await cluster.sql<{ n: string }>("shop", "SELECT count(*) AS n FROM shop.customers");
    assert.equal(Number(live!.n), 1505);
    await cluster.createDatabase("restored_b");
    restoreWithStockTools({
      identityFile,
      object: join(folder, "dump.age"),
      compression: manifest.artifacts[0]!.compression,
      pgRestore: join(cluster.binDir, "pg_restore"),
      targetUrl: cluster.url("restored_b"),
    });
    const restored = await countAllRows(cluster, "restored_b");
    assert.equal(restored["shop.customers"], 1500);
    await cluster.sql("shop", "DELETE FROM shop.customers WHERE email LIKE 'late%'");
  });

  test("scope options select what is dumped and counted", async () => {
    const storage = join(work, "store-c");
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--recipient",
        recipient,
        "--exclude-schema",
        "audit",
        "--exclude-table",
        "public.scratch",
        "--exclude-table-data",
        '"Mixed Case".*',
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const manifest = JSON.parse(
      readFileSync(join(storage, "default", run.json.backupId as string, "manifest.json"), "utf8"),
    ) as Manifest;
    assert.deepEqual(
      manifest.tables.map((t) => `${t.schema}.${t.table}`),
      ["public.empty_table", "shop.customers", "shop.orders"],
    );
    // The fingerprint follows the dump's scope: the excluded schema and table are not in it.
    assert.deepEqual(Object.keys(manifest.catalog!.tables).sort(), ["Mixed Case", "public", "shop"]);
    assert.deepEqual(manifest.catalog!.tables.public, ["empty_table"]);
    assert.equal(manifest.catalog!.globals, true);
    const schemaOnly = await runCli(
      ["backup", "--storage", storage, "--recipient", recipient, "--schema-only", "--json"],
      { env: env() },
    );
    assert.equal(schemaOnly.code, 0, schemaOnly.stderr);
    assert.equal(schemaOnly.json.tables, 0);
  });

  test("a passphrase backup decrypts with the passphrase, and the passphrase is printed nowhere", async () => {
    const storage = join(work, "store-d");
    const passphraseFile = join(work, "passphrase.txt");
    const passphrase = "correct horse battery staple 42";
    writeFileSync(passphraseFile, passphrase + "\n");
    const run = await runCli(
      ["backup", "--storage", storage, "--passphrase-file", passphraseFile, "--json"],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const folder = join(storage, "default", run.json.backupId as string);
    const manifestText = readFileSync(join(folder, "manifest.json"), "utf8");
    for (const text of [run.stdout, run.stderr, manifestText]) {
      assert.ok(!text.includes(passphrase));
      assert.ok(!text.includes(cluster.password));
    }
    assert.deepEqual((JSON.parse(manifestText) as Manifest).encryption, {
      format: "age-v1",
      recipients: [],
      passphrase: true,
    });
  });

  test("several recipients (key rotation): each identity alone decrypts, and a repeated key counts once", async () => {
    const storage = join(work, "store-f");
    const second = join(work, "second-key.txt");
    execFileSync("age-keygen", ["-o", second], { stdio: "pipe" });
    const secondRecipient = execFileSync("age-keygen", ["-y", second], { encoding: "utf8" }).trim();
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--recipient",
        recipient,
        "--recipient",
        `${secondRecipient}, ${recipient}`,
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const folder = join(storage, "default", run.json.backupId as string);
    const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Manifest;
    assert.deepEqual(manifest.encryption, {
      format: "age-v1",
      recipients: [recipient, secondRecipient],
      passphrase: false,
    });
    for (const key of [identityFile, second]) {
      const compressed = execFileSync("age", ["-d", "-i", key, join(folder, "dump.age")]);
      const plain = execFileSync("zstd", ["-d", "-q", "-c"], { input: compressed, maxBuffer: 1 << 28 });
      assert.equal(sha256(plain), manifest.artifacts[0]!.plaintext.sha256);
    }
  });

  test("an interrupt (SIGINT) mid-dump: exit 130, nothing left behind", async () => {
    const storage = join(work, "store-g");
    const started = join(work, "stalled-started");
    const bin = fakePgDump(
      join(work, "stalled-pg-dump"),
      join(cluster.binDir, "pg_dump"),
      `"$REAL" "$@" | head -c 5000
touch ${started}
sleep 60`,
    );
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/index.ts",
        "backup",
        "--storage",
        storage,
        "--recipient",
        recipient,
        "--pg-bin-dir",
        bin,
      ],
      { env: { ...env(), PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!existsSync(started)) {
      assert.ok(Date.now() < deadline, `pg_dump never started: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /^lifeboat: error: .*interrupted: received SIGINT/m);
    assert.deepEqual(listFiles(storage), []);
  });

  test("pg_dump killed mid-dump: exit 1, no manifest, no dump object, and the next run is clean", async () => {
    const storage = join(work, "store-e");
    const fakeBin = fakePgDump(
      join(work, "dying-pg-dump"),
      join(cluster.binDir, "pg_dump"),
      '"$REAL" "$@" | head -c 3000\nkill -KILL $$',
    );
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--recipient",
        recipient,
        "--compression",
        "none",
        "--pg-bin-dir",
        fakeBin,
      ],
      { env: env() },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^lifeboat: error: pg_dump (killed by SIGKILL|exited)/m);
    assert.equal(
      run.stderr
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("lifeboat: error")).length,
      1,
    );
    assert.deepEqual(
      listFiles(storage).filter((file) => !file.startsWith(".")),
      [],
    );

    const again = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
      env: env(),
    });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(listFiles(storage).length, 2);
  });

  test("a least-privileged backup role that cannot read a table fails with what to grant, and writes nothing", async () => {
    await cluster.createDatabase("guarded");
    await cluster.sql(
      "guarded",
      `CREATE TABLE open_data (id int); INSERT INTO open_data VALUES (1);
       CREATE TABLE notes (id int, body text); INSERT INTO notes VALUES (1, 'private');
       ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own ON notes USING (false);
       CREATE ROLE dumper LOGIN PASSWORD 'dumper-pw' IN ROLE pg_read_all_data;
       CREATE ROLE nobody LOGIN PASSWORD 'nobody-pw';`,
    );
    const cases: [string, string, RegExp][] = [
      [
        "dumper",
        "dumper-pw",
        /row-level security policy for table "notes" \(the backup's role dumper must see every row: give it BYPASSRLS/,
      ],
      [
        "nobody",
        "nobody-pw",
        /permission denied for table .* \(the backup's role nobody must read everything .*pg_read_all_data/,
      ],
    ];
    for (const [user, password, expected] of cases) {
      const storage = join(work, `store-${user}`);
      const run = await runCli(["backup", "--storage", storage, "--recipient", recipient], {
        env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("guarded", { user, password }) },
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, expected);
      assert.ok(!run.stderr.includes(password), "the password is printed nowhere");
      assert.deepEqual(
        listFiles(storage).filter((file) => !file.startsWith(".")),
        [],
      );
    }
  });

  // issue 12: a killed local backup's temporary file stayed for ever.
  test("the next backup sweeps a .partial-* file left by a backup killed outright, once it is old", async () => {
    const storage = join(work, "store-swept");
    const folder = join(storage, "default", "20200101T000000Z-killed");
    mkdirSync(folder, { recursive: true });
    const partial = join(folder, ".partial-0123abcd");
    writeFileSync(partial, "half a dump, never renamed");
    const old = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(partial, old, old);
    const run = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
      env: env(),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!existsSync(partial), "swept");
    assert.ok(!existsSync(folder), "with the folder it left");
  });
});

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
