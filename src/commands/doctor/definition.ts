/**
 * doctor: every check between this machine and a backup of the database, each with a one-line
 * result, so a failing URL is diagnosed in one run rather than one error at a time.
 */
import { runDoctor, type DoctorReport, type DoctorSettings } from "../../postgres/doctor.js";
import { formatTable } from "../../report/format.js";
import { readOptions } from "../../settings/read-option.js";
import { parsePgClientSettings } from "../../settings/settings.js";
import { commandSpec, OPTIONS } from "../../settings/spec.js";
import type { RawOptions } from "../../settings/types.js";
import type { CommandDefinition } from "../command.js";

export function parseDoctorSettings(raw: RawOptions): DoctorSettings {
  return {
    ...readOptions(raw, { databaseUrl: OPTIONS.databaseUrl, preset: OPTIONS.preset }),
    ...parsePgClientSettings(raw),
  };
}

const MARKS: Record<string, string> = { ok: "ok", warn: "WARN", fail: "FAIL", skip: "-" };

export function formatDoctorReport(report: DoctorReport): string {
  const table = formatTable(
    ["CHECK", "RESULT", "DETAIL"],
    report.checks.map((check) => [check.name, MARKS[check.status] ?? check.status, check.detail]),
  );
  const warnings = report.checks.filter((check) => check.status === "warn").length;
  const verdict = report.ok
    ? `ready for a backup${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}`
    : "not ready for a backup";
  return `${table}\n${verdict}`;
}

export const doctorCommand: CommandDefinition<DoctorSettings, DoctorReport> = {
  spec: commandSpec("doctor"),
  parse: parseDoctorSettings,
  run: (settings, deps) => runDoctor(settings, deps),
  failure: (report) => report.failure,
  text: formatDoctorReport,
  json: (report, { settings }) => ({
    exitCode: report.exitCode,
    database: settings.databaseUrl.redacted,
    sslmode: settings.databaseUrl.sslmode,
    checks: report.checks,
    ...(report.server ? { server: report.server } : {}),
    ...(report.pgDump ? { pgDump: report.pgDump } : {}),
  }),
};
