/**
 * Retention: which backups prune keeps and which it removes, as a pure function of the listed
 * backups, the policy and `now`, with a reason for every decision (restic's snapshot policy, plus
 * the invariants below). docs/prune.md is the user's description of the same rules.
 *
 * Rules, over committed backups (those with a manifest), newest first:
 * - keep-last N: the N newest backups.
 * - keep-hourly / daily / weekly / monthly / yearly N: the newest backup in each of the last N
 *   hours / days / ISO weeks / months / years that have a backup (UTC). Periods without a backup
 *   do not count, so a pause in backups does not eat into the history.
 * - keep-within D: every backup taken less than D before the newest backup (not before now:
 *   if backups stop, prune does not go on to remove the last ones).
 * A backup kept by any rule stays.
 *
 * Invariants, whatever the rules say:
 * - the newest committed backup is kept;
 * - at least `minVerified` verified backups stay (the newest verified ones are added when the rules
 *   keep fewer); when there are fewer than that, every verified backup stays and a warning says so;
 * - a backup with an object lock in force at `now` (or a legal hold) is kept;
 * - a folder without a manifest (an interrupted or failed backup, or one in flight) is removed only
 *   once it is older than `safeAgeMs`, counted from its newest object (or its id's time);
 * - a broken backup (a manifest whose artifacts are missing or of another size) is not a backup to
 *   the rules: never the newest, never verified, never counted; it is kept, with a warning, for
 *   someone to look at;
 * - a policy without any keep rule is refused, never read as "remove everything".
 */
import { formatDuration } from "./duration.js";
import { InputError } from "./errors.js";

/** Check-record kinds that prove a backup restores: a restore-test, or a verify that decrypted. */
export const VERIFYING_CHECK_KINDS: readonly string[] = ["restore-test", "verify-deep"];

export interface RetentionPolicy {
  keepLast: number;
  keepHourly: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
  /** Milliseconds before the newest backup; 0: no keep-within rule. */
  keepWithinMs: number;
  minVerified: number;
  /** How old a folder without a manifest must be before it is removed. */
  safeAgeMs: number;
}

export interface ObjectLockState {
  /** S3's retention mode (GOVERNANCE or COMPLIANCE), when there is a retention. */
  mode?: string;
  /** The latest retain-until date among the backup's objects. */
  until?: Date;
  /** A legal hold on any of its objects: locked until someone lifts it. */
  legalHold?: boolean;
}

/** What prune knows of one backup folder, from the listing (and the store's object locks). */
export interface BackupState {
  id: string;
  /** The time the backup started (from its id). */
  time: Date;
  bytes: number;
  /** The manifest exists: only then is the folder a backup. */
  committed: boolean;
  /** The last check of a verifying kind passed (see isVerified). */
  verified: boolean;
  /** Why a committed backup is broken (an artifact missing or of another size); absent when intact. */
  broken?: string[];
  /** The newest modification time among its objects: a folder in flight is as young as this. */
  lastModified?: Date;
  lock?: ObjectLockState;
}

export type ReasonRule =
  | "newest"
  | "keep-last"
  | "keep-hourly"
  | "keep-daily"
  | "keep-weekly"
  | "keep-monthly"
  | "keep-yearly"
  | "keep-within"
  | "min-verified"
  | "object-lock"
  | "in-flight"
  | "no-rule"
  | "incomplete"
  | "broken";

export interface Reason {
  rule: ReasonRule;
  /** One phrase for people, e.g. `keep-daily 2026-03-04 (2 of 7)`. */
  text: string;
}

export interface Decision {
  backup: BackupState;
  keep: boolean;
  /** Why: every rule that keeps it, or why nothing does. Never empty. */
  reasons: Reason[];
}

export interface RetentionPlan {
  /** One per backup given, newest first. */
  decisions: Decision[];
  /** Things the user must hear about (loudly): too few verified backups. */
  warnings: string[];
}

const BUCKET_RULES = [
  ["keep-hourly", "keepHourly", (t: Date) => `${day(t)} ${pad(t.getUTCHours())}h`],
  ["keep-daily", "keepDaily", (t: Date) => day(t)],
  ["keep-weekly", "keepWeekly", (t: Date) => isoWeek(t)],
  ["keep-monthly", "keepMonthly", (t: Date) => day(t).slice(0, 7)],
  ["keep-yearly", "keepYearly", (t: Date) => String(t.getUTCFullYear())],
] as const;

export const KEEP_COUNT_OPTIONS = [
  "keep-last",
  "keep-hourly",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "keep-yearly",
] as const;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

function day(t: Date): string {
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The ISO 8601 week of a UTC time, e.g. `2026-W09`: weeks start on Monday; week 1 holds a Thursday. */
export function isoWeek(t: Date): string {
  const midnight = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  const weekday = (t.getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = new Date(midnight + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${pad(year, 4)}-W${pad(week)}`;
}

export function hasKeepRule(policy: RetentionPolicy): boolean {
  return (
    policy.keepLast > 0 || BUCKET_RULES.some(([, field]) => policy[field] > 0) || policy.keepWithinMs > 0
  );
}

export const NO_KEEP_RULE_MESSAGE =
  "no keep rule: expected at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, " +
  "--keep-monthly, --keep-yearly (a whole number > 0) or --keep-within (a duration); prune never reads an empty policy as delete everything";

/** Throws an InputError unless the policy keeps something and every number is a whole number >= 0. */
export function validatePolicy(policy: RetentionPolicy): void {
  const numbers: [string, number][] = [
    ["keep-last", policy.keepLast],
    ...BUCKET_RULES.map(([name, field]) => [name, policy[field]] as [string, number]),
    ["keep-within", policy.keepWithinMs],
    ["min-verified", policy.minVerified],
    ["safe-age", policy.safeAgeMs],
  ];
  for (const [input, value] of numbers) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InputError(`--${input} "${value}": expected a whole number >= 0`, { input });
    }
  }
  if (!hasKeepRule(policy)) throw new InputError(NO_KEEP_RULE_MESSAGE, { input: "keep-last" });
}

/** Check-record kinds that check the stored object itself: a later failure of one undoes any pass. */
export const INTEGRITY_CHECK_KINDS: readonly string[] = ["verify", "verify-deep"];

/**
 * Whether checks prove the backup restores: the latest check of kind restore-test or verify-deep
 * passed (a later failure of a kind withdraws that kind's earlier passes), and no integrity check
 * (verify or verify-deep) failed after that pass: a stored object that no longer matches its
 * manifest restores nothing, whatever it did before. On equal times a failure counts as later.
 */
export function isVerified(checks: readonly { kind: string; passed: boolean; time: Date }[]): boolean {
  const later = (a: { passed: boolean; time: Date }, b: { passed: boolean; time: Date }): boolean =>
    a.time > b.time || (+a.time === +b.time && !a.passed && b.passed);
  const lastIntegrityFailure = checks
    .filter((check) => INTEGRITY_CHECK_KINDS.includes(check.kind) && !check.passed)
    .reduce<{ passed: boolean; time: Date } | undefined>(
      (latest, check) => (!latest || later(check, latest) ? check : latest),
      undefined,
    );
  return VERIFYING_CHECK_KINDS.some((kind) => {
    let last: { passed: boolean; time: Date } | undefined;
    for (const check of checks) {
      if (check.kind === kind && (!last || later(check, last))) last = check;
    }
    if (!last?.passed) return false;
    return !lastIntegrityFailure || later(last, lastIntegrityFailure);
  });
}

/** Newest first; equal times by id, descending, so the order never depends on the input's. */
function newestFirst(a: BackupState, b: BackupState): number {
  const byTime = b.time.getTime() - a.time.getTime();
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function lockReason(lock: ObjectLockState | undefined, now: Date): Reason | undefined {
  if (!lock) return undefined;
  if (lock.legalHold) return { rule: "object-lock", text: "object lock: legal hold" };
  if (lock.until && lock.until.getTime() > now.getTime()) {
    const mode = lock.mode ? ` (${lock.mode})` : "";
    return { rule: "object-lock", text: `object lock${mode} until ${lock.until.toISOString()}` };
  }
  return undefined;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Decides, for every backup folder given, whether prune keeps or removes it, and why. */
export function planRetention(
  backups: readonly BackupState[],
  policy: RetentionPolicy,
  now: Date,
): RetentionPlan {
  validatePolicy(policy);
  const sorted = [...backups].sort(newestFirst);
  const reasons = new Map<BackupState, Reason[]>(sorted.map((backup) => [backup, []]));
  const committed = sorted.filter((backup) => backup.committed && !backup.broken?.length);
  const newest = committed[0];

  const buckets = BUCKET_RULES.filter(([, field]) => policy[field] > 0).map(([rule, field, key]) => ({
    rule,
    key,
    limit: policy[field],
    used: 0,
    last: undefined as string | undefined,
  }));
  for (const [index, backup] of committed.entries()) {
    const why = reasons.get(backup)!;
    if (index === 0) why.push({ rule: "newest", text: "the newest backup" });
    if (index < policy.keepLast) {
      why.push({ rule: "keep-last", text: `keep-last (${index + 1} of ${policy.keepLast})` });
    }
    for (const bucket of buckets) {
      if (bucket.used >= bucket.limit) continue;
      const value = bucket.key(backup.time);
      if (value === bucket.last) continue;
      bucket.last = value;
      bucket.used++;
      why.push({ rule: bucket.rule, text: `${bucket.rule} ${value} (${bucket.used} of ${bucket.limit})` });
    }
    if (policy.keepWithinMs > 0 && newest!.time.getTime() - backup.time.getTime() < policy.keepWithinMs) {
      why.push({
        rule: "keep-within",
        text: `keep-within ${formatDuration(policy.keepWithinMs)} of the newest backup`,
      });
    }
    const lock = lockReason(backup.lock, now);
    if (lock) why.push(lock);
  }

  const warnings: string[] = [];
  if (policy.minVerified > 0) {
    const verified = committed.filter((backup) => backup.verified);
    let keptVerified = verified.filter((backup) => reasons.get(backup)!.length > 0).length;
    for (const backup of verified) {
      if (keptVerified >= policy.minVerified) break;
      const why = reasons.get(backup)!;
      if (why.length > 0) continue;
      why.push({
        rule: "min-verified",
        text: `min-verified: kept so that ${plural(policy.minVerified, "verified backup")} ${policy.minVerified === 1 ? "remains" : "remain"}`,
      });
      keptVerified++;
    }
    if (committed.length > 0 && verified.length === 0) {
      warnings.push(
        `no backup under this label has passed a restore-test or a deep verify, so none is known to restore; ` +
          `min-verified is ${policy.minVerified}: run restore-test or verify with the identity ` +
          `(or set min-verified to 0 to silence this)`,
      );
    } else if (committed.length > 0 && verified.length < policy.minVerified) {
      warnings.push(
        `only ${plural(verified.length, "backup")} passed a restore-test or a deep verify, fewer than ` +
          `min-verified ${policy.minVerified}: every verified backup is kept`,
      );
    }
  }

  for (const backup of sorted.filter((candidate) => candidate.committed && candidate.broken?.length)) {
    warnings.push(
      `backup ${backup.id} is broken (${backup.broken!.join("; ")}): it is not counted as a backup, and kept for you to look at`,
    );
  }

  const decisions = sorted.map((backup): Decision => {
    const why = reasons.get(backup)!;
    if (backup.committed && backup.broken?.length) {
      return {
        backup,
        keep: true,
        reasons: [{ rule: "broken", text: `broken: ${backup.broken.join("; ")}` }],
      };
    }
    if (backup.committed) {
      if (why.length > 0) return { backup, keep: true, reasons: why };
      return { backup, keep: false, reasons: [{ rule: "no-rule", text: "no keep rule selects it" }] };
    }
    const lock = lockReason(backup.lock, now);
    if (lock) return { backup, keep: true, reasons: [lock] };
    const youngest = Math.max(backup.time.getTime(), backup.lastModified?.getTime() ?? -Infinity);
    const age = now.getTime() - youngest;
    // Whole minutes: seconds only clutter an age measured against hours.
    const ageText = formatDuration(Math.max(0, Math.floor(age / 60_000) * 60_000));
    const safe = formatDuration(policy.safeAgeMs);
    if (age < policy.safeAgeMs) {
      return {
        backup,
        keep: true,
        reasons: [
          {
            rule: "in-flight",
            text: `no manifest, ${ageText} old: younger than the safe age ${safe} (may be in flight)`,
          },
        ],
      };
    }
    return {
      backup,
      keep: false,
      reasons: [
        {
          rule: "incomplete",
          text: `no manifest (failed or interrupted), ${ageText} old: older than the safe age ${safe}`,
        },
      ],
    };
  });
  return { decisions, warnings };
}
