/** The report model rendered as Markdown (job summary, PR comment) and as Slack Block Kit. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RestoreTestResult } from "../../src/commands/restore-test/run.js";
import type { PruneResult } from "../../src/commands/prune/run.js";
import { InputError, OperationError } from "../../src/domain/errors.js";
import { historyStats, type HistoryPoint } from "../../src/report/history.js";
import { codeBlock, renderMarkdown } from "../../src/report/markdown.js";
import {
  buildErrorReport,
  buildPruneReport,
  buildRestoreTestReport,
  reportMarker,
  shouldNotify,
  type Report,
} from "../../src/report/report.js";
import { renderSlack } from "../../src/report/channels/slack.js";

const RUN = "https://github.com/acme/shop/actions/runs/42";

function restoreTestResult(overrides: Partial<RestoreTestResult> = {}): RestoreTestResult {
  return {
    passed: true,
    backupId: "20261122T010500Z-abc123",
    scratchDatabase: "lifeboat_scratch_x",
    kept: false,
    restoreSeconds: 12.5,
    mode: "file",
    tablesChecked: 6,
    mismatches: [],
    restoreErrors: [],
    toleratedErrors: [],
    assertions: [{ sql: "select count(*) > 0 from orders", passed: true, detail: "true" }],
    run: { command: "npx prisma migrate deploy", exitCode: 0, output: "applied 2 migrations\n" },
    failures: [],
    pgRestoreLog: "pg_restore: creating TABLE public.orders\n",
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
    checkKey: "app/x/checks/y.json",
    ...overrides,
  };
}

function points(sizes: (number | null)[], restore: (number | null)[] = []): HistoryPoint[] {
  return sizes.map((bytes, index) => {
    const startedAt = new Date(Date.UTC(2026, 10, 20 + index, 1, 5));
    return {
      backupId: `202611${20 + index}T010500Z-abc${index}`,
      startedAt,
      committed: bytes !== null,
      storedBytes: bytes,
      finishedAt: new Date(startedAt.getTime() + 60_000),
      lastCheckPassed: null,
      restoreSeconds: restore[index] ?? null,
    };
  });
}

describe("Markdown", () => {
  test("the job summary has the title, verdict, result table, sections, history charts and run link", () => {
    const report = buildRestoreTestReport(restoreTestResult(), { label: "app", runUrl: RUN });
    const history = points([3 * 1024 * 1024, 3.5 * 1024 * 1024, 4 * 1024 * 1024], [10, null, 12.5]);
    report.history = {
      label: "app",
      points: history,
      stats: historyStats(history, new Date("2026-11-22T03:05:00Z")),
    };
    const text = renderMarkdown(report, "summary");
    assert.match(text, /<h2>Lifeboat restore-test: app passed<\/h2>/);
    assert.match(text, /✅ \*\*passed\*\*: Backup 20261122T010500Z-abc123 restored in 12\.5s/);
    assert.match(
      text,
      /\| Backup \| Restore \| Tables checked \| Mismatches \| Catalog \| Assertions \| Command \|/,
    );
    assert.match(
      text,
      /\| 20261122T010500Z-abc123 \| 12\.5s \(file\) \| 6 \| 0 \| 0 failures, 0 warnings \| 1\/1 \| exit 0 \|/,
    );
    assert.match(text, /<details><summary>Command output<\/summary>\n\n```text\napplied 2 migrations\n```/);
    assert.match(text, /```mermaid\nxychart-beta\n {2}title "Stored size per backup"/);
    assert.match(text, / {2}bar \[3, 3\.5, 4\]/);
    assert.match(text, / {2}y-axis "MiB" 0 --> 4\.4/);
    assert.match(text, / {2}line \[10, 12\.5\]/, "restore time only where measured");
    assert.match(text, /newest backup 2\.0h old · 3\/3 succeeded \(100%\) over the last 3 backups/);
    assert.ok(text.includes(`[Workflow run](${RUN})`));
    assert.ok(!text.includes("lifeboat:report"), "no marker in the job summary");
  });

  test("the PR comment starts with the hidden marker and is cut to fit a comment", () => {
    const report = buildRestoreTestReport(
      restoreTestResult({ pgRestoreLog: "x".repeat(200_000), passed: false, failures: ["boom"] }),
      { label: "app", runUrl: null },
    );
    const comment = renderMarkdown(report, "comment");
    assert.ok(comment.startsWith("<!-- lifeboat:report restore-test app -->\n"));
    assert.ok(comment.length < 65_536);
    assert.match(comment, /❌ \*\*failed\*\*/);
    assert.match(comment, /\*\*Failures\*\*\n\n- boom/);
    assert.equal(
      reportMarker({ action: "prune", label: "we<ird>" }),
      "<!-- lifeboat:report prune we_ird_ -->",
    );
  });

  test("table cells and text are escaped; code fences cannot be closed by the content", () => {
    const report = buildErrorReport("backup-db", new OperationError("a | b <script> c"), {
      label: "app",
      runUrl: null,
    });
    const text = renderMarkdown(report);
    assert.ok(text.includes("a | b &lt;script&gt; c"));
    assert.ok(!text.includes("<script>"));
    assert.equal(codeBlock("a ``` b", 100), "````text\na ``` b\n````");
  });

  test("prune keeps its headings, totals and decision tables", () => {
    const result: PruneResult = {
      storage: "file:///b",
      label: "shop",
      dryRun: true,
      kept: 1,
      keptIncomplete: 0,
      deleted: 1,
      deletedBackups: 1,
      deletedIncomplete: 0,
      freedBytes: 2048,
      objectsDeleted: 0,
      decisions: [
        {
          backupId: "20261122T010500Z-aaaaaa",
          startedAt: "2026-11-22T01:05:00.000Z",
          committed: true,
          verified: true,
          bytes: 100,
          objects: 2,
          action: "keep",
          rules: [],
          reasons: ["keep-last 1 of 1"],
        },
        {
          backupId: "20261121T010500Z-bbbbbb",
          startedAt: "2026-11-21T01:05:00.000Z",
          committed: true,
          verified: false,
          bytes: 2048,
          objects: 2,
          action: "delete",
          rules: [],
          reasons: ["no rule keeps it"],
        },
      ],
      warnings: ["min-verified: only 1 verified backup"],
      failed: [],
    };
    const report = buildPruneReport(result, { label: "shop", runUrl: null });
    assert.equal(report.verdict, "warn");
    const text = renderMarkdown(report);
    assert.match(text, /<h2>Lifeboat prune: shop \(dry run\)<\/h2>/);
    assert.match(text, /dry run: kept 1 backup; would delete 1 backup, 2\.00 KiB would be freed/);
    assert.match(text, /<h3>Kept \(1\)<\/h3>/);
    assert.match(text, /<h3>Would delete \(1\)<\/h3>/);
    assert.match(text, /> \[!WARNING\]\n> min-verified: only 1 verified backup/);
  });
});

describe("Slack", () => {
  test("a failure: header, headline, fields, failures, run button and a text fallback", () => {
    const report: Report = buildErrorReport(
      "backup-db",
      new OperationError("could not connect <to> db & more"),
      {
        label: "shop",
        runUrl: RUN,
      },
    );
    const payload = renderSlack(report);
    assert.match(payload.text, /^❌ Lifeboat backup: shop FAILED: could not connect/);
    assert.ok(payload.text.includes(RUN));
    assert.deepEqual(payload.blocks[0], {
      type: "header",
      text: { type: "plain_text", text: "❌ Lifeboat backup: shop FAILED", emoji: true },
    });
    const json = JSON.stringify(payload.blocks);
    assert.ok(json.includes("could not connect &lt;to&gt; db &amp; more"));
    const actions = payload.blocks.find((block) => block.type === "actions") as {
      elements: { url: string; style?: string }[];
    };
    assert.equal(actions.elements[0]!.url, RUN);
    assert.equal(actions.elements[0]!.style, "danger");
    const fields = payload.blocks.find((block) => "fields" in block) as { fields: { text: string }[] };
    assert.ok(fields.fields.length <= 10);
  });

  test("bad input is reported as such, and long texts stay within Slack's limits", () => {
    const report = buildErrorReport("restore-test", new InputError(`--x "${"y".repeat(5000)}": expected z`), {
      label: "app",
      runUrl: null,
    });
    assert.match(report.failures[0]!, /^bad input: /);
    const payload = renderSlack(report);
    for (const block of payload.blocks) {
      const text = (block as { text?: { text?: string } }).text?.text;
      if (text) assert.ok(text.length <= 3000, `${text.length}`);
    }
    assert.ok(payload.text.length <= 3000);
  });

  test("notify-on decides by verdict", () => {
    assert.deepEqual(
      (["failure", "success", "always", "never"] as const).map((when) => [
        shouldNotify(when, "pass"),
        shouldNotify(when, "warn"),
        shouldNotify(when, "fail"),
      ]),
      [
        [false, false, true],
        [true, true, false],
        [true, true, true],
        [false, false, false],
      ],
    );
  });
});
