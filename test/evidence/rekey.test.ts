/**
 * rekey with real backups: afterwards the new identity verifies (decrypting the archive) and
 * restores, the retired one is refused, the payload is byte for byte the old one, the manifest
 * records the old recipients and stays signed, and a crash between the manifest and its signature
 * leaves a readable backup.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RekeyedManifest } from "../../src/commands/rekey/run.js";
import { runCli } from "../helpers/cli.js";
import { countAllRows, createShop, SHOP_ROWS } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
const identity: Record<"old" | "new", { file: string; recipient: string }> = {
  old: { file: "", recipient: "" },
  new: { file: "", recipient: "" },
};
let signingKey: string;
let publicKeyFile: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  await cluster.createDatabase("target");
  work = mkdtempSync(join(tmpdir(), "lifeboat-rekey-"));
  for (const which of ["old", "new"] as const) {
    const file = join(work, `${which}.txt`);
    execFileSync("age-keygen", ["-o", file], { stdio: "pipe" });
    identity[which] = {
      file,
      recipient: execFileSync("age-keygen", ["-y", file], { encoding: "utf8" }).trim(),
    };
  }
  signingKey = join(work, "lifeboat.key");
  const keygen = await runCli(["keygen", "--signing", "--output", signingKey, "--json"]);
  assert.equal(keygen.code, 0, keygen.stderr);
  publicKeyFile = keygen.json.publicKeyFile as string;
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const storage = () => join(work, "store");
const common = (label: string) => ["--storage", storage(), "--label", label];
const trusted = () => ["--trusted-key", publicKeyFile];

function manifestOf(label: string, backupId: string): RekeyedManifest {
  return JSON.parse(
    readFileSync(join(storage(), label, backupId, "manifest.json"), "utf8"),
  ) as RekeyedManifest;
}

describe("rekey", () => {
  test("the new identity verifies and restores a rekeyed backup; the retired one is refused", async () => {
    const made = await runCli(
      [
        "backup",
        ...common("app"),
        "--recipient",
        identity.old.recipient,
        "--signing-key-file",
        signingKey,
        "--include-roles",
        "true",
        "--json",
      ],
      { env: { PATH: process.env.PATH, DATABASE_URL: cluster.url("shop") } },
    );
    assert.equal(made.code, 0, made.stderr);
    const backupId = made.json.backupId as string;
    const folder = join(storage(), "app", backupId);
    const before = manifestOf("app", backupId);
    const oldDump = readFileSync(join(folder, before.artifacts[0]!.name));
    const oldSignature = readFileSync(join(folder, "manifest.json.minisig"));

    // Without the old identity nothing can be re-wrapped.
    const noKey = await runCli([
      "rekey",
      ...common("app"),
      "--recipient",
      identity.new.recipient,
      "--identity-file",
      identity.new.file,
      "--signing-key-file",
      signingKey,
    ]);
    assert.equal(noKey.code, 2, noKey.stderr);
    // With a trusted key but no signing key, the rewritten manifest could not be trusted: refused.
    const unsigned = await runCli([
      "rekey",
      ...common("app"),
      "--recipient",
      identity.new.recipient,
      "--identity-file",
      identity.old.file,
      ...trusted(),
    ]);
    assert.equal(unsigned.code, 2);
    assert.match(unsigned.stderr, /signing-key/);

    const rekey = await runCli([
      "rekey",
      ...common("app"),
      "--backup",
      "latest",
      "--recipient",
      identity.new.recipient,
      "--identity-file",
      identity.old.file,
      "--signing-key-file",
      signingKey,
      ...trusted(),
      "--json",
    ]);
    assert.equal(rekey.code, 0, rekey.stderr);
    const after = manifestOf("app", backupId);
    assert.deepEqual(after.encryption, {
      format: "age-v1",
      recipients: [identity.new.recipient],
      passphrase: false,
    });
    assert.deepEqual(after.rekeys?.[0]?.previousRecipients, [identity.old.recipient]);
    assert.equal(after.artifacts.length, before.artifacts.length);
    for (const [index, artifact] of after.artifacts.entries()) {
      assert.notEqual(artifact.name, before.artifacts[index]!.name);
      assert.ok(!existsSync(join(folder, before.artifacts[index]!.name)), "the old object is deleted");
      assert.deepEqual(artifact.plaintext, before.artifacts[index]!.plaintext);
    }
    // Only the header changed: the payload (after the header) is the old one, byte for byte.
    const newDump = readFileSync(join(folder, after.artifacts[0]!.name));
    const payloadStart = (data: Buffer) => data.indexOf(0x0a, data.indexOf("\n---") + 1) + 1;
    assert.ok(oldDump.subarray(payloadStart(oldDump)).equals(newDump.subarray(payloadStart(newDump))));
    // list finds the rekeyed dump by the manifest's name.
    const listed = await runCli(["list", ...common("app"), ...trusted(), "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const entry = (listed.json.backups as { backupId: string; storedBytes: number }[]).find(
      (backup) => backup.backupId === backupId,
    );
    assert.equal(entry?.storedBytes, newDump.length);

    const withNew = await runCli([
      "verify",
      ...common("app"),
      "--identity-file",
      identity.new.file,
      ...trusted(),
      "--json",
    ]);
    assert.equal(withNew.code, 0, withNew.stderr);
    assert.equal(withNew.json.kind, "verify-deep", "decrypted and read the archive");
    const withOld = await runCli([
      "verify",
      ...common("app"),
      "--identity-file",
      identity.old.file,
      ...trusted(),
    ]);
    assert.equal(withOld.code, 2);
    assert.match(withOld.stderr, /encrypted to age1/);
    // The stock age CLI agrees: the new identity opens the re-wrapped file, the retired one does not.
    execFileSync(
      "age",
      ["-d", "-i", identity.new.file, "-o", "/dev/null", join(folder, after.artifacts[0]!.name)],
      {
        stdio: "pipe",
      },
    );
    assert.throws(() =>
      execFileSync("age", ["-d", "-i", identity.old.file, join(folder, after.artifacts[0]!.name)], {
        stdio: "pipe",
      }),
    );
    const restored = await runCli(
      [
        "restore",
        ...common("app"),
        "--identity-file",
        identity.new.file,
        "--target-database-url",
        cluster.url("target"),
        "--confirm",
        "target",
        "--safety-backup",
        "false",
        ...trusted(),
      ],
      { env: { PATH: process.env.PATH } },
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await countAllRows(cluster, "target"), SHOP_ROWS);

    // A crash after the new manifest but before its .minisig: the pending signature still counts.
    renameSync(join(folder, "manifest.json.minisig"), join(folder, "manifest.json.next.minisig"));
    writeFileSync(join(folder, "manifest.json.minisig"), oldSignature);
    const midway = await runCli(["verify", ...common("app"), ...trusted()]);
    assert.equal(midway.code, 0, midway.stderr);
    // Rekeying again to the same recipients changes nothing.
    const again = await runCli([
      "rekey",
      ...common("app"),
      "--recipient",
      identity.new.recipient,
      "--identity-file",
      identity.new.file,
      "--signing-key-file",
      signingKey,
      "--json",
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.json.backups as { status: string }[])[0]!.status, "unchanged");
  });
});
