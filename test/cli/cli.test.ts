import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { COMMANDS } from "../../src/settings/spec.js";
import { runCli } from "../helpers/cli.js";

test("--help on every command exits 0 and lists its options", async () => {
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^ {2}backup /m);
  const backup = await runCli(["backup", "--help"]);
  assert.equal(backup.code, 0);
  for (const flag of ["--database-url URL", "--storage URL", "--recipient", "--passphrase-file", "--json"]) {
    assert.ok(backup.stdout.includes(flag), flag);
  }
  assert.ok(
    !backup.stdout.includes("--passphrase "),
    "no passphrase on the command line, where ps would show it",
  );
});

test("no command prints the usage and exits 2", async () => {
  const run = await runCli([]);
  assert.equal(run.code, 2);
  assert.match(run.stdout, /^Usage: lifeboat <command>/);
});

test("typos get a one-line error with a suggestion and exit 2", async () => {
  const command = await runCli(["bakup"]);
  assert.equal(command.code, 2);
  assert.equal(
    command.stderr,
    `lifeboat: error: unknown command "bakup" (did you mean backup?); expected one of ${COMMANDS.map((spec) => spec.command).join(", ")}`,
  );
  const option = await runCli(["list", "--lable", "x"]);
  assert.equal(option.code, 2);
  assert.equal(
    option.stderr,
    "lifeboat: error: unknown option --lable (did you mean --label?); see lifeboat list --help",
  );
  // The start of one option's name is a hint too; the start of several is not.
  const start = await runCli(["keygen", "--out", "x"]);
  assert.equal(start.code, 2);
  assert.equal(
    start.stderr,
    "lifeboat: error: unknown option --out (did you mean --output?); see lifeboat keygen --help",
  );
  const several = await runCli(["backup", "--files-s3", "x"]);
  assert.equal(several.code, 2);
  assert.match(several.stderr, /^lifeboat: error: unknown option --files-s3; see lifeboat backup --help$/);
});

test("--json errors are one JSON object on stdout too", async () => {
  const run = await runCli(["list", "--storage", "gs://nope", "--json"]);
  assert.equal(run.code, 2);
  assert.deepEqual(Object.keys(run.json).sort(), ["error", "exitCode", "ok"]);
  assert.equal(run.json.ok, false);
});

test("keygen writes a private identity file that stock age can use, and never overwrites one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-keygen-"));
  try {
    const file = join(dir, "key.txt");
    const run = await runCli(["keygen", "--output", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^age1[0-9a-z]{58}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(execFileSync("age-keygen", ["-y", file], { encoding: "utf8" }).trim(), run.stdout);
    const before = readFileSync(file, "utf8");
    const again = await runCli(["keygen", "--output", file]);
    assert.equal(again.code, 2);
    assert.equal(readFileSync(file, "utf8"), before);
    const missing = await runCli(["keygen", "--output", join(dir, "no-such-dir", "key.txt")]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^lifeboat: error: --output ".*no-such-dir\/key\.txt": cannot create the file \(ENOENT\)/,
    );
    assert.equal(missing.stdout, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an explicitly empty value is exit 2 naming the option, never the default", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-empty-"));
  try {
    const cases: [string[], string][] = [
      [
        ["list", "--storage", dir, "--label", ""],
        '--label "": expected a value, or leave the option out for the default "default"',
      ],
      [
        ["list", "--storage="],
        '--storage "": expected a value, or leave the option out for the default "./backups"',
      ],
      [
        ["list", "--storage", dir, "--s3-region", " "],
        '--s3-region "": expected a value, or leave the option out',
      ],
      [
        ["verify", "--storage", dir, "--backup", ""],
        '--backup "": expected a value, or leave the option out for the default "latest"',
      ],
      [
        ["backup", "--storage", dir, "--recipient", ""],
        '--recipient "": expected a value, or leave the option out',
      ],
    ];
    for (const [argv, message] of cases) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.equal(run.stderr, `lifeboat: error: ${message}`);
    }
    assert.deepEqual(readdirSync(dir), [], "nothing written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an empty environment variable counts as unset; choices match in any case", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-env-"));
  try {
    const run = await runCli(["list", "--storage", dir, "--json", "--s3-checksums", "WHEN-SUPPORTED"], {
      env: { PATH: process.env.PATH, LIFEBOAT_LABEL: "", AWS_ENDPOINT_URL_S3: " " },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.label, "default");
    const bad = await runCli(["list", "--storage", dir, "--s3-checksums", "sometimes"]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'lifeboat: error: --s3-checksums "sometimes": expected when-required or when-supported',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
