/**
 * Issue 12: a wrong key is bad input (exit 2) that records nothing, while a damaged header with
 * the right key is still a failure recorded against the backup; a scratch password with characters
 * a URL percent-encodes shows in no output and no record; the --run command sees only the variables
 * passed with --run-env, and its output is shown in text mode; verify and list need read access
 * only.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
  cpSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let identityFile: string;
let otherIdentityFile: string;
let recipient: string;
let goodPass: string;
let badPass: string;
let passBackupId: string;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createShop(source, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-hardening-keys-"));
  storage = join(work, "store");
  identityFile = join(work, "key.txt");
  otherIdentityFile = join(work, "other.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", otherIdentityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  goodPass = join(work, "pass.txt");
  badPass = join(work, "wrong.txt");
  writeFileSync(goodPass, "the right passphrase\n");
  writeFileSync(badPass, "a wrong passphrase\n");
  const keyed = await runCli(
    ["backup", "--storage", storage, "--label", "keyed", "--recipient", recipient, "--json"],
    { env: env() },
  );
  assert.equal(keyed.code, 0, keyed.stderr);
  const pass = await runCli(
    ["backup", "--storage", storage, "--label", "pass", "--passphrase-file", goodPass, "--json"],
    { env: env() },
  );
  assert.equal(pass.code, 0, pass.stderr);
  passBackupId = pass.json.backupId as string;
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, DATABASE_URL: source.url("shop") });

function records(store: string, label: string): string[] {
  const labelDir = join(store, label);
  return readdirSync(labelDir).flatMap((folder) => {
    const checks = join(labelDir, folder, "checks");
    return existsSync(checks) ? readdirSync(checks).map((name) => join(checks, name)) : [];
  });
}

async function scratchDatabases(): Promise<string[]> {
  const rows = await scratch.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_rt\\_%'",
  );
  return rows.map((row) => row.datname);
}

describe("a wrong key", () => {
  test("verify with a wrong passphrase: exit 2 naming --passphrase-file, no check record", async () => {
    const run = await runCli(
      ["verify", "--storage", storage, "--label", "pass", "--passphrase-file", badPass],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^lifeboat: error: --passphrase-file: the passphrase does not open backup /m);
    assert.deepEqual(records(storage, "pass"), []);
  });

  test("restore-test with a wrong passphrase or an identity for another recipient: exit 2, no record, no scratch database", async () => {
    const scratchUrl = scratch.url("postgres");
    const args = (label: string, keyArgs: string[]) => [
      "restore-test",
      "--storage",
      storage,
      "--label",
      label,
      ...keyArgs,
      "--scratch-database-url",
      scratchUrl,
    ];
    const pass = await runCli(args("pass", ["--passphrase-file", badPass]), { env: env() });
    assert.equal(pass.code, 2, pass.stderr);
    assert.match(pass.stderr, /^lifeboat: error: --passphrase-file: the passphrase does not open backup /m);
    const identity = await runCli(args("keyed", ["--identity-file", otherIdentityFile]), { env: env() });
    assert.equal(identity.code, 2, identity.stderr);
    assert.match(identity.stderr, /^lifeboat: error: --identity-file: /m);
    assert.deepEqual(records(storage, "pass"), []);
    assert.deepEqual(records(storage, "keyed"), []);
    assert.deepEqual(await scratchDatabases(), []);
  });

  test("a damaged passphrase stanza with the right passphrase is damage: exit 1, a failed record", async () => {
    const copy = join(work, "damaged-store");
    cpSync(join(storage, "pass"), join(copy, "pass"), { recursive: true });
    const dump = join(copy, "pass", passBackupId, "dump.age");
    // The scrypt stanza's salt sits on the header's second line: one byte of it flipped.
    const fd = openSync(dump, "r+");
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    const at = head.indexOf("scrypt ") + 9;
    writeSync(fd, Buffer.from([head[at]! === 0x41 ? 0x42 : 0x41]), 0, 1, at);
    closeSync(fd);
    const run = await runCli(
      ["verify", "--storage", copy, "--label", "pass", "--passphrase-file", goodPass],
      {
        env: env(),
      },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.equal(records(copy, "pass").length, 1);
    assert.match(records(copy, "pass")[0]!, /-verify-deep-fail\.json$/);
  });
});

describe("secrets and the --run command", () => {
  const PASSWORD = "p@ss/w%rd:x y#1?é&=+";
  const forms = [
    PASSWORD,
    encodeURIComponent(PASSWORD),
    new URL(`postgresql://u:${encodeURIComponent(PASSWORD)}@h/`).password,
  ];

  test("a scratch password with percent-encoded characters appears in no error line, JSON or check record", async () => {
    await scratch.sql("postgres", `CREATE ROLE "lb scratch" LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    const scratchUrl = scratch.url("postgres", { user: "lb scratch", password: PASSWORD });
    const run = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "keyed",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        scratchUrl,
        "--run",
        'echo "url=$DATABASE_URL pw=$PGPASSWORD"; echo "failing with $DATABASE_URL" >&2; exit 3',
        "--json",
      ],
      { env: env() },
    );
    assert.equal(run.code, 1, run.stderr);
    const written = records(storage, "keyed").map((file) => readFileSync(file, "utf8"));
    assert.equal(written.length, 1);
    assert.match(run.json.error as string, /the run command exited with status 3: failing with postgresql:/);
    for (const [where, text] of [
      ["stdout", run.stdout],
      ["stderr", run.stderr],
      ["the check record", written[0]!],
    ] as const) {
      assert.match(text, /postgresql:\/\/lb%20scratch:\*\*\*@/, `${where} shows the masked URL`);
      for (const form of forms) assert.ok(!text.includes(form), `${where} holds ${form}`);
    }
  });

  test("the action (run from source): the password is in no ::error:: line, log line or reason output", () => {
    const files = mkdtempSync(join(work, "runner-"));
    const output = join(files, "output");
    writeFileSync(output, "");
    writeFileSync(join(files, "summary"), "");
    const result = spawnSync(process.execPath, ["--import", "tsx", "src/actions/restore-test/index.ts"], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: join(files, "summary"),
        GITHUB_WORKSPACE: work,
        INPUT_STORAGE: storage,
        INPUT_LABEL: "keyed",
        INPUT_IDENTITY: readFileSync(identityFile, "utf8"),
        "INPUT_SCRATCH-DATABASE-URL": scratch.url("postgres", { user: "lb scratch", password: PASSWORD }),
        INPUT_RUN: 'echo "url=$DATABASE_URL"; echo "failing with $DATABASE_URL" >&2; exit 3',
        "INPUT_REPORT-ARTIFACT": "never",
      },
    });
    assert.equal(result.status, 1, result.stderr + result.stdout);
    const outputs = readFileSync(output, "utf8");
    const visible = result.stdout
      .split("\n")
      .filter((line) => !line.startsWith("::add-mask::"))
      .join("\n");
    assert.match(visible, /^::error::.*the run command exited with status 3/m);
    assert.match(outputs, /^reason<<\S+\n.*the run command exited with status 3/m);
    for (const [where, text] of [
      ["the log", visible + result.stderr],
      ["the outputs", outputs],
    ] as const) {
      for (const form of forms) assert.ok(!text.includes(form), `${where} holds ${form}`);
    }
  });

  test("--run sees only what --run-env passes, and its output is shown in text mode", async () => {
    const run = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "keyed",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        scratch.url("postgres"),
        "--run",
        'echo "passed=${APP_MODE:-unset} other=${OTHER_VAR:-unset} prefixed=${MIGRATE_DIR:-unset}"',
        "--run-env",
        "APP_MODE",
        "--run-env",
        "MIGRATE_*",
      ],
      { env: { ...env(), APP_MODE: "rehearsal", OTHER_VAR: "hidden", MIGRATE_DIR: "/m" } },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^passed=rehearsal other=unset prefixed=\/m$/m);
    const refused = await runCli(
      [
        "restore-test",
        "--storage",
        storage,
        "--label",
        "keyed",
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        scratch.url("postgres"),
        "--run",
        "true",
        "--run-env",
        "AWS_SECRET_ACCESS_KEY",
      ],
      { env: env() },
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^lifeboat: error: --run-env: "AWS_SECRET_ACCESS_KEY" is not passed/m);
  });
});

describe("reading needs read access only", () => {
  test("verify against a read-only store verifies and warns that the record could not be written; list works", async (t) => {
    const copy = join(work, "readonly-store");
    cpSync(join(storage, "keyed"), join(copy, "keyed"), { recursive: true });
    const before = records(copy, "keyed");
    const undo = makeReadOnly(t, copy);
    if (!undo) return;
    try {
      const run = await runCli(
        ["verify", "--storage", copy, "--label", "keyed", "--identity-file", identityFile, "--json"],
        { env: env() },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.verified, true);
      assert.equal(run.json.checkKey, "");
      assert.match(
        run.stderr,
        /^warning: the check record could not be written, so this verification is not recorded/m,
      );
      const list = await runCli(["list", "--storage", copy, "--label", "keyed", "--json"], { env: env() });
      assert.equal(list.code, 0, list.stderr);
    } finally {
      undo();
    }
    assert.deepEqual(records(copy, "keyed"), before);
  });
});

/** A directory no write reaches: a read-only bind mount as root (who ignores modes), else modes. */
function makeReadOnly(t: TestContext, dir: string): (() => void) | undefined {
  if (process.getuid?.() !== 0) {
    const dirs = [dir, ...readdirSync(dir, { recursive: true, encoding: "utf8" }).map((p) => join(dir, p))];
    const writable = dirs.filter((path) => statSync(path).isDirectory());
    for (const path of writable) chmodSync(path, 0o555);
    return () => writable.forEach((path) => chmodSync(path, 0o755));
  }
  const mounted = spawnSync("mount", ["--bind", "-o", "ro", dir, dir]);
  if (mounted.status !== 0) {
    t.skip("no read-only bind mount here (root ignores file modes)");
    return undefined;
  }
  return () => void spawnSync("umount", [dir]);
}
