/** Builders for status inputs: backups and checks placed in time relative to a fixed now. */
import { newBackupId } from "../../src/domain/backup-id.js";
import type { StatusBackupInput, StatusCheckInput, StatusLabelInput } from "../../src/report/status/model.js";

export const NOW = new Date("2026-11-28T12:00:00Z");
export const HOUR = 3600;
export const DAY = 86400;

export function ago(seconds: number): Date {
  return new Date(NOW.getTime() - seconds * 1000);
}

export interface CheckSpec {
  kind: StatusCheckInput["kind"];
  passed?: boolean;
  /** Seconds before NOW. */
  ago: number;
  restoreSeconds?: number;
  failures?: string[];
}

export interface BackupSpec {
  /** Seconds before NOW at which the backup started. */
  ago: number;
  committed?: boolean;
  bytes?: number;
  durationSeconds?: number;
  checks?: CheckSpec[];
}

let counter = 0;

export function backup(spec: BackupSpec): StatusBackupInput {
  const startedAt = ago(spec.ago);
  const duration = spec.durationSeconds ?? 120;
  const suffix = Buffer.from([counter++ % 256, 1, 2, 3, 4, 5]);
  return {
    backupId: newBackupId(startedAt, suffix),
    startedAt: new Date(Math.floor(startedAt.getTime() / 1000) * 1000),
    manifest:
      spec.committed === false
        ? null
        : {
            finishedAt: new Date(startedAt.getTime() + duration * 1000),
            durationSeconds: duration,
            storedBytes: spec.bytes ?? 1_000_000,
          },
    checks: (spec.checks ?? []).map((check) => ({
      kind: check.kind,
      passed: check.passed ?? true,
      at: ago(check.ago),
      restoreSeconds: check.restoreSeconds ?? null,
      failures: check.failures ?? (check.passed === false ? [`${check.kind} failed`] : []),
    })),
  };
}

export function label(name: string, backups: BackupSpec[], error?: string): StatusLabelInput {
  return { label: name, backups: backups.map(backup), ...(error === undefined ? {} : { error }) };
}

/** A nightly backup with a passing verify an hour later; every `restoreEvery` nights a restore-test. */
export function nightly(
  nights: number,
  options: { restoreEvery?: number; startBytes?: number; growth?: number; firstAgo?: number } = {},
): BackupSpec[] {
  const first = options.firstAgo ?? 6 * HOUR;
  return Array.from({ length: nights }, (_, night) => {
    const started = first + night * DAY;
    const checks: CheckSpec[] = [{ kind: "verify", ago: started - HOUR }];
    if (options.restoreEvery && night % options.restoreEvery === 0) {
      checks.push({ kind: "restore-test", ago: started - 2 * HOUR, restoreSeconds: 40 + ((night * 7) % 30) });
    }
    return {
      ago: started,
      bytes: Math.round((options.startBytes ?? 50_000_000) / (1 + (options.growth ?? 0.01)) ** night),
      durationSeconds: 90 + ((night * 13) % 60),
      checks,
    };
  });
}

/** Every string a secret could hide in: the store error, failure lines (URLs with passwords). */
export const SECRET = "hunter2-Sup3rSecret";
export const TOKEN = "tok-live-9f8e7d6c5b4a";
export const SECRET_URL = `postgres://admin:${SECRET}@db.example.com:5432/app?sslmode=require&password=${SECRET}`;

/** A store with several labels: fresh, stale and failing, empty, hostile text. */
export function mixedStore() {
  return [
    label("production", nightly(20, { restoreEvery: 3, startBytes: 52_000_000 })),
    label(
      "staging",
      [...nightly(6, { firstAgo: 3 * DAY, restoreEvery: 2 })].map((spec, index) =>
        index === 0
          ? {
              ...spec,
              checks: [
                {
                  kind: "verify" as const,
                  passed: false,
                  ago: 3 * DAY - HOUR,
                  failures: [`sha256 mismatch reading ${SECRET_URL}`],
                },
              ],
            }
          : spec,
      ),
    ),
    label("empty", []),
    label('<script>alert("x")</script>&amp;', [
      ...nightly(4, { restoreEvery: 1 }).map((spec, index) =>
        index === 0
          ? { ...spec, checks: [{ kind: "verify" as const, ago: spec.ago - HOUR }] }
          : index === 1
            ? {
                ...spec,
                checks: [
                  { kind: "verify" as const, ago: spec.ago - HOUR },
                  {
                    kind: "restore-test" as const,
                    passed: false,
                    ago: spec.ago - 2 * HOUR,
                    failures: ['<img src="https://evil.example/x.png"> row count mismatch in public.users'],
                  },
                ],
              }
            : spec,
      ),
    ]),
    label("unreadable", [], `AccessDenied listing s3://bucket/unreadable/ with token ${TOKEN}`),
  ];
}
