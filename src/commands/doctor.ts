/**
 * doctor: every check between this machine and a backup of the database, each with a one-line
 * result, so a failing URL is diagnosed in one run rather than one error at a time.
 */
import { parseDatabaseUrl } from "../domain/database-url.js";
import type { LifeboatError } from "../domain/errors.js";
import { runDoctor, type DoctorDeps, type DoctorReport, type DoctorSettings } from "../postgres/doctor.js";
import { formatTable } from "../report/format.js";
import { parsePreset } from "../domain/supabase-preset.js";
import { parsePgClientSettings, required, text, type RawOptions } from "../settings/settings.js";

export function parseDoctorSettings(raw: RawOptions): DoctorSettings {
  return {
    databaseUrl: parseDatabaseUrl(
      required(raw, "database-url", "postgresql://user:password@host:port/database"),
    ),
    ...parsePgClientSettings(raw),
    preset: parsePreset(text(raw, "preset")),
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

export async function runDoctorCommand(
  settings: DoctorSettings,
  deps: DoctorDeps,
): Promise<{ json: unknown; text: string; failure?: LifeboatError }> {
  const report = await runDoctor(settings, deps);
  return {
    json: {
      ok: report.ok,
      exitCode: report.exitCode,
      ...(report.failure ? { error: report.failure.message } : {}),
      database: settings.databaseUrl.redacted,
      sslmode: settings.databaseUrl.sslmode,
      checks: report.checks,
      ...(report.server ? { server: report.server } : {}),
      ...(report.pgDump ? { pgDump: report.pgDump } : {}),
    },
    text: formatDoctorReport(report),
    ...(report.failure ? { failure: report.failure } : {}),
  };
}
