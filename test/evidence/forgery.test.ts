/**
 * Signed manifests and check records against the forgeries of issue 17, with real backups of a
 * real cluster: each one is accepted by an unsigned setup (what a signature adds) and refused once
 * a trusted key is set. Also: minisign -V checks our signatures, and we check minisign's.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BackupRepository } from "../../src/repository/backup-repository.js";
import { openStore } from "../../src/storage/open-store.js";
import { runCli } from "../helpers/cli.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const hasMinisign = spawnSync("minisign", ["-v"]).status === 0;

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;
let signingKey: string;
let publicKeyFile: string;
let otherPublicKeyFile: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  await cluster.createDatabase("other");
  await cluster.sql("other", "CREATE TABLE planted (id int); INSERT INTO planted VALUES (1)");
  work = mkdtempSync(join(tmpdir(), "lifeboat-forgery-"));
  identityFile = join(work, "age.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
  signingKey = join(work, "lifeboat.key");
  const keygen = await runCli(["keygen", "--signing", "--output", signingKey, "--json"]);
  assert.equal(keygen.code, 0, keygen.stderr);
  publicKeyFile = keygen.json.publicKeyFile as string;
  const other = await runCli(["keygen", "--signing", "--output", join(work, "other.key")]);
  assert.equal(other.code, 0, other.stderr);
  otherPublicKeyFile = join(work, "other.pub");
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const storage = () => join(work, "store");
const env = (database = "shop") => ({ PATH: process.env.PATH, DATABASE_URL: cluster.url(database) });

async function backup(label: string, options: { database?: string; signed?: boolean } = {}): Promise<string> {
  const run = await runCli(
    [
      "backup",
      "--storage",
      storage(),
      "--label",
      label,
      "--recipient",
      recipient,
      ...(options.signed === false ? [] : ["--signing-key-file", signingKey]),
      "--json",
    ],
    { env: env(options.database) },
  );
  assert.equal(run.code, 0, run.stderr);
  // Backup ids have whole seconds: keep two backups of a label apart.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return run.json.backupId as string;
}

const trusted = () => ["--trusted-key", publicKeyFile];

function verify(label: string, backup: string, extra: string[] = []) {
  return runCli(["verify", "--storage", storage(), "--label", label, "--backup", backup, ...extra, "--json"]);
}

function folder(label: string, backupId: string): string {
  return join(storage(), label, backupId);
}

/** A backup id one second after `backupId`'s, as a forger would pick to become `latest`. */
function laterId(backupId: string, suffix = "zzzzzz"): string {
  const stamp = backupId.slice(0, 16);
  const time = new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  const next = new Date(time.getTime() + 60_000)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `${next}-${suffix}`;
}

describe("signed backups", () => {
  test("a signed backup verifies with its trusted key, and is refused with another key only", async () => {
    const id = await backup("signed");
    assert.ok(existsSync(join(folder("signed", id), "manifest.json.minisig")));
    const ok = await verify("signed", id, trusted());
    assert.equal(ok.code, 0, ok.stderr);
    const rotated = await verify("signed", id, ["--trusted-key", otherPublicKeyFile, ...trusted()]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const wrong = await verify("signed", id, ["--trusted-key", otherPublicKeyFile]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr + JSON.stringify(wrong.json), /signed by another key/);
    // The check record verify wrote with the key is signed too.
    const signedCheck = await runCli([
      "verify",
      "--storage",
      storage(),
      "--label",
      "signed",
      "--backup",
      id,
      "--signing-key-file",
      signingKey,
    ]);
    assert.equal(signedCheck.code, 0, signedCheck.stderr);
    const records = readdirSync(join(folder("signed", id), "checks"));
    assert.ok(
      records.some((name) => name.endsWith("-verify-pass.json.minisig")),
      records.join(", "),
    );
  });

  test("forgery 1: another database's dump with a consistent manifest is accepted unsigned, refused signed", async () => {
    const genuine = await backup("app");
    // The forger can write the store and knows the public recipient, but not the signing key.
    const forged = await backup("app", { database: "other", signed: false });
    const unsigned = await verify("app", forged);
    assert.equal(unsigned.code, 0, "an unsigned setup cannot tell: this is what signatures add");
    const refused = await verify("app", forged, trusted());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr + JSON.stringify(refused.json), /unsigned/);
    // A reader resolving `latest` passes over the forged one to the newest trusted backup.
    const repository = new BackupRepository(await openStore(storage()), {
      trustedKeys: [readFileSync(publicKeyFile, "utf8").split("\n")[1]!],
      signingKeyText: undefined,
    });
    const resolved = await repository.resolve("app", "latest");
    assert.equal(resolved.folder.backupId, genuine);
    assert.deepEqual(
      resolved.skipped.map((entry) => entry.backupId),
      [forged],
    );
    rmSync(folder("app", forged), { recursive: true });
  });

  test("forgery 2: an older backup copied into a newer folder with its id fixed up is refused", async () => {
    const older = await backup("rollback");
    const newest = await backup("rollback");
    const fakeId = laterId(newest);
    cpSync(folder("rollback", older), folder("rollback", fakeId), { recursive: true });
    const manifestFile = join(folder("rollback", fakeId), "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { backupId: string };
    manifest.backupId = fakeId;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
    assert.equal((await verify("rollback", fakeId)).code, 0, "accepted without a trusted key");
    const refused = await verify("rollback", fakeId, trusted());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr + JSON.stringify(refused.json), /does not match the data/);
    const listed = await runCli([
      "list",
      "--storage",
      storage(),
      "--label",
      "rollback",
      ...trusted(),
      "--json",
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const backups = listed.json.backups as { backupId: string; problems: string[] }[];
    const fake = backups.find((entry) => entry.backupId === fakeId)!;
    assert.ok(
      fake.problems.some((problem) => /refused/.test(problem)),
      JSON.stringify(fake),
    );
    const latest = await verify("rollback", "latest", trusted());
    assert.equal(latest.code, 1, "verify's latest is the newest folder, and it fails");
    assert.match(latest.stderr + JSON.stringify(latest.json), new RegExp(`${fakeId}.*refused`));
  });

  test("forgery 3: a table removed from the manifest's list is refused", async () => {
    const id = await backup("tables");
    const manifestFile = join(folder("tables", id), "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
      tables: unknown[];
      totalRows: number;
    };
    assert.ok(manifest.tables.length > 1);
    manifest.tables.pop();
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
    assert.equal((await verify("tables", id)).code, 0, "accepted without a trusted key");
    const refused = await verify("tables", id, trusted());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr + JSON.stringify(refused.json), /does not match the data/);
  });

  test("forgery 4: a forged restore-test pass beside a corrupted backup counts unsigned, not signed", async () => {
    const id = await backup("records");
    const dir = folder("records", id);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
      artifacts: { name: string; stored: { bytes: number; sha256: string } }[];
    };
    // Corrupt the dump, keeping its size, then forge a pass that names the manifest's digests.
    const dump = join(dir, manifest.artifacts[0]!.name);
    const bytes = readFileSync(dump);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(dump, bytes);
    const at = new Date();
    const stamp = at.toISOString().replace(/[-:]/g, "").replace(".", "");
    execFileSync("mkdir", ["-p", join(dir, "checks")]);
    writeFileSync(
      join(dir, "checks", `${stamp}-restore-test-pass.json`),
      JSON.stringify({
        schemaVersion: 2,
        kind: "restore-test",
        label: "records",
        backupId: id,
        passed: true,
        at: at.toISOString(),
        tool: { name: "lifeboat", version: "0.1.0" },
        artifacts: manifest.artifacts.map((artifact) => ({ name: artifact.name, ...artifact.stored })),
        failures: [],
        warnings: [],
        details: {},
      }),
    );
    const list = async (extra: string[]) => {
      const run = await runCli(["list", "--storage", storage(), "--label", "records", ...extra, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      return (run.json.backups as { backupId: string; lastCheck: { kind: string } | null }[]).find(
        (entry) => entry.backupId === id,
      )!;
    };
    assert.equal((await list([])).lastCheck?.kind, "restore-test", "shown as checked without a trusted key");
    assert.equal((await list(trusted())).lastCheck, null, "ignored with a trusted key");
    // A real restore-test with the signing key, of an intact backup, signs its record: it counts.
    const intact = await backup("records");
    const restoreTest = await runCli(
      [
        "restore-test",
        "--storage",
        storage(),
        "--label",
        "records",
        "--backup",
        intact,
        "--identity-file",
        identityFile,
        "--scratch-database-url",
        cluster.url("postgres"),
        "--signing-key-file",
        signingKey,
        ...trusted(),
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(restoreTest.code, 0, restoreTest.stderr);
    const listed = await runCli([
      "list",
      "--storage",
      storage(),
      "--label",
      "records",
      ...trusted(),
      "--json",
    ]);
    const entry = (
      listed.json.backups as { backupId: string; lastCheck: { kind: string; passed: boolean } | null }[]
    ).find((candidate) => candidate.backupId === intact);
    assert.deepEqual(entry?.lastCheck && { kind: entry.lastCheck.kind, passed: entry.lastCheck.passed }, {
      kind: "restore-test",
      passed: true,
    });
  });
});

describe("minisign interoperability", { skip: !hasMinisign && "minisign is not installed" }, () => {
  test("minisign -V verifies our manifest signature, and prints the place it binds", async () => {
    const id = await backup("interop");
    const dir = folder("interop", id);
    const out = execFileSync(
      "minisign",
      ["-V", "-H", "-m", join(dir, "manifest.json"), "-p", publicKeyFile],
      {
        encoding: "utf8",
      },
    );
    assert.match(
      out,
      new RegExp(
        `Trusted comment: lifeboat manifest label=interop backup=${id} file=manifest.json timestamp=\\d+`,
      ),
    );
  });

  test("a manifest signed by the stock minisign with its own key is accepted by our reader", async () => {
    const id = await backup("stock", { signed: false });
    const dir = folder("stock", id);
    const secret = join(work, "stock.key");
    const pub = join(work, "stock.pub");
    execFileSync("minisign", ["-G", "-W", "-p", pub, "-s", secret], { stdio: "pipe" });
    const comment = `lifeboat manifest label=stock backup=${id} file=manifest.json timestamp=${Math.floor(Date.now() / 1000)}`;
    execFileSync("minisign", ["-S", "-s", secret, "-m", join(dir, "manifest.json"), "-t", comment], {
      stdio: "pipe",
    });
    const ok = await verify("stock", id, ["--trusted-key", pub]);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await verify("stock", id, trusted());
    assert.equal(wrong.code, 1);
  });
});
