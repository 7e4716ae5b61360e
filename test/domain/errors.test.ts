import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError, OperationError, describeError } from "../../src/domain/errors.js";

test("InputError exits 2 and remembers the input it names", () => {
  const error = new InputError("--storage: expected s3://bucket/prefix", { input: "storage" });
  assert.equal(error.exitCode, 2);
  assert.equal(error.input, "storage");
  assert.equal(error.name, "InputError");
});

test("OperationError exits 1", () => {
  assert.equal(new OperationError("pg_dump exited with code 1").exitCode, 1);
});

test("describeError keeps the first non-empty line of any thrown value", () => {
  assert.equal(describeError(new Error("\nfirst line\nsecond")), "first line");
  assert.equal(describeError("plain string"), "plain string");
});
