#!/usr/bin/env node
// Builds everything that is committed: the action.yml files (from the option table) and one ncc
// bundle per action plus the CLI's, under dist/ (or under --out DIR, for the freshness check).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : ".";

const ymls = spawnSync(process.execPath, ["--import", "tsx", "scripts/render-actions.ts"], {
  encoding: "utf8",
});
if (ymls.status !== 0) {
  process.stderr.write(ymls.stderr);
  process.exit(1);
}
for (const [path, content] of Object.entries(JSON.parse(ymls.stdout))) {
  mkdirSync(dirname(join(out, path)), { recursive: true });
  writeFileSync(join(out, path), content);
}

const entries = {
  "backup-db": "src/actions/backup-db/index.ts",
  "verify-backup": "src/actions/verify-backup/index.ts",
  "restore-test": "src/actions/restore-test/index.ts",
  prune: "src/actions/prune/index.ts",
  "restore-db": "src/actions/restore-db/index.ts",
  "copy-backup": "src/actions/copy-backup/index.ts",
  "restore-files": "src/actions/restore-files/index.ts",
  cli: "src/cli/index.ts",
  // Not an action: the worker thread that masking starts from the restore-test and CLI bundles
  // (src/masking/fake-pool.ts finds it at ../mask-worker/index.js from their directory).
  "mask-worker": "src/masking/fake-worker.ts",
};
rmSync(join(out, "dist"), { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const target = join(out, "dist", name);
  const result = spawnSync(
    process.execPath,
    [
      "node_modules/@vercel/ncc/dist/ncc/cli.js",
      "build",
      entry,
      "-o",
      target,
      "--quiet",
      "--target",
      "es2022",
    ],
    { stdio: "inherit" },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
const cli = join(out, "dist", "cli", "index.js");
const source = readFileSync(cli, "utf8");
if (!source.startsWith("#!")) writeFileSync(cli, `#!/usr/bin/env node\n${source}`);
chmodSync(cli, 0o755);
