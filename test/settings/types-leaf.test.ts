/** The settings types are a leaf, so commands, adapters and the parser depend on them without a cycle. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

test("src/settings/types.ts imports only domain types", () => {
  const source = readFileSync("src/settings/types.ts", "utf8");
  const imports = [...source.matchAll(/^(import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((match) => ({
    statement: match[0],
    from: match[2]!,
  }));
  assert.ok(imports.length > 0);
  for (const { statement, from } of imports) {
    assert.match(from, /^\.\.\/domain\//, statement);
    assert.match(statement, /^import type /, statement);
  }
});

test("no command module declares a settings type of its own", () => {
  // The run modules take their settings typed; only the definitions parse (src/settings/settings.ts).
  const modules = ["backup", "list", "prune", "verify", "restore-test", "restore"].map(
    (name) => `src/commands/${name}/run.ts`,
  );
  for (const path of [...modules, "src/commands/read-backup.ts"]) {
    const source = readFileSync(path, "utf8");
    assert.doesNotMatch(source, /^export (interface|type) \w*(Settings|DecryptionKeys)\b/m, path);
    assert.doesNotMatch(source, /from "(\.\.\/)+settings\/settings\.js"/, path);
  }
});
