import assert from "node:assert/strict";
import { test } from "node:test";
import { inActionWords } from "../../src/actions/inputs.js";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { commandSpec } from "../../src/settings/spec.js";

test("an action's input errors name its inputs, not the CLI's flags", () => {
  const spec = commandSpec("verify");
  const cases: [string, string][] = [
    [
      "--identity-file: backup app/x is encrypted to age1abc; give the matching identity with --identity-file or LIFEBOAT_IDENTITY",
      "identity: backup app/x is encrypted to age1abc; give the matching identity with the identity input",
    ],
    ['--label "": expected a label', 'label "": expected a label'],
    [
      "--passphrase-file: backup app/x is encrypted with a passphrase; give it with --passphrase-file or LIFEBOAT_PASSPHRASE",
      "passphrase: backup app/x is encrypted with a passphrase; give it with the passphrase input",
    ],
    ["--not-an-option stays as written", "--not-an-option stays as written"],
  ];
  for (const [cli, action] of cases) {
    const translated = inActionWords(new InputError(cli, { input: "identity-file" }), spec);
    assert.ok(translated instanceof InputError);
    assert.equal(translated.message, action);
    if (cli !== action) assert.equal(translated.input, "identity");
  }
});

test("errors other than bad input pass through untouched", () => {
  const error = new OperationError("--identity-file: not touched");
  assert.equal(inActionWords(error, commandSpec("verify")), error);
});
