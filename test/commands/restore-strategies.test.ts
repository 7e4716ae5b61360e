/**
 * restore's two strategies against a real server. swap (the default where the role may rename the
 * target): the backup goes into a new database, checked there, then renamed into the target's
 * place with the old one kept (or dropped with --drop-old); a check that fails, or a signal, leaves
 * the target untouched and no new database behind. in-place (a role that may not create databases):
 * the README's recovery shape, --clean over an existing copy with a partitioned table, passes on its
 * row and catalog checks; a target that gained a dependent object is refused or fails without
 * duplicated rows, with PostgreSQL's DETAIL and HINT in the error. --table and --schema are checked
 * against the manifest.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { describeError } from "../../src/domain/errors.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let recipient: string;

const PARTS_SQL = `
CREATE TABLE public.measurements (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public.measurements_2025 PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.measurements SELECT i, date '2025-06-01' + (i % 400), i FROM generate_series(1, 1000) i;
CREATE TABLE public.notes (id int PRIMARY KEY, body text);
INSERT INTO public.notes SELECT i, 'note ' || i FROM generate_series(1, 50) i;
`;

const TARGET_SQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, note text);
INSERT INTO shop.orders SELECT i, 'old ' || i FROM generate_series(1, 3) i;
CREATE TABLE public.marker (note text);
INSERT INTO public.marker VALUES ('before the restore');
`;

const APP_PASSWORD = "app-pw-Secret";

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  await cluster.createDatabase("parts");
  await cluster.sql("parts", PARTS_SQL);
  work = mkdtempSync(join(tmpdir(), "lifeboat-strategies-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  for (const [label, database] of [
    ["src", "shop"],
    ["parts", "parts"],
  ]) {
    await backup(label!, database!);
  }
  // A role that may not create databases: its restores cannot swap.
  await cluster.sql("postgres", `CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}' NOCREATEDB`);
  await cluster.sql("postgres", "CREATE DATABASE appdb OWNER app");
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function backup(label: string, database: string, extra: string[] = []): Promise<string> {
  const key = extra.includes("--no-encryption") ? [] : ["--recipient", recipient];
  const made = await runCli(["backup", "--storage", storage, "--label", label, ...key, ...extra, "--json"], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url(database) },
  });
  assert.equal(made.code, 0, made.stderr);
  return made.json.backupId as string;
}

function restore(label: string, database: string, args: string[], url = cluster.url(database)) {
  return runCli(
    [
      "restore",
      "--storage",
      storage,
      "--identity-file",
      identityFile,
      "--label",
      label,
      "--target-database-url",
      url,
      "--confirm",
      database,
      ...args,
      "--json",
    ],
    { env: { PATH: process.env.PATH } },
  );
}

async function databases(pattern: string): Promise<string[]> {
  const rows = await cluster.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
    [pattern],
  );
  return rows.map((row) => row.datname);
}

function oneError(stderr: string): string {
  const errors = stderr.split("\n").filter((line) => line.startsWith("lifeboat: error:"));
  assert.equal(errors.length, 1, stderr);
  return errors[0]!;
}

describe("restore by swap", () => {
  test("the default where the role may rename the target: restored and checked in a new database, swapped in, the old one kept under the name it states", async () => {
    await cluster.createDatabase("live");
    await cluster.sql("live", TARGET_SQL);
    await cluster.sql("postgres", "ALTER DATABASE live SET work_mem = '8MB'");
    // What a killed earlier restore left: swept once old enough, kept while it may still be in use.
    const recent = `live_lifeboat_new_${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase()}z_beef`;
    await cluster.createDatabase("live_lifeboat_new_20200101t000000z_abcd");
    await cluster.createDatabase(recent);
    const run = await restore("src", "live", ["--safety-backup", "false"]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(run.json.strategy, "swap");
    assert.match(run.json.strategyReason as string, /^auto: /);
    assert.match(run.stderr, /^Strategy: swap \(auto: /m);
    const old = run.json.oldDatabase as string;
    assert.match(old, /^live_lifeboat_old_\d{8}t\d{6}z_[0-9a-f]{4}$/);
    assert.match(run.json.restoredInto as string, /^live_lifeboat_new_\d{8}t\d{6}z_[0-9a-f]{4}$/);
    assert.match(run.stderr, new RegExp(`the previous database is kept as ${old}`));
    assert.deepEqual(run.json.rowCheck, { tablesChecked: 6, mismatches: [] });
    assert.equal((run.json.catalog as { compared: boolean; failures: number }).compared, true);
    assert.equal((run.json.catalog as { failures: number }).failures, 0);

    // The target now holds the backup, exactly; the old content is in the kept database.
    assert.deepEqual(await countAllRows(cluster, "live"), SHOP_ROWS);
    assert.deepEqual(await cluster.sql(old, "SELECT note FROM public.marker"), [
      { note: "before the restore" },
    ]);
    // What belongs to the database itself went along; nothing of the run is left behind.
    const settings = await cluster.sql<{ setconfig: string[] }>(
      "postgres",
      "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'live'",
    );
    assert.deepEqual(settings[0]?.setconfig, ["work_mem=8MB"]);
    assert.match(
      run.stderr,
      /^Dropped live_lifeboat_new_20200101t000000z_abcd, the new database of an earlier restore/m,
    );
    assert.deepEqual(await databases("%lifeboat_new%"), [recent]);
    await cluster.sql("postgres", `DROP DATABASE ${recent}`);

    // --drop-old: swapped again, and this time the previous database is dropped.
    const again = await restore("src", "live", ["--safety-backup", "false", "--drop-old"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.oldDatabase, null);
    assert.match(again.stderr, /^Dropped the previous database live_lifeboat_old_\w+ \(--drop-old\)$/m);
    assert.deepEqual(await databases("live_lifeboat_%"), [old]);
    assert.deepEqual(await countAllRows(cluster, "live"), SHOP_ROWS);
  });

  test("other sessions on the target: refused before anything is written (exit 2), or ended with --terminate-connections", async () => {
    await cluster.createDatabase("busy");
    await cluster.sql("busy", TARGET_SQL);
    const other = new pg.Client({ connectionString: cluster.url("busy"), application_name: "the-app" });
    await other.connect();
    const ended = new Promise<unknown>((resolve) => other.on("error", resolve));
    try {
      const refused = await restore("src", "busy", ["--safety-label", "busy-safety"]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        oneError(refused.stderr),
        /--terminate-connections: 1 other session\(s\) \(the-app\) are connected to busy; the swap renames it/,
      );
      assert.ok(!existsSync(join(storage, "busy-safety")), "no safety backup was taken");
      assert.deepEqual(await countAllRows(cluster, "busy"), { "shop.orders": 3, "public.marker": 1 });

      const run = await restore("src", "busy", ["--safety-backup", "false", "--terminate-connections"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(describeError(await ended), /terminat/);
      assert.deepEqual(await countAllRows(cluster, "busy"), SHOP_ROWS);
    } finally {
      await other.end().catch(() => undefined);
    }
  });

  test("a backup modified in the store: the check in the new database fails, the target is untouched and the new database dropped", async () => {
    const id = await backup("plain", "shop", ["--no-encryption", "--compression", "none"]);
    const file = join(
      storage,
      "plain",
      id,
      readdirSync(join(storage, "plain", id)).find((n) => n.startsWith("dump"))!,
    );
    const bytes = readFileSync(file);
    const at = bytes.indexOf("user77@example.com");
    assert.ok(at > 0);
    bytes[at + 9] = "x".charCodeAt(0); // same size, one row changed
    writeFileSync(file, bytes);
    await cluster.createDatabase("guarded");
    await cluster.sql("guarded", TARGET_SQL);
    const run = await restore("plain", "guarded", ["--safety-label", "guarded-safety"]);
    assert.equal(run.code, 1, run.stderr);
    // The safety backup waits for the checks: a bad backup costs none.
    assert.ok(!existsSync(join(storage, "guarded-safety")), "no safety backup was taken");
    assert.match(oneError(run.stderr), /sha256.*; the target guarded is untouched$/);
    assert.equal(run.json.strategy, "swap");
    assert.deepEqual(await countAllRows(cluster, "guarded"), { "shop.orders": 3, "public.marker": 1 });
    assert.deepEqual(await databases("guarded_lifeboat_%"), []);
  });

  test("a grant the target's server cannot restore: the catalog check names it, the target is untouched", async () => {
    await cluster.createDatabase("granted");
    await cluster.sql(
      "granted",
      "CREATE ROLE reporting; CREATE TABLE public.facts (id int); INSERT INTO public.facts SELECT generate_series(1, 10); GRANT SELECT ON public.facts TO reporting",
    );
    await backup("granted", "granted");
    await cluster.sql("granted", "REVOKE ALL ON public.facts FROM reporting; DROP ROLE reporting");
    await cluster.createDatabase("grantedtarget");
    await cluster.sql("grantedtarget", TARGET_SQL);
    const run = await restore("granted", "grantedtarget", ["--safety-backup", "false"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^warning: roles the backup's objects name are missing on the target's server: reporting;/m,
    );
    assert.match(
      oneError(run.stderr),
      /role "reporting" does not exist.*; the target grantedtarget is untouched$/,
    );
    const catalog = run.json.catalog as {
      differences: { severity: string; object: string; problem: string }[];
    };
    assert.ok(
      catalog.differences.some(
        (d) => d.severity === "failure" && d.object === "table public.facts" && /reporting/.test(d.problem),
      ),
      JSON.stringify(catalog.differences),
    );
    assert.ok(
      (run.json.failures as string[]).some((line) => /^catalog: table public\.facts: .*reporting/.test(line)),
    );
    assert.deepEqual(await countAllRows(cluster, "grantedtarget"), { "shop.orders": 3, "public.marker": 1 });
    assert.deepEqual(await databases("grantedtarget_lifeboat_%"), []);
  });

  test("a damaged roles object is refused before anything is written", async () => {
    const id = await backup("withroles", "shop", ["--include-roles", "true"]);
    const folder = join(storage, "withroles", id);
    const name = readdirSync(folder).find((n) => n.startsWith("roles"))!;
    const bytes = readFileSync(join(folder, name));
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(join(folder, name), bytes);
    await cluster.createDatabase("rolesguarded");
    const run = await restore("withroles", "rolesguarded", ["--safety-label", "rg-safety"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      oneError(run.stderr),
      new RegExp(`does not match its manifest, so nothing was restored: .*${name}`),
    );
    assert.ok(!existsSync(join(storage, "rg-safety")));
  });

  test("SIGTERM while pg_restore runs: pg_restore stopped, the new database dropped, the target untouched, exit 143", async () => {
    await cluster.createDatabase("slow");
    // An index whose expression sleeps per row keeps pg_restore busy long enough to interrupt.
    await cluster.sql(
      "slow",
      `CREATE FUNCTION public.slow(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN PERFORM pg_sleep(0.02); RETURN $1; END';
       CREATE TABLE public.t (id int);
       INSERT INTO public.t SELECT generate_series(1, 400);
       CREATE INDEX t_slow ON public.t (public.slow(id));`,
    );
    await backup("slow", "slow");
    await cluster.createDatabase("slowtarget");
    await cluster.sql("slowtarget", TARGET_SQL);
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/index.ts",
        "restore",
        "--storage",
        storage,
        "--identity-file",
        identityFile,
        "--label",
        "slow",
        "--target-database-url",
        cluster.url("slowtarget"),
        "--confirm",
        "slowtarget",
        "--safety-backup",
        "false",
      ],
      { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const busy = await cluster.sql(
        "postgres",
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'lifeboat pg_restore' AND query LIKE 'CREATE INDEX%'",
      );
      if (busy.length > 0) break;
      assert.ok(Date.now() < deadline, `pg_restore never reached the index: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGTERM");
    assert.equal(await exited, 143, stderr);
    assert.match(
      stderr,
      /The target slowtarget is untouched; the new database slowtarget_lifeboat_new_\w+ was dropped/,
    );
    assert.deepEqual(await databases("slowtarget_lifeboat_%"), []);
    assert.deepEqual(await countAllRows(cluster, "slowtarget"), { "shop.orders": 3, "public.marker": 1 });
  });
});

describe("restore in place", () => {
  const asApp = (database: string) => cluster.url(database, { user: "app", password: APP_PASSWORD });

  test("a role that may not create databases restores in place; --clean over an existing copy with a partitioned table passes on its checks", async () => {
    const first = await restore("parts", "appdb", ["--safety-backup", "false", "--no-owner"], asApp("appdb"));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.strategy, "in-place");
    assert.match(first.json.strategyReason as string, /may not CREATE DATABASE/);

    const run = await restore(
      "parts",
      "appdb",
      ["--safety-backup", "false", "--no-owner", "--clean"],
      asApp("appdb"),
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.deepEqual(run.json.rowCheck, { tablesChecked: 3, mismatches: [] });
    assert.equal((run.json.catalog as { failures: number }).failures, 0);
    assert.ok(
      (run.json.benignErrors as { error: string }[]).some((e) =>
        /cannot drop inherited constraint/.test(e.error),
      ),
      JSON.stringify(run.json.benignErrors),
    );
    assert.deepEqual(await countAllRows(cluster, "appdb"), await countAllRows(cluster, "parts"));
  });

  test("a target that gained a view since the backup: --clean is refused, naming it, and no row is duplicated", async () => {
    await cluster.sql("appdb", "SET ROLE app; CREATE VIEW public.recent AS SELECT * FROM public.notes");
    const run = await restore(
      "parts",
      "appdb",
      ["--safety-backup", "false", "--no-owner", "--clean"],
      asApp("appdb"),
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      oneError(run.stderr),
      /--clean: view public\.recent is not in the backup and depends on table public\.notes, .*--strategy swap/,
    );
    assert.equal((await countAllRows(cluster, "appdb"))["public.notes"], 50);
    await cluster.sql("appdb", "DROP VIEW public.recent");
  });

  test("an object --clean cannot drop around: exit 1 with PostgreSQL's DETAIL and HINT, and no row duplicated", async () => {
    await cluster.sql(
      "appdb",
      "SET ROLE app; CREATE FUNCTION public.first_note() RETURNS SETOF public.notes LANGUAGE sql AS 'SELECT * FROM public.notes LIMIT 1'",
    );
    const run = await restore(
      "parts",
      "appdb",
      ["--safety-backup", "false", "--no-owner", "--clean"],
      asApp("appdb"),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      oneError(run.stderr),
      /cannot drop table public\.notes because other objects depend on it DETAIL:\s+function public\.first_note\(\) depends on type public\.notes HINT:\s+Use DROP \.\.\. CASCADE/,
    );
    assert.equal((await countAllRows(cluster, "appdb"))["public.notes"], 50);
    assert.deepEqual(run.json.rowCheck, { tablesChecked: 3, mismatches: [] });
  });

  test("--table and --schema the backup does not hold are exit 2, naming them; swap with a partial scope too", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--table", "sales.order_items"],
        /^lifeboat: error: --table "sales\.order_items": backup parts\/\S+ has no table of that name$/,
      ],
      [["--table", "public.notes"], /--table "public\.notes": .*--schema public --table notes/],
      [
        ["--schema", "sales"],
        /--schema "sales": backup parts\/\S+ has no schema of that name \(it has public\)/,
      ],
      [["--strategy", "swap", "--table", "notes"], /--strategy swap: replaces the whole database/],
      [["--pg-restore-args=--dbn=other"], /--pg-restore-args: "--dbn=other" is not allowed/],
    ];
    for (const [args, message] of cases) {
      const run = await restore(
        "parts",
        "appdb",
        ["--safety-label", "scope-safety", ...args],
        asApp("appdb"),
      );
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(oneError(run.stderr), message);
    }
    assert.ok(!existsSync(join(storage, "scope-safety")));
  });

  test("--pg-restore-args passes allowed options through (--no-tablespaces) and --strategy swap is refused where it cannot run", async () => {
    const run = await restore(
      "parts",
      "appdb",
      [
        "--safety-backup",
        "false",
        "--no-owner",
        "--clean",
        "--pg-restore-args=--no-tablespaces --no-comments",
      ],
      asApp("appdb"),
    );
    assert.equal(run.code, 1, run.stderr); // the function from the test before still blocks the drop
    assert.deepEqual(run.json.pgRestoreArgs, [
      "--clean",
      "--if-exists",
      "--no-data-for-failed-tables",
      "--no-owner",
      "--no-tablespaces",
      "--no-comments",
    ]);
    const swap = await restore("parts", "appdb", ["--strategy", "swap"], asApp("appdb"));
    assert.equal(swap.code, 2, swap.stderr);
    assert.match(oneError(swap.stderr), /--strategy swap: impossible here: the role may not CREATE DATABASE/);
  });
});

describe("one-line errors", () => {
  test("carry PostgreSQL's DETAIL and HINT from node-postgres errors", async () => {
    await cluster.createDatabase("hints");
    const client = new pg.Client({ connectionString: cluster.url("hints") });
    await client.connect();
    try {
      await client.query("CREATE TABLE t (id int); CREATE VIEW v AS SELECT * FROM t");
      const error = await client.query("DROP TABLE t").then(
        () => assert.fail("DROP TABLE t succeeded"),
        (caught: unknown) => caught,
      );
      assert.equal(
        describeError(error),
        "cannot drop table t because other objects depend on it DETAIL: view v depends on table t HINT: Use DROP ... CASCADE to drop the dependent objects too.",
      );
    } finally {
      await client.end();
    }
  });
});
