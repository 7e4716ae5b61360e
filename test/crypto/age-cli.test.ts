/**
 * Interoperability with the stock `age` and `age-keygen` CLIs, both ways: anyone must be able to
 * recover a backup with stock tools alone, and files age writes must decrypt here.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  generateIdentity,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
  recipientOf,
} from "../../src/crypto/age/index.js";
import { decrypt, encrypt } from "./age-helpers.js";

const hasAge =
  spawnSync("age", ["--version"]).status === 0 && spawnSync("age-keygen", ["--version"]).status === 0;
const hasPython = spawnSync("python3", ["--version"]).status === 0;

/**
 * `age -p` and `age -d` on a passphrase file read the passphrase from the terminal only, so this
 * runs age on a pseudo-terminal and types the passphrase (argv[1]) at every prompt ending in ":".
 */
const TYPE_PASSPHRASE = `
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen = b""
while True:
    try:
        ready, _, _ = select.select([fd], [], [], 60)
        data = os.read(fd, 1024) if ready else b""
    except OSError:
        break
    if not data:
        break
    seen += data
    if seen.rstrip().endswith(b":"):
        os.write(fd, sys.argv[1].encode() + b"\\n")
        seen = b""
_, status = os.waitpid(pid, 0)
sys.stderr.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;

function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}

describe("interoperability with the age CLI", { skip: !hasAge && "the age CLI is not installed" }, () => {
  const directory = mkdtempSync(join(tmpdir(), "lifeboat-age-"));
  const path = (name: string): string => join(directory, name);
  after(() => rmSync(directory, { recursive: true, force: true }));

  const SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536, 1_000_003];

  test("age -d decrypts what we encrypt, to one and to three recipients", async () => {
    const keys = [generateIdentity(), generateIdentity(), generateIdentity()];
    keys.forEach(({ identity }, index) => writeFileSync(path(`key-${index}.txt`), `${identity}\n`));
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      writeFileSync(path("ours-1.age"), await encrypt(plaintext, [parseRecipient(keys[0]!.recipient)]));
      const single = await run("age", ["-d", "-i", path("key-0.txt"), path("ours-1.age")]);
      assert.ok(single.equals(plaintext), `size ${size}, one recipient`);
      const all = keys.map(({ recipient }) => parseRecipient(recipient));
      writeFileSync(path("ours-3.age"), await encrypt(plaintext, all, 10_000));
      for (const index of [0, 1, 2]) {
        const output = await run("age", ["-d", "-i", path(`key-${index}.txt`), path("ours-3.age")]);
        assert.ok(output.equals(plaintext), `size ${size}, three recipients, key ${index}`);
      }
    }
  });

  test("we decrypt what age -r encrypts, with a key made by age-keygen", async () => {
    await run("age-keygen", ["-o", path("keygen.txt")]);
    const keyFile = readFileSync(path("keygen.txt"), "utf8");
    assert.match(keyFile, /^# created: .*\n# public key: age1.*\nAGE-SECRET-KEY-1/);
    const recipient = (await run("age-keygen", ["-y", path("keygen.txt")])).toString().trim();
    const identities = parseIdentities(keyFile);
    assert.equal(recipientOf(identities[0]!), recipient);
    assert.equal(parseRecipient(recipient).toString(), recipient);
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      writeFileSync(path("plain"), plaintext);
      await run("age", ["-r", recipient, "-o", path("theirs.age"), path("plain")]);
      const { plaintext: decrypted, error } = await decrypt(
        readFileSync(path("theirs.age")),
        identities,
        4099,
      );
      assert.equal(error, undefined);
      assert.ok(decrypted.equals(plaintext), `size ${size}`);
    }
  });

  test("we decrypt what age -e -R encrypts to several recipients, with each key", async () => {
    const keys = [generateIdentity(), generateIdentity(), generateIdentity()];
    writeFileSync(
      path("recipients.txt"),
      `# the team\n${keys.map(({ recipient }) => recipient).join("\n")}\n`,
    );
    const plaintext = randomBytes(200_000);
    writeFileSync(path("plain"), plaintext);
    await run("age", ["-e", "-R", path("recipients.txt"), "-o", path("theirs-3.age"), path("plain")]);
    for (const { identity } of keys) {
      const { plaintext: decrypted, error } = await decrypt(
        readFileSync(path("theirs-3.age")),
        parseIdentities(identity),
      );
      assert.equal(error, undefined);
      assert.ok(decrypted.equals(plaintext));
    }
  });

  test("age-keygen -y derives the same public key from our identities", async () => {
    for (let i = 0; i < 5; i++) {
      const { identity, recipient } = generateIdentity();
      writeFileSync(path("ours-key.txt"), `${identity}\n`);
      assert.equal((await run("age-keygen", ["-y", path("ours-key.txt")])).toString().trim(), recipient);
    }
  });

  test("age rejects our files when tampered with or truncated, as we do", async () => {
    const { identity, recipient } = generateIdentity();
    writeFileSync(path("key.txt"), `${identity}\n`);
    const file = await encrypt(randomBytes(3 * 65536), [parseRecipient(recipient)]);
    const tampered = Buffer.from(file);
    tampered[tampered.length - 100] ^= 1;
    for (const broken of [tampered, file.subarray(0, file.length - 65552)]) {
      writeFileSync(path("broken.age"), broken);
      await assert.rejects(run("age", ["-d", "-i", path("key.txt"), path("broken.age")]));
    }
  });

  describe(
    "passphrases, typed into age on a pseudo-terminal",
    { skip: !hasPython && "python3 is not installed" },
    () => {
      test("age -d decrypts our passphrase file (default work factor)", async () => {
        const plaintext = randomBytes(100_000);
        writeFileSync(
          path("ours-pass.age"),
          await encrypt(plaintext, [passphraseRecipient("correct horse battery")]),
        );
        const args = [
          "-c",
          TYPE_PASSPHRASE,
          "correct horse battery",
          "age",
          "-d",
          "-o",
          path("out"),
          path("ours-pass.age"),
        ];
        await run("python3", args);
        assert.ok(readFileSync(path("out")).equals(plaintext));
      });

      test("we decrypt age -p output, and reject it with a wrong passphrase", async () => {
        const plaintext = randomBytes(100_000);
        writeFileSync(path("plain"), plaintext);
        await run("python3", [
          "-c",
          TYPE_PASSPHRASE,
          "tr0ub4dor",
          "age",
          "-p",
          "-o",
          path("theirs-pass.age"),
          path("plain"),
        ]);
        const file = readFileSync(path("theirs-pass.age"));
        assert.match(file.toString("latin1", 0, 60), /^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/);
        const { plaintext: decrypted, error } = await decrypt(file, [passphraseIdentity("tr0ub4dor")]);
        assert.equal(error, undefined);
        assert.ok(decrypted.equals(plaintext));
        const wrong = await decrypt(file, [passphraseIdentity("tr0ub4dor!")]);
        assert.match(String(wrong.error), /the passphrase is incorrect/);
      });
    },
  );
});
