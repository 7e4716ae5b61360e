import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addressFamilyProblem,
  certificateProblem,
  isLocalHost,
  poolerUserMessage,
  resolveSslMode,
  sessionPoolerUrl,
  supabaseHost,
  unresolvedHostMessage,
  urlRules,
} from "../../src/domain/connection-rules.js";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import { InputError } from "../../src/domain/errors.js";

const REF = "abcdefghijklmnopqrst";

test("Supabase's direct host and pooler hosts are recognised", () => {
  assert.deepEqual(supabaseHost(`db.${REF}.supabase.co`), { kind: "direct", ref: REF });
  assert.deepEqual(supabaseHost("aws-0-eu-central-1.pooler.supabase.com"), {
    kind: "pooler",
    region: "eu-central-1",
    host: "aws-0-eu-central-1.pooler.supabase.com",
  });
  assert.equal(supabaseHost("aws-1-us-east-2.pooler.supabase.com")?.kind, "pooler");
  for (const other of ["db.example.com", `db.${REF}.supabase.co.evil.com`, "supabase.co", "localhost"]) {
    assert.equal(supabaseHost(other), undefined, other);
  }
});

test("local hosts are localhost, 127.0.0.0/8, ::1 and Unix socket directories; nothing else", () => {
  for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "/var/run/postgresql"]) {
    assert.ok(isLocalHost(host), host);
  }
  for (const host of ["10.0.0.5", "192.168.1.2", "postgres", "db.example.com", "128.0.0.1", "::2"]) {
    assert.ok(!isLocalHost(host), host);
  }
});

test("sslmode: the URL's when given, require for remote hosts, prefer for local ones, disable on a socket", () => {
  assert.deepEqual(resolveSslMode({}, "db.example.com"), { mode: "require", explicit: false });
  assert.deepEqual(resolveSslMode({}, "postgres"), { mode: "require", explicit: false });
  assert.deepEqual(resolveSslMode({}, "localhost"), { mode: "prefer", explicit: false });
  assert.deepEqual(resolveSslMode({}, "127.0.0.1"), { mode: "prefer", explicit: false });
  assert.deepEqual(resolveSslMode({}, "/tmp"), { mode: "disable", explicit: false });
  assert.deepEqual(resolveSslMode({ sslmode: "disable" }, "db.example.com"), {
    mode: "disable",
    explicit: true,
  });
  assert.deepEqual(resolveSslMode({ sslmode: "verify-full" }, "localhost"), {
    mode: "verify-full",
    explicit: true,
  });
  assert.deepEqual(resolveSslMode({ ssl: "true" }, "localhost"), { mode: "require", explicit: true });
  assert.deepEqual(resolveSslMode({ ssl: "false" }, "db.example.com"), { mode: "disable", explicit: true });
  assert.deepEqual(resolveSslMode({ sslrootcert: "system" }, "db.example.com"), {
    mode: "verify-full",
    explicit: true,
  });
});

test("an unknown sslmode, ssl value or a weak mode with sslrootcert=system is bad input naming --database-url", () => {
  const cases: Record<string, string>[] = [
    { sslmode: "required" },
    { sslmode: "" },
    { ssl: "maybe" },
    { sslmode: "require", sslrootcert: "system" },
  ];
  for (const params of cases) {
    assert.throws(
      () => resolveSslMode(params, "db.example.com"),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "database-url" &&
        error.message.startsWith("--database-url: ") &&
        !error.message.includes("\n"),
      JSON.stringify(params),
    );
  }
  assert.throws(
    () => parseDatabaseUrl("postgresql://u:p@h/d?sslmode=on"),
    /sslmode "on" is not one of disable, allow, prefer, require, verify-ca, verify-full/,
  );
});

test("the session pooler form keeps user, database and options, names the project in the user, never the password", () => {
  const url = parseDatabaseUrl(
    `postgresql://postgres:hunter2@db.${REF}.supabase.co:5432/postgres?application_name=x`,
  );
  const form = sessionPoolerUrl(url, REF);
  assert.equal(
    form,
    `postgresql://postgres.${REF}:[YOUR-PASSWORD]@aws-0-<region>.pooler.supabase.com:5432/postgres?application_name=x&sslmode=require`,
  );
  assert.ok(!form.includes("hunter2"));
  const other = parseDatabaseUrl(`postgresql://backup_reader@db.${REF}.supabase.co/app`);
  assert.match(
    sessionPoolerUrl(other, REF),
    new RegExp(`^postgresql://backup_reader\\.${REF}:\\[YOUR-PASSWORD\\]@`),
  );
});

test("port 6543 on Supabase is the transaction pooler: a failure that says why and what to use", () => {
  const pooler = parseDatabaseUrl(
    `postgresql://postgres.${REF}:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`,
  );
  const [finding] = urlRules(pooler);
  assert.equal(finding?.level, "fail");
  assert.match(
    finding!.message,
    /^--database-url: port 6543 is Supabase's transaction pooler, and pg_dump needs one server session/,
  );
  assert.match(finding!.message, new RegExp(`port 5432, user postgres\\.${REF}`));
  const direct = parseDatabaseUrl(`postgresql://postgres:pw@db.${REF}.supabase.co:6543/postgres`);
  assert.match(urlRules(direct)[0]!.message, /aws-0-<region>\.pooler\.supabase\.com:5432/);
  assert.ok(!urlRules(direct)[0]!.message.includes(":pw@"));
});

test("port 6543 elsewhere is only a warning; Neon's -pooler host is refused; ordinary URLs pass", () => {
  assert.deepEqual(
    urlRules(parseDatabaseUrl("postgresql://u:p@db.example.com:6543/d")).map((f) => f.level),
    ["warn"],
  );
  const neon = urlRules(
    parseDatabaseUrl("postgresql://u:p@ep-cool-name-123456-pooler.us-east-2.aws.neon.tech/db"),
  );
  assert.equal(neon[0]?.level, "fail");
  assert.match(neon[0]!.message, /use the direct host ep-cool-name-123456\.us-east-2\.aws\.neon\.tech$/);
  assert.deepEqual(urlRules(parseDatabaseUrl("postgresql://u:p@db.example.com:5432/d")), []);
  assert.deepEqual(
    urlRules(
      parseDatabaseUrl(`postgresql://postgres.${REF}:p@aws-0-eu-west-1.pooler.supabase.com:5432/postgres`),
    ),
    [],
  );
});

test("IPv6-only hosts fail only on a machine without an IPv6 route, with the pooler form for Supabase", () => {
  const url = parseDatabaseUrl(`postgresql://postgres:hunter2@db.${REF}.supabase.co:5432/postgres`);
  const v6 = [{ address: "2a05:d014:1c06:5f00::1", family: 6 as const }];
  const message = addressFamilyProblem(url, v6, false);
  assert.ok(message);
  assert.match(
    message,
    /has only IPv6 addresses \(2a05:d014:1c06:5f00::1\) and this machine has no IPv6 route/,
  );
  assert.match(
    message,
    /postgresql:\/\/postgres\.abcdefghijklmnopqrst:\[YOUR-PASSWORD\]@aws-0-<region>\.pooler\.supabase\.com:5432\/postgres/,
  );
  assert.match(message, /Connect -> Session pooler/);
  assert.ok(!message.includes("hunter2"));
  assert.equal(addressFamilyProblem(url, v6, true), undefined);
  assert.equal(addressFamilyProblem(url, [...v6, { address: "3.3.3.3", family: 4 }], false), undefined);
  const generic = addressFamilyProblem(parseDatabaseUrl("postgresql://u@db.example.com/d"), v6, false);
  assert.match(
    generic!,
    /^--database-url: host "db\.example\.com" has only IPv6 addresses .* reachable over IPv4$/,
  );
  // A link-local or unique-local address is not a question of a global route.
  assert.equal(addressFamilyProblem(url, [{ address: "fd00::5", family: 6 }], false), undefined);
});

test("unresolved hosts, unknown pooler users and certificate problems are one line naming the part to fix", () => {
  const direct = parseDatabaseUrl(`postgresql://postgres:pw@db.${REF}.supabase.co/postgres`);
  assert.match(unresolvedHostMessage(direct), new RegExp(`the project ref "${REF}" may be wrong`));
  assert.match(
    unresolvedHostMessage(parseDatabaseUrl("postgresql://u@nowhere.example/d")),
    /could not be resolved \(check the host name\)$/,
  );
  const pooler = parseDatabaseUrl("postgresql://postgres:pw@aws-0-eu-west-1.pooler.supabase.com/postgres");
  assert.match(poolerUserMessage(pooler), /user "postgres".*the user is postgres\.<project-ref>/);
  const wrongRef = parseDatabaseUrl(
    "postgresql://postgres.wrongref:pw@aws-0-eu-west-1.pooler.supabase.com/postgres",
  );
  assert.match(poolerUserMessage(wrongRef), /the project ref "wrongref" in the user part may be wrong/);
  assert.match(
    certificateProblem("DEPTH_ZERO_SELF_SIGNED_CERT", "verify-full")!,
    /is self-signed \(sslmode=verify-full\); pass the CA .* sslrootcert=.* or use sslmode=require/,
  );
  assert.match(certificateProblem("ERR_TLS_CERT_ALTNAME_INVALID", "verify-full")!, /host name mismatch/);
  assert.equal(certificateProblem("ECONNRESET", "require"), undefined);
});
