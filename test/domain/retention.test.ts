/**
 * The retention policy: hand-checked histories, then properties over thousands of random histories
 * (fast-check) for the invariants and against a second, independent model of the rules.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InputError } from "../../src/domain/errors.js";
import {
  isoWeek,
  isVerified,
  planRetention,
  type BackupState,
  type Decision,
  type RetentionPolicy,
} from "../../src/domain/retention.js";

const H = 3_600_000;
const D = 24 * H;

function policy(rules: Partial<RetentionPolicy>): RetentionPolicy {
  return {
    keepLast: 0,
    keepHourly: 0,
    keepDaily: 0,
    keepWeekly: 0,
    keepMonthly: 0,
    keepYearly: 0,
    keepWithinMs: 0,
    minVerified: 0,
    safeAgeMs: D,
    ...rules,
  };
}

let serial = 0;
/** A committed, unverified backup at `iso` (UTC), with an id that sorts by time like a real one. */
function backup(iso: string, extra: Partial<BackupState> = {}): BackupState {
  const time = new Date(iso);
  const stamp = time
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  return {
    id: `${stamp}-${String(++serial).padStart(6, "0")}`,
    time,
    bytes: 1000,
    committed: true,
    verified: false,
    ...extra,
  };
}

/** Every day from `first` to `last` (inclusive) at 02:00 UTC. */
function dailyBackups(first: string, last: string): BackupState[] {
  const out: BackupState[] = [];
  for (let t = Date.parse(`${first}T02:00:00Z`); t <= Date.parse(`${last}T02:00:00Z`); t += D) {
    out.push(backup(new Date(t).toISOString()));
  }
  return out;
}

const day = (b: BackupState) => b.time.toISOString().slice(0, 10);
const keptDays = (decisions: Decision[]) => decisions.filter((d) => d.keep).map((d) => day(d.backup));
const decisionFor = (decisions: Decision[], b: BackupState) => decisions.find((d) => d.backup.id === b.id)!;
const rulesOf = (decision: Decision) => decision.reasons.map((reason) => reason.rule);

describe("retention on hand-checked histories", () => {
  test("daily backups for 60 days: keep-daily 7, keep-weekly 4, keep-monthly 3", () => {
    const history = dailyBackups("2026-01-01", "2026-03-01"); // 2026-03-01 is a Sunday
    assert.equal(history.length, 60);
    const plan = planRetention(
      history,
      policy({ keepDaily: 7, keepWeekly: 4, keepMonthly: 3 }),
      new Date("2026-03-01T12:00:00Z"),
    );
    assert.equal(plan.decisions.length, 60);
    assert.deepEqual(keptDays(plan.decisions), [
      "2026-03-01", // newest, daily, weekly 2026-W09, monthly 2026-03
      "2026-02-28", // daily, monthly 2026-02
      "2026-02-27",
      "2026-02-26",
      "2026-02-25",
      "2026-02-24",
      "2026-02-23", // daily 7 of 7 (Monday of W09)
      "2026-02-22", // weekly 2026-W08 (its Sunday)
      "2026-02-15", // weekly 2026-W07
      "2026-02-08", // weekly 2026-W06
      "2026-01-31", // monthly 2026-01
    ]);
    const newest = plan.decisions[0]!;
    assert.deepEqual(
      newest.reasons.map((reason) => reason.text),
      [
        "the newest backup",
        "keep-daily 2026-03-01 (1 of 7)",
        "keep-weekly 2026-W09 (1 of 4)",
        "keep-monthly 2026-03 (1 of 3)",
      ],
    );
    const jan31 = plan.decisions.find((d) => day(d.backup) === "2026-01-31")!;
    assert.deepEqual(
      jan31.reasons.map((reason) => reason.text),
      ["keep-monthly 2026-01 (3 of 3)"],
    );
    const removed = plan.decisions.filter((d) => !d.keep);
    assert.equal(removed.length, 49);
    for (const decision of removed) {
      assert.deepEqual(decision.reasons, [{ rule: "no-rule", text: "no keep rule selects it" }]);
    }
    assert.deepEqual(plan.warnings, []);
  });

  test("periods without a backup do not count: keep-daily 3 over a sparse history", () => {
    const history = [
      backup("2026-03-01T02:00:00Z"),
      backup("2026-02-20T02:00:00Z"),
      backup("2026-01-05T23:00:00Z"),
      backup("2026-01-05T01:00:00Z"),
      backup("2026-01-04T02:00:00Z"),
    ];
    const plan = planRetention(history, policy({ keepDaily: 3 }), new Date("2026-06-01T00:00:00Z"));
    assert.deepEqual(
      plan.decisions.map((d) => [d.backup.time.toISOString().slice(0, 13), d.keep]),
      [
        ["2026-03-01T02", true],
        ["2026-02-20T02", true],
        ["2026-01-05T23", true], // the newest of its day
        ["2026-01-05T01", false],
        ["2026-01-04T02", false], // a fourth day with a backup: beyond keep-daily 3
      ],
    );
  });

  test("keep-hourly keeps the newest backup of each hour", () => {
    const history = [
      backup("2026-03-01T10:50:00Z"),
      backup("2026-03-01T10:10:00Z"),
      backup("2026-03-01T09:59:59Z"),
      backup("2026-03-01T09:00:00Z"),
      backup("2026-03-01T07:30:00Z"),
    ];
    const plan = planRetention(history, policy({ keepHourly: 2 }), new Date("2026-03-01T11:00:00Z"));
    assert.deepEqual(
      plan.decisions.map((d) => d.keep),
      [true, false, true, false, false],
    );
    assert.equal(plan.decisions[2]!.reasons[0]!.text, "keep-hourly 2026-03-01 09h (2 of 2)");
  });

  test("keep-last N keeps the N newest; keep-yearly the newest of each year", () => {
    const history = [
      backup("2026-03-01T00:00:00Z"),
      backup("2026-02-01T00:00:00Z"),
      backup("2026-01-01T00:00:00Z"),
      backup("2025-12-31T23:59:59Z"),
      backup("2025-06-01T00:00:00Z"),
      backup("2024-06-01T00:00:00Z"),
      backup("2023-06-01T00:00:00Z"),
    ];
    const plan = planRetention(
      history,
      policy({ keepLast: 2, keepYearly: 3 }),
      new Date("2026-03-02T00:00:00Z"),
    );
    assert.deepEqual(
      plan.decisions.map((d) => [d.keep, rulesOf(d)]),
      [
        [true, ["newest", "keep-last", "keep-yearly"]],
        [true, ["keep-last"]],
        [false, ["no-rule"]],
        [true, ["keep-yearly"]],
        [false, ["no-rule"]],
        [true, ["keep-yearly"]],
        [false, ["no-rule"]],
      ],
    );
  });

  test("keep-within counts back from the newest backup, not from now", () => {
    const history = dailyBackups("2026-02-20", "2026-03-01");
    // Backups stopped three weeks ago: keep-within 2d still keeps the last ones.
    const plan = planRetention(history, policy({ keepWithinMs: 2 * D }), new Date("2026-03-22T00:00:00Z"));
    // Strictly less than 2d before the newest: 2026-02-27T02:00 is exactly 2d before, so it goes.
    assert.deepEqual(keptDays(plan.decisions), ["2026-03-01", "2026-02-28"]);
    assert.equal(plan.decisions[1]!.reasons[0]!.text, "keep-within 2d of the newest backup");
  });

  test("the newest backup is kept, and says so first", () => {
    // Every keep rule with a count or a duration selects the newest backup anyway: the invariant is
    // checked on its own all the same, and is the first reason given.
    const history = dailyBackups("2026-01-01", "2026-01-03");
    const plan = planRetention(history, policy({ keepLast: 1 }), new Date("2026-01-04T00:00:00Z"));
    assert.deepEqual(rulesOf(plan.decisions[0]!), ["newest", "keep-last"]);
    assert.deepEqual(keptDays(plan.decisions), ["2026-01-03"]);
  });

  test("min-verified keeps the newest verified backups the rules would remove", () => {
    const history = dailyBackups("2026-01-01", "2026-01-20");
    const jan05 = history.find((b) => day(b) === "2026-01-05")!;
    const jan10 = history.find((b) => day(b) === "2026-01-10")!;
    jan05.verified = true;
    jan10.verified = true;
    const now = new Date("2026-01-21T00:00:00Z");
    const one = planRetention(history, policy({ keepLast: 3, minVerified: 1 }), now);
    assert.deepEqual(keptDays(one.decisions), ["2026-01-20", "2026-01-19", "2026-01-18", "2026-01-10"]);
    assert.deepEqual(decisionFor(one.decisions, jan10).reasons, [
      { rule: "min-verified", text: "min-verified: kept so that 1 verified backup remains" },
    ]);
    assert.deepEqual(one.warnings, []);

    const two = planRetention(history, policy({ keepLast: 3, minVerified: 2 }), now);
    assert.deepEqual(keptDays(two.decisions), [
      "2026-01-20",
      "2026-01-19",
      "2026-01-18",
      "2026-01-10",
      "2026-01-05",
    ]);

    // A verified backup that a rule keeps already counts: nothing older is added.
    const jan19 = history.find((b) => day(b) === "2026-01-19")!;
    jan19.verified = true;
    const covered = planRetention(history, policy({ keepLast: 3, minVerified: 1 }), now);
    assert.deepEqual(keptDays(covered.decisions), ["2026-01-20", "2026-01-19", "2026-01-18"]);
  });

  test("fewer verified backups than min-verified: every verified one stays, and prune says so", () => {
    const history = dailyBackups("2026-01-01", "2026-01-10");
    history[2]!.verified = true;
    const now = new Date("2026-01-11T00:00:00Z");
    const plan = planRetention(history, policy({ keepLast: 1, minVerified: 3 }), now);
    assert.ok(decisionFor(plan.decisions, history[2]!).keep);
    assert.equal(plan.decisions.filter((d) => d.keep).length, 2);
    assert.match(
      plan.warnings.join("\n"),
      /only 1 backup passed a restore-test or a deep verify, fewer than min-verified 3/,
    );

    for (const b of history) b.verified = false;
    const none = planRetention(history, policy({ keepLast: 1, minVerified: 1 }), now);
    assert.match(
      none.warnings.join("\n"),
      /no backup under this label has passed a restore-test or a deep verify/,
    );
    assert.deepEqual(planRetention(history, policy({ keepLast: 1, minVerified: 0 }), now).warnings, []);
  });

  test("object locks in force keep a backup; expired ones do not", () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const history = [
      backup("2026-02-28T00:00:00Z"),
      backup("2026-02-01T00:00:00Z", {
        lock: { mode: "COMPLIANCE", until: new Date("2026-03-15T00:00:00Z") },
      }),
      backup("2026-01-01T00:00:00Z", {
        lock: { mode: "GOVERNANCE", until: new Date("2026-02-15T00:00:00Z") },
      }),
      backup("2025-12-01T00:00:00Z", { lock: { legalHold: true } }),
      backup("2025-11-01T00:00:00Z", { lock: { until: now } }),
    ];
    const plan = planRetention(history, policy({ keepLast: 1 }), now);
    assert.deepEqual(
      plan.decisions.map((d) => [d.keep, d.reasons.map((reason) => reason.text)]),
      [
        [true, ["the newest backup", "keep-last (1 of 1)"]],
        [true, ["object lock (COMPLIANCE) until 2026-03-15T00:00:00.000Z"]],
        [false, ["no keep rule selects it"]],
        [true, ["object lock: legal hold"]],
        [false, ["no keep rule selects it"]], // a retention that ends now has ended
      ],
    );
  });

  test("folders without a manifest are removed only once older than the safe age", () => {
    const now = new Date("2026-03-02T12:00:00Z");
    const committed = backup("2026-03-01T00:00:00Z");
    const old = backup("2026-02-20T00:00:00Z", {
      committed: false,
      lastModified: new Date("2026-02-20T00:05:00Z"),
    });
    const idOldButWrittenRecently = backup("2026-03-01T00:00:00Z", {
      committed: false,
      lastModified: new Date("2026-03-02T11:00:00Z"),
    });
    const young = backup("2026-03-02T00:00:00Z", { committed: false });
    const lockedOld = backup("2026-01-01T00:00:00Z", {
      committed: false,
      lock: { until: new Date("2027-01-01T00:00:00Z") },
    });
    const plan = planRetention(
      [committed, old, idOldButWrittenRecently, young, lockedOld],
      policy({ keepLast: 5, safeAgeMs: D }),
      now,
    );
    const text = (b: BackupState) => decisionFor(plan.decisions, b).reasons.map((r) => r.text);
    assert.equal(decisionFor(plan.decisions, old).keep, false);
    assert.deepEqual(text(old), [
      "no manifest (failed or interrupted), 1w3d11h55m old: older than the safe age 1d",
    ]);
    assert.equal(decisionFor(plan.decisions, idOldButWrittenRecently).keep, true);
    assert.deepEqual(text(idOldButWrittenRecently), [
      "no manifest, 1h old: younger than the safe age 1d (may be in flight)",
    ]);
    assert.equal(decisionFor(plan.decisions, young).keep, true);
    assert.equal(decisionFor(plan.decisions, lockedOld).keep, true);
    // keep-last counts backups, not folders without a manifest.
    assert.deepEqual(rulesOf(decisionFor(plan.decisions, committed)), ["newest", "keep-last"]);
  });

  test("a policy with no keep rule, or a negative or fractional number, is bad input", () => {
    const history = dailyBackups("2026-01-01", "2026-01-03");
    const now = new Date("2026-01-04T00:00:00Z");
    assert.throws(
      () => planRetention(history, policy({ minVerified: 1 }), now),
      (error: unknown) =>
        error instanceof InputError &&
        /^no keep rule: expected at least one of --keep-last/.test(error.message),
    );
    assert.throws(
      () => planRetention(history, policy({ keepLast: 0, keepDaily: 0, keepWithinMs: 0 }), now),
      InputError,
    );
    assert.throws(
      () => planRetention(history, policy({ keepDaily: -1, keepLast: 1 }), now),
      (error: unknown) => error instanceof InputError && error.input === "keep-daily",
    );
    assert.throws(() => planRetention(history, policy({ keepWeekly: 1.5 }), now), InputError);
  });

  test("ISO weeks: Monday to Sunday, week 1 holds the year's first Thursday", () => {
    assert.equal(isoWeek(new Date("2026-01-01T00:00:00Z")), "2026-W01"); // Thursday
    assert.equal(isoWeek(new Date("2025-12-29T00:00:00Z")), "2026-W01"); // Monday
    assert.equal(isoWeek(new Date("2025-12-28T23:59:59Z")), "2025-W52"); // Sunday
    assert.equal(isoWeek(new Date("2027-01-01T00:00:00Z")), "2026-W53"); // Friday
    assert.equal(isoWeek(new Date("2021-01-03T00:00:00Z")), "2020-W53");
    assert.equal(isoWeek(new Date("2024-12-30T00:00:00Z")), "2025-W01");
    assert.equal(isoWeek(new Date("2026-03-01T23:00:00Z")), "2026-W09"); // Sunday
    assert.equal(isoWeek(new Date("2026-03-02T00:00:00Z")), "2026-W10"); // Monday
  });
});

describe("isVerified", () => {
  const at = (iso: string) => new Date(iso);
  test("a passing restore-test or verify-deep; the latest check of a kind decides", () => {
    assert.equal(isVerified([]), false);
    assert.equal(
      isVerified([{ kind: "restore-test", passed: true, time: at("2026-01-01T00:00:00Z") }]),
      true,
    );
    assert.equal(isVerified([{ kind: "verify-deep", passed: true, time: at("2026-01-01T00:00:00Z") }]), true);
    assert.equal(
      isVerified([{ kind: "verify", passed: true, time: at("2026-01-01T00:00:00Z") }]),
      false,
      "a verify without the identity checks the stored object only",
    );
    assert.equal(
      isVerified([
        { kind: "restore-test", passed: true, time: at("2026-01-01T00:00:00Z") },
        { kind: "restore-test", passed: false, time: at("2026-01-02T00:00:00Z") },
      ]),
      false,
      "a later failure withdraws the pass",
    );
    assert.equal(
      isVerified([
        { kind: "restore-test", passed: false, time: at("2026-01-02T00:00:00Z") },
        { kind: "restore-test", passed: true, time: at("2026-01-01T00:00:00Z") },
      ]),
      false,
      "by time, not by position",
    );
    assert.equal(
      isVerified([
        { kind: "restore-test", passed: false, time: at("2026-01-02T00:00:00Z") },
        { kind: "verify-deep", passed: true, time: at("2026-01-01T00:00:00Z") },
      ]),
      true,
      "each kind on its own",
    );
    assert.equal(
      isVerified([
        { kind: "verify-deep", passed: true, time: at("2026-01-01T00:00:00Z") },
        { kind: "verify-deep", passed: false, time: at("2026-01-01T00:00:00Z") },
      ]),
      false,
      "a tie goes to the failure",
    );
    assert.equal(
      isVerified([
        { kind: "verify-deep", passed: true, time: at("2026-01-01T00:00:00Z") },
        { kind: "verify", passed: false, time: at("2026-01-02T00:00:00Z") },
      ]),
      false,
      "the stored object failed its sha256 since: the deep pass no longer holds",
    );
    assert.equal(
      isVerified([
        { kind: "restore-test", passed: true, time: at("2026-01-01T00:00:00Z") },
        { kind: "verify", passed: false, time: at("2026-01-02T00:00:00Z") },
      ]),
      false,
      "nor does a restore-test's",
    );
    assert.equal(
      isVerified([
        { kind: "verify", passed: false, time: at("2026-01-01T00:00:00Z") },
        { kind: "restore-test", passed: true, time: at("2026-01-02T00:00:00Z") },
      ]),
      true,
      "a pass after the integrity failure stands",
    );
    assert.equal(
      isVerified([
        { kind: "verify-deep", passed: true, time: at("2026-01-01T00:00:00Z") },
        { kind: "restore-test", passed: false, time: at("2026-01-02T00:00:00Z") },
      ]),
      true,
      "a failed restore-test (maybe the migration's fault) does not undo a deep verify",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random histories

const START = Date.parse("2023-01-01T00:00:00Z");
const SPAN = 3 * 365 * D;

/** A random history: times clustered or spread, some without a manifest, verified, locked. */
const historyArb = fc
  .uniqueArray(
    fc.record({
      // Minutes since START: dense enough for several backups in one hour, day and week.
      minute: fc.oneof(fc.integer({ min: 0, max: SPAN / 60_000 }), fc.integer({ min: 0, max: 20_000 })),
      suffix: fc.integer({ min: 0, max: 9999 }),
      committed: fc.oneof(
        { weight: 9, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      verified: fc.boolean(),
      writtenAfter: fc.integer({ min: 0, max: 3 * 60 }),
      lock: fc.option(
        fc.oneof(
          fc.record({ until: fc.integer({ min: -30, max: 30 }) }),
          fc.constant({ legalHold: true as const }),
        ),
        { freq: 8 },
      ),
      bytes: fc.nat(1e9),
    }),
    { maxLength: 120, selector: (b) => `${b.minute}-${b.suffix}` },
  )
  .chain((raw) =>
    fc.tuple(
      fc.constant(raw),
      fc.integer({ min: 0, max: 90 * 24 * 60 }), // now: minutes after the newest backup
    ),
  )
  .map(([raw, afterNewest]) => {
    const latest = raw.reduce((max, b) => Math.max(max, b.minute), 0);
    const now = new Date(START + (latest + afterNewest) * 60_000 + 1);
    const backups = raw.map((b): BackupState => {
      const time = new Date(START + b.minute * 60_000);
      const stamp = time
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
      const state: BackupState = {
        id: `${stamp}-${String(b.suffix).padStart(6, "0")}`,
        time,
        bytes: b.bytes,
        committed: b.committed,
        verified: b.committed && b.verified,
        lastModified: new Date(time.getTime() + b.writtenAfter * 60_000),
      };
      if (b.lock && "legalHold" in b.lock) state.lock = { legalHold: true };
      else if (b.lock) state.lock = { mode: "COMPLIANCE", until: new Date(now.getTime() + b.lock.until * D) };
      return state;
    });
    return { backups, now };
  });

const count = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }) },
);
const policyArb = fc
  .record({
    keepLast: count,
    keepHourly: count,
    keepDaily: count,
    keepWeekly: count,
    keepMonthly: count,
    keepYearly: count,
    keepWithinMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 * D })),
    minVerified: fc.integer({ min: 0, max: 6 }),
    safeAgeMs: fc.integer({ min: H, max: 3 * D }),
  })
  .filter(
    (p) =>
      p.keepLast + p.keepHourly + p.keepDaily + p.keepWeekly + p.keepMonthly + p.keepYearly + p.keepWithinMs >
      0,
  );

const RUNS = { numRuns: 3000 };

function lockedAt(b: BackupState, now: Date): boolean {
  return b.lock?.legalHold === true || (b.lock?.until !== undefined && b.lock.until > now);
}

/**
 * A second model of restic's bucket rules, written differently on purpose: group the committed
 * backups by period, order the periods by their newest backup, keep the newest of the first N.
 */
function modelRuleKeeps(backups: BackupState[], p: RetentionPolicy): Set<string> {
  const committed = backups
    .filter((b) => b.committed)
    .sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  const keep = new Set<string>();
  committed.slice(0, p.keepLast).forEach((b) => keep.add(b.id));
  const periods: [number, (t: Date) => string][] = [
    [p.keepHourly, (t) => t.toISOString().slice(0, 13)],
    [p.keepDaily, (t) => t.toISOString().slice(0, 10)],
    [p.keepWeekly, (t) => isoWeek(t)],
    [p.keepMonthly, (t) => t.toISOString().slice(0, 7)],
    [p.keepYearly, (t) => t.toISOString().slice(0, 4)],
  ];
  for (const [n, period] of periods) {
    const newestOf = new Map<string, BackupState>();
    for (const b of committed) if (!newestOf.has(period(b.time))) newestOf.set(period(b.time), b);
    [...newestOf.values()].slice(0, n).forEach((b) => keep.add(b.id));
  }
  if (p.keepWithinMs > 0 && committed[0]) {
    const newest = committed[0].time.getTime();
    for (const b of committed) if (newest - b.time.getTime() < p.keepWithinMs) keep.add(b.id);
  }
  return keep;
}

describe("retention properties over random histories", () => {
  test("one decision per folder, newest first, each with a reason", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        const { decisions } = planRetention(backups, p, now);
        assert.equal(decisions.length, backups.length);
        assert.deepEqual(new Set(decisions.map((d) => d.backup.id)), new Set(backups.map((b) => b.id)));
        for (let i = 1; i < decisions.length; i++) {
          assert.ok(decisions[i - 1]!.backup.time >= decisions[i]!.backup.time);
        }
        for (const d of decisions) assert.ok(d.reasons.length > 0);
      }),
      RUNS,
    );
  });

  test("the newest committed backup is never removed", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        const { decisions } = planRetention(backups, p, now);
        const newest = decisions.find((d) => d.backup.committed);
        if (newest) assert.ok(newest.keep, `${newest.backup.id} removed`);
      }),
      RUNS,
    );
  });

  test("at least min-verified verified backups remain, or all of them, with a warning", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        const plan = planRetention(backups, p, now);
        const verified = plan.decisions.filter((d) => d.backup.committed && d.backup.verified);
        const keptVerified = verified.filter((d) => d.keep).length;
        assert.ok(keptVerified >= Math.min(p.minVerified, verified.length));
        if (verified.length < p.minVerified) {
          assert.equal(keptVerified, verified.length, "every verified backup stays");
          assert.equal(plan.warnings.length, backups.some((b) => b.committed) ? 1 : 0);
        } else {
          assert.deepEqual(plan.warnings, []);
        }
      }),
      RUNS,
    );
  });

  test("nothing under an object lock in force is removed", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        for (const d of planRetention(backups, p, now).decisions) {
          if (lockedAt(d.backup, now)) assert.ok(d.keep, `${d.backup.id} is locked`);
        }
      }),
      RUNS,
    );
  });

  test("a folder without a manifest goes exactly when it is older than the safe age and not locked", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        for (const d of planRetention(backups, p, now).decisions) {
          if (d.backup.committed) continue;
          const youngest = Math.max(d.backup.time.getTime(), d.backup.lastModified!.getTime());
          const old = now.getTime() - youngest >= p.safeAgeMs;
          assert.equal(d.keep, !old || lockedAt(d.backup, now));
        }
      }),
      RUNS,
    );
  });

  test("what is kept equals an independent model: rules, newest, locks, then newest verified", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        const keep = modelRuleKeeps(backups, p);
        const committed = backups
          .filter((b) => b.committed)
          .sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
        if (committed[0]) keep.add(committed[0].id);
        for (const b of committed) if (lockedAt(b, now)) keep.add(b.id);
        let verifiedKept = committed.filter((b) => b.verified && keep.has(b.id)).length;
        for (const b of committed) {
          if (verifiedKept >= p.minVerified) break;
          if (b.verified && !keep.has(b.id)) {
            keep.add(b.id);
            verifiedKept++;
          }
        }
        for (const d of planRetention(backups, p, now).decisions) {
          if (d.backup.committed) assert.equal(d.keep, keep.has(d.backup.id), d.backup.id);
        }
      }),
      RUNS,
    );
  });

  test("each rule keeps at most its count, and keep-last exactly min(N, backups)", () => {
    fc.assert(
      fc.property(historyArb, policyArb, ({ backups, now }, p) => {
        const { decisions } = planRetention(backups, p, now);
        const by = (rule: string) => decisions.filter((d) => d.reasons.some((r) => r.rule === rule)).length;
        const committed = backups.filter((b) => b.committed).length;
        assert.equal(by("keep-last"), Math.min(p.keepLast, committed));
        assert.ok(by("keep-hourly") <= p.keepHourly);
        assert.ok(by("keep-daily") <= p.keepDaily);
        assert.ok(by("keep-weekly") <= p.keepWeekly);
        assert.ok(by("keep-monthly") <= p.keepMonthly);
        assert.ok(by("keep-yearly") <= p.keepYearly);
        assert.ok(by("min-verified") <= p.minVerified);
      }),
      RUNS,
    );
  });

  test("the input's order does not matter", () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) =>
          fc.tuple(fc.constant(h), fc.shuffledSubarray(h.backups, { minLength: h.backups.length })),
        ),
        policyArb,
        ([{ backups, now }, shuffled], p) => {
          const a = planRetention(backups, p, now).decisions.map((d) => [d.backup.id, d.keep, d.reasons]);
          const b = planRetention(shuffled, p, now).decisions.map((d) => [d.backup.id, d.keep, d.reasons]);
          assert.deepEqual(b, a);
        },
      ),
      RUNS,
    );
  });

  test("with min-verified 0, a larger count or a longer keep-within never removes a backup that was kept", () => {
    const field = fc.constantFrom(
      "keepLast",
      "keepHourly",
      "keepDaily",
      "keepWeekly",
      "keepMonthly",
      "keepYearly",
      "keepWithinMs",
    ) as fc.Arbitrary<keyof RetentionPolicy>;
    fc.assert(
      fc.property(
        historyArb,
        policyArb,
        field,
        fc.integer({ min: 1, max: 5 }),
        ({ backups, now }, p, f, more) => {
          const base = { ...p, minVerified: 0 };
          const bigger = { ...base, [f]: base[f] + (f === "keepWithinMs" ? more * D : more) };
          const before = planRetention(backups, base, now).decisions;
          const after = new Map(
            planRetention(backups, bigger, now).decisions.map((d) => [d.backup.id, d.keep]),
          );
          for (const d of before) if (d.keep) assert.ok(after.get(d.backup.id), d.backup.id);
        },
      ),
      RUNS,
    );
  });

  test("a policy without a keep rule is always refused, never an empty keep set", () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: 0, max: 6 }), ({ backups, now }, minVerified) => {
        assert.throws(() => planRetention(backups, policy({ minVerified }), now), InputError);
      }),
      { numRuns: 200 },
    );
  });
});
