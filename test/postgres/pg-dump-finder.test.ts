/**
 * Choosing a pg_dump / pg_restore: the pure choice (auto, a pinned major), the settings that drive
 * it, the environment a tool from the tool directory is spawned with, and findPgTool's decisions
 * with an injected installer (real probes of real scripts, no network).
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import {
  chooseTool,
  findPgTool,
  toolSpawn,
  wantedMajor,
  type PgTool,
} from "../../src/postgres/pg-dump-finder.js";
import { parseBackupSettings, parsePgClientSettings } from "../../src/settings/settings.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-finder-"));
after(() => rmSync(work, { recursive: true, force: true }));

const tool = (major: number): PgTool => ({
  path: `/x/${major}/pg_dump`,
  binDir: `/x/${major}`,
  version: `${major}.1`,
  major,
});

/** A directory with a fake tool that prints a version (and checks its LD_LIBRARY_PATH when asked). */
function fakeBin(name: string, version: string, needsLib?: string): string {
  const dir = mkdtempSync(join(work, "bin-"));
  const check = needsLib ? `case "$LD_LIBRARY_PATH" in ${needsLib}*) ;; *) exit 127;; esac\n` : "";
  writeFileSync(join(dir, name), `#!/bin/sh\n${check}echo '${name} (PostgreSQL) ${version}'\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

describe("choosing a client", () => {
  test("auto takes the same major, else the oldest newer one, never an older one", () => {
    assert.equal(chooseTool([tool(14), tool(17), tool(16)], 16)?.major, 16);
    assert.equal(chooseTool([tool(14), tool(18), tool(17)], 16)?.major, 17);
    assert.equal(chooseTool([tool(14), tool(15)], 16), undefined);
  });

  test("a pinned major takes exactly that one, and none below the server", () => {
    assert.equal(chooseTool([tool(16), tool(17), tool(18)], 16, 18)?.major, 18);
    assert.equal(chooseTool([tool(16), tool(18)], 16, 17), undefined);
    assert.equal(chooseTool([tool(15)], 16, 15), undefined);
  });

  test("the major to install: the pinned one, else the server's", () => {
    assert.equal(wantedMajor(15, "auto"), 15);
    assert.equal(wantedMajor(15, 17), 17);
  });
});

describe("pg-version and install-pg-client settings", () => {
  test("auto, a major, and the defaults", () => {
    assert.deepEqual(parsePgClientSettings({}), {
      pgBinDir: undefined,
      pgVersion: "auto",
      installPgClient: "auto",
    });
    assert.deepEqual(parsePgClientSettings({ "pg-version": "17", "install-pg-client": "never" }), {
      pgBinDir: undefined,
      pgVersion: 17,
      installPgClient: "never",
    });
    assert.equal(parsePgClientSettings({ "pg-version": " AUTO " }).pgVersion, "auto");
  });

  test("bad values name the input", () => {
    for (const value of ["abc", "17.2", "9", "-1", "170"]) {
      assert.throws(
        () => parsePgClientSettings({ "pg-version": value }),
        (error: unknown) =>
          error instanceof InputError &&
          error.input === "pg-version" &&
          error.message === `--pg-version "${value}": expected auto or a major version such as 17`,
      );
    }
    assert.throws(
      () => parsePgClientSettings({ "install-pg-client": "always" }),
      /--install-pg-client "always": expected auto or never/,
    );
    assert.throws(
      () =>
        parseBackupSettings({
          "database-url": "postgresql://u@h/db",
          storage: "/tmp/x",
          "no-encryption": true,
          "pg-version": "abc",
        }),
      /--pg-version "abc"/,
    );
  });
});

describe("the environment a tool needs", () => {
  test("LD_LIBRARY_PATH goes first and keeps what was there; a bare path changes nothing", () => {
    const base = { PATH: "/bin", LD_LIBRARY_PATH: "/opt/lib" };
    assert.deepEqual(toolSpawn({ path: "/t/pg_dump", env: { LD_LIBRARY_PATH: "/t/lib" } }, base), {
      path: "/t/pg_dump",
      env: { PATH: "/bin", LD_LIBRARY_PATH: "/t/lib:/opt/lib" },
    });
    assert.deepEqual(
      toolSpawn({ path: "/t/pg_dump", env: { LD_LIBRARY_PATH: "/t/lib" } }, { PATH: "/bin" }).env,
      {
        PATH: "/bin",
        LD_LIBRARY_PATH: "/t/lib",
      },
    );
    assert.deepEqual(toolSpawn("/usr/bin/pg_dump", base), { path: "/usr/bin/pg_dump", env: base });
  });
});

describe("findPgTool", () => {
  const nothing = mkdtempSync(join(work, "empty-"));
  const env = (path: string) => ({ PATH: path, LIFEBOAT_PG_VERSIONED_ROOT: join(nothing, "none") });
  const base = { name: "pg_dump" as const, serverMajor: 16, serverVersion: "16.4", pgBinDir: undefined };

  test("a pinned major older than the server is refused before anything is searched or installed", async () => {
    await assert.rejects(
      findPgTool({
        ...base,
        pgVersion: 15,
        installPgClient: "auto",
        env: env(nothing),
        install: () => assert.fail("must not install"),
      }),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "pg-version" &&
        /^--pg-version "15": pg_dump 15 cannot dump PostgreSQL 16\.4; use auto, or 16 or newer$/.test(
          error.message,
        ),
    );
  });

  test("auto keeps a suitable tool on PATH; a pinned major skips it and installs that major", async () => {
    const path = fakeBin("pg_dump", "17.2");
    const found = await findPgTool({
      ...base,
      installPgClient: "auto",
      env: env(path),
      install: () => assert.fail(),
    });
    assert.equal(found.path, join(path, "pg_dump"));
    assert.equal(found.env, undefined);

    const lib = join(work, "lib18");
    const installedBin = fakeBin("pg_dump", "18.1", lib);
    const wanted: number[] = [];
    const pinned = await findPgTool({
      ...base,
      pgVersion: 18,
      installPgClient: "auto",
      env: env(path),
      install: async (major) => {
        wanted.push(major);
        return {
          major,
          packageVersion: "18.1-1",
          dir: work,
          binDir: installedBin,
          env: { LD_LIBRARY_PATH: lib },
        };
      },
    });
    assert.deepEqual(wanted, [18]);
    assert.equal(pinned.major, 18);
    // The probe ran with the tool's own environment (the fake exits 127 without it).
    assert.deepEqual(pinned.env, { LD_LIBRARY_PATH: lib });
  });

  test("auto stops at the first tool of the server's own major: the ones after it are not run", async () => {
    const marker = join(work, "probed-after");
    const own = fakeBin("pg_dump", "16.4");
    const newer = fakeBin("pg_dump", "17.2");
    const later = mkdtempSync(join(work, "bin-"));
    writeFileSync(join(later, "pg_dump"), `#!/bin/sh\ntouch '${marker}'\necho 'pg_dump (PostgreSQL) 16.9'\n`);
    chmodSync(join(later, "pg_dump"), 0o755);
    const found = await findPgTool({ ...base, env: env([newer, own, later].join(":")) });
    assert.equal(found.path, join(own, "pg_dump"));
    assert.equal(existsSync(marker), false, "the search ended at the exact major");
    // Without one of the exact major, every candidate is still looked at: the oldest newer wins.
    const older = fakeBin("pg_dump", "15.2");
    const newest = fakeBin("pg_dump", "18.0");
    const fallback = await findPgTool({ ...base, env: env([newest, older, newer].join(":")) });
    assert.equal(fallback.path, join(newer, "pg_dump"));
  });

  test("install-pg-client never: the hint names install-pg-client auto", async () => {
    const old = fakeBin("pg_dump", "14.9");
    await assert.rejects(
      findPgTool({ ...base, installPgClient: "never", env: env(old), install: () => assert.fail() }),
      (error: unknown) =>
        error instanceof InputError &&
        /needs pg_dump 16 or newer; found pg_dump 14\.9 \(.*\); install postgresql-client-16 .* --install-pg-client auto/.test(
          error.message,
        ),
    );
  });

  test("pg-bin-dir with a pinned major that differs is bad input", async () => {
    const dir = fakeBin("pg_dump", "17.2");
    await assert.rejects(
      findPgTool({ ...base, pgBinDir: dir, pgVersion: 18, env: env(nothing) }),
      /--pg-version "18": the pg_dump in --pg-bin-dir ".*" is 17\.2/,
    );
  });
});
