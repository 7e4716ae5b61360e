/**
 * The connection doctor and preflight against a real cluster: DNS and IPv6 simulated through the
 * injected resolver and route probe; TLS with a real self-signed certificate.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import { InputError } from "../../src/domain/errors.js";
import { connect, connectionError } from "../../src/postgres/connect.js";
import { preflight, runDoctor, type DoctorReport } from "../../src/postgres/doctor.js";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { enableTls, makeSelfSigned } from "../helpers/tls.js";

const REF = "qwertyuiopasdfghjklz";
const SECRET = "hunter2-very-secret";

let plain: Cluster;
let secure: Cluster;
let work: string;
let serverCert: { cert: string; key: string };
let otherCa: { cert: string; key: string };

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-doctor-"));
  serverCert = makeSelfSigned(work, "server", "localhost");
  otherCa = makeSelfSigned(work, "other", "localhost");
  [plain, secure] = await Promise.all([startCluster(), startCluster()]);
  await secure.sql("postgres", "ALTER SYSTEM SET log_connections = on");
  await enableTls(secure, serverCert);
  await plain.sql(
    "postgres",
    `CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
     CREATE TABLE public.open_data (id int);
     CREATE TABLE public.closed_data (id int);
     CREATE TABLE public.guarded (id int);
     ALTER TABLE public.guarded ENABLE ROW LEVEL SECURITY;
     GRANT SELECT ON public.open_data, public.guarded TO reader;
     CREATE ROLE timid LOGIN PASSWORD 'timid-pw';
     GRANT pg_read_all_data TO timid;
     ALTER ROLE timid BYPASSRLS;
     ALTER ROLE timid SET statement_timeout = '100ms';
     ALTER ROLE timid SET idle_in_transaction_session_timeout = '500ms'`,
  );
});

after(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const settingsFor = (url: string) => ({
  databaseUrl: parseDatabaseUrl(url),
  pgBinDir: undefined,
  pgVersion: "auto" as const,
  installPgClient: "never" as const,
  preset: "none" as const,
});
const env = { PATH: process.env.PATH };
const check = (report: DoctorReport, name: string) => report.checks.find((entry) => entry.name === name)!;

describe("preflight", () => {
  test("an IPv6-only db.<ref>.supabase.co on a machine without IPv6 is exit 2 with the session pooler form", async () => {
    const url = parseDatabaseUrl(`postgresql://postgres:${SECRET}@db.${REF}.supabase.co:5432/postgres`);
    let asked = "";
    await assert.rejects(
      preflight(url, "database-url", {
        lookup: async (host) => {
          asked = host;
          return [{ address: "2a05:d018:135e:1601::5", family: 6 }];
        },
        hasIpv6Route: () => false,
      }),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.exitCode, 2);
        assert.equal(error.input, "database-url");
        assert.ok(!error.message.includes("\n"));
        assert.ok(!error.message.includes(SECRET));
        assert.match(
          error.message,
          new RegExp(
            `postgresql://postgres\\.${REF}:\\[YOUR-PASSWORD\\]@aws-0-<region>\\.pooler\\.supabase\\.com:5432/postgres`,
          ),
        );
        assert.match(error.message, /Connect -> Session pooler/);
        return true;
      },
    );
    assert.equal(asked, `db.${REF}.supabase.co`);
    // The same host passes on a machine that has IPv6.
    await preflight(url, "database-url", {
      lookup: async () => [{ address: "2a05:d018:135e:1601::5", family: 6 }],
      hasIpv6Route: () => true,
    });
  });

  test("a project ref that does not resolve is named; the transaction pooler is refused before any lookup", async () => {
    const unknown = parseDatabaseUrl(`postgresql://postgres:${SECRET}@db.${REF}.supabase.co/postgres`);
    await assert.rejects(
      preflight(unknown, "database-url", {
        lookup: () =>
          Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" })),
        hasIpv6Route: () => false,
      }),
      new RegExp(
        `^InputError: --database-url: host "db\\.${REF}\\.supabase\\.co" does not resolve: the project ref "${REF}" may be wrong`,
      ),
    );
    const pooler = parseDatabaseUrl(
      `postgresql://postgres.${REF}:${SECRET}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres`,
    );
    await assert.rejects(
      preflight(pooler, "database-url", {
        lookup: () => assert.fail("no lookup for a URL that is refused as it is"),
      }),
      /port 6543 is Supabase's transaction pooler/,
    );
  });

  test("a real local cluster passes", async () => {
    await preflight(parseDatabaseUrl(plain.url()));
    await preflight(parseDatabaseUrl(plain.url().replace("127.0.0.1", "localhost")));
  });
});

describe("runDoctor", () => {
  test("a good URL passes every check, exit 0", async () => {
    const report = await runDoctor(settingsFor(plain.url()), { env });
    assert.equal(report.exitCode, 0, JSON.stringify(report.checks));
    assert.ok(report.ok);
    assert.deepEqual(
      report.checks.map((entry) => entry.name),
      ["url", "dns", "tcp", "tls", "authentication", "server", "timeouts", "privileges", "pg_dump"],
    );
    assert.ok(
      report.checks.every((entry) => entry.status === "ok"),
      JSON.stringify(report.checks),
    );
    assert.match(check(report, "pg_dump").detail, /^pg_dump \d+\.\d+ \(.*pg_dump\) can dump PostgreSQL \d+/);
    assert.match(check(report, "tls").detail, /offers no TLS/);
  });

  test("a wrong password fails authentication naming the user, never printing the password", async () => {
    const report = await runDoctor(settingsFor(plain.url("postgres", { password: SECRET })), { env });
    assert.equal(report.exitCode, 2);
    assert.equal(check(report, "authentication").status, "fail");
    assert.equal(
      check(report, "authentication").detail,
      `--database-url: authentication failed for user "postgres" at 127.0.0.1:${plain.port} (check the user and password)`,
    );
    assert.ok(!JSON.stringify(report.checks).includes(SECRET));
    assert.equal(check(report, "pg_dump").status, "skip");
  });

  test("a role's timeouts are reported and are off in Lifeboat's session", async () => {
    const report = await runDoctor(
      settingsFor(plain.url("postgres", { user: "timid", password: "timid-pw" })),
      {
        env,
      },
    );
    assert.equal(report.exitCode, 0, JSON.stringify(report.checks));
    const timeouts = check(report, "timeouts");
    assert.equal(timeouts.status, "ok");
    assert.match(timeouts.detail, /idle_in_transaction_session_timeout=500ms/);
    assert.match(timeouts.detail, /statement_timeout=100ms/);
    assert.match(timeouts.detail, /Lifeboat turns them off/);
    const client = await connect(
      parseDatabaseUrl(plain.url("postgres", { user: "timid", password: "timid-pw" })),
    );
    try {
      const rows = (
        await client.query<{ s: string; i: string }>(
          "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i",
        )
      ).rows;
      assert.deepEqual(rows, [{ s: "0", i: "0" }]);
    } finally {
      await client.end();
    }
  });

  test("tables the user cannot read (no SELECT, row-level security) fail the privileges check", async () => {
    const report = await runDoctor(
      settingsFor(plain.url("postgres", { user: "reader", password: "reader-pw" })),
      { env },
    );
    assert.equal(report.exitCode, 2);
    const privileges = check(report, "privileges");
    assert.equal(privileges.status, "fail");
    assert.match(
      privileges.detail,
      /2 of 3 tables and sequences cannot be read by this user: public\.closed_data \(no SELECT\), public\.guarded \(row-level security\)/,
    );
    // pg_dump is still looked for: the server was reached.
    assert.equal(check(report, "pg_dump").status, "ok");
  });

  test("with preset supabase, the platform schemas the preset leaves out are not checked", async () => {
    await plain.sql("postgres", "CREATE SCHEMA vault; CREATE TABLE vault.secrets (id int)");
    try {
      const url = plain.url("postgres", { user: "reader", password: "reader-pw" });
      const none = check(await runDoctor(settingsFor(url), { env }), "privileges");
      assert.match(none.detail, /3 of 4 tables .*vault\.secrets \(no USAGE on its schema\)/);
      const supabase = check(
        await runDoctor({ ...settingsFor(url), preset: "supabase" }, { env }),
        "privileges",
      );
      assert.equal(supabase.status, "fail", "public tables still count");
      assert.match(supabase.detail, /: 2 of 3 tables/);
      assert.doesNotMatch(supabase.detail, /vault/);
    } finally {
      await plain.sql("postgres", "DROP SCHEMA vault CASCADE");
    }
  });

  test("sslmode=require against a server without TLS fails the TLS check, exit 2", async () => {
    const report = await runDoctor(settingsFor(`${plain.url()}?sslmode=require`), { env });
    assert.equal(report.exitCode, 2);
    assert.equal(check(report, "tls").status, "fail");
    assert.match(
      check(report, "tls").detail,
      /does not offer TLS and sslmode is require; add \?sslmode=disable only on a network you trust/,
    );
  });

  test("TLS with a self-signed certificate: require encrypts; verify-full refuses it with the fix", async () => {
    const required = await runDoctor(settingsFor(`${secure.url()}?sslmode=require`), { env });
    assert.equal(required.exitCode, 0, JSON.stringify(required.checks));
    assert.match(
      check(required, "tls").detail,
      /^TLSv1\.[23], encrypted, certificate not verified \(sslmode=require\)$/,
    );
    assert.match(check(required, "authentication").detail, /over TLS$/);

    // The default for a local host (prefer) uses TLS when the server offers it.
    const preferred = await runDoctor(settingsFor(secure.url()), { env });
    assert.match(check(preferred, "authentication").detail, /over TLS$/);

    const unknownCa = await runDoctor(
      settingsFor(
        `${secure.url().replace("127.0.0.1", "localhost")}?sslmode=verify-full&sslrootcert=${otherCa.cert}`,
      ),
      { env },
    );
    assert.equal(unknownCa.exitCode, 2);
    assert.equal(check(unknownCa, "tls").status, "fail");
    assert.match(
      check(unknownCa, "tls").detail,
      /^--database-url: localhost:\d+: the server's TLS certificate is self-signed \(sslmode=verify-full\); pass the CA that signed it with sslrootcert=\/path\/to\/ca\.crt, or use sslmode=require/,
    );

    const mismatch = await runDoctor(
      settingsFor(`${secure.url()}?sslmode=verify-full&sslrootcert=${serverCert.cert}`),
      {
        env,
      },
    );
    assert.match(check(mismatch, "tls").detail, /does not name this host \(host name mismatch\)/);

    const verified = await runDoctor(
      settingsFor(
        `${secure.url().replace("127.0.0.1", "localhost")}?sslmode=verify-full&sslrootcert=${serverCert.cert}`,
      ),
      { env },
    );
    assert.equal(verified.exitCode, 0, JSON.stringify(verified.checks));
    assert.match(check(verified, "tls").detail, /certificate and host name verified \(sslmode=verify-full\)/);

    const noCa = await runDoctor(settingsFor(`${secure.url()}?sslmode=verify-full`), { env });
    assert.match(
      check(noCa, "tls").detail,
      /sslmode=verify-full needs the CA that signed the server's certificate: add sslrootcert=/,
    );
  });

  test("connect() itself refuses the certificate the same way (a backup never gets as far as pg_dump)", async () => {
    await assert.rejects(
      connect(
        parseDatabaseUrl(
          `${secure.url().replace("127.0.0.1", "localhost")}?sslmode=verify-full&sslrootcert=${otherCa.cert}`,
        ),
      ),
      (error: unknown) =>
        error instanceof InputError &&
        /TLS certificate is self-signed/.test(error.message) &&
        !error.message.includes(secure.password),
    );
    const client = await connect(
      parseDatabaseUrl(`${secure.url()}?sslmode=verify-ca&sslrootcert=${serverCert.cert}`),
    );
    try {
      const [row] = (
        await client.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
      ).rows;
      assert.equal(row?.ssl, true);
    } finally {
      await client.end();
    }
  });
});

describe("pg_dump gets the same sslmode", () => {
  test("a backup with sslmode=require, then verify-full with sslrootcert, dumps over TLS", async () => {
    for (const [label, url] of [
      ["required", `${secure.url()}?sslmode=require`],
      [
        "verified",
        `${secure.url().replace("127.0.0.1", "localhost")}?sslmode=verify-full&sslrootcert=${serverCert.cert}`,
      ],
    ] as const) {
      const run = await runCli(
        [
          "backup",
          "--storage",
          join(work, "store"),
          "--label",
          label,
          "--no-encryption",
          "--database-url",
          url,
        ],
        { env: { PATH: process.env.PATH } },
      );
      assert.equal(run.code, 0, run.stderr);
    }
    const log = readFileSync(join(secure.dataDir, "server.log"), "utf8");
    const dumps = log
      .split("\n")
      .filter((line) => /connection authorized: .*application_name=lifeboat pg_dump/.test(line));
    assert.equal(dumps.length, 2, dumps.join("\n"));
    for (const line of dumps) assert.match(line, /SSL enabled \(protocol=TLSv1\.[23]/);
  });
});

/** A stand-in for Supavisor that answers every startup with its "Tenant or user not found". */
async function fakeSupavisor(): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket) => {
    socket.on("data", (data) => {
      // SSLRequest (length 8, code 80877103): no TLS here; anything else is the startup message.
      if (data.length === 8 && data.readUInt32BE(4) === 80877103) return void socket.write("N");
      const fields = Buffer.from("SFATAL\0VFATAL\0CXX000\0MTenant or user not found\0\0", "latin1");
      const header = Buffer.alloc(5);
      header.write("E", 0, "latin1");
      header.writeUInt32BE(fields.length + 4, 1);
      socket.end(Buffer.concat([header, fields]));
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

describe("connection errors name the part of the URL to fix", () => {
  test("Supavisor's 'Tenant or user not found' names the user part, expecting postgres.<ref>", async () => {
    const pooler = await fakeSupavisor();
    try {
      await assert.rejects(
        connect(parseDatabaseUrl(`postgresql://postgres:${SECRET}@127.0.0.1:${pooler.port}/postgres`)),
        (error: unknown) => {
          assert.ok(error instanceof InputError);
          assert.equal(
            error.message,
            `--database-url: the pooler does not know user "postgres" ("Tenant or user not found"); on Supabase's pooler the user is postgres.<project-ref>, e.g. postgres.abcdefghijklmnop`,
          );
          return true;
        },
      );
      const report = await runDoctor(
        settingsFor(`postgresql://postgres.wrongref:${SECRET}@127.0.0.1:${pooler.port}/postgres`),
        { env },
      );
      assert.equal(report.exitCode, 2);
      assert.match(
        check(report, "authentication").detail,
        /the project ref "wrongref" in the user part may be wrong/,
      );
      assert.ok(!JSON.stringify(report).includes(SECRET));
    } finally {
      pooler.close();
    }
  });

  test("ENOTFOUND on db.<ref>.supabase.co says the project ref may be wrong", () => {
    const url = parseDatabaseUrl(`postgresql://postgres:${SECRET}@db.${REF}.supabase.co/postgres`);
    const error = connectionError(
      Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }),
      url,
      "database-url",
    );
    assert.match(
      error.message,
      new RegExp(
        `^--database-url: host "db\\.${REF}\\.supabase\\.co" does not resolve: the project ref "${REF}" may be wrong`,
      ),
    );
    assert.equal(error.exitCode, 2);
  });
});
