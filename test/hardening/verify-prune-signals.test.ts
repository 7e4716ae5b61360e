/**
 * verify and prune stopped by a signal. verify (the CLI as a real process) stops reading, writes no
 * check record and exits 130/143, instead of reading to the end and recording a verdict after the
 * user pressed Ctrl-C. prune stops deleting: interrupted during its first pass (the manifests), it
 * does not go on to the second (the rest of the folders), so what remains are whole backups and
 * folders without a manifest, never a manifest without its dump.
 *
 * verify is held mid-read by a pg_restore that does not read its input: a wrapper in --pg-bin-dir
 * that answers --version like the real one and sleeps on --list, so the decrypted stream fills the
 * pipe and waits.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/commands/logger.js";
import { runPrune } from "../../src/commands/prune/run.js";
import { CancelledError } from "../../src/commands/signals.js";
import { parsePruneSettings } from "../../src/settings/settings.js";
import { LocalStore } from "../../src/storage/local-store.js";
import type { Store } from "../../src/storage/store.js";
import { seedLocalFolders } from "../helpers/backup-folders.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { startCli, waitFor } from "./cli-process.js";

let cluster: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let binDir: string;
let listing: string;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("big");
  // Some megabytes of plaintext, far more than a pipe and the streams' buffers hold.
  await cluster.sql(
    "big",
    "CREATE TABLE public.pad AS SELECT i, md5(i::text) || md5((i + 1)::text) AS t FROM generate_series(1, 100000) i",
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-verify-prune-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  const recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  const made = await runCli(["backup", "--storage", storage, "--label", "big", "--recipient", recipient], {
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("big") },
  });
  assert.equal(made.code, 0, made.stderr);
  binDir = join(work, "bin");
  mkdirSync(binDir);
  listing = join(work, "listing-started");
  const wrapper = join(binDir, "pg_restore");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nif [ "$1" = "--list" ]; then : > '${listing}'; exec sleep 60; fi\nexec '${join(cluster.binDir, "pg_restore")}' "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function checkRecords(): string[] {
  const label = join(storage, "big");
  return readdirSync(label).flatMap((folder) => {
    const checks = join(label, folder, "checks");
    return existsSync(checks) ? readdirSync(checks) : [];
  });
}

describe("verify stopped by a signal", () => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    test(`${signal} mid-read exits ${code} and writes no check record`, async () => {
      rmSync(listing, { force: true });
      const cli = startCli(
        [
          "verify",
          "--storage",
          storage,
          "--label",
          "big",
          "--identity-file",
          identityFile,
          "--pg-bin-dir",
          binDir,
        ],
        { PATH: process.env.PATH },
      );
      await waitFor(
        "pg_restore --list",
        () => existsSync(listing),
        60_000,
        () => cli.output().stderr,
      );
      // Long enough for the read to have filled the pipe and stalled.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const signalledAt = Date.now();
      process.kill(cli.pid, signal);
      const exit = await cli.exited;
      assert.equal(exit.code, code, exit.stderr);
      assert.ok(Date.now() - signalledAt < 20_000, `took ${Date.now() - signalledAt} ms`);
      assert.match(exit.stderr, new RegExp(`^lifeboat: error: received ${signal}$`, "m"));
      assert.deepEqual(checkRecords(), []);
    });
  }
});

describe("prune stopped by a signal", () => {
  test("during the manifests' pass, deletes nothing more: no manifest is left without its dump", async () => {
    const root = join(work, "prune-store");
    const now = Date.now();
    const H = 3_600_000;
    seedLocalFolders(
      root,
      "many",
      Array.from({ length: 1500 }, (_, i) => ({ time: new Date(now - H - i * H) })),
    );
    const local = new LocalStore(root);
    const controller = new AbortController();
    // The first delete call is where the user's Ctrl-C lands.
    const store: Store = Object.assign(Object.create(local) as Store, {
      deleteMany: async (keys: readonly string[]) => {
        controller.abort(new CancelledError("SIGINT"));
        return local.deleteMany(keys);
      },
    });
    const settings = parsePruneSettings({ storage: root, label: "many", "keep-last": "1" });
    await assert.rejects(
      runPrune(settings, { store, now: () => new Date(now), log: silentLogger, signal: controller.signal }),
      CancelledError,
    );
    const folders = readdirSync(join(root, "many"));
    let whole = 0;
    for (const folder of folders) {
      const names = readdirSync(join(root, "many", folder));
      // The second pass never ran: every dump is still there.
      assert.ok(names.includes("dump.age"), `${folder} lost its dump`);
      if (names.includes("manifest.json")) whole += 1;
    }
    assert.equal(folders.length, 1500);
    // The first pass took the doomed backups' manifests: only the kept one is still a backup.
    assert.equal(whole, 1);
  });
});
