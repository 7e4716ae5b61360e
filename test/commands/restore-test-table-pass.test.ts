/**
 * restore-test's table pass (checkTables): the row counts taken from the content digest's COPY, the
 * count(*) kept where no digest is recomputed, and the same findings with one session or two. Run
 * against the source database itself, which gives the same COPY text as a restored copy.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkTables } from "../../src/commands/restore-test/checks.js";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import type { Manifest } from "../../src/domain/manifest.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let manifest: Manifest;

before(async () => {
  cluster = await startCluster();
  work = mkdtempSync(join(tmpdir(), "lifeboat-table-pass-"));
  await cluster.createDatabase("src");
  // Values with newlines, tabs and backslashes (escaped by COPY: still one line a row), a table
  // with a timestamptz (its digest recomputed in the dump's zone, UTC), an empty one.
  await cluster.sql(
    "src",
    `CREATE TABLE notes (id int, body text);
     INSERT INTO notes SELECT i, E'line one\\nline two\\t' || i || E'\\\\' FROM generate_series(1, 500) i;
     CREATE TABLE stamped (id int, at timestamptz DEFAULT now());
     INSERT INTO stamped (id) SELECT generate_series(1, 30);
     CREATE TABLE empty (id int);`,
  );
  const identity = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
  const storage = join(work, "store");
  const run = await runCli(
    ["backup", "--storage", storage, "--label", "src", "--recipient", recipient, "--json"],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("src") },
    },
  );
  assert.equal(run.code, 0, run.stderr);
  const file = join(storage, "src", run.json.backupId as string, "manifest.json");
  manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const target = () => parseDatabaseUrl(cluster.url("src"));

describe("restore-test table pass", () => {
  test("an intact copy: counts from the digest's COPY agree despite escaped newlines, with one session or two", async () => {
    const notes = manifest.tables.find((t) => t.table === "notes")!;
    assert.equal(notes.rows, 500);
    assert.ok(notes.sha256, "the backup records a content digest for notes");
    for (const jobs of [1, 2]) {
      const result = await checkTables(target(), manifest, { jobs });
      assert.deepEqual(result.mismatches, [], `jobs ${jobs}`);
      assert.deepEqual(result.digests, { compared: 3, mismatched: [], skipped: [] }, `jobs ${jobs}`);
    }
  });

  test("a missing row is caught by the count the digest pass takes, and its digest is not reported twice", async () => {
    await cluster.sql("src", "DELETE FROM notes WHERE id = 250; DELETE FROM stamped WHERE id = 7");
    try {
      const result = await checkTables(target(), manifest, { jobs: 2 });
      assert.deepEqual(result.mismatches, [
        { table: "public.notes", expected: 500, actual: 499 },
        { table: "public.stamped", expected: 30, actual: 29 },
      ]);
      assert.deepEqual(result.digests.mismatched, []);
      assert.deepEqual(
        result.digests.skipped.find((s) => s.table === "public.notes"),
        { table: "public.notes", reason: "its row count already differs" },
      );
    } finally {
      await cluster.sql(
        "src",
        `INSERT INTO notes VALUES (250, E'line one\\nline two\\t250\\\\');
         INSERT INTO stamped (id) VALUES (7)`,
      );
    }
  });

  test("a table the checking role may not COPY (row security): its digest is skipped with the server's reason, the session goes on", async () => {
    await cluster.sql(
      "src",
      `CREATE ROLE limited LOGIN PASSWORD 'limited-pw';
       CREATE TABLE secret (id int); INSERT INTO secret SELECT generate_series(1, 10);
       ALTER TABLE secret ENABLE ROW LEVEL SECURITY; CREATE POLICY everyone ON secret USING (true);
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO limited`,
    );
    try {
      const notes = manifest.tables.find((t) => t.table === "notes")!;
      const withSecret = {
        ...manifest,
        tables: [...manifest.tables, { ...notes, table: "secret", rows: 10 }],
      };
      const limited = parseDatabaseUrl(cluster.url("src", { user: "limited", password: "limited-pw" }));
      // One session: the tables after the refused COPY are read on the same session.
      const result = await checkTables(limited, withSecret, { jobs: 1 });
      assert.deepEqual(result.mismatches, []);
      // notes, stamped and empty (notes's and stamped's digests no longer match: the test before
      // this one deleted a row of each and inserted it again, at the end, stamped's with a new now()).
      assert.equal(result.digests.compared, 3);
      assert.deepEqual(
        result.digests.mismatched.map((m) => m.table),
        ["public.notes", "public.stamped"],
      );
      assert.deepEqual(
        result.digests.skipped.map((s) => s.table),
        ["public.secret"],
      );
      const secret = result.digests.skipped.find((s) => s.table === "public.secret");
      assert.match(secret?.reason ?? "", /row-level security/);
    } finally {
      await cluster.sql("src", "DROP TABLE secret; DROP OWNED BY limited; DROP ROLE limited");
    }
  });

  test("a changed value with the same row count fails the digest; a dropped table is counted missing", async () => {
    await cluster.sql(
      "src",
      "UPDATE notes SET body = 'changed' WHERE id = 3; ALTER TABLE empty RENAME TO gone",
    );
    try {
      const result = await checkTables(target(), manifest, { jobs: 2 });
      assert.deepEqual(result.mismatches, [{ table: "public.empty", expected: 0, actual: null }]);
      assert.deepEqual(
        result.digests.mismatched.map((m) => m.table),
        ["public.notes", "public.stamped"],
      );
    } finally {
      await cluster.sql("src", "ALTER TABLE gone RENAME TO empty");
    }
  });
});
