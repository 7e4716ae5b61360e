/** docs/status.md and the Pages workflow say what the code does. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { buildStatus } from "../../src/report/status/model.js";
import { renderPrometheus } from "../../src/report/status/prometheus.js";
import { parseExposition } from "../helpers/prometheus-parser.js";
import { DAY, NOW, mixedStore } from "./status-fixtures.js";

test("docs/status.md lists every metric status writes, and no other", () => {
  const docs = readFileSync("docs/status.md", "utf8");
  const written = [
    ...parseExposition(
      renderPrometheus(
        buildStatus(mixedStore(), { now: NOW, thresholds: { maxRestoreAgeSeconds: 8 * DAY } }),
      ),
    ).keys(),
  ].sort();
  const documented = [...new Set(docs.match(/`lifeboat_[a-z_]+/g)!.map((name) => name.slice(1)))].sort();
  assert.deepEqual(documented, written);
});

test("the Pages workflow grants nothing by default and pins the Pages actions to commits", () => {
  const workflow = parse(readFileSync("docs/workflows/status-page.yml", "utf8")) as {
    permissions: Record<string, string>;
    jobs: Record<string, { permissions: Record<string, string>; steps: { uses?: string }[] }>;
  };
  assert.deepEqual(workflow.permissions, {});
  assert.deepEqual(workflow.jobs.build!.permissions, { "id-token": "write" });
  assert.deepEqual(workflow.jobs.deploy!.permissions, { pages: "write", "id-token": "write" });
  const uses = Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.uses ?? ""));
  for (const action of ["actions/upload-pages-artifact", "actions/deploy-pages"]) {
    const step = uses.find((name) => name.startsWith(`${action}@`));
    assert.match(step ?? "", /@[0-9a-f]{40}$/, `${action} pinned to a commit`);
  }
});
