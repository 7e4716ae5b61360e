import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { connectionString, parseDatabaseUrl } from "../../src/domain/database-url.js";
import { InputError } from "../../src/domain/errors.js";
import { isDeniedName, parsePassThrough, pgToolEnv, userCommandEnv } from "../../src/postgres/child-env.js";
import { toolSpawn } from "../../src/postgres/pg-dump-finder.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

/** What the outer process has: a job's environment in the actions, with every kind of secret. */
const OUTER: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: "/home/runner",
  TMPDIR: "/tmp",
  TZ: "UTC",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  LC_TIME: "C.UTF-8",
  USER: "runner",
  SHELL: "/bin/bash",
  CI: "true",
  GITHUB_ACTIONS: "true",
  GITHUB_REPOSITORY: "acme/app",
  GITHUB_SHA: "0123456789abcdef",
  GITHUB_TOKEN: "ghs_token",
  GITHUB_ENV: "/home/runner/work/_temp/_runner_file_commands/set_env",
  GITHUB_PATH: "/home/runner/work/_temp/_runner_file_commands/add_path",
  RUNNER_TEMP: "/home/runner/work/_temp",
  RUNNER_OS: "Linux",
  ACTIONS_RUNTIME_TOKEN: "runtime-token",
  ACTIONS_ID_TOKEN_REQUEST_URL: "https://token.actions.example/x",
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc-request-token",
  ACTIONS_RESULTS_URL: "https://results.example/",
  AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "aws-secret",
  AWS_SESSION_TOKEN: "aws-session",
  DATABASE_URL: "postgresql://prod:prod-password@prod.example:5432/app",
  LIFEBOAT_PASSPHRASE: "passphrase",
  LIFEBOAT_IDENTITY: "AGE-SECRET-KEY-1QQQ",
  INPUT_IDENTITY: "AGE-SECRET-KEY-1QQQ",
  "INPUT_DATABASE-URL": "postgresql://prod:prod-password@prod.example:5432/app",
  INPUT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/x",
  PGPASSWORD: "prod-password",
  PGHOST: "prod.example",
  PGHOSTADDR: "10.9.9.9",
  PGSERVICE: "production",
  PGPASSFILE: "/home/runner/.pgpass-prod",
  PGSSLROOTCERT: "/etc/prod-ca.crt",
  PGOPTIONS: "-c search_path=evil",
  PGTZ: "Pacific/Chatham",
  PG_COLOR: "always",
  LD_LIBRARY_PATH: "/opt/lib",
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
  NODE_OPTIONS: "--no-deprecation",
  MIGRATE_CONFIG: "/repo/migrate.yml",
  APP_ENVIRONMENT: "staging",
  APP_MODE: "test",
};

/** The environment a real child process sees. */
function seenBy(env: NodeJS.ProcessEnv): Record<string, string> {
  const result = spawnSync(process.execPath, ["-e", "process.stdout.write(JSON.stringify(process.env))"], {
    env,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, string>;
}

const scratch = parseDatabaseUrl("postgresql://scratch:s3cr%40t%2F@127.0.0.1:54329/lifeboat_restore_test_x");

describe("pgToolEnv", () => {
  test("a child sees the basics, the locale with English messages, and only our PG* variables", () => {
    const seen = seenBy(
      pgToolEnv(OUTER, {
        password: "pw",
        sslmode: "require",
        appName: "lifeboat pg_dump",
        connectTimeoutSeconds: 15,
        timeZone: "UTC",
      }),
    );
    assert.deepEqual(seen, {
      PATH: OUTER.PATH,
      HOME: "/home/runner",
      TMPDIR: "/tmp",
      TZ: "UTC",
      LANG: "C.UTF-8",
      LC_TIME: "C.UTF-8",
      LC_MESSAGES: "C",
      LD_LIBRARY_PATH: "/opt/lib",
      SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
      PGPASSWORD: "pw",
      PGSSLMODE: "require",
      PGAPPNAME: "lifeboat pg_dump",
      PGCONNECT_TIMEOUT: "15",
      PGTZ: "UTC",
    });
  });

  test("without a password there is no PGPASSWORD, not even the inherited one", () => {
    const seen = seenBy(pgToolEnv(OUTER));
    assert.equal(seen.PGPASSWORD, undefined);
    assert.ok(!Object.keys(seen).some((name) => name.startsWith("PG")), Object.keys(seen).join(" "));
  });

  test("toolSpawn puts an installed client's libraries in front of the kept LD_LIBRARY_PATH", () => {
    const spawnWith = toolSpawn(
      { path: "/x/pg_dump", env: { LD_LIBRARY_PATH: "/cache/pg/17/lib" } },
      pgToolEnv(OUTER),
    );
    assert.equal(seenBy(spawnWith.env).LD_LIBRARY_PATH, "/cache/pg/17/lib:/opt/lib");
  });

  const psql = ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"].find((path) => existsSync(path));
  test(
    "a real psql no longer follows an inherited PGSERVICE or PGHOSTADDR",
    { skip: psql ? false : "no psql" },
    () => {
      const args = ["postgresql://nobody@127.0.0.1:1/db", "-w", "-c", "select 1"];
      const inherited = spawnSync(psql!, args, { env: OUTER, encoding: "utf8" });
      assert.match(inherited.stderr, /service "production" not found|service file/);
      const clean = spawnSync(psql!, args, { env: pgToolEnv(OUTER), encoding: "utf8" });
      assert.notEqual(clean.status, 0);
      assert.match(clean.stderr, /127\.0\.0\.1.*port 1 failed/);
      assert.doesNotMatch(clean.stderr, /service|10\.9\.9\.9/);
    },
  );
});

describe("pgToolEnv with a real pg_dump and server", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test("connects with the password given, whatever wrong PG* the outer environment holds", () => {
    const url = parseDatabaseUrl(cluster.url("postgres"));
    const pgDump = join(cluster.binDir, "pg_dump");
    const outer = { ...OUTER, PGSERVICE: undefined, PGUSER: "nobody", PGDATABASE: "nope", PGPORT: "1" };
    const result = spawnSync(pgDump, ["--schema-only", "--no-password", `--dbname=${url.withoutPassword}`], {
      env: pgToolEnv(outer, { password: url.password, sslmode: url.sslmode }),
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /PostgreSQL database dump/);
  });
});

describe("userCommandEnv", () => {
  test("a child sees a shell, the runner's context, the scratch database and what is passed through", () => {
    const seen = seenBy(
      userCommandEnv(OUTER, { databaseUrl: scratch, passThrough: ["MIGRATE_CONFIG", "APP_*"] }),
    );
    assert.deepEqual(seen, {
      PATH: OUTER.PATH,
      HOME: "/home/runner",
      TMPDIR: "/tmp",
      TZ: "UTC",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      LC_TIME: "C.UTF-8",
      USER: "runner",
      SHELL: "/bin/bash",
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: "acme/app",
      GITHUB_SHA: "0123456789abcdef",
      RUNNER_TEMP: "/home/runner/work/_temp",
      RUNNER_OS: "Linux",
      MIGRATE_CONFIG: "/repo/migrate.yml",
      APP_ENVIRONMENT: "staging",
      APP_MODE: "test",
      DATABASE_URL: connectionString(scratch),
      PGHOST: "127.0.0.1",
      PGPORT: "54329",
      PGDATABASE: "lifeboat_restore_test_x",
      PGUSER: "scratch",
      PGPASSWORD: "s3cr@t/",
      PGSSLMODE: scratch.sslmode,
    });
  });

  test("denied names stay out even when passed through without parsePassThrough", () => {
    const seen = seenBy(
      userCommandEnv(OUTER, {
        databaseUrl: scratch,
        passThrough: [
          "AWS_SECRET_ACCESS_KEY",
          "GITHUB_TOKEN",
          "ACTIONS_*",
          "INPUT_*",
          "PG*",
          "DATABASE_URL",
          "*",
        ],
      }),
    );
    for (const name of Object.keys(seen)) {
      if (
        ["DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE"].includes(name)
      )
        continue;
      assert.ok(!isDeniedName(name), name);
    }
    assert.equal(seen.DATABASE_URL, connectionString(scratch));
    assert.equal(seen.PGHOST, "127.0.0.1");
    assert.equal(seen.NODE_OPTIONS, "--no-deprecation", "'*' passes what is not denied");
  });

  test("a real shell command reads the scratch database and nothing of production", () => {
    const result = spawnSync(
      "sh",
      ["-c", 'echo "$DATABASE_URL|$PGHOST|$AWS_SECRET_ACCESS_KEY|$GITHUB_TOKEN|$LIFEBOAT_PASSPHRASE"'],
      {
        env: userCommandEnv(OUTER, { databaseUrl: scratch }),
        encoding: "utf8",
      },
    );
    assert.equal(result.stdout.trim(), `${connectionString(scratch)}|127.0.0.1|||`);
  });
});

describe("parsePassThrough", () => {
  test("takes names and prefixes, one per line, space or comma", () => {
    assert.deepEqual(parsePassThrough(["MIGRATE_CONFIG, APP_*", "NODE_OPTIONS"]), [
      "MIGRATE_CONFIG",
      "APP_*",
      "NODE_OPTIONS",
    ]);
    assert.deepEqual(parsePassThrough([]), []);
  });

  for (const [name, expected] of [
    ["AWS_SECRET_ACCESS_KEY", /not passed to the command/],
    ["AWS_*", /not passed/],
    ["AWS*", /not passed/],
    ["GITHUB_*", /not passed/],
    ["GITHUB_TOKEN", /not passed/],
    ["GITHUB_ENV", /not passed/],
    ["ACTIONS_ID_TOKEN_REQUEST_TOKEN", /not passed/],
    ["INPUT_IDENTITY", /not passed/],
    ["LIFEBOAT_PASSPHRASE", /not passed/],
    ["PGSERVICE", /not passed/],
    ["P*", /not passed/],
    ["*", /not passed/],
    ["DATABASE_URL", /not passed/],
    ["9LIVES", /not a variable name/],
    ["A-B", /not a variable name/],
    ["A*B", /not a variable name/],
  ] as const) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parsePassThrough([name]),
        (error: unknown) =>
          error instanceof InputError &&
          error.input === "run-env" &&
          expected.test(error.message) &&
          error.message.startsWith("--run-env: "),
      );
    });
  }

  test("what it accepts never reaches a denied name", () => {
    assert.deepEqual(parsePassThrough(["GITHUB_REPOSITORY", "GITHUB_TOKEN_SCOPES", "APP_*"]), [
      "GITHUB_REPOSITORY",
      "GITHUB_TOKEN_SCOPES",
      "APP_*",
    ]);
  });
});

describe("property: secret-bearing names never reach a child", () => {
  const deniedName = fc.oneof(
    fc.constantFrom(
      "GITHUB_TOKEN",
      "GH_TOKEN",
      "GITHUB_ENV",
      "GITHUB_PATH",
      "GITHUB_OUTPUT",
      "GITHUB_STATE",
      "GITHUB_STEP_SUMMARY",
      "DATABASE_URL",
      "ACTIONS_RUNTIME_TOKEN",
      "ACTIONS_ID_TOKEN_REQUEST_URL",
      "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ),
    fc
      .tuple(
        fc.constantFrom("AWS_", "ACTIONS_", "INPUT_", "LIFEBOAT_", "PG"),
        fc.stringMatching(/^[A-Z0-9_-]{0,12}$/),
      )
      .map(([prefix, rest]) => prefix + rest),
  );
  const anyName = fc.oneof(
    deniedName,
    fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/),
    fc.constantFrom(...Object.keys(OUTER)),
  );
  const envArb = fc.dictionary(anyName, fc.string({ maxLength: 8 }), { maxKeys: 30 });
  const passArb = fc.array(
    fc.oneof(
      anyName,
      anyName.map((name) => `${name.slice(0, 3)}*`),
      fc.constant("*"),
    ),
    { maxLength: 6 },
  );
  const OURS = new Set([
    "DATABASE_URL",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSSLMODE",
  ]);

  test("userCommandEnv: only the scratch database's own PG* and DATABASE_URL", () => {
    fc.assert(
      fc.property(envArb, passArb, (base, passThrough) => {
        const env = userCommandEnv(base, { databaseUrl: scratch, passThrough });
        for (const name of Object.keys(env)) {
          if (OURS.has(name)) continue;
          assert.ok(!isDeniedName(name), `${name} from ${JSON.stringify(passThrough)}`);
        }
        assert.equal(env.DATABASE_URL, connectionString(scratch));
        assert.equal(env.PGPASSWORD, scratch.password);
        assert.equal(env.PGHOST, scratch.host);
      }),
      { numRuns: 1000 },
    );
  });

  test("pgToolEnv: nothing denied but the PG* set here, and no name outside the allow-list", () => {
    const allowed =
      /^(PATH|HOME|TMPDIR|TZ|LANG|LANGUAGE|LC_[A-Z_]+|LD_LIBRARY_PATH|SSL_CERT_FILE|SSL_CERT_DIR)$/;
    fc.assert(
      fc.property(envArb, fc.option(fc.string(), { nil: undefined }), (base, password) => {
        const env = pgToolEnv(base, { password, appName: "lifeboat", sslmode: "require" });
        for (const [name, value] of Object.entries(env)) {
          if (name === "PGPASSWORD") assert.equal(value, password);
          else if (name === "PGAPPNAME") assert.equal(value, "lifeboat");
          else if (name === "PGSSLMODE") assert.equal(value, "require");
          else assert.match(name, allowed);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("parsePassThrough accepts nothing that reaches a denied name", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyName,
          anyName.map((name) => `${name.slice(0, 4)}*`),
        ),
        deniedName,
        (entry, denied) => {
          let accepted: string[];
          try {
            accepted = parsePassThrough([entry]);
          } catch (error) {
            assert.ok(error instanceof InputError);
            return;
          }
          for (const name of accepted) {
            const reaches = name.endsWith("*") ? denied.startsWith(name.slice(0, -1)) : name === denied;
            assert.ok(!reaches, `${name} reaches ${denied}`);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
