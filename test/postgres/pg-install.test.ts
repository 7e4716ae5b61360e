/**
 * The tool directory and cache key of installed PostgreSQL clients, what counts as installed, the
 * apt sources an install uses, and the Actions cache adapter where no cache service exists.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { actionsToolCache } from "../../src/actions/tool-cache.js";
import type { Logger } from "../../src/commands/logger.js";
import {
  cacheKey,
  clientDir,
  installBlocker,
  parseOsRelease,
  readInstalled,
  resolveAptSource,
  systemSources,
  toolRoot,
} from "../../src/postgres/pg-install.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-pg-install-"));
after(() => rmSync(work, { recursive: true, force: true }));

function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (line) => lines.push(line), warn: (line) => lines.push(`warning: ${line}`) };
}

describe("tool directory and cache key", () => {
  test("the root: LIFEBOAT_TOOL_DIR, then RUNNER_TOOL_CACHE, then the XDG cache, then ~/.cache", () => {
    assert.equal(toolRoot({ LIFEBOAT_TOOL_DIR: "/t", RUNNER_TOOL_CACHE: "/r" }), "/t");
    assert.equal(
      toolRoot({ RUNNER_TOOL_CACHE: "/opt/hostedtoolcache", XDG_CACHE_HOME: "/x" }),
      "/opt/hostedtoolcache",
    );
    assert.equal(toolRoot({ XDG_CACHE_HOME: "/x" }), "/x/lifeboat");
    assert.equal(toolRoot({ HOME: "/home/me" }), "/home/me/.cache/lifeboat");
    assert.equal(
      clientDir("/opt/hostedtoolcache", 17, "x64"),
      "/opt/hostedtoolcache/postgresql-client/17/x64",
    );
  });

  test("the cache key names major, OS release and architecture", () => {
    const ubuntu = parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n');
    assert.deepEqual(ubuntu, { id: "ubuntu", versionId: "24.04", codename: "noble" });
    assert.equal(cacheKey(17, ubuntu, "x64"), "lifeboat-pg-client-17-ubuntu24.04-x64-v1");
    assert.equal(
      cacheKey(15, parseOsRelease("ID=debian\nVERSION_ID=12\n"), "arm64"),
      "lifeboat-pg-client-15-debian12-arm64-v1",
    );
    assert.equal(parseOsRelease("ID=linuxmint\nUBUNTU_CODENAME=jammy\n").codename, "jammy");
  });
});

describe("apt sources", () => {
  test("PGDG for the OS codename by default; system or one deb line by LIFEBOAT_PG_APT_SOURCE", () => {
    const noble = parseOsRelease("ID=ubuntu\nVERSION_ID=24.04\nVERSION_CODENAME=noble\n");
    assert.deepEqual(resolveAptSource({}, noble), {
      kind: "pgdg",
      codename: "noble",
      description: "https://apt.postgresql.org/pub/repos/apt noble-pgdg",
    });
    assert.throws(
      () => resolveAptSource({}, parseOsRelease("ID=x\n")),
      /install-pg-client auto: .* no distribution codename/,
    );
    const line =
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main";
    assert.deepEqual(resolveAptSource({ LIFEBOAT_PG_APT_SOURCE: line }, noble), {
      kind: "custom",
      description: "http://deb.debian.org/debian bookworm main",
      list: `${line}\n`,
      parts: {},
    });
    assert.throws(
      () => resolveAptSource({ LIFEBOAT_PG_APT_SOURCE: "http://x" }, noble),
      /expected system or one "deb \.\.\."/,
    );
  });

  test("system sources: sources.list and the .list/.sources parts, nothing disabled", () => {
    const etc = join(work, "etc-apt");
    mkdirSync(join(etc, "sources.list.d"), { recursive: true });
    writeFileSync(
      join(etc, "sources.list.d", "debian.sources"),
      "Types: deb\nURIs: http://deb.debian.org/debian\n",
    );
    writeFileSync(join(etc, "sources.list.d", "old.list.disabled"), "deb http://nowhere/ x main\n");
    const source = systemSources(etc);
    assert.equal(source.kind, "custom");
    assert.deepEqual(source.kind === "custom" && Object.keys(source.parts), ["debian.sources"]);
    assert.equal(source.kind === "custom" && source.list, "");
  });

  test("installing is possible only on Linux with apt-get and dpkg-deb", () => {
    assert.match(installBlocker({ PATH: "" }, "darwin")!, /runs darwin, not Linux with apt/);
  });
});

describe("what counts as installed", () => {
  function fakeInstall(dir: string): void {
    mkdirSync(join(dir, "usr/lib/postgresql/15/bin"), { recursive: true });
    mkdirSync(join(dir, "usr/lib/x86_64-linux-gnu"), { recursive: true });
    writeFileSync(join(dir, "usr/lib/postgresql/15/bin/pg_dump"), "12345");
    writeFileSync(join(dir, "usr/lib/x86_64-linux-gnu/libpq.so.5"), "123");
    const marker = {
      major: 15,
      packageVersion: "15.20-0+deb12u1",
      libDir: "usr/lib/x86_64-linux-gnu",
      entries: { "usr/lib/postgresql/15/bin/pg_dump": 5, "usr/lib/x86_64-linux-gnu/libpq.so.5": 3 },
    };
    writeFileSync(join(dir, ".lifeboat-complete.json"), JSON.stringify(marker));
  }

  test("a complete directory, with the versioned bin dir and its libpq", () => {
    const dir = join(work, "complete");
    fakeInstall(dir);
    assert.deepEqual(readInstalled(dir, 15), {
      major: 15,
      packageVersion: "15.20-0+deb12u1",
      dir,
      binDir: join(dir, "usr/lib/postgresql/15/bin"),
      env: { LD_LIBRARY_PATH: join(dir, "usr/lib/x86_64-linux-gnu") },
    });
    assert.equal(readInstalled(dir, 16), undefined);
  });

  test("no marker, a missing file or a short file: not installed", () => {
    const noMarker = join(work, "no-marker");
    fakeInstall(noMarker);
    unlinkSync(join(noMarker, ".lifeboat-complete.json"));
    assert.equal(readInstalled(noMarker, 15), undefined);

    const missing = join(work, "missing");
    fakeInstall(missing);
    unlinkSync(join(missing, "usr/lib/x86_64-linux-gnu/libpq.so.5"));
    assert.equal(readInstalled(missing, 15), undefined);

    const short = join(work, "short");
    fakeInstall(short);
    writeFileSync(join(short, "usr/lib/postgresql/15/bin/pg_dump"), "12");
    assert.equal(readInstalled(short, 15), undefined);
  });
});

describe("the Actions cache adapter", () => {
  test("without a cache service (no ACTIONS_RESULTS_URL): a miss and a log line, saving is a log line too", async () => {
    assert.equal(process.env.ACTIONS_RESULTS_URL, undefined);
    assert.equal(process.env.ACTIONS_CACHE_URL, undefined);
    const log = collectingLogger();
    const cache = actionsToolCache(log);
    assert.equal(await cache.restore([join(work, "x")], "lifeboat-pg-client-15-debian12-x64-v1"), false);
    await cache.save([join(work, "x")], "lifeboat-pg-client-15-debian12-x64-v1");
    assert.deepEqual(log.lines, [
      "The Actions cache service is not available here; downloading instead of restoring",
      "The Actions cache service is not available here; the installed client is not saved for the next run",
    ]);
  });

  test("a cache service that fails, or a module that does not load: still a miss and a log line", async () => {
    const log = collectingLogger();
    const failing = actionsToolCache(log, async () => ({
      ...(await import("@actions/cache")),
      isFeatureAvailable: () => true,
      restoreCache: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9")),
      saveCache: () => Promise.reject(new Error("Unable to reserve cache with key k")),
    }));
    assert.equal(await failing.restore(["/x"], "k"), false);
    await failing.save(["/x"], "k");
    assert.match(log.lines[0]!, /^Restoring cache entry k failed \(connect ECONNREFUSED/);
    assert.match(log.lines[1]!, /^Saving cache entry k failed \(Unable to reserve/);

    const unloadable = collectingLogger();
    const missing = actionsToolCache(unloadable, () => Promise.reject(new Error("Cannot find package")));
    assert.equal(await missing.restore(["/x"], "k"), false);
    await missing.save(["/x"], "k");
    assert.equal(unloadable.lines.length, 1);
    assert.match(unloadable.lines[0]!, /cannot be loaded \(Cannot find package\)/);
  });

  test("a results service that is unreachable: the real @actions/cache calls end in a miss and an unsaved entry", async () => {
    Object.assign(process.env, {
      ACTIONS_RESULTS_URL: "http://127.0.0.1:9/",
      ACTIONS_CACHE_SERVICE_V2: "true",
      ACTIONS_RUNTIME_TOKEN: "not-a-token",
      RUNNER_TEMP: work,
    });
    try {
      const saved = join(work, "to-save");
      mkdirSync(saved, { recursive: true });
      writeFileSync(join(saved, "file"), "x");
      const log = collectingLogger();
      const cache = actionsToolCache(log);
      assert.equal(await cache.restore([saved], "lifeboat-pg-client-15-debian12-x64-v1"), false);
      await cache.save([saved], "lifeboat-pg-client-15-debian12-x64-v1");
      assert.deepEqual(log.lines, [
        "No cache entry lifeboat-pg-client-15-debian12-x64-v1",
        "Cache entry lifeboat-pg-client-15-debian12-x64-v1 was not saved; the next run downloads again",
      ]);
    } finally {
      for (const name of [
        "ACTIONS_RESULTS_URL",
        "ACTIONS_CACHE_SERVICE_V2",
        "ACTIONS_RUNTIME_TOKEN",
        "RUNNER_TEMP",
      ]) {
        delete process.env[name];
      }
    }
  });
});
