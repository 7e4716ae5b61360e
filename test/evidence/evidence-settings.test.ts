/**
 * The evidence options as a user gives them: trusted keys as a line, a file or a whole pasted
 * minisign.pub (action input), bad ones as one line of bad input (exit 2) that never echoes key
 * material, and a bad signing key refused before a backup dumps anything.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateSigningKey } from "../../src/crypto/minisign/index.js";
import { InputError } from "../../src/domain/errors.js";
import { parseStorageSettings } from "../../src/settings/settings.js";
import { protectWithInteractiveLimits } from "../crypto/minisign-helpers.js";
import { runCli } from "../helpers/cli.js";

let work: string;
let publicKeyText: string;
let secretKeyText: string;
let publicLine: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lifeboat-evidence-settings-"));
  const key = await generateSigningKey();
  publicKeyText = key.publicKeyText;
  secretKeyText = key.secretKeyText;
  publicLine = key.signingKey.publicKey.base64;
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("evidence settings", () => {
  test("a trusted key as its line, or a whole minisign.pub pasted into an action input, reads the same", () => {
    const asLine = parseStorageSettings({ storage: work, "trusted-key": [publicLine] });
    const asFileText = parseStorageSettings({ storage: work, "trusted-key": [publicKeyText] });
    assert.deepEqual(asLine.evidence, { trustedKeys: [publicLine], signingKeyText: undefined });
    assert.deepEqual(asFileText.evidence, asLine.evidence);
    assert.equal(parseStorageSettings({ storage: work }).evidence, undefined, "no evidence options: none");
  });

  test("a secret key given as a trusted key is refused without echoing it", () => {
    const secretLine = secretKeyText.split("\n")[1]!;
    assert.throws(
      () => parseStorageSettings({ storage: work, "trusted-key": [secretLine] }),
      (error: unknown) =>
        error instanceof InputError &&
        /trusted-key: this is a minisign secret key/.test(error.message) &&
        !error.message.includes(secretLine.slice(10, 40)),
    );
  });

  test("a password-protected signing key is refused when read: no option carries its password", () => {
    const locked = protectWithInteractiveLimits(secretKeyText, "hunter2");
    assert.throws(
      () => parseStorageSettings({ storage: work, "signing-key": locked }),
      /^InputError: signing-key: the secret key is password-protected/,
    );
    assert.equal(
      parseStorageSettings({ storage: work, "signing-key": secretKeyText }).evidence?.signingKeyText?.trim(),
      secretKeyText.trim(),
    );
  });

  test("CLI: an unreadable trusted key file is exit 2 naming the option; a bad signing key fails before any work", async () => {
    const missing = await runCli(["list", "--storage", work, "--trusted-key", join(work, "nope.pub")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--trusted-key ".*nope\.pub": cannot read it/);
    const store = join(work, "store");
    const badKey = await runCli(
      [
        "backup",
        "--storage",
        store,
        "--recipient",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
      ],
      {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none",
          LIFEBOAT_SIGNING_KEY: publicKeyText,
        },
      },
    );
    assert.equal(badKey.code, 2, badKey.stderr);
    assert.match(badKey.stderr, /signing-key: this is a minisign public key/);
    let written: string[] = [];
    try {
      written = readdirSync(store, { recursive: true }) as string[];
    } catch {
      // no store folder at all: nothing written
    }
    assert.deepEqual(written, []);
  });
});
