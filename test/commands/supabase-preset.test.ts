/**
 * The supabase preset against a database imitating a Supabase project's layout: what the dump
 * keeps and drops, the roles object beside it (readable with the stock age CLI), a restore-test
 * into a plain cluster that has none of the roles, verification of the roles object, and prune
 * removing it with its folder.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import {
  createSupabaseLayout,
  IMITATED_DROPPED_TABLES,
  IMITATED_KEPT_ROLES,
  IMITATED_KEPT_TABLES,
  IMITATED_PASSWORDS,
  IMITATED_RESERVED_ROLES,
} from "../helpers/supabase-layout.js";

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let recipient: string;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createSupabaseLayout(source, "app");
  work = mkdtempSync(join(tmpdir(), "lifeboat-supabase-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH, DATABASE_URL: source.url("app") });

async function backup(label: string, extra: string[] = []) {
  const run = await runCli(
    [
      "backup",
      "--storage",
      storage,
      "--label",
      label,
      "--recipient",
      recipient,
      "--preset",
      "supabase",
      ...extra,
      "--json",
    ],
    { env: env() },
  );
  assert.equal(run.code, 0, run.stderr);
  const backupId = run.json.backupId as string;
  const folder = join(storage, label, backupId);
  const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as Record<string, unknown>;
  return { backupId, folder, manifest };
}

function decrypt(file: string): Buffer {
  return execFileSync("age", ["-d", "-i", identityFile, file], { maxBuffer: 64 * 1024 * 1024 });
}

/** The archive's table of contents, as pg_restore --list prints it (lines naming schema and object). */
function archiveList(folder: string): string[] {
  const plain = join(work, `dump-${Date.now()}.pgdump`);
  // The stored object is age(zstd(archive)): decrypt, then decompress with the stock zstd.
  const archive = execFileSync("zstd", ["-d", "-q", "-c"], {
    input: decrypt(join(folder, "dump.age")),
    maxBuffer: 256 * 1024 * 1024,
  });
  writeFileSync(plain, archive);
  try {
    return execFileSync("pg_restore", ["--list", plain], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /^\d+;/.test(line));
  } finally {
    rmSync(plain, { force: true });
  }
}

describe("supabase preset", () => {
  let first: Awaited<ReturnType<typeof backup>>;
  before(async () => {
    first = await backup("sb");
  });

  test("dumps the user's schemas and the data of auth and storage, none of the platform's schemas", () => {
    const list = archiveList(first.folder);
    const data = list
      .map((line) => / TABLE DATA (\S+) (\S+) /.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => `${match[1]}.${match[2]}`)
      .sort();
    assert.deepEqual(data, Object.keys(IMITATED_KEPT_TABLES).sort());
    for (const table of IMITATED_DROPPED_TABLES)
      assert.ok(!data.includes(table), `${table} has data in the dump`);
    for (const schema of ["realtime", "graphql", "vault", "supabase_migrations"]) {
      assert.deepEqual(
        list.filter((line) => line.includes(` ${schema} `) || line.endsWith(` ${schema}`)),
        [],
        `${schema} is in the dump`,
      );
    }
    assert.ok(list.some((line) => / EXTENSION - uuid-ossp/.test(line)));
    // No --extension filter (it would turn off everything outside schemas): the platform's
    // extension comes as CREATE EXTENSION IF NOT EXISTS, a no-op in a Supabase project.
    assert.ok(list.some((line) => / EXTENSION - pg_trgm/.test(line)));
    assert.ok(list.some((line) => / FUNCTION auth uid\(\)/.test(line)));
    assert.ok(list.some((line) => / POLICY public posts own posts/.test(line)));

    const manifest = first.manifest;
    assert.equal(manifest.preset, "supabase");
    const tables = manifest.tables as { schema: string; table: string; rows: number }[];
    assert.deepEqual(
      Object.fromEntries(tables.map((t) => [`${t.schema}.${t.table}`, t.rows])),
      IMITATED_KEPT_TABLES,
    );
    const pgDumpArgs = (manifest.tool as { pgDumpArgs: string[] }).pgDumpArgs;
    assert.deepEqual(
      pgDumpArgs.filter((arg) => arg.startsWith("--extension")),
      [],
    );
    assert.ok(pgDumpArgs.includes("--exclude-schema=graphql"));
  });

  test("stores the roles beside the dump, readable with the stock age CLI: the API roles, none reserved, no passwords", () => {
    assert.deepEqual(readdirSync(first.folder).sort(), ["dump.age", "manifest.json", "roles.sql.age"]);
    const artifacts = first.manifest.artifacts as {
      name: string;
      kind: string;
      stored: { bytes: number; sha256: string };
      count: number;
    }[];
    const roles = artifacts.find((artifact) => artifact.kind === "roles")!;
    assert.equal(roles.name, "roles.sql.age");
    assert.equal(roles.count, IMITATED_KEPT_ROLES.length);
    assert.equal(roles.stored.bytes, readFileSync(join(first.folder, "roles.sql.age")).length);
    const sql = decrypt(join(first.folder, "roles.sql.age")).toString("utf8");
    for (const role of IMITATED_KEPT_ROLES) assert.match(sql, new RegExp(`^CREATE ROLE ${role};$`, "m"));
    for (const role of IMITATED_RESERVED_ROLES)
      assert.ok(!sql.includes(role), `${role} is in the roles object`);
    assert.doesNotMatch(sql, /CREATE ROLE postgres|PASSWORD|SCRAM/);
    for (const password of IMITATED_PASSWORDS) assert.ok(!sql.includes(password));
    assert.match(sql, /^GRANT authenticated TO app_writer;$/m);
  });

  test("restore-test into a plain cluster without the roles: roles applied first, every count matches, twice", async () => {
    const before = await scratch.sql<{ n: number }>(
      "postgres",
      "SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'anon'",
    );
    assert.equal(before[0]!.n, 0);
    const restoreTest = () =>
      runCli(
        [
          "restore-test",
          "--storage",
          storage,
          "--label",
          "sb",
          "--identity-file",
          identityFile,
          "--scratch-database-url",
          scratch.url("postgres"),
          "--json",
        ],
        { env: env() },
      );
    const run = await restoreTest();
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(run.json.passed, true);
    assert.deepEqual(run.json.mismatches, []);
    assert.equal(run.json.tablesChecked, Object.keys(IMITATED_KEPT_TABLES).length);
    const roles = run.json.roles as { created: string[]; existing: string[]; errors: string[] };
    assert.deepEqual([...roles.created].sort(), [...IMITATED_KEPT_ROLES].sort());
    assert.deepEqual(roles.errors, []);
    // The platform's roles the archive names (owners, grantees) were missing: created NOLOGIN
    // before the restore, so nothing failed on the way and the catalog matches.
    const catalog = run.json.catalog as { compared: boolean; failures: number; rolesCreated: string[] };
    assert.equal(catalog.compared, true);
    assert.equal(catalog.failures, 0, JSON.stringify(run.json.catalog));
    assert.ok(catalog.rolesCreated.length > 0);
    const reserved: readonly string[] = IMITATED_RESERVED_ROLES;
    for (const role of catalog.rolesCreated) assert.ok(reserved.includes(role), role);
    // The platform's extension in its own schema fails to be created on a plain server: expected,
    // and listed with why (its comment too).
    const tolerated = run.json.toleratedErrors as string[];
    assert.equal(tolerated.length, 2, tolerated.join("\n"));
    assert.match(
      tolerated[0]!,
      /CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA graphql.*the Supabase platform installs/,
    );
    assert.match(
      tolerated[1]!,
      /COMMENT ON EXTENSION pg_trgm.*the comment on the platform's extension pg_trgm/,
    );
    const present = await scratch.sql<{ rolname: string; rolcanlogin: boolean }>(
      "postgres",
      "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
      [[...IMITATED_KEPT_ROLES, ...IMITATED_RESERVED_ROLES]],
    );
    assert.deepEqual(
      present.map((row) => row.rolname),
      [...IMITATED_KEPT_ROLES, ...catalog.rolesCreated].sort(),
    );
    for (const row of present.filter((r) => catalog.rolesCreated.includes(r.rolname))) {
      assert.equal(row.rolcanlogin, false, row.rolname);
    }

    const again = await restoreTest();
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const second = again.json.roles as { created: string[]; existing: string[] };
    assert.deepEqual(second.created, []);
    assert.deepEqual([...second.existing].sort(), [...IMITATED_KEPT_ROLES].sort());
  });

  test("verify catches one flipped byte in roles.sql.age", async () => {
    const { folder } = await backup("flip");
    const verify = () =>
      runCli(["verify", "--storage", storage, "--label", "flip", "--json"], {
        env: { PATH: process.env.PATH },
      });
    const ok = await verify();
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const file = join(folder, "roles.sql.age");
    const bytes = readFileSync(file);
    bytes[bytes.length - 10]! ^= 0x01;
    writeFileSync(file, bytes);
    const run = await verify();
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      (run.json.failures as string[]).join("\n"),
      /the sha256 of roles\.sql\.age is [0-9a-f]{64}; the manifest says/,
    );
  });

  test("prune removes the roles object with its folder", async () => {
    const older = await backup("prune");
    const newer = await backup("prune");
    const run = await runCli(
      [
        "prune",
        "--storage",
        storage,
        "--label",
        "prune",
        "--keep-last",
        "1",
        "--min-verified",
        "0",
        "--json",
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    // Two backups in the same second sort by their random suffix: whichever was kept, the other
    // folder is gone whole, roles object included.
    // The audit trail each prune writes is not a backup folder (test/evidence/audit.test.ts).
    const left = readdirSync(join(storage, "prune")).filter((name) => name !== "_audit");
    assert.equal(left.length, 1, left.join(","));
    const [kept, removed] = left[0] === older.backupId ? [older, newer] : [newer, older];
    assert.ok(!existsSync(removed.folder));
    assert.deepEqual(
      readdirSync(kept.folder)
        .filter((name) => name !== "checks")
        .sort(),
      ["dump.age", "manifest.json", "roles.sql.age"],
    );
  });

  test("a Prisma URL (?pgbouncer=true&connection_limit=1, as Supabase gives it for Prisma) backs up: libpq never sees those", async () => {
    const url = new URL(source.url("app"));
    url.searchParams.set("pgbouncer", "true");
    url.searchParams.set("connection_limit", "1");
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--label",
        "prisma",
        "--recipient",
        recipient,
        "--preset",
        "supabase",
        "--json",
      ],
      { env: { PATH: process.env.PATH, DATABASE_URL: url.toString() } },
    );
    assert.equal(run.code, 0, run.stderr);
    const manifest = JSON.parse(
      readFileSync(join(storage, "prisma", run.json.backupId as string, "manifest.json"), "utf8"),
    ) as { artifacts: { kind: string }[] };
    assert.deepEqual(
      manifest.artifacts.map((artifact) => artifact.kind),
      ["dump", "roles"],
    );
  });

  const restore = (database: string, extra: string[]) =>
    runCli(
      [
        "restore",
        "--storage",
        storage,
        "--label",
        "sb",
        "--identity-file",
        identityFile,
        "--target-database-url",
        source.url(database),
        "--confirm",
        database,
        "--safety-backup",
        "false",
        ...extra,
      ],
      { env: { PATH: process.env.PATH } },
    );

  test("restore into a database without the platform's schemas: its extensions failing there are benign", async () => {
    await source.createDatabase("restored_plain");
    const run = await restore("restored_plain", ["--strategy", "swap"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /benign \(an extension the Supabase platform installs \(in schema graphql\), which this server lacks\).*CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA graphql/,
    );
    assert.match(
      run.stderr,
      /benign \(the comment on a platform extension this server lacks\).*COMMENT ON EXTENSION pg_trgm/,
    );
  });

  test("restore says it does not apply the roles object, whichever strategy it takes", async () => {
    await source.createDatabase("restored_roles");
    for (const strategy of ["swap", "in-place"]) {
      const run = await restore("restored_roles", ["--strategy", strategy, "--clean"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /roles\.sql\.age \(\d+ roles\) is not applied by restore/, strategy);
    }
  });

  test("a bad preset is refused before anything is written", async () => {
    const run = await runCli(
      ["backup", "--storage", join(work, "never"), "--recipient", recipient, "--preset", "x"],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--preset "x": expected none or supabase/);
    assert.ok(!existsSync(join(work, "never")));
  });
});
