/**
 * Storage URLs with their own options (docs/offsite.md): the query overrides the s3-* options for
 * that URL alone, names a credentials prefix, never carries a secret; backup takes several URLs,
 * the other commands one; copy's two sides get their own credential prefixes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { parseBackupSettings, parseCopySettings, parsePruneSettings } from "../../src/settings/settings.js";
import { parseDestination } from "../../src/settings/storage-list.js";
import type { S3Settings } from "../../src/settings/types.js";

const BASE: S3Settings = {
  endpoint: "https://primary.example",
  region: "us-east-1",
  forcePathStyle: false,
  checksums: "when-required",
  sse: undefined,
  sseKmsKeyId: undefined,
};
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

function refused(run: () => unknown, input: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.equal(error.input, input);
    assert.match(error.message, message);
    return true;
  });
}

describe("one storage URL's options", () => {
  test("the query overrides the common options for that URL only, and leaves the URL bare", () => {
    const destination = parseDestination(
      "s3://offsite/db?endpoint=https://b2.example&region=eu-central-003&force-path-style&checksums=when-supported&credentials=OFFSITE",
      BASE,
      "storage",
    );
    assert.deepEqual(destination, {
      storage: "s3://offsite/db",
      s3: {
        ...BASE,
        endpoint: "https://b2.example",
        region: "eu-central-003",
        forcePathStyle: true,
        checksums: "when-supported",
        credentialsEnv: { prefix: "OFFSITE", optional: false },
      },
    });
    assert.equal(BASE.endpoint, "https://primary.example");
  });

  test("a local path keeps its text whole, question mark and commas included", () => {
    assert.deepEqual(parseDestination("/backups/a,b?c", BASE, "storage"), {
      storage: "/backups/a,b?c",
      s3: BASE,
    });
  });

  test("bad options are exit 2 naming the URL, never echoing a would-be secret", () => {
    refused(
      () => parseDestination("s3://b/p?aws_secret_access_key=SHH", BASE, "storage"),
      "storage",
      /unknown option "aws_secret_access_key"/,
    );
    refused(
      () => parseDestination("s3://b/p?endpoint=ftp://x", BASE, "to"),
      "to",
      /--to "s3:\/\/b\/p": endpoint: .*http/,
    );
    refused(
      () => parseDestination("s3://b/p?credentials=A-B", BASE, "storage"),
      "storage",
      /environment variable prefix/,
    );
    refused(
      () => parseDestination("s3://b/p?sse-kms-key-id=k", BASE, "storage"),
      "storage",
      /only used with sse=aws:kms/,
    );
    try {
      parseDestination("s3://b/p?aws_secret_access_key=SHH", BASE, "storage");
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /SHH/);
    }
  });
});

describe("storage lists", () => {
  const backupRaw = (storage: string[], extra: Record<string, string> = {}) => ({
    "database-url": "postgresql://u:p@localhost:5432/app",
    recipient: [RECIPIENT],
    storage,
    ...extra,
  });

  test("backup takes several URLs, one per line in an action, commas kept", () => {
    const settings = parseBackupSettings(
      backupRaw(["s3://a/p\n/local/x,y\n\ns3://a/p?endpoint=https://other.example"]),
    );
    assert.deepEqual(
      settings.destinations?.map((destination) => [destination.storage, destination.s3.endpoint]),
      [
        ["s3://a/p", undefined],
        ["/local/x,y", undefined],
        ["s3://a/p", "https://other.example"],
      ],
    );
    assert.equal(settings.storage, "s3://a/p");
    assert.equal(settings.minDestinations, undefined);
  });

  test("the same store twice, or more commits required than stores, is exit 2", () => {
    refused(() => parseBackupSettings(backupRaw(["/x", "/x/"])), "storage", /given twice/);
    refused(
      () => parseBackupSettings(backupRaw(["/x", "/y"], { "min-destinations": "3" })),
      "min-destinations",
      /at most .* \(2\)/,
    );
    refused(
      () =>
        parseBackupSettings(
          backupRaw(["s3://a/p", "/y"], { "object-lock-mode": "GOVERNANCE", "object-lock-days": "1" }),
        ),
      "object-lock-mode",
      /needs s3:\/\/ storage/,
    );
  });

  test("object lock on several S3 stores turns request checksums on for each", () => {
    const settings = parseBackupSettings(
      backupRaw(["s3://a/p", "s3://b/p?endpoint=https://b.example"], {
        "object-lock-mode": "GOVERNANCE",
        "object-lock-days": "1",
      }),
    );
    assert.deepEqual(
      settings.destinations?.map((destination) => destination.s3.checksums),
      ["when-supported", "when-supported"],
    );
  });

  test("the other commands act on one store", () => {
    refused(
      () => parsePruneSettings({ storage: ["/x", "/y"], "keep-last": "1" }),
      "storage",
      /acts on one store/,
    );
    refused(() => parsePruneSettings({ "keep-last": "1" }), "storage", /required/);
  });
});

describe("copy's settings", () => {
  test("each side reads its own credential prefix unless its URL names one", () => {
    const settings = parseCopySettings({
      from: "s3://prod/db",
      to: "s3://vault/db?credentials=VAULT",
      backup: "all",
    });
    assert.deepEqual(settings.from.s3.credentialsEnv, { prefix: "LIFEBOAT_FROM", optional: true });
    assert.deepEqual(settings.to.s3.credentialsEnv, { prefix: "VAULT", optional: false });
    assert.equal(settings.backup, "all");
  });

  test("bad copies are exit 2", () => {
    refused(() => parseCopySettings({ from: "/x", to: "/x/" }), "to", /the same store/);
    refused(
      () => parseCopySettings({ from: "/x", to: "/y", backup: "newest" }),
      "backup",
      /latest, all or a backup id/,
    );
    refused(
      () =>
        parseCopySettings({
          from: "/x",
          to: "/y",
          "object-lock-mode": "GOVERNANCE",
          "object-lock-days": "3",
        }),
      "object-lock-mode",
      /s3:\/\/ destination/,
    );
    refused(
      () => parseCopySettings({ from: "/x", to: "s3://v/p", "object-lock-days": "3" }),
      "object-lock-mode",
      /required/,
    );
  });
});
