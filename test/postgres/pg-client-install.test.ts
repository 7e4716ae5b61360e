/**
 * install-pg-client auto for real: with no pg_dump in sight (PATH empty, no versioned directory),
 * a backup downloads postgresql-client-<server major> and libpq5 through a private apt
 * configuration (built from this machine's own apt sources: only Debian's mirrors are reachable
 * here, PGDG is the production source), unpacks them into a temporary tool directory, dumps with
 * them, and the archive restores. Skipped, with the reason, when no apt mirror answers.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Manifest } from "../../src/domain/manifest.js";
import {
  clientDir,
  ensurePgClient,
  readInstalled,
  systemSources,
  type ToolCache,
} from "../../src/postgres/pg-install.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let toolDir: string;
let serverMajor: number;
let skipReason: string | undefined;

/** The first http(s) mirror of this machine's apt sources, asked for its root within 10 s. */
async function mirrorUnreachable(): Promise<string | undefined> {
  const source = systemSources();
  const text = source.kind === "custom" ? [source.list, ...Object.values(source.parts)].join("\n") : "";
  const uri = /(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+)/m.exec(text)?.[1];
  if (!uri) return "this machine has no http(s) apt source";
  if (!uri.startsWith("http://")) return undefined;
  return new Promise((resolve) => {
    const req = request(uri, { method: "HEAD", timeout: 10_000 }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 10 s")));
    req.on("error", (error) => resolve(`the apt mirror ${uri} is unreachable: ${error.message}`));
    req.end();
  });
}

before(async () => {
  skipReason = await mirrorUnreachable();
  cluster = await startCluster();
  await createShop(cluster, "shop");
  serverMajor = Number(
    (
      await cluster.sql<{ v: string }>("postgres", "SELECT current_setting('server_version_num') AS v")
    )[0]!.v.slice(0, -4),
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-pg-client-"));
  toolDir = join(work, "tools");
  mkdirSync(join(work, "empty-bin"));
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** No pg_dump anywhere the finder looks: an empty PATH and no /usr/lib/postgresql. */
const env = (extra: Record<string, string> = {}) => ({
  PATH: join(work, "empty-bin"),
  HOME: work,
  LIFEBOAT_PG_VERSIONED_ROOT: join(work, "no-versioned-root"),
  LIFEBOAT_TOOL_DIR: toolDir,
  LIFEBOAT_PG_APT_SOURCE: "system",
  DATABASE_URL: cluster.url("shop"),
  ...extra,
});
/** A source nobody answers on: any download attempt fails. */
const DEAD_SOURCE = "deb [trusted=yes] http://127.0.0.1:9/debian bookworm main";

const backup = (storage: string, args: string[], extra?: Record<string, string>) =>
  runCli(["backup", "--storage", storage, "--label", "shop", "--no-encryption", "--json", ...args], {
    env: env(extra),
  });

describe("without a suitable client on the machine", () => {
  test("install-pg-client never: exit 2, with the install hint naming install-pg-client auto", async () => {
    const run = await backup(join(work, "store-never"), ["--install-pg-client", "never"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `needs pg_dump ${serverMajor} or newer; found no pg_dump; install postgresql-client-${serverMajor} .*--install-pg-client auto`,
      ),
    );
    assert.equal(existsSync(join(work, "store-never")), false);
  });

  test("the CLI default is never: nothing is downloaded unasked", async () => {
    const run = await backup(join(work, "store-default"), []);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(existsSync(toolDir), false);
  });

  test("pg-version older than the server: exit 2 before anything is looked for", async () => {
    const run = await backup(join(work, "store-old"), ["--pg-version", String(serverMajor - 1)]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `--pg-version "${serverMajor - 1}": pg_dump ${serverMajor - 1} cannot dump PostgreSQL ${serverMajor}\\.`,
      ),
    );
  });

  test("an apt source that does not answer: exit 1, one line naming install-pg-client and what was tried", async () => {
    const run = await backup(join(work, "store-dead"), ["--install-pg-client", "auto"], {
      LIFEBOAT_PG_APT_SOURCE: DEAD_SOURCE,
    });
    assert.equal(run.code, 1, run.stderr);
    const error = run.stderr.split("\n").find((line) => line.startsWith("lifeboat: error:"));
    assert.match(
      error!,
      new RegExp(
        `--install-pg-client auto: could not get postgresql-client-${serverMajor} and libpq5 from http://127\\.0\\.0\\.1:9/debian bookworm main: apt-get update failed: .*127\\.0\\.0\\.1`,
      ),
    );
    assert.equal(readInstalled(clientDir(toolDir, serverMajor), serverMajor), undefined);
  });
});

describe("install-pg-client auto with Debian's packages", () => {
  test("downloads postgresql-client and libpq5 into the tool directory, backs up with them, and the dump restores", async (t) => {
    if (skipReason) return t.skip(skipReason);
    const storage = join(work, "store-auto");
    const run = await backup(storage, ["--install-pg-client", "auto"]);
    assert.equal(run.code, 0, run.stderr);
    const dir = clientDir(toolDir, serverMajor);
    assert.match(run.stderr, new RegExp(`Installed postgresql-client-${serverMajor} \\S+ into ${dir}`));
    const installed = readInstalled(dir, serverMajor)!;
    assert.ok(installed, "the tool directory is complete");
    const pgDump = join(dir, `usr/lib/postgresql/${serverMajor}/bin/pg_dump`);
    assert.ok(run.stderr.includes(`(${pgDump})`), "the backup used the versioned path in the tool directory");
    // The downloaded pg_dump runs with its own libpq (nothing from the system's postgresql dirs).
    const libs = execFileSync("ldd", [pgDump], {
      env: { LD_LIBRARY_PATH: installed.env.LD_LIBRARY_PATH! },
      encoding: "utf8",
    });
    assert.match(libs, new RegExp(`libpq\\.so\\.5 => ${installed.env.LD_LIBRARY_PATH}/libpq\\.so\\.5`));
    const version = execFileSync(pgDump, ["--version"], { env: installed.env, encoding: "utf8" });

    const backupId = run.json.backupId as string;
    const manifest = JSON.parse(
      readFileSync(join(storage, "shop", backupId, "manifest.json"), "utf8"),
    ) as Manifest;
    assert.ok(
      version.includes(`(PostgreSQL) ${manifest.tool.pgDumpVersion}`),
      `${version} vs ${manifest.tool.pgDumpVersion}`,
    );
    assert.equal(Number(manifest.tool.pgDumpVersion?.split(".")[0]), serverMajor);

    // The restore side takes pg_restore from the same directory, with no download this time.
    const restored = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "shop",
        "--scratch-database-url",
        cluster.url("postgres"),
        "--install-pg-client",
        "auto",
        "--keep-on-failure",
        "--json",
      ],
      { env: env({ LIFEBOAT_PG_APT_SOURCE: DEAD_SOURCE }) },
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, new RegExp(`Using postgresql-client-${serverMajor} \\S+ from ${dir}`));
    assert.equal(restored.json.tablesChecked, Object.keys(SHOP_ROWS).length);
    assert.deepEqual(restored.json.mismatches, []);
  });

  test("a second run reuses the installed directory without downloading", async (t) => {
    if (skipReason) return t.skip(skipReason);
    const dir = clientDir(toolDir, serverMajor);
    if (!readInstalled(dir, serverMajor)) return t.skip("the install test did not leave a client");
    const storage = join(work, "store-again");
    // A dead source: any attempt to download would fail the backup.
    const run = await backup(storage, ["--install-pg-client", "auto", "--compression", "none"], {
      LIFEBOAT_PG_APT_SOURCE: DEAD_SOURCE,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /Downloading/);
    assert.match(run.stderr, new RegExp(`Using postgresql-client-${serverMajor} \\S+ from ${dir}`));

    await cluster.createDatabase("shop_copy");
    const backupId = run.json.backupId as string;
    const installed = readInstalled(dir, serverMajor)!;
    execFileSync(
      join(installed.binDir, "pg_restore"),
      ["--no-owner", "--dbname", cluster.url("shop_copy"), join(storage, "shop", backupId, "dump.pgdump")],
      { env: { ...installed.env, PGPASSWORD: cluster.password } },
    );
    assert.deepEqual(await countAllRows(cluster, "shop_copy"), SHOP_ROWS);
  });

  test("the cache: saved after an install, restored instead of a download, an incomplete restore is not used", async (t) => {
    if (skipReason) return t.skip(skipReason);
    const dir = clientDir(toolDir, serverMajor);
    if (!readInstalled(dir, serverMajor)) return t.skip("the install test did not leave a client");
    // A cache on a local folder: what was saved under a key comes back on restore.
    const saved = new Map<string, string>();
    const calls: string[] = [];
    let damage = false;
    const cache: ToolCache = {
      async restore(paths, key) {
        calls.push(`restore ${key}`);
        const copy = saved.get(key);
        if (!copy) return false;
        cpSync(copy, paths[0]!, { recursive: true, verbatimSymlinks: true });
        if (damage) unlinkSync(join(paths[0]!, "usr/lib/postgresql", String(serverMajor), "bin/pg_dump"));
        return true;
      },
      async save(paths, key) {
        calls.push(`save ${key}`);
        const copy = join(work, "cache", key);
        cpSync(paths[0]!, copy, { recursive: true, verbatimSymlinks: true });
        saved.set(key, copy);
      },
    };
    const log = {
      lines: [] as string[],
      info: (l: string) => log.lines.push(l),
      warn: (l: string) => log.lines.push(l),
    };
    const toolEnv = { LIFEBOAT_TOOL_DIR: join(work, "tools-cached"), LIFEBOAT_PG_APT_SOURCE: "system" };
    const first = await ensurePgClient({ major: serverMajor, env: toolEnv, log, cache });
    const key = calls[0]!.slice("restore ".length);
    assert.match(key, new RegExp(`^lifeboat-pg-client-${serverMajor}-\\w+\\d*-${process.arch}-v1$`));
    assert.deepEqual(calls, [`restore ${key}`, `save ${key}`]);

    rmSync(first.dir, { recursive: true });
    const dead = { ...toolEnv, LIFEBOAT_PG_APT_SOURCE: DEAD_SOURCE };
    const again = await ensurePgClient({ major: serverMajor, env: dead, log, cache });
    assert.equal(again.dir, first.dir);
    assert.match(
      log.lines.at(-1)!,
      new RegExp(`^Restored postgresql-client-${serverMajor} .* from the cache \\(${key}\\)`),
    );
    execFileSync(join(again.binDir, "pg_dump"), ["--version"], { env: again.env });

    // A restore that leaves a file out is not trusted: it downloads (here: fails on the dead source).
    rmSync(first.dir, { recursive: true });
    damage = true;
    await assert.rejects(
      ensurePgClient({ major: serverMajor, env: dead, log, cache }),
      /--install-pg-client auto: could not get/,
    );
    assert.ok(log.lines.some((line) => /restored an incomplete/.test(line)));
    assert.equal(readInstalled(first.dir, serverMajor), undefined);
  });

  test("a major the source does not have: exit 2 naming install-pg-client", async (t) => {
    if (skipReason) return t.skip(skipReason);
    const run = await backup(join(work, "store-42"), ["--install-pg-client", "auto", "--pg-version", "42"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /--install-pg-client auto: .* has no postgresql-client-42 for this system \(Unable to locate package/,
    );
  });
});
