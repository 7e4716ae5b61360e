/**
 * JUnit XML for verify and restore-test (`--junit FILE`): one test case per check and per table,
 * so CI systems and test dashboards show a backup's proof as tests. The shape is the one common
 * reporters read (the Jenkins/Surefire "JUnit" schema): `<testsuites>` holding one `<testsuite>`
 * with its counts, `<properties>`, `<testcase classname name time>` each with at most one
 * `<failure message type>` or `<skipped message>`, and `<system-out>` for notes and warnings.
 * Every text is redacted and stripped of characters XML 1.0 cannot hold.
 */
import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { RestoreTestResult } from "../commands/restore-test/run.js";
import type { VerifyResult } from "../commands/verify/run.js";
import { InputError } from "../domain/errors.js";
import { formatChange } from "../domain/table-drift.js";
import { createRedactor } from "../domain/redact.js";

export interface JUnitCase {
  name: string;
  /** Seconds; absent when not measured. */
  time?: number;
  failure?: { message: string; details?: string };
  skipped?: string;
  /** Notes shown with the case (warnings, what was compared). */
  output?: string;
}

export interface JUnitSuite {
  /** e.g. `lifeboat restore-test shop`. */
  name: string;
  /** The test cases' classname, e.g. `lifeboat.restore-test.shop`. */
  classname: string;
  timestamp: Date;
  time: number;
  properties: Record<string, string>;
  cases: JUnitCase[];
  output?: string;
}

/** Characters XML 1.0 allows (tab, newline, carriage return, and from space up, minus surrogates and FFFE/FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (value: number) => (Math.round(value * 1000) / 1000).toFixed(3);

export function renderJUnit(suite: JUnitSuite, secrets: readonly string[] = []): string {
  const redact = createRedactor(secrets);
  const text = (value: string) => escapeXml(redact(value));
  const failures = suite.cases.filter((c) => c.failure).length;
  const skipped = suite.cases.filter((c) => !c.failure && c.skipped !== undefined).length;
  const counts = `tests="${suite.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(suite.time)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="lifeboat" ${counts}>`,
    `  <testsuite name="${text(suite.name)}" ${counts} timestamp="${suite.timestamp.toISOString().replace(/\.\d{3}Z$/, "")}" hostname="${text(hostname())}">`,
    "    <properties>",
    ...Object.entries(suite.properties).map(
      ([name, value]) => `      <property name="${text(name)}" value="${text(value)}"/>`,
    ),
    "    </properties>",
  ];
  for (const testCase of suite.cases) {
    const head = `    <testcase classname="${text(suite.classname)}" name="${text(testCase.name)}" time="${seconds(testCase.time ?? 0)}"`;
    const body: string[] = [];
    if (testCase.failure) {
      const details = testCase.failure.details ?? testCase.failure.message;
      body.push(
        `      <failure message="${text(testCase.failure.message)}" type="lifeboat">${text(details)}</failure>`,
      );
    } else if (testCase.skipped !== undefined) {
      body.push(`      <skipped message="${text(testCase.skipped)}"/>`);
    }
    if (testCase.output) body.push(`      <system-out>${text(testCase.output)}</system-out>`);
    lines.push(
      body.length === 0 ? `${head}/>` : `${head}>`,
      ...body,
      ...(body.length ? ["    </testcase>"] : []),
    );
  }
  if (suite.output) lines.push(`    <system-out>${text(suite.output)}</system-out>`);
  lines.push("  </testsuite>", "</testsuites>", "");
  return lines.join("\n");
}

const failed = (message: string, details?: string[]): JUnitCase["failure"] => ({
  message,
  ...(details && details.length > 1 ? { details: details.join("\n") } : {}),
});

/** verify: the stored object, the decrypted archive, each gate given, and each table the archive must hold. */
export function verifyJUnit(
  result: VerifyResult,
  context: {
    label: string;
    gates: { maxAgeSeconds?: number; maxSizeChange?: number; minSizeBytes?: number };
    now: Date;
  },
): JUnitSuite {
  const deep = result.kind === "verify-deep";
  const gateLine = (gate: string) => result.failures.filter((line) => line.includes(gate));
  const gates: [string, unknown][] = [
    ["max-age", context.gates.maxAgeSeconds],
    ["max-size-change", context.gates.maxSizeChange],
    ["min-size", context.gates.minSizeBytes],
  ];
  const gateNames = gates.map(([name]) => name);
  const integrity = result.failures.filter(
    (line) =>
      !gateNames.some((gate) => line.includes(gate)) && !line.startsWith("the archive has no data for"),
  );
  const missing = new Set(result.missingTables ?? []);
  const cases: JUnitCase[] = [
    {
      name: deep
        ? "backup decrypts and matches its manifest (sizes, sha256)"
        : "stored object matches its manifest (size, sha256)",
      ...(integrity.length ? { failure: failed(integrity[0]!, integrity) } : {}),
    },
    ...gates.map(([name, value]): JUnitCase => {
      const lines = gateLine(name);
      return {
        name: `gate ${name}`,
        ...(value === undefined ? { skipped: `--${name} not given` } : {}),
        ...(lines.length ? { failure: failed(lines[0]!, lines) } : {}),
      };
    }),
    ...(result.tables ?? []).map((table): JUnitCase => ({
      name: `table ${table}: data in the archive`,
      ...(!deep || result.missingTables === undefined
        ? { skipped: deep ? "the archive was not listed" : "needs the identity (deep verify)" }
        : missing.has(table)
          ? { failure: { message: `the archive has no data for ${table}` } }
          : {}),
    })),
  ];
  return {
    name: `lifeboat ${result.kind} ${context.label}`,
    classname: `lifeboat.verify.${context.label}`,
    timestamp: context.now,
    time: 0,
    properties: { label: context.label, "backup-id": result.backupId, kind: result.kind },
    cases,
    ...(result.warnings.length ? { output: result.warnings.map((w) => `warning: ${w}`).join("\n") } : {}),
  };
}

/** restore-test: the restore, each table (rows, digest, drift), the catalog, sequences, the budget, each assertion, the command. */
export function restoreTestJUnit(
  result: RestoreTestResult,
  context: { label: string; now: Date },
): JUnitSuite {
  const checks = result.checks ?? null;
  // null: nothing was restored; undefined: a result from before these checks existed.
  const restored = result.checks !== null;
  const notRestored = "nothing was restored";
  const cases: JUnitCase[] = [];
  const restoreFailure =
    result.restoreErrors.length > 0
      ? failed(
          `pg_restore reported ${result.restoreErrors.length} error(s): ${result.restoreErrors[0]}`,
          result.restoreErrors,
        )
      : !restored && result.failures.length > 0
        ? failed(result.failures[0]!, result.failures)
        : undefined;
  cases.push({
    name: "restore",
    time: result.restoreSeconds,
    ...(restoreFailure ? { failure: restoreFailure } : {}),
  });

  const mismatches = new Map(result.mismatches.map((m) => [m.table, m]));
  const digestMismatch = new Map((checks?.digests.mismatched ?? []).map((m) => [m.table, m]));
  const digestSkipped = new Map((checks?.digests.skipped ?? []).map((s) => [s.table, s.reason]));
  const drift = new Map((checks?.drift.tables ?? []).map((t) => [t.table, t]));
  const drifted = new Set((checks?.drift.drifted ?? []).map((t) => t.table));
  // The manifest's tables, then the ones gone since the previous backup.
  const tables = [
    ...new Set([
      ...(checks?.tables ?? []),
      ...mismatches.keys(),
      ...(checks?.drift.tables.map((t) => t.table) ?? []),
    ]),
  ];
  for (const table of tables) {
    const change = drift.get(table);
    if (change && change.current === null) {
      cases.push({
        name: `table ${table}`,
        ...(drifted.has(table) && checks?.drift.action === "fail"
          ? { failure: { message: `${table} is gone: ${change.previous} rows in the previous backup` } }
          : { skipped: "not in this backup" }),
      });
      continue;
    }
    const problems: string[] = [];
    const mismatch = mismatches.get(table);
    if (mismatch) {
      problems.push(
        `${table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after restore, the manifest counted ${mismatch.expected}`,
      );
    }
    const digest = digestMismatch.get(table);
    if (digest)
      problems.push(
        `${table}: the restored rows' sha256 ${digest.actual} differs from the archive's ${digest.expected}`,
      );
    if (change && drifted.has(table) && checks?.drift.action === "fail") {
      problems.push(
        `${table}: ${change.previous} -> ${change.current} rows (${formatChange(change)}) against ${checks.drift.previousBackupId}`,
      );
    }
    const notes = [
      change
        ? `rows: ${change.current} (${formatChange(change)} against ${checks?.drift.previousBackupId})`
        : undefined,
      digestSkipped.has(table) ? `digest not compared: ${digestSkipped.get(table)}` : undefined,
      change && drifted.has(table) && checks?.drift.action === "warn"
        ? `warning: drift over max-table-drift`
        : undefined,
    ].filter((line): line is string => line !== undefined);
    cases.push({
      name: `table ${table}`,
      ...(!restored ? { skipped: notRestored } : {}),
      ...(problems.length ? { failure: failed(problems[0]!, problems) } : {}),
      ...(notes.length ? { output: notes.join("\n") } : {}),
    });
  }

  const catalogLines = result.catalog.differences?.map((d) => JSON.stringify(d)) ?? [];
  cases.push({
    name: "catalog matches the source",
    ...(!result.catalog.compared
      ? { skipped: result.catalog.notices[0] ?? "no catalog fingerprint to compare" }
      : {}),
    ...(result.catalog.failures > 0
      ? { failure: failed(`${result.catalog.failures} catalog difference(s)`, catalogLines) }
      : {}),
  });
  if (checks) {
    const behind = checks.sequences.behind.map(
      (s) => `sequence ${s.sequence} is behind ${s.table}.${s.column}: next ${s.next}, maximum ${s.max}`,
    );
    cases.push({
      name: "sequences are not behind their columns",
      ...(checks.sequences.error
        ? { failure: { message: `checking sequences failed: ${checks.sequences.error}` } }
        : behind.length
          ? { failure: failed(behind[0]!, behind) }
          : {}),
      output: `${checks.sequences.checked} sequences checked`,
    });
    const budget = checks.budget;
    cases.push({
      name: "recovery-time budget",
      time: budget.seconds,
      ...(budget.maxSeconds === null ? { skipped: "--max-restore-seconds not given" } : {}),
      ...(budget.exceeded
        ? {
            failure: {
              message: `the restore took ${budget.seconds}s, over max-restore-seconds ${budget.maxSeconds}`,
            },
          }
        : {}),
      output: `restore times: ${budget.trend.map((point) => `${point.backupId} ${point.restoreSeconds}s`).join(", ")}`,
    });
    cases.push({
      name: "row-count drift against the previous backup",
      ...(checks.drift.max === null
        ? { skipped: "--max-table-drift not given" }
        : checks.drift.previousBackupId === null
          ? { skipped: "no previous backup of the label" }
          : {}),
    });
  } else {
    for (const name of ["sequences are not behind their columns", "recovery-time budget"]) {
      cases.push({ name, skipped: notRestored });
    }
  }
  result.assertions.forEach((assertion, index) => {
    cases.push({
      name: `assertion ${index + 1}: ${assertion.sql.replace(/\s+/g, " ").slice(0, 120)}`,
      ...(assertion.passed ? {} : { failure: { message: assertion.detail || "returned false" } }),
    });
  });
  if (result.run) {
    cases.push({
      name: `run: ${result.run.command}`,
      ...(result.run.exitCode === 0
        ? {}
        : { failure: { message: `exited with status ${result.run.exitCode}` } }),
    });
  }
  // Whatever failed and no case above names (a roles object, a damaged read) still fails the suite.
  const named = cases.some((c) => c.failure);
  if (!result.passed && !named) {
    cases.push({ name: "restore-test", failure: failed(result.failures[0] ?? "failed", result.failures) });
  }
  return {
    name: `lifeboat restore-test ${context.label}`,
    classname: `lifeboat.restore-test.${context.label}`,
    timestamp: context.now,
    time: result.restoreSeconds,
    properties: {
      label: context.label,
      "backup-id": result.backupId,
      "restore-seconds": String(result.restoreSeconds),
      mode: result.mode,
    },
    cases,
    ...(checks?.warnings.length ? { output: checks.warnings.map((w) => `warning: ${w}`).join("\n") } : {}),
  };
}

/** Writes the report where `--junit` says (relative to the working directory); a path that cannot be written is bad input. */
export async function writeJUnitFile(cwd: string, path: string, xml: string): Promise<void> {
  try {
    await writeFile(resolve(cwd, path), xml);
  } catch (error) {
    throw new InputError(
      `--junit "${path}": cannot write it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      { input: "junit" },
    );
  }
}
