/** Rules between options: a list of data checked by one function, first broken rule wins. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { checkRules, type Rule } from "../../src/settings/rules.js";
import {
  BACKUP_RULES,
  DECRYPTION_RULES,
  ENCRYPTION_RULES,
  RESTORE_RULES,
  STORAGE_RULES,
  parseBackupSettings,
  parseDecryptionKeys,
  parseRestoreSettings,
  parseStorageSettings,
} from "../../src/settings/settings.js";
import { OPTIONS } from "../../src/settings/spec.js";
import type { RawOptions } from "../../src/settings/types.js";

const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const work = mkdtempSync(join(tmpdir(), "lifeboat-rules-"));
after(() => rmSync(work, { recursive: true, force: true }));

function refused(run: () => unknown, input: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.equal(error.input, input);
    assert.match(error.message, message);
    return true;
  });
}

describe("checkRules", () => {
  const rules: Rule<{ a: number; b: number }>[] = [
    { name: "a small", input: OPTIONS.jobs, broken: (v) => v.a > 1, message: (v) => `a is ${v.a}` },
    { name: "b small", input: OPTIONS.label, broken: (v) => v.b > 1, message: () => "b too big" },
  ];

  test("passes values that break no rule", () => {
    checkRules({ a: 1, b: 1 }, rules);
  });

  test("throws the first broken rule's message, naming its input", () => {
    refused(() => checkRules({ a: 2, b: 2 }, rules), "jobs", /^a is 2$/);
    refused(() => checkRules({ a: 1, b: 2 }, rules), "label", /^b too big$/);
  });

  test("every rule in the lists has a name and names an option of the table", () => {
    const names = new Set<string>(Object.values(OPTIONS).map((option) => option.name));
    const lists: Rule<never>[][] = [
      STORAGE_RULES,
      ENCRYPTION_RULES,
      BACKUP_RULES,
      DECRYPTION_RULES,
      RESTORE_RULES,
    ];
    for (const rule of lists.flat()) {
      assert.ok(rule.name.length > 0);
      assert.ok(names.has(rule.input.name), rule.input.name);
    }
  });
});

const backup = (raw: RawOptions) =>
  parseBackupSettings({ "database-url": "postgresql://u:p@localhost/app", storage: "s3://bucket/x", ...raw });

describe("backup rules", () => {
  test("encryption: recipients, or a passphrase, or an explicit none, each alone", () => {
    refused(() => backup({}), "recipient", /^--recipient: required; expected an age public key/);
    refused(
      () => backup({ recipient: [RECIPIENT], passphrase: "secret" }),
      "recipient",
      /^--recipient and a passphrase: choose one/,
    );
    refused(
      () => backup({ encryption: "none", recipient: [RECIPIENT] }),
      "encryption",
      /^--encryption none: remove --recipient and the passphrase/,
    );
    refused(
      () => backup({ "no-encryption": true, passphrase: "secret" }),
      "encryption",
      /^--encryption none/,
    );
    assert.deepEqual(backup({ encryption: "NONE" }).encryption, { kind: "none" });
    assert.deepEqual(backup({ passphrase: "secret" }).encryption, {
      kind: "passphrase",
      passphrase: "secret",
    });
  });

  test("a passphrase file's first line is the passphrase, and an empty one is refused", () => {
    const file = join(work, "pass");
    writeFileSync(file, "hunter22\nignored\n");
    assert.deepEqual(backup({ "passphrase-file": file }).encryption, {
      kind: "passphrase",
      passphrase: "hunter22",
    });
    writeFileSync(file, "\n");
    refused(() => backup({ "passphrase-file": file }), "passphrase-file", /the first line is empty$/);
  });

  test("schema only or data only", () => {
    refused(
      () => backup({ recipient: [RECIPIENT], "schema-only": true, "data-only": "true" }),
      "schema-only",
      /^--schema-only and --data-only: choose one, not both$/,
    );
  });

  test("object lock: mode and days together, on S3, with checksums", () => {
    const ok = backup({ recipient: [RECIPIENT], "object-lock-mode": "compliance", "object-lock-days": "7" });
    assert.deepEqual(ok.objectLock, { mode: "COMPLIANCE", days: 7 });
    assert.equal(ok.s3.checksums, "when-supported", "a locked upload needs a checksum");
    refused(
      () => backup({ recipient: [RECIPIENT], "object-lock-days": "7" }),
      "object-lock-mode",
      /^--object-lock-mode: required with/,
    );
    refused(
      () => backup({ recipient: [RECIPIENT], "object-lock-mode": "GOVERNANCE" }),
      "object-lock-days",
      /^--object-lock-days: required with/,
    );
    refused(
      () =>
        backup({
          recipient: [RECIPIENT],
          storage: "/tmp/x",
          "object-lock-mode": "GOVERNANCE",
          "object-lock-days": "1",
        }),
      "object-lock-mode",
      /needs s3:\/\/ storage/,
    );
    refused(
      () =>
        backup({
          recipient: [RECIPIENT],
          "object-lock-mode": "GOVERNANCE",
          "object-lock-days": "1",
          "s3-checksums": "When-Required",
        }),
      "s3-checksums",
      /^--s3-checksums when-required: S3 refuses object-locked uploads without a checksum/,
    );
  });

  test("include-roles auto follows the preset", () => {
    assert.equal(backup({ recipient: [RECIPIENT] }).includeRoles, false);
    assert.equal(backup({ recipient: [RECIPIENT], preset: "Supabase" }).includeRoles, true);
    assert.equal(
      backup({ recipient: [RECIPIENT], preset: "supabase", "include-roles": "false" }).includeRoles,
      false,
    );
  });
});

describe("storage and decryption rules", () => {
  test("a KMS key only with aws:kms", () => {
    refused(
      () => parseStorageSettings({ storage: "s3://b", "s3-sse-kms-key-id": "k" }),
      "s3-sse-kms-key-id",
      /^--s3-sse-kms-key-id: only used with --s3-sse aws:kms$/,
    );
    assert.equal(
      parseStorageSettings({ storage: "s3://b", "s3-sse": "aws:kms", "s3-sse-kms-key-id": "k" }).s3
        .sseKmsKeyId,
      "k",
    );
  });

  test("one decryption key: an identity or a passphrase", () => {
    refused(
      () => parseDecryptionKeys({ identity: "AGE-SECRET-KEY-1X", passphrase: "p" }),
      "identity-file",
      /^--identity-file and a passphrase: give the one the backup was made with$/,
    );
  });
});

describe("restore rules", () => {
  const restore = (raw: RawOptions) =>
    parseRestoreSettings({
      storage: "/tmp/store",
      label: "shop",
      "target-database-url": "postgresql://u:p@localhost/keep",
      ...raw,
    });

  test("confirm is required and names the target database", () => {
    refused(
      () => restore({}),
      "confirm",
      /^--confirm: required; expected the target database's name \("keep"\)/,
    );
    refused(
      () => restore({ confirm: "shop" }),
      "confirm",
      /^--confirm "shop": expected the target database's name "keep"/,
    );
    assert.equal(restore({ confirm: "keep" }).confirm, "keep");
  });

  test("the safety label defaults to <label>-safety, fits, and differs from the label", () => {
    assert.equal(restore({ confirm: "keep" }).safetyLabel, "shop-safety");
    refused(
      () => restore({ confirm: "keep", "safety-label": "shop" }),
      "safety-label",
      /^--safety-label "shop": expected a label other than the one being restored from$/,
    );
    refused(
      () => restore({ confirm: "keep", label: "a".repeat(60) }),
      "safety-label",
      /the safety label "a{60}-safety" is too long; give --safety-label$/,
    );
    assert.equal(restore({ confirm: "keep", label: "a".repeat(60), "safety-label": "b" }).safetyLabel, "b");
  });
});
