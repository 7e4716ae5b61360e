/**
 * restore-test --mask end to end, on real servers and with the stock `age`: production backed up,
 * restore-tested, masked in the scratch copy and stored as a masked backup for staging. The
 * masked copy decrypts with the staging identity only, restores with stock tools, holds no source
 * value in any text column, keeps its joins and row counts; every failure (a failing rule, bad
 * rules, uncovered personal columns with mask-coverage fail, staging keys that can read
 * production) leaves no masked backup.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { restoreWithStockTools } from "../helpers/stock-tools.js";

const USERS = 120;
const MASKING_KEY = "staging-masking-key-0123456789abcdef";
const FDW_PASSWORD = "fdw-password-0b7c1d";
const SUBSCRIPTION_PASSWORD = "subscription-password-9e4f2a";

const FIXTURE = `
  CREATE SCHEMA app;
  CREATE TABLE app.users (
    email text PRIMARY KEY,
    full_name text NOT NULL,
    profile jsonb,
    plan text
  );
  CREATE TABLE app.orders (
    id serial PRIMARY KEY,
    customer_email text NOT NULL REFERENCES app.users (email),
    total numeric NOT NULL,
    note text
  );
  INSERT INTO app.users
  SELECT 'person' || i || '@corp.example', 'Firstperson' || i || ' Lastperson' || i,
         jsonb_build_object('name', jsonb_build_object('first', 'Firstperson' || i),
                            'contact', jsonb_build_object('email', 'person' || i || '@corp.example')),
         CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END
    FROM generate_series(1, ${USERS}) AS i;
  INSERT INTO app.orders (customer_email, total, note)
  SELECT 'person' || (1 + i % ${USERS}) || '@corp.example', i * 1.5,
         'gift for person' || (1 + (i * 7) % ${USERS}) || '@corp.example from Firstperson' || (1 + i % ${USERS})
    FROM generate_series(1, ${USERS * 3}) AS i;
`;

const RULES = `version: 1
tables:
  app.users:
    columns:
      email: email
      full_name: name
      plan: keep
      profile:
        jsonb:
          name.first: { name: first }
          contact.email: email
  app.orders:
    columns:
      customer_email: email
      note: text
`;

let source: Cluster;
let scratch: Cluster;
let work: string;
let storage: string;
let rulesFile: string;
let prodKey: string;
let prodRecipient: string;
let stagingKey: string;
let stagingRecipient: string;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await source.createDatabase("prod");
  await source.sql("prod", FIXTURE);
  // A foreign server back into the source with its password in the user mapping, and a
  // subscription whose connection string holds another: production's routes to itself.
  await source.sql(
    "prod",
    `CREATE EXTENSION postgres_fdw;
     CREATE SERVER prod_itself FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'prod');
     CREATE USER MAPPING FOR CURRENT_USER SERVER prod_itself OPTIONS (user 'reporter', password '${FDW_PASSWORD}');
     CREATE SCHEMA remote;
     CREATE FOREIGN TABLE remote.totals (id int, amount numeric) SERVER prod_itself OPTIONS (table_name 'orders');
     CREATE PUBLICATION everything FOR ALL TABLES;`,
  );
  await source.sql(
    "prod",
    `CREATE SUBSCRIPTION from_prod CONNECTION 'dbname=prod password=${SUBSCRIPTION_PASSWORD}'
       PUBLICATION everything WITH (connect = false)`,
  );
  work = mkdtempSync(join(tmpdir(), "lifeboat-masked-copy-"));
  storage = join(work, "store");
  rulesFile = join(work, "mask.yml");
  writeFileSync(rulesFile, RULES);
  prodKey = join(work, "prod.key");
  stagingKey = join(work, "staging.key");
  execFileSync("age-keygen", ["-o", prodKey], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", stagingKey], { stdio: "pipe" });
  prodRecipient = execFileSync("age-keygen", ["-y", prodKey], { encoding: "utf8" }).trim();
  stagingRecipient = execFileSync("age-keygen", ["-y", stagingKey], { encoding: "utf8" }).trim();
  const made = await runCli(
    ["backup", "--storage", storage, "--label", "prod", "--recipient", prodRecipient],
    {
      env: { PATH: process.env.PATH, DATABASE_URL: source.url("prod") },
    },
  );
  assert.equal(made.code, 0, made.stderr);
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({
  PATH: process.env.PATH,
  LIFEBOAT_SCRATCH_DATABASE_URL: scratch.url(),
  LIFEBOAT_MASKING_KEY: MASKING_KEY,
});

/** restore-test of prod's backup, masked by `rules` into `label` for staging's key. */
function maskedArgs(label: string, rules = rulesFile): string[] {
  return [
    "restore-test",
    "--storage",
    storage,
    "--label",
    "prod",
    "--identity-file",
    prodKey,
    "--mask",
    rules,
    "--masked-label",
    label,
    "--masked-recipient",
    stagingRecipient,
  ];
}

function maskedRun(extra: string[], label = "staging") {
  return runCli([...maskedArgs(label), "--json", ...extra], { env: env() });
}

/** Committed backups under a label of the local store (folders holding a manifest). */
function committed(label: string): string[] {
  const dir = join(storage, label);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((id) => existsSync(join(dir, id, "manifest.json")));
}

/** `pg_restore --list` of a stored dump, decrypted and decompressed with the stock tools. */
function archiveList(identity: string, object: string): string {
  return execFileSync(
    "sh",
    [
      "-c",
      'age -d -i "$1" "$2" | zstd -d | "$3" --list',
      "sh",
      identity,
      object,
      join(source.binDir, "pg_restore"),
    ],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
}

async function scratchDatabases(): Promise<string[]> {
  const rows = await scratch.sql<{ datname: string }>(
    "postgres",
    "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat_rt_%'",
  );
  return rows.map((row) => row.datname);
}

test("a masked copy is written for staging: staging's key only, no source value anywhere, joins and counts kept", async () => {
  const run = await maskedRun([]);
  assert.equal(run.code, 0, run.stderr);
  const masked = run.json.masked as {
    backupId: string;
    label: string;
    rulesSha256: string;
    maskedColumns: number;
  };
  assert.equal(masked.label, "staging");
  assert.match(masked.backupId, /^\d{8}T\d{6}Z/);
  // email, full_name, profile (two paths), customer_email, note
  assert.equal(masked.maskedColumns, 5);
  assert.deepEqual(committed("staging"), [masked.backupId]);

  const folder = join(storage, "staging", masked.backupId);
  const manifest = JSON.parse(readFileSync(join(folder, "manifest.json"), "utf8")) as {
    masked: { rulesSha256: string; sourceLabel: string; sourceBackupId: string };
    encryption: { recipients: string[] };
    artifacts: { kind: string; name: string; compression: string }[];
    tables: { schema: string; table: string; rows: number }[];
  };
  const rulesDigest = createHash("sha256").update(readFileSync(rulesFile)).digest("hex");
  assert.equal(manifest.masked.rulesSha256, rulesDigest);
  assert.equal(manifest.masked.sourceLabel, "prod");
  assert.equal(manifest.masked.sourceBackupId, run.json.backupId);
  assert.deepEqual(manifest.encryption.recipients, [stagingRecipient]);
  const rows = Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.table}`, t.rows]));
  assert.equal(rows["app.users"], USERS);
  assert.equal(rows["app.orders"], USERS * 3);

  // The production identity cannot read the masked copy, with the stock age either.
  const dump = manifest.artifacts.find((artifact) => artifact.kind === "dump")!;
  // Production's backup holds the user mapping and the subscription; the masked copy neither, nor
  // their passwords: they would give staging a live route to production's unmasked rows.
  const prodFolder = join(storage, "prod", committed("prod")[0]!);
  const prodList = archiveList(prodKey, join(prodFolder, "dump.age"));
  assert.match(prodList, /USER MAPPING/);
  assert.match(prodList, /SUBSCRIPTION/);
  const maskedList = archiveList(stagingKey, join(folder, dump.name));
  assert.match(maskedList, /FOREIGN TABLE remote totals/);
  assert.doesNotMatch(maskedList, /USER MAPPING|SUBSCRIPTION/);
  const maskedArchive = execFileSync("sh", [
    "-c",
    'age -d -i "$1" "$2" | zstd -d',
    "sh",
    stagingKey,
    join(folder, dump.name),
  ]);
  assert.equal(maskedArchive.indexOf(FDW_PASSWORD), -1);
  assert.equal(maskedArchive.indexOf(SUBSCRIPTION_PASSWORD), -1);
  assert.match(run.stderr, /Left 1 user mapping\(s\) out of the masked copy/);
  assert.throws(() => execFileSync("age", ["-d", "-i", prodKey, join(folder, dump.name)], { stdio: "pipe" }));
  const withProd = await runCli(
    ["restore-test", "--storage", storage, "--label", "staging", "--identity-file", prodKey],
    { env: env() },
  );
  assert.equal(withProd.code, 2, withProd.stderr);
  // ...and staging's identity cannot read production.
  const withStaging = await runCli(
    ["restore-test", "--storage", storage, "--label", "prod", "--identity-file", stagingKey],
    { env: env() },
  );
  assert.equal(withStaging.code, 2, withStaging.stderr);

  // Restored with stock tools and staging's identity only.
  await scratch.createDatabase("staging_copy");
  restoreWithStockTools({
    identityFile: stagingKey,
    object: join(folder, dump.name),
    compression: dump.compression,
    pgRestore: join(scratch.binDir, "pg_restore"),
    targetUrl: scratch.url("staging_copy"),
  });
  const sourceValues = await source.sql<{ v: string }>(
    "prod",
    `SELECT email AS v FROM app.users UNION SELECT full_name FROM app.users
     UNION SELECT split_part(full_name, ' ', 1) FROM app.users`,
  );
  assert.equal(sourceValues.length, USERS * 3);
  await scratch.sql("staging_copy", "CREATE TABLE public.source_values AS SELECT unnest($1::text[]) AS v", [
    sourceValues.map((row) => row.v),
  ]);
  // Every text-like column of every table, searched for every source value as a substring.
  const columns = await scratch.sql<{ table_schema: string; table_name: string; column_name: string }>(
    "staging_copy",
    `SELECT table_schema, table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'app' AND data_type IN ('text', 'character varying', 'jsonb')`,
  );
  assert.equal(columns.length, 6);
  for (const column of columns) {
    const [found] = await scratch.sql<{ n: string }>(
      "staging_copy",
      `SELECT count(*) AS n FROM "${column.table_schema}"."${column.table_name}" t, public.source_values s
        WHERE t."${column.column_name}"::text LIKE '%' || s.v || '%'`,
    );
    assert.equal(found!.n, "0", `${column.table_name}.${column.column_name} holds a source value`);
  }
  const [joined] = await scratch.sql<{ n: string }>(
    "staging_copy",
    "SELECT count(*) AS n FROM app.orders o JOIN app.users u ON u.email = o.customer_email",
  );
  assert.equal(joined!.n, String(USERS * 3));
  const [kept] = await scratch.sql<{ n: string }>(
    "staging_copy",
    "SELECT count(*) AS n FROM app.users WHERE plan IN ('pro', 'free')",
  );
  assert.equal(kept!.n, String(USERS));

  // The ordinary restore-test proves the masked copy with staging's own identity.
  const proof = await runCli(
    ["restore-test", "--storage", storage, "--label", "staging", "--identity-file", stagingKey, "--json"],
    { env: env() },
  );
  assert.equal(proof.code, 0, proof.stderr);
  assert.deepEqual(await scratchDatabases(), []);
});

test("a rule that fails inside the masking transaction leaves no masked copy, and says so", async () => {
  const failing = join(work, "failing.yml");
  writeFileSync(failing, `${RULES}sql:\n  - UPDATE app.orders SET total = total / 0\n`);
  const run = await runCli(maskedArgs("staging-failing", failing), { env: env() });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /no masked copy was written: .*division by zero/);
  assert.deepEqual(committed("staging-failing"), []);
  assert.deepEqual(await scratchDatabases(), []);
});

test("uncovered personal columns fail the run with mask-coverage fail, and no masked copy is written", async () => {
  const partial = join(work, "partial.yml");
  writeFileSync(partial, RULES.replace("      note: text\n", ""));
  const warnOnly = await runCli([...maskedArgs("staging-partial", partial), "--mask-coverage", "fail"], {
    env: env(),
  });
  assert.equal(warnOnly.code, 1, warnOnly.stderr);
  assert.match(warnOnly.stderr, /app\.orders\.note/);
  assert.deepEqual(committed("staging-partial"), []);
});

test("bad masking input is exit 2 naming it, with no masked copy written and no scratch database left", async () => {
  const unknown = join(work, "unknown.yml");
  writeFileSync(unknown, RULES.replace("note: text", "nickname: name"));
  const cases: { args: string[]; input: RegExp; label?: string }[] = [
    { args: ["--mask", unknown], input: /nickname/ },
    { args: ["--masked-recipient", prodRecipient], input: /masked-recipient .*production/ },
    { args: [], input: /masked-label "prod": the backup's own label/, label: "prod" },
    { args: ["--masked-recipient", "age1notakey"], input: /masked-recipient/ },
  ];
  for (const { args, input, label } of cases) {
    const run = await maskedRun(args, label ?? "staging-bad");
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, input);
    // Rules are checked against the restored catalog, so progress lines may come first: one error.
    assert.equal(run.stderr.split("\n").filter((line) => /error:/.test(line)).length, 1, run.stderr);
    assert.doesNotMatch(run.stderr + run.stdout, new RegExp(MASKING_KEY));
    assert.deepEqual(committed("staging-bad"), []);
  }
  const noLabel = await runCli(
    [
      "restore-test",
      "--storage",
      storage,
      "--label",
      "prod",
      "--identity-file",
      prodKey,
      "--mask",
      rulesFile,
    ],
    { env: env() },
  );
  assert.equal(noLabel.code, 2);
  assert.match(noLabel.stderr, /--masked-label: required with --mask/);
  const noKey = await runCli(maskedArgs("staging-bad"), {
    env: { PATH: process.env.PATH, LIFEBOAT_SCRATCH_DATABASE_URL: scratch.url() },
  });
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /masking-key/);
  assert.deepEqual(await scratchDatabases(), []);
});

test("an interrupt while masking ends with 130: no masked copy, no scratch database, the process not crashed", async () => {
  const slowRules = join(work, "slow-mask.yml");
  // Free SQL that takes a while, so that the interrupt lands while masking runs.
  writeFileSync(slowRules, `${RULES}sql:\n  - "SELECT pg_sleep(2)"\n`);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/index.ts", ...maskedArgs("staging-interrupted", slowRules)],
    { env: env(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes("Masking the scratch copy") && !child.killed) child.kill("SIGINT");
  });
  const code = await new Promise<number | null>((done) => child.on("close", (exit) => done(exit)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^lifeboat: error: .*SIGINT/m);
  assert.doesNotMatch(stderr, /Unhandled|node:events|at .*index\.ts/);
  assert.deepEqual(committed("staging-interrupted"), []);
  assert.deepEqual(await scratchDatabases(), []);
});
