/**
 * Interoperability with the stock `minisign` CLI (Debian's package), both ways: an auditor must be
 * able to check our signatures with `minisign -V` alone, and keys and signatures minisign makes
 * must work here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  formatTrustedComment,
  generateSigningKey,
  loadSigningKey,
  parsePublicKey,
  sign,
  signWithKey,
  verify,
  verifySignedObject,
} from "../../src/crypto/minisign/index.js";
import { decodeLine, protectWithInteractiveLimits, SK } from "./minisign-helpers.js";

const hasMinisign = spawnSync("minisign", ["-v"]).status === 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs minisign with `input` on stdin. When stdin is not a terminal minisign reads a password
 * from it line by line, so no pseudo-terminal is needed; without input stdin is empty, and a
 * password prompt would fail rather than wait.
 */
function minisign(args: string[], input = ""): Run {
  const result = spawnSync("minisign", args, { input, encoding: "utf8", timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function minisignOk(args: string[], input = ""): Run {
  const result = minisign(args, input);
  assert.equal(result.status, 0, `minisign ${args.join(" ")} failed: ${result.stderr}${result.stdout}`);
  return result;
}

describe(
  "interoperability with the minisign CLI",
  { skip: !hasMinisign && "minisign is not installed" },
  () => {
    const directory = mkdtempSync(join(tmpdir(), "lifeboat-minisign-"));
    const path = (name: string): string => join(directory, name);
    after(() => rmSync(directory, { recursive: true, force: true }));

    test("minisign -V accepts our signatures: default .minisig, -x, -P, -H (prehashed required), -Q", async () => {
      const key = await generateSigningKey({ comment: "lifeboat test" });
      writeFileSync(path("ours.pub"), key.publicKeyText);
      const base64 = key.publicKeyText.split("\n")[1]!;
      for (const size of [0, 1, 65_537, 3_000_000]) {
        const data = randomBytes(size);
        const comment = formatTrustedComment({
          kind: "manifest",
          label: "app",
          backupId: "20261129T013000Z-abc123",
          file: "manifest.json",
          timestamp: 1795915800 + size,
        });
        writeFileSync(path("manifest.json"), data);
        writeFileSync(
          path("manifest.json.minisig"),
          await sign(data, key.secretKeyText, { trustedComment: comment }),
        );
        const verified = minisignOk(["-V", "-p", path("ours.pub"), "-m", path("manifest.json")]);
        assert.equal(
          verified.stdout,
          `Signature and comment signature verified\nTrusted comment: ${comment}\n`,
        );
        writeFileSync(path("elsewhere.sig"), readFileSync(path("manifest.json.minisig")));
        minisignOk(["-V", "-H", "-P", base64, "-m", path("manifest.json"), "-x", path("elsewhere.sig")]);
        const quiet = minisignOk(["-Vm", path("manifest.json"), "-p", path("ours.pub"), "-Q"]);
        assert.equal(quiet.stdout, `${comment}\n`, `size ${size}`);
      }
    });

    test("minisign -V refuses our signature when the data, the trusted comment or the key is wrong", async () => {
      const key = await generateSigningKey();
      const other = await generateSigningKey();
      writeFileSync(path("ours.pub"), key.publicKeyText);
      writeFileSync(path("other.pub"), other.publicKeyText);
      const data = Buffer.from('{"label":"app"}\n');
      const signature = signWithKey(data, key.signingKey, { trustedComment: "lifeboat manifest label=app" });
      writeFileSync(path("record.json"), data);
      writeFileSync(path("record.json.minisig"), signature);
      minisignOk(["-V", "-p", path("ours.pub"), "-m", path("record.json")]);

      writeFileSync(path("record.json"), '{"label":"apq"}\n');
      const changed = minisign(["-V", "-p", path("ours.pub"), "-m", path("record.json")]);
      assert.equal(changed.status, 1);
      assert.match(changed.stderr, /Signature verification failed/);

      writeFileSync(path("record.json"), data);
      writeFileSync(path("record.json.minisig"), signature.replace("label=app", "label=prod"));
      const comment = minisign(["-V", "-p", path("ours.pub"), "-m", path("record.json")]);
      assert.equal(comment.status, 1);
      assert.match(comment.stderr, /Comment signature verification failed/);

      writeFileSync(path("record.json.minisig"), signature);
      const foreign = minisign(["-V", "-p", path("other.pub"), "-m", path("record.json")]);
      assert.equal(foreign.status, 1);
      // minisign prints key ids exactly as we do.
      assert.match(
        foreign.stderr,
        new RegExp(`is ${key.keyId}\\nbut the key id in the public key is ${other.keyId}`),
      );
    });

    test("a key from minisign -G -W: we read both halves, verify its signatures, and it checks ours", async () => {
      minisignOk(["-G", "-W", "-f", "-p", path("theirs.pub"), "-s", path("theirs.key")]);
      const publicText = readFileSync(path("theirs.pub"), "utf8");
      const keyId = /^untrusted comment: minisign public key ([0-9A-F]{1,16})\n/.exec(publicText)?.[1];
      assert.ok(keyId, publicText);
      assert.equal(parsePublicKey(publicText).keyId, keyId);
      const signingKey = await loadSigningKey(readFileSync(path("theirs.key"), "utf8"));
      assert.equal(signingKey.keyId, keyId);
      assert.equal(signingKey.publicKey.base64, publicText.split("\n")[1]);

      const data = randomBytes(70_000);
      writeFileSync(path("theirs-data"), data);
      minisignOk([
        "-S",
        "-s",
        path("theirs.key"),
        "-m",
        path("theirs-data"),
        "-t",
        "signed by minisign\tüñí",
      ]);
      const result = verify(data, readFileSync(path("theirs-data.minisig"), "utf8"), publicText);
      assert.deepEqual(result, {
        ok: true,
        keyId,
        trustedComment: "signed by minisign\tüñí",
        untrustedComment: "signature from minisign secret key",
        prehashed: true,
      });
      const changed = Buffer.from(data);
      changed[69_999]! ^= 1;
      assert.equal(verify(changed, readFileSync(path("theirs-data.minisig"), "utf8"), publicText).ok, false);

      // Legacy signatures (minisign -l): refused unless asked for, then checked over the raw data.
      minisignOk([
        "-S",
        "-l",
        "-s",
        path("theirs.key"),
        "-m",
        path("theirs-data"),
        "-x",
        path("legacy.minisig"),
      ]);
      const legacy = readFileSync(path("legacy.minisig"), "utf8");
      const refused = verify(data, legacy, publicText);
      assert.equal(!refused.ok && refused.reason, "legacy-algorithm");
      const allowed = verify(data, legacy, publicText, { allowLegacy: true });
      assert.equal(allowed.ok && allowed.prehashed, false);
      assert.equal(verify(changed, legacy, publicText, { allowLegacy: true }).ok, false);

      writeFileSync(
        path("theirs-data.minisig"),
        signWithKey(data, signingKey, { trustedComment: "signed by lifeboat" }),
      );
      const checked = minisignOk(["-V", "-p", path("theirs.pub"), "-m", path("theirs-data")]);
      assert.match(checked.stdout, /Trusted comment: signed by lifeboat\n/);
    });

    test("minisign signs with our unencrypted key without asking a password, and -R recreates our public key", async () => {
      const key = await generateSigningKey();
      writeFileSync(path("ours.key"), key.secretKeyText, { mode: 0o600 });
      writeFileSync(path("ours.pub"), key.publicKeyText);
      const data = randomBytes(1000);
      writeFileSync(path("data"), data);
      minisignOk([
        "-S",
        "-s",
        path("ours.key"),
        "-p",
        path("ours.pub"),
        "-m",
        path("data"),
        "-t",
        "from minisign",
      ]);
      const result = verify(data, readFileSync(path("data.minisig"), "utf8"), key.publicKeyText);
      assert.equal(result.ok && result.trustedComment, "from minisign");
      minisignOk(["-R", "-f", "-s", path("ours.key"), "-p", path("recreated.pub")]);
      // With no comment of ours, our public key file is byte for byte the one minisign writes.
      assert.equal(readFileSync(path("recreated.pub"), "utf8"), key.publicKeyText);
    });

    test("a password key from minisign -G (scrypt, 1 GiB): we read it with the password and sign with it", async () => {
      const password = "a long password, typed twice";
      minisignOk(["-G", "-f", "-p", path("pw.pub"), "-s", path("pw.key")], `${password}\n${password}\n`);
      const secretText = readFileSync(path("pw.key"), "utf8");
      const struct = decodeLine(secretText, 1);
      assert.equal(struct.subarray(SK.kdf, SK.kdf + 2).toString(), "Sc");
      const key = await loadSigningKey(secretText, { password });
      assert.equal(key.keyId, parsePublicKey(readFileSync(path("pw.pub"), "utf8")).keyId);
      const data = randomBytes(5000);
      writeFileSync(path("pw-data"), data);
      writeFileSync(path("pw-data.minisig"), signWithKey(data, key, { trustedComment: "lifeboat check" }));
      minisignOk(["-V", "-p", path("pw.pub"), "-m", path("pw-data")]);
      // A wrong password costs another 1 GiB derivation: the unit tests try one on a cheap key.
    });

    test("minisign signs with our password-protected keys: minisign's own cost, and libsodium's cheaper limits", async () => {
      const password = "pässword";
      const ours = await generateSigningKey({ password });
      const cheap = await generateSigningKey();
      const cheapText = protectWithInteractiveLimits(cheap.secretKeyText, password);
      assert.equal((await loadSigningKey(cheapText, { password })).keyId, cheap.keyId);
      for (const [name, secretText, publicText] of [
        ["sensitive", ours.secretKeyText, ours.publicKeyText],
        ["interactive", cheapText, cheap.publicKeyText],
      ] as const) {
        writeFileSync(path(`${name}.key`), secretText);
        const data = randomBytes(300);
        writeFileSync(path(`${name}-data`), data);
        const signed = minisign(
          ["-S", "-s", path(`${name}.key`), "-m", path(`${name}-data`), "-t", name],
          `${password}\n`,
        );
        assert.equal(signed.status, 0, `${name}: ${signed.stderr}`);
        const result = verify(data, readFileSync(path(`${name}-data.minisig`), "utf8"), publicText);
        assert.equal(result.ok && result.trustedComment, name);
      }
      // A wrong password costs a full derivation, so it is tried on the cheap key only.
      const wrong = minisign(
        ["-S", "-s", path("interactive.key"), "-m", path("interactive-data")],
        "wrong\n",
      );
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stderr, /Wrong password for that key/);
      assert.match(ours.secretKeyText.split("\n")[0]!, /password-protected/);
      assert.equal(
        decodeLine(ours.secretKeyText, 1)
          .subarray(SK.kdf, SK.kdf + 2)
          .toString(),
        "Sc",
      );
    });

    test("an auditor's check: minisign -V on a manifest moved to another folder passes, our reader refuses it", async () => {
      const key = await generateSigningKey();
      writeFileSync(path("lifeboat.pub"), key.publicKeyText);
      const data = Buffer.from('{"label":"app","backupId":"20261129T013000Z-abc123"}\n');
      const where = {
        kind: "manifest",
        label: "app",
        backupId: "20261129T013000Z-abc123",
        file: "manifest.json",
      };
      const signature = signWithKey(data, key.signingKey, {
        trustedComment: formatTrustedComment({ ...where, timestamp: 1 }),
      });
      writeFileSync(path("manifest.json"), data);
      writeFileSync(path("manifest.json.minisig"), signature);
      // minisign proves who signed and what the comment says; comparing the comment with the folder
      // is the reader's job, which is why the trusted comment names label, backup and file.
      const checked = minisignOk(["-Vm", path("manifest.json"), "-p", path("lifeboat.pub")]);
      assert.match(
        checked.stdout,
        /Trusted comment: lifeboat manifest label=app backup=20261129T013000Z-abc123 file=manifest.json timestamp=1\n/,
      );
      const moved = verifySignedObject(data, signature, key.publicKeyText, {
        ...where,
        backupId: "20261201T000000Z-newest",
      });
      assert.equal(!moved.ok && moved.reason, "wrong-context");
    });
  },
);
