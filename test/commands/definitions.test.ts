/** What the command definitions show, on results built by hand (the commands' runs are tested elsewhere). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { COMMAND_DEFINITIONS } from "../../src/commands/index.js";
import { restoreTestCommand } from "../../src/commands/restore-test/definition.js";
import type { RestoreTestResult } from "../../src/commands/restore-test/run.js";
import { COMMANDS } from "../../src/settings/spec.js";

function restoreTestResult(overrides: Partial<RestoreTestResult>): RestoreTestResult {
  return {
    passed: true,
    backupId: "20260101T000000Z-abc123",
    scratchDatabase: "lifeboat_rt_x",
    kept: false,
    restoreSeconds: 1.5,
    mode: "file",
    tablesChecked: 3,
    mismatches: [],
    restoreErrors: [],
    toleratedErrors: [],
    assertions: [],
    run: null,
    failures: [],
    pgRestoreLog: "",
    roles: null,
    catalog: {
      compared: true,
      notices: [],
      rolesCreated: [],
      missingRoles: [],
      failures: 0,
      warnings: 0,
      differences: [],
    },
    checkKey: "app/20260101T000000Z-abc123/checks/x.json",
    ...overrides,
  };
}

test("every command in the option table has exactly one definition, and the reverse", () => {
  assert.deepEqual(
    COMMAND_DEFINITIONS.map((command) => command.spec.command),
    COMMANDS.map((spec) => spec.command),
  );
});

test("restore-test's text shows the --run command's output before the verdict", () => {
  const text = restoreTestCommand.text(
    restoreTestResult({ run: { command: "npm run migrate", exitCode: 0, output: "applied 3 migrations\n" } }),
    { settings: {} as never },
  );
  assert.deepEqual(text.split("\n").slice(0, 2), ["$ npm run migrate", "applied 3 migrations"]);
  assert.match(
    text.split("\n")[2]!,
    /restored in 1\.5s \(file\), 3 tables checked, 0 mismatches.*run exited 0$/,
  );
});

test("restore-test's JSON leaves out the pg_restore log; its artifact keeps it", () => {
  const result = restoreTestResult({ pgRestoreLog: "pg_restore: creating TABLE" });
  assert.ok(!("pgRestoreLog" in restoreTestCommand.json(result, { settings: {} as never })));
  const report = restoreTestCommand.report!(result, { label: "app", runUrl: null, storageUrl: "file:///x" });
  const artifact = restoreTestCommand.artifact!(result, report);
  assert.equal(artifact.files["pg_restore.log"], "pg_restore: creating TABLE");
  assert.equal(artifact.name, "lifeboat-restore-test-app-20260101T000000Z-abc123");
});
