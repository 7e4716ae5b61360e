/**
 * Issue 12: nothing secret on a PostgreSQL tool's command line (readable in /proc by every user),
 * and nothing of the outer PG* environment in its environment. The real pg_dump and pg_dumpall run
 * behind wrappers that write down what they were started with.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pgConnection } from "../../src/postgres/child-env.js";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let source: Cluster;
let work: string;
let binDir: string;
let seen: string;
let recipient: string;
const KEY_PASSPHRASE = "key-passphrase-7f3e9a";

before(async () => {
  source = await startCluster();
  await createShop(source, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-pgtool-"));
  binDir = join(work, "bin");
  seen = join(work, "seen");
  mkdirSync(binDir);
  mkdirSync(seen);
  for (const tool of ["pg_dump", "pg_dumpall"]) {
    const wrapper = join(binDir, tool);
    writeFileSync(
      wrapper,
      [
        "#!/bin/sh",
        `out=${seen}/${tool}-$$`,
        `printf '%s\\n' "$@" > "$out.args"`,
        `env | grep '^PG' | sort > "$out.env"`,
        `if [ -n "$PGSERVICEFILE" ]; then stat -c %a "$PGSERVICEFILE" > "$out.mode"; stat -c %a "$(dirname "$PGSERVICEFILE")" > "$out.dirmode"; cat "$PGSERVICEFILE" > "$out.service"; fi`,
        `exec ${join(source.binDir, tool)} "$@"`,
        "",
      ].join("\n"),
    );
    chmodSync(wrapper, 0o755);
  }
  const identity = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
});

after(async () => {
  await source?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function seenFiles(suffix: string): string[] {
  return readdirSync(seen)
    .filter((name) => name.endsWith(suffix))
    .map((name) => readFileSync(join(seen, name), "utf8"));
}

test("sslpassword reaches pg_dump in a 0600 service file, never on the command line; outer PG* variables never reach them", async () => {
  const url = `${source.url("shop")}?sslmode=disable&sslpassword=${encodeURIComponent(KEY_PASSPHRASE)}`;
  const run = await runCli(
    ["backup", "--storage", join(work, "store"), "--recipient", recipient, "--pg-bin-dir", binDir, "--json"],
    {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: url,
        // Each would make the tools connect elsewhere or differently from Lifeboat's own connection.
        PGHOSTADDR: "10.255.255.1",
        PGSERVICE: "elsewhere",
        PGSSLROOTCERT: "/nonexistent/root.crt",
        PGOPTIONS: "-c statement_timeout=1",
      },
    },
  );
  assert.equal(run.code, 0, run.stderr);
  const args = seenFiles(".args").filter((text) => text.includes("--dbname="));
  assert.ok(args.length >= 1, "pg_dump ran against the database");
  for (const text of args) {
    assert.ok(!text.includes(KEY_PASSPHRASE), `a key passphrase on the command line: ${text}`);
    assert.ok(!text.includes(source.password), "a password on the command line");
    assert.match(text, /service=lifeboat/);
  }
  for (const text of seenFiles(".service")) assert.equal(text, `[lifeboat]\nsslpassword=${KEY_PASSPHRASE}\n`);
  assert.deepEqual([...new Set(seenFiles(".mode"))], ["600\n"]);
  assert.deepEqual([...new Set(seenFiles(".dirmode"))], ["700\n"]);
  for (const text of seenFiles(".env")) {
    const names = text
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("=")[0]);
    for (const name of names) {
      assert.ok(
        ["PGPASSWORD", "PGSSLMODE", "PGAPPNAME", "PGCONNECT_TIMEOUT", "PGSERVICEFILE", "PGTZ"].includes(
          name!,
        ),
        `${name} reached the tool`,
      );
    }
  }
  // The service files are gone with the tools.
  assert.deepEqual(
    readdirSync(tmpdir()).filter((name) => name.startsWith("lifeboat-pgservice-") && seenServiceDir(name)),
    [],
  );
});

/** Whether a service directory is one the wrappers saw (others belong to concurrent tests). */
function seenServiceDir(name: string): boolean {
  return seenFiles(".env").some((text) => text.includes(`/${name}/`));
}

test("without sslpassword the command line is the URL without its password, and no service file is made", () => {
  const url = parseDatabaseUrl("postgresql://u:secret-pw@db.example.com:5432/app?sslmode=require");
  const connection = pgConnection(url);
  assert.equal(connection.dbname, url.withoutPassword);
  assert.deepEqual(connection.env, {});
  const withKey = pgConnection(
    parseDatabaseUrl(
      "postgresql://u:pw@db.example.com/app?sslmode=require&sslcert=/c&sslkey=/k&sslpassword=kp",
    ),
  );
  try {
    assert.ok(!withKey.dbname.includes("kp"));
    assert.match(withKey.dbname, /sslkey=%2Fk/);
    assert.ok(existsSync(withKey.env.PGSERVICEFILE!));
  } finally {
    withKey.dispose();
  }
  assert.ok(!existsSync(withKey.env.PGSERVICEFILE!));
});
