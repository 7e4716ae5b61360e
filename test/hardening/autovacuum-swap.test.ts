/**
 * restore's swap into a target that autovacuum is working on (a database just bulk-loaded, or any
 * busy one): the worker is not "another session" the user must stop or end. PostgreSQL ends it
 * itself for the RENAME, so the swap goes through without --terminate-connections.
 *
 * The worker is held on the target by the table's own settings: a vacuum cost limit of 1 with a
 * 100 ms delay makes it crawl through the table for minutes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { waitFor } from "./cli-process.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;

const SLOW_VACUUM_SQL = `
CREATE TABLE public.big (id int, pad text) WITH (
  autovacuum_vacuum_insert_threshold = 1, autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_cost_limit = 1, autovacuum_vacuum_cost_delay = 100);
INSERT INTO public.big SELECT i, repeat('x', 200) FROM generate_series(1, 100000) i;
`;

before(async () => {
  cluster = await startCluster({ settings: ["-c autovacuum_naptime=1"] });
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-autovacuum-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const made = await runCli(["backup", "--storage", storage, "--label", "shop", "--recipient", recipient], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") },
  });
  assert.equal(made.code, 0, made.stderr);
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("a swap into a target with an autovacuum worker at work is not refused, and the worker does not fail it", async () => {
  await cluster.createDatabase("vacuumed");
  await cluster.sql("vacuumed", SLOW_VACUUM_SQL);
  await waitFor("an autovacuum worker on the target", async () => {
    const rows = await cluster.sql<{ n: number }>(
      "postgres",
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'vacuumed' AND backend_type = 'autovacuum worker'",
    );
    return rows[0]!.n > 0;
  });
  const run = await runCli(
    [
      "restore",
      "--storage",
      storage,
      "--label",
      "shop",
      "--identity-file",
      identityFile,
      "--target-database-url",
      cluster.url("vacuumed"),
      "--confirm",
      "vacuumed",
      "--safety-backup",
      "false",
      "--drop-old",
      "--json",
    ],
    { env: { PATH: process.env.PATH } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.json.strategy, "swap");
  assert.deepEqual(await countAllRows(cluster, "vacuumed"), SHOP_ROWS);
});
