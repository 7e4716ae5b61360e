/**
 * What job summaries show beyond the verdict: per-table row counts with their change against the
 * previous backup of the label, and which gates and checks ran, with their limits and outcomes
 * (docs/reports.md). Pure: the results in, report sections out. The previous backup's tables are
 * read by `previousTables` (one listing and one manifest) where a command has its store.
 */
import type { RestoreTestResult } from "../commands/restore-test/run.js";
import type { VerifyResult } from "../commands/verify/run.js";
import type { TableCount } from "../domain/manifest.js";
import { formatChange, tableChanges, type TableChange } from "../domain/table-drift.js";
import type { GateSettings } from "../domain/verify-gates.js";
import { BackupRepository } from "../repository/backup-repository.js";
import type { Store } from "../storage/store.js";

/** A report section (report.ts's ReportSection has this shape; declared here so neither imports the other). */
export interface ReportSection {
  title: string;
  text?: string;
  table?: { header: string[]; rows: string[][] };
  collapsed?: boolean;
}

/** The previous backup of the label: its id and tables, for the change column. */
export interface PreviousTables {
  backupId: string;
  tables: TableCount[];
}

/** The newest committed backup older than `backupId` whose manifest reads; undefined when none. */
export async function previousTables(
  store: Store,
  label: string,
  backupId: string,
): Promise<PreviousTables | undefined> {
  const repository = new BackupRepository(store);
  const older = (await repository.folders(label)).filter(
    (folder) => folder.committed && folder.backupId < backupId,
  );
  for (const folder of older) {
    const { manifest } = await repository.inspectFolder(label, folder);
    if (manifest) return { backupId: manifest.backupId, tables: manifest.tables };
  }
  return undefined;
}

/** Rows per table, and their change against the previous backup when there is one. */
export function tablesSection(
  tables: readonly TableCount[],
  previous: PreviousTables | null | undefined,
  limit = 500,
): ReportSection {
  const changes: TableChange[] = previous
    ? tableChanges(tables, previous.tables)
    : tables.map((table) => ({
        table: `${table.schema}.${table.table}`,
        previous: null,
        current: table.rows,
        change: null,
      }));
  return tableChangeSection(changes, previous?.backupId ?? null, limit);
}

export function tableChangeSection(
  changes: readonly TableChange[],
  previousBackupId: string | null,
  limit = 500,
): ReportSection {
  // The biggest moves first: what a reader scans a long table for.
  const sorted = [...changes].sort(
    (a, b) =>
      Math.abs(b.change ?? (b.current === null ? 1 : 0)) - Math.abs(a.change ?? (a.current === null ? 1 : 0)),
  );
  const rows = sorted
    .slice(0, limit)
    .map((change) =>
      previousBackupId === null
        ? [change.table, String(change.current ?? 0)]
        : [
            change.table,
            change.current === null ? "-" : String(change.current),
            change.previous === null ? "-" : String(change.previous),
            formatChange(change),
          ],
    );
  const moved = changes.filter((change) => change.change !== null && change.change !== 0).length;
  return {
    title:
      previousBackupId === null
        ? `Tables (${changes.length}; no previous backup to compare with)`
        : `Tables (${changes.length}; ${moved} changed against ${previousBackupId})`,
    collapsed: true,
    table: {
      header: previousBackupId === null ? ["Table", "Rows"] : ["Table", "Rows", "Previous", "Change"],
      rows,
    },
    ...(changes.length > limit ? { text: `${changes.length - limit} more tables left out.` } : {}),
  };
}

type Row = [check: string, limit: string, outcome: string];

function checksSection(rows: Row[]): ReportSection {
  return { title: "Checks and gates", table: { header: ["Check", "Limit", "Result"], rows } };
}

const pct = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`;

/** verify: what it read, and each gate with its limit, or "not set". */
export function verifyChecksSection(result: VerifyResult, gates: GateSettings): ReportSection {
  const failed = (gate: string) => result.failures.some((line) => line.includes(gate));
  const warned = (gate: string) => result.warnings.some((line) => line.includes(gate));
  const gate = (name: string, limit: string | undefined): Row => [
    name,
    limit ?? "not set",
    limit === undefined ? "not checked" : failed(name) ? "FAIL" : warned(name) ? "warn" : "pass",
  ];
  const integrity = result.failures.some(
    (line) => !["max-age", "max-size-change", "min-size"].some((name) => line.includes(name)),
  );
  return checksSection([
    [
      result.kind === "verify-deep"
        ? "decrypted, sha256 and archive contents"
        : "stored object size and sha256",
      "manifest",
      integrity ? "FAIL" : "pass",
    ],
    gate("max-age", gates.maxAgeSeconds === undefined ? undefined : `${gates.maxAgeSeconds}s`),
    gate(
      "max-size-change",
      gates.maxSizeChange === undefined
        ? undefined
        : `${pct(gates.maxSizeChange)} (${gates.sizeChangeAction})`,
    ),
    gate("min-size", gates.minSizeBytes === undefined ? undefined : `${gates.minSizeBytes} bytes`),
  ]);
}

/** restore-test: every check it ran, with its limit and outcome. */
export function restoreTestChecksSection(result: RestoreTestResult): ReportSection {
  const checks = result.checks ?? null;
  // null: nothing was restored; undefined: a result from before these checks existed.
  const restored = result.checks !== null;
  const outcome = (ok: boolean) => (!restored ? "not run" : ok ? "pass" : "FAIL");
  const rows: Row[] = [
    ["restore (pg_restore)", "no errors", result.restoreErrors.length === 0 && restored ? "pass" : "FAIL"],
    ["row counts", "manifest, exact", outcome(result.mismatches.length === 0)],
    [
      "catalog",
      "manifest fingerprint",
      result.catalog.compared ? outcome(result.catalog.failures === 0) : "not compared",
    ],
  ];
  if (checks) {
    const { drift, budget, sequences, digests } = checks;
    rows.push(
      [
        "content digests",
        "manifest sha256, exact",
        digests.compared === 0
          ? "not compared"
          : `${digests.mismatched.length === 0 ? "pass" : "FAIL"} (${digests.compared} compared, ${digests.skipped.length} not comparable)`,
      ],
      [
        "sequences",
        "ahead of their columns",
        sequences.error
          ? "FAIL"
          : `${sequences.behind.length === 0 ? "pass" : "FAIL"} (${sequences.checked})`,
      ],
      [
        "table drift",
        drift.max === null ? "not set" : `${pct(drift.max)} (${drift.action})`,
        drift.max === null
          ? "not checked"
          : drift.previousBackupId === null
            ? "no previous backup"
            : drift.drifted.length === 0
              ? "pass"
              : drift.action === "fail"
                ? `FAIL (${drift.drifted.length})`
                : `warn (${drift.drifted.length})`,
      ],
      [
        "recovery time",
        budget.maxSeconds === null ? "not set" : `${budget.maxSeconds}s`,
        `${budget.seconds}s${budget.maxSeconds === null ? "" : budget.exceeded ? " FAIL" : " pass"}; trend ${budget.trend.map((point) => `${point.restoreSeconds}s`).join(" → ")}`,
      ],
    );
  }
  rows.push(
    [
      "assertions",
      result.assertions.length ? `${result.assertions.length}` : "none",
      result.assertions.length
        ? `${result.assertions.filter((a) => a.passed).length}/${result.assertions.length} passed`
        : "not checked",
    ],
    [
      "run command",
      result.run ? "exit 0" : "none",
      result.run ? `exit ${result.run.exitCode ?? "killed"}` : "not run",
    ],
  );
  return checksSection(rows);
}
