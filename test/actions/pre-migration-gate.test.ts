/**
 * The pre-migration-gate composite: what it passes on matches the inputs of the actions it runs,
 * and run the way the runner runs it, it backs up, restores that very backup, applies the
 * migration to the restored copy (never to the source), and fails when the migration fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { COMMANDS } from "../../src/settings/spec.js";
import { readComposite, runComposite } from "../helpers/composite.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const ACTION = "actions/pre-migration-gate/action.yml";
const gate = readComposite(ACTION);

/** The action each step runs, from `node .../dist/<action>/index.js`. */
function stepAction(run: string): string {
  const match = /dist\/([\w-]+)\/index\.js/.exec(run);
  assert.ok(match, `step runs a bundle: ${run}`);
  return match[1]!;
}

describe("pre-migration-gate action.yml", () => {
  test("every INPUT_ a step sets is an input of the action whose bundle it runs", () => {
    for (const step of gate.runs.steps) {
      const action = stepAction(step.run ?? "");
      const spec = COMMANDS.find((command) => command.action === action);
      assert.ok(spec, `${action} is one of our actions`);
      const names = new Set(spec.options.filter((option) => !option.cliOnly).map((option) => option.name));
      for (const key of Object.keys(step.env ?? {})) {
        assert.match(key, /^INPUT_[A-Z0-9-]+$/);
        const input = key.slice("INPUT_".length).toLowerCase();
        assert.ok(names.has(input), `${step.id}: ${action} has no input ${input}`);
      }
    }
  });

  test("every input is passed on, and defaults agree with the actions that receive them", () => {
    const used = new Set<string>();
    for (const step of gate.runs.steps) {
      const spec = COMMANDS.find((command) => command.action === stepAction(step.run ?? ""))!;
      for (const [key, value] of Object.entries(step.env ?? {})) {
        const input = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(value)?.[1];
        if (!input) continue;
        assert.ok(input in gate.inputs, `${value} names a declared input`);
        used.add(input);
        const target = spec.options.find((option) => option.name === key.slice(6).toLowerCase())!;
        const ours = gate.inputs[input]!.default;
        if (ours !== undefined && target.default !== undefined) {
          assert.equal(
            ours,
            target.default,
            `default of ${input} (passed as ${target.name} to ${spec.action})`,
          );
        }
      }
    }
    assert.deepEqual(
      Object.keys(gate.inputs).filter((name) => !used.has(name)),
      [],
      "inputs never used",
    );
  });
});

describe("pre-migration-gate, run like the runner runs it", () => {
  let cluster: Cluster;
  let work: string;
  let identity: string;
  let recipient: string;

  before(async () => {
    cluster = await startCluster();
    await createShop(cluster, "shop");
    work = mkdtempSync(join(tmpdir(), "lifeboat-gate-"));
    execFileSync("age-keygen", ["-o", join(work, "key.txt")], { stdio: "pipe" });
    identity = readFileSync(join(work, "key.txt"), "utf8");
    recipient = execFileSync("age-keygen", ["-y", join(work, "key.txt")], { encoding: "utf8" }).trim();
  });

  after(async () => {
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const runGate = (migration: string) =>
    runComposite(
      ACTION,
      {
        "database-url": cluster.url("shop"),
        storage: "backups",
        label: "gate",
        recipient,
        identity,
        "scratch-database-url": cluster.url("postgres"),
        "migration-command": migration,
      },
      {
        actionPath: resolve(process.env.LIFEBOAT_DIST_ROOT ?? ".", "actions", "pre-migration-gate"),
        cwd: work,
      },
    );

  const columns = async (): Promise<string[]> => {
    const client = new pg.Client({ connectionString: cluster.url("shop") });
    await client.connect();
    try {
      const result = await client.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'customers'",
      );
      return result.rows.map((row) => row.column_name).sort();
    } finally {
      await client.end();
    }
  };

  test("passes when the migration applies to the restored copy of a fresh backup", async () => {
    const before = await columns();
    const run = runGate(
      `psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -c "ALTER TABLE shop.customers ADD COLUMN nickname text" && psql "$DATABASE_URL" -At -c "SELECT current_database()" > migrated-in.txt && env > migration-env.txt`,
    );
    const log = run.steps.map((step) => `${step.id}: ${step.stdout}${step.stderr}`).join("\n");
    assert.equal(run.status, 0, log);
    assert.match(run.outputs["backup-id"]!, /^\d{8}T\d{6}Z-/);
    assert.equal(run.outputs.passed, "true");
    assert.equal(run.outputs.reason, "");
    assert.ok(Number(run.outputs["restore-seconds"]) > 0);
    // The restore-test restored the backup this run made, not an older one.
    assert.equal(run.steps[1]!.outputs["backup-id"], run.outputs["backup-id"]);
    // The migration ran in the scratch copy; the source database is untouched.
    const database = readFileSync(join(work, "migrated-in.txt"), "utf8").trim();
    assert.notEqual(database, "shop");
    assert.match(database, /^lifeboat_/);
    assert.deepEqual(await columns(), before);
    assert.match(run.summary, /restore-test/i);
    // The migration is the pull request's code: it sees the scratch copy, not the gate's inputs.
    const seen = readFileSync(join(work, "migration-env.txt"), "utf8");
    assert.match(seen, /^DATABASE_URL=postgresql:\/\/.*\/lifeboat_rt_/m);
    assert.doesNotMatch(seen, /^INPUT_/m);
    assert.ok(!seen.includes("AGE-SECRET-KEY-"), "the identity reached the migration command");
    assert.ok(!seen.includes(cluster.url("shop")), "the source database's URL reached the migration command");
    // The identity reaches the bundles only as an input: masked, never printed.
    const secret = identity.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-"))!;
    for (const step of run.steps) {
      assert.ok(step.stdout.includes(`::add-mask::${secret}`) || step.id === "backup", "identity masked");
      const visible = step.stdout
        .split("\n")
        .filter((line) => !line.startsWith("::add-mask::"))
        .join("\n");
      assert.ok(
        !visible.includes(secret) && !step.stderr.includes(secret),
        `${step.id} printed the identity`,
      );
    }
  });

  test("fails, with the reason, when the migration fails", () => {
    const run = runGate(
      `psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -c "ALTER TABLE shop.no_such_table ADD COLUMN x int"`,
    );
    assert.notEqual(run.status, 0);
    assert.equal(run.steps[0]!.status, 0, "the backup itself succeeded");
    assert.equal(run.outputs.passed, "false");
    assert.match(run.outputs.reason!, /command|exit/i);
    assert.match(run.steps[1]!.stdout + run.steps[1]!.stderr, /no_such_table/);
  });
});
