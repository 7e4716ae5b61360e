/**
 * Check records: one JSON file per verification, beside the backup it checked, named so that a
 * listing alone tells what was checked when, and with which outcome:
 * `<label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json`.
 */
import { Readable } from "node:stream";
import { checkKey } from "../domain/layout.js";
import type { Store } from "../storage/store.js";
import { LIFEBOAT_VERSION } from "../version.js";

/** Kinds: `verify` (the stored object against the manifest), `verify-deep` (also decrypted and read), `restore-test`. */
export type CheckKind = "verify" | "verify-deep" | "restore-test";

export interface CheckRecord {
  schemaVersion: 1;
  kind: CheckKind;
  label: string;
  backupId: string;
  passed: boolean;
  at: string;
  tool: { name: "lifeboat"; version: string };
  /** Why it failed, one line per reason; empty when it passed. */
  failures: string[];
  warnings: string[];
  details: Record<string, unknown>;
}

export async function writeCheckRecord(
  store: Store,
  record: Omit<CheckRecord, "schemaVersion" | "tool" | "at">,
  at: Date,
): Promise<string> {
  const full: CheckRecord = {
    schemaVersion: 1,
    ...record,
    at: at.toISOString(),
    tool: { name: "lifeboat", version: LIFEBOAT_VERSION },
  };
  const key = checkKey(record.label, record.backupId, at, record.kind, record.passed);
  await store.put(key, Readable.from([Buffer.from(JSON.stringify(full, null, 2) + "\n")]), {
    contentType: "application/json",
  });
  return key;
}
