/**
 * Job summaries list every table with its row count and change against the previous backup of the
 * label, and which gates and checks ran: built from real backup, verify and restore-test runs (the
 * same definitions the actions run), rendered as the job summary's Markdown.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { backupCommand } from "../../src/commands/backup/definition.js";
import { executeCommand, type AnyCommand } from "../../src/commands/command.js";
import { silentLogger } from "../../src/commands/logger.js";
import { restoreTestCommand } from "../../src/commands/restore-test/definition.js";
import { verifyCommand } from "../../src/commands/verify/definition.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { createShop } from "../helpers/fixtures.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;

before(async () => {
  cluster = await startCluster();
  await createShop(cluster, "shop");
  work = mkdtempSync(join(tmpdir(), "lifeboat-summary-"));
  identityFile = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identityFile], { stdio: "pipe" });
  recipient = execFileSync("age-keygen", ["-y", identityFile], { encoding: "utf8" }).trim();
});

after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function summary(command: AnyCommand, raw: Record<string, string>): Promise<string> {
  const outcome = await executeCommand(
    command,
    { storage: join(work, "store"), label: "shop", ...raw },
    {
      env: { PATH: process.env.PATH },
      cwd: work,
      now: () => new Date(),
      log: silentLogger,
      signal: new AbortController().signal,
    },
  );
  const report = command.report!(outcome.result, { label: "shop", runUrl: null, storageUrl: "store" });
  const markdown = renderMarkdown(report, "summary");
  assert.ok(!markdown.includes(cluster.password), "no password in the summary");
  assert.ok(!markdown.includes("AGE-SECRET-KEY"), "no identity in the summary");
  return markdown;
}

test("backup: per-table rows, then their change against the previous backup", async () => {
  const first = await summary(backupCommand, { "database-url": cluster.url("shop"), recipient });
  assert.match(first, /Tables \(6; no previous backup to compare with\)/);
  assert.match(first, /\| shop\.orders \| 4000 \|/);
  await new Promise((done) => setTimeout(done, 1100));
  await cluster.sql(
    "shop",
    "DELETE FROM shop.orders WHERE id % 4 = 0; INSERT INTO public.scratch VALUES (11)",
  );
  const second = await summary(backupCommand, { "database-url": cluster.url("shop"), recipient });
  assert.match(second, /Tables \(6; 2 changed against \d{8}T\d{6}Z-\w+\)/);
  assert.match(second, /\| shop\.orders \| 3000 \| 4000 \| -25% \|/);
  assert.match(second, /\| public\.scratch \| 11 \| 10 \| \+10% \|/);
  assert.match(second, /\| shop\.customers \| 1500 \| 1500 \| 0% \|/);
  // The biggest move first.
  assert.ok(second.indexOf("shop.orders |") < second.indexOf("public.scratch |"));
});

test("verify: which gates were checked, with their limits", async () => {
  const markdown = await summary(verifyCommand, {
    "max-age": "26h",
    "max-size-change": "90%",
    "identity-file": identityFile,
  });
  assert.match(markdown, /Checks and gates/);
  assert.match(markdown, /\| decrypted, sha256 and archive contents \| manifest \| pass \|/);
  assert.match(markdown, /\| max-age \| 93600s \| pass \|/);
  assert.match(markdown, /\| max-size-change \| 90% \(fail\) \| pass \|/);
  assert.match(markdown, /\| min-size \| not set \| not checked \|/);
});

test("restore-test: every check with its limit and outcome, and the tables' drift", async () => {
  const markdown = await summary(restoreTestCommand, {
    "identity-file": identityFile,
    "scratch-database-url": cluster.url("postgres"),
    "max-table-drift": "20%",
    "drift-action": "warn",
    "max-restore-seconds": "600",
  });
  assert.match(markdown, /\| row counts \| manifest, exact \| pass \|/);
  assert.match(
    markdown,
    /\| content digests \| manifest sha256, exact \| pass \(6 compared, 0 not comparable\) \|/,
  );
  assert.match(markdown, /\| sequences \| ahead of their columns \| pass \(2\) \|/);
  assert.match(markdown, /\| table drift \| 20% \(warn\) \| warn \(1\) \|/);
  assert.match(markdown, /\| recovery time \| 600s \| [\d.]+s pass; trend [\d.]+s \|/);
  assert.match(markdown, /\| shop\.orders \| 3000 \| 4000 \| -25% \|/);
});
