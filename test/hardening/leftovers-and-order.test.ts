/**
 * Issue 12, the classes that had no test of their own: a local backup killed outright leaves a
 * `.partial-*` file that the next prune and the next backup sweep once old; two backups in one
 * second are told apart in the order they started; backups whose manifest is damaged are failed
 * backups (exit 1, naming the manifest), not bad input; keygen into a read-only directory is exit
 * 2 naming --output.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { runCli } from "../helpers/cli.js";
import { seedLocalFolders } from "../helpers/backup-folders.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startCli, waitFor } from "./cli-process.js";

let source: Cluster;
let work: string;
let recipient: string;
let identityFile: string;

before(async () => {
  source = await startCluster();
  await createShop(source, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-order-"));
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await source?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, DATABASE_URL: source.url("shop") });

function partials(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((path) =>
    path.split("/").at(-1)!.startsWith(".partial-"),
  );
}

/**
 * Starts a backup as a real process, waits until its dump's temporary file exists (pg_dump is held
 * by a lock on a table meanwhile), and SIGKILLs it with everything it started.
 */
async function killedBackup(storage: string): Promise<string> {
  const locker = new pg.Client({ connectionString: source.url("shop") });
  await locker.connect();
  try {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE shop.orders IN ACCESS EXCLUSIVE MODE");
    const cli = startCli(["backup", "--storage", storage, "--recipient", recipient], env());
    const [partial] = await waitFor(
      "the temporary file",
      () => {
        const found = partials(storage);
        return found.length > 0 ? found : undefined;
      },
      90_000,
      () => cli.output().stderr,
    );
    process.kill(-cli.pid, "SIGKILL");
    await cli.exited;
    return join(storage, partial!);
  } finally {
    await locker.query("ROLLBACK").catch(() => undefined);
    await locker.end();
  }
}

function age(path: string, hours: number): void {
  const past = new Date(Date.now() - hours * 3_600_000);
  utimesSync(path, past, past);
}

describe("a local backup killed outright", () => {
  test("leaves a .partial-* file that the next prune sweeps once older than a day, not before", async () => {
    const storage = join(work, "killed-prune");
    const partial = await killedBackup(storage);
    assert.ok(existsSync(partial));
    const young = await runCli(["prune", "--storage", storage, "--keep-last", "1"], { env: env() });
    assert.equal(young.code, 0, young.stderr);
    assert.ok(existsSync(partial), "a young temporary file may be a live backup's");
    age(partial, 25);
    const old = await runCli(["prune", "--storage", storage, "--keep-last", "1"], { env: env() });
    assert.equal(old.code, 0, old.stderr);
    assert.deepEqual(partials(storage), []);
  });

  test("and the next backup sweeps it too", async () => {
    const storage = join(work, "killed-backup");
    const partial = await killedBackup(storage);
    age(partial, 25);
    const next = await runCli(["backup", "--storage", storage, "--recipient", recipient], { env: env() });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(partials(storage), []);
  });
});

describe("two backups in one second", () => {
  test("latest and prune's newest are the one that started last", async () => {
    const root = join(work, "same-second");
    const second = Date.UTC(2026, 10, 20, 3, 0, 0);
    // Ten backups 90 ms apart within one second, newest last: a random suffix alone orders them at random.
    const seeded = seedLocalFolders(
      root,
      "app",
      Array.from({ length: 10 }, (_, index) => ({ time: new Date(second + index * 90) })),
    );
    const newest = seeded.at(-1)!.backupId;
    const list = await runCli(["list", "--storage", root, "--label", "app", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const listed = (list.json.backups as { backupId: string }[]).map((backup) => backup.backupId);
    assert.deepEqual(listed, seeded.map((folder) => folder.backupId).reverse());
    const prune = await runCli([
      "prune",
      "--storage",
      root,
      "--label",
      "app",
      "--keep-last",
      "1",
      "--dry-run",
      "--json",
    ]);
    assert.equal(prune.code, 0, prune.stderr);
    const kept = (prune.json.decisions as { backupId: string; action: string }[])
      .filter((decision) => decision.action === "keep")
      .map((decision) => decision.backupId);
    assert.deepEqual(kept, [newest]);
  });
});

describe("a damaged manifest", () => {
  test("is a failed backup, exit 1 naming the manifest, for verify, restore-test and restore alike", async () => {
    const storage = join(work, "damaged");
    const made = await runCli(["backup", "--storage", storage, "--recipient", recipient, "--json"], {
      env: env(),
    });
    assert.equal(made.code, 0, made.stderr);
    const backupId = made.json.backupId as string;
    writeFileSync(join(storage, "default", backupId, "manifest.json"), '{"schemaVersion": 2, "backupId": ');
    const key = ["--identity-file", identityFile];
    for (const args of [
      ["verify", ...key],
      ["verify", "--backup", backupId, ...key],
      ["restore-test", "--scratch-database-url", source.url("postgres"), ...key],
      ["restore-test", "--backup", backupId, "--scratch-database-url", source.url("postgres"), ...key],
      ["restore", "--target-database-url", source.url("shop"), "--confirm", "shop", ...key],
    ]) {
      const run = await runCli([...args, "--storage", storage], { env: env() });
      assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^lifeboat: error: .*manifest\.json/m, args.join(" "));
      assert.doesNotMatch(run.stderr, /--identity-file|--pg-bin-dir/, args.join(" "));
    }
  });
});

describe("keygen", () => {
  test("into a read-only directory: exit 2 naming --output", async (t) => {
    const dir = join(work, "readonly");
    mkdirSync(dir);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      if (spawnSync("mount", ["--bind", "-o", "ro", dir, dir]).status !== 0) {
        t.skip("no read-only bind mount here (root ignores file modes)");
        return;
      }
    } else {
      spawnSync("chmod", ["555", dir]);
    }
    try {
      const run = await runCli(["keygen", "--output", join(dir, "key.txt")]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /^lifeboat: error: --output ".*readonly\/key\.txt": cannot create the file \((EROFS|EACCES)\)/,
      );
      assert.equal(run.stdout, "");
    } finally {
      if (asRoot) spawnSync("umount", [dir]);
      else spawnSync("chmod", ["755", dir]);
    }
  });
});
