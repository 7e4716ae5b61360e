/** `lifeboat doctor` as a user types it, and the preflight that backup runs, against a real cluster. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { doctorCommand, parseDoctorSettings } from "../../src/commands/doctor/definition.js";
import { runDoctor } from "../../src/postgres/doctor.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const REF = "zyxwvutsrqponmlkjihg";
const SECRET = "not-the-password-9f2c";

let cluster: Cluster;
let work: string;

before(async () => {
  cluster = await startCluster();
  work = mkdtempSync(join(tmpdir(), "lifeboat-doctor-cli-"));
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ PATH: process.env.PATH });

describe("lifeboat doctor", () => {
  test("--help lists its options", async () => {
    const run = await runCli(["doctor", "--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: lifeboat doctor \[options\]/);
    for (const option of [
      "--database-url URL",
      "--pg-bin-dir",
      "--pg-version",
      "--install-pg-client",
      "--json",
    ]) {
      assert.ok(run.stdout.includes(option), option);
    }
  });

  test("a good URL: exit 0 and a table of every check", async () => {
    const run = await runCli(["doctor", "--database-url", cluster.url()], { env: env() });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.match(lines[0]!, /^CHECK\s+RESULT\s+DETAIL$/);
    for (const name of [
      "url",
      "dns",
      "tcp",
      "tls",
      "authentication",
      "server",
      "timeouts",
      "privileges",
      "pg_dump",
    ]) {
      assert.ok(
        lines.some((line) => new RegExp(`^${name}\\s+ok\\s+\\S`).test(line)),
        `${name} in\n${run.stdout}`,
      );
    }
    assert.equal(lines.at(-1), "ready for a backup");
    assert.ok(!run.stdout.includes(cluster.password));
  });

  test("--json: one object with ok, exitCode and the checks; the URL comes from DATABASE_URL too", async () => {
    const run = await runCli(["doctor", "--json"], { env: { ...env(), DATABASE_URL: cluster.url() } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.ok, true);
    assert.equal(run.json.exitCode, 0);
    assert.equal(run.json.sslmode, "prefer");
    const checks = run.json.checks as { name: string; status: string; detail: string }[];
    assert.equal(checks.length, 9);
    assert.ok(checks.every((entry) => entry.status === "ok" && entry.detail.length > 0));
    assert.match((run.json.server as { version: string }).version, /^\d+\.\d+/);
    assert.ok(!run.stdout.includes(cluster.password));
  });

  test("port 6543 on Supabase's pooler: exit 2, explaining that pg_dump needs a session", async () => {
    const run = await runCli(
      [
        "doctor",
        "--database-url",
        `postgresql://postgres.${REF}:${SECRET}@aws-0-eu-west-2.pooler.supabase.com:6543/postgres`,
      ],
      { env: env() },
    );
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^lifeboat: error: --database-url: port 6543 is Supabase's transaction pooler, and pg_dump needs one server session for its whole run \(its snapshot and settings\); use the session pooler on the same host: port 5432/,
    );
    assert.match(run.stdout, /^url\s+FAIL\s+/m);
    assert.match(run.stdout, /^dns\s+-\s+not checked/m);
    assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET));
  });

  test("a simulated IPv6-only db.<ref>.supabase.co: exit 2 with the session pooler form and no password", async () => {
    const settings = parseDoctorSettings({
      "database-url": `postgresql://postgres:${SECRET}@db.${REF}.supabase.co:5432/postgres`,
    });
    const report = await runDoctor(settings, {
      env: env(),
      lookup: async () => [{ address: "2600:1f18:2e13:9d00::1", family: 6 }],
      hasIpv6Route: () => false,
    });
    const failure = doctorCommand.failure!(report);
    assert.ok(typeof failure === "object");
    assert.equal(failure.exitCode, 2);
    const json = { ...doctorCommand.json(report, { settings }), error: failure.message } as {
      exitCode: number;
      error: string;
    };
    assert.equal(json.exitCode, 2);
    assert.match(
      json.error,
      new RegExp(
        `^--database-url: db\\.${REF}\\.supabase\\.co has only IPv6 addresses .* use Supabase's session pooler instead: postgresql://postgres\\.${REF}:\\[YOUR-PASSWORD\\]@aws-0-<region>\\.pooler\\.supabase\\.com:5432/postgres\\?sslmode=require \\(copy the pooler host from the dashboard: Connect -> Session pooler\\)$`,
      ),
    );
    const text = doctorCommand.text(report, { settings });
    assert.match(text, /^dns\s+FAIL\s+--database-url: db\./m);
    assert.ok(!text.includes(SECRET) && !JSON.stringify(json).includes(SECRET));
  });

  test("a wrong password: one line naming the user; the password is in neither stdout nor stderr", async () => {
    const run = await runCli(["doctor", "--database-url", cluster.url("postgres", { password: SECRET })], {
      env: env(),
    });
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `lifeboat: error: --database-url: authentication failed for user "postgres" at 127.0.0.1:${cluster.port} (check the user and password)`,
    );
    assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET));
  });

  test("sslmode=require against a server without TLS: exit 2 with the TLS message", async () => {
    const run = await runCli(["doctor", "--database-url", `${cluster.url()}?sslmode=require`], {
      env: env(),
    });
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `lifeboat: error: --database-url: the server at 127.0.0.1:${cluster.port} does not offer TLS and sslmode is require; add ?sslmode=disable only on a network you trust (a service container, a private network)`,
    );
  });

  test("an unknown sslmode is bad input before anything connects", async () => {
    const run = await runCli(["doctor", "--database-url", `${cluster.url()}?sslmode=yes`], { env: env() });
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^lifeboat: error: --database-url: sslmode "yes" is not one of disable, allow, prefer/,
    );
  });
});

describe("backup runs the preflight", () => {
  test("a transaction pooler URL is refused before the store is touched", async () => {
    const storage = join(work, "never-created");
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--no-encryption",
        "--database-url",
        `postgresql://postgres.${REF}:${SECRET}@aws-0-eu-west-2.pooler.supabase.com:6543/postgres`,
      ],
      { env: env() },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /port 6543 is Supabase's transaction pooler/);
    assert.ok(!existsSync(storage));
    assert.ok(!run.stderr.includes(SECRET));
  });

  test("sslmode=require against a server without TLS stops the backup with the TLS message", async () => {
    const storage = join(work, "tls-store");
    const run = await runCli(
      [
        "backup",
        "--storage",
        storage,
        "--no-encryption",
        "--database-url",
        `${cluster.url()}?sslmode=require`,
      ],
      { env: env() },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /does not offer TLS and sslmode is require/);
    assert.ok(!existsSync(storage));
  });
});
