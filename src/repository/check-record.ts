/**
 * Check records: one JSON file per verification, beside the backup it checked, named so that a
 * listing alone tells what was checked when, and with which outcome:
 * `<label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json`.
 *
 * A record counts only for the bytes it checked: since schema 2 it lists every artifact it read
 * with the size and sha256 it found, and `recordMatches` compares them with the manifest, so a
 * pass recorded before an object was replaced says nothing about the replacement.
 */
import type { Manifest } from "../domain/manifest.js";
import { findDumpArtifact } from "../domain/manifest.js";
import { createRedactor, redactDeep } from "../domain/redact.js";

/** Kinds: `verify` (the stored object against the manifest), `verify-deep` (also decrypted and read), `restore-test`. */
export type CheckKind = "verify" | "verify-deep" | "restore-test";

export const CHECK_RECORD_SCHEMA_VERSION = 2;

/** An artifact as a check read it: its name in the folder and the stored bytes' size and sha256. */
export interface CheckedArtifact {
  name: string;
  bytes: number;
  sha256: string;
}

export interface CheckRecord {
  schemaVersion: 1 | 2;
  kind: CheckKind;
  label: string;
  backupId: string;
  passed: boolean;
  at: string;
  tool: { name: "lifeboat"; version: string };
  /** Schema 2: the artifacts the check read, as it found them (absent in schema-1 records). */
  artifacts?: CheckedArtifact[];
  /** Why it failed, one line per reason; empty when it passed. */
  failures: string[];
  warnings: string[];
  details: Record<string, unknown>;
}

/** Parses a record's text; undefined when it is not a check record (damaged, foreign). */
export function parseCheckRecord(text: string): CheckRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<CheckRecord>;
    if (typeof value !== "object" || value === null || typeof value.passed !== "boolean") return undefined;
    if (typeof value.kind !== "string" || typeof value.backupId !== "string") return undefined;
    return value as CheckRecord;
  } catch {
    return undefined;
  }
}

/**
 * Whether the record checked the bytes the manifest describes: every artifact it names has the
 * manifest's size and sha256, and it names the dump. A schema-1 record names no artifacts; a
 * verify record of schema 1 carries the dump's digest in its details, which then decides. Any other
 * schema-1 record (restore-test) cannot say what it read, so it does not count.
 */
export function recordMatches(record: CheckRecord, manifest: Manifest): boolean {
  if (record.backupId !== manifest.backupId) return false;
  const dump = findDumpArtifact(manifest);
  if (record.artifacts) {
    // It must have read the dump, or in a files-only backup at least one artifact.
    if (
      dump ? !record.artifacts.some((checked) => checked.name === dump.name) : record.artifacts.length === 0
    ) {
      return false;
    }
    return record.artifacts.every((checked) => {
      const artifact = manifest.artifacts.find((candidate) => candidate.name === checked.name);
      return artifact?.stored.bytes === checked.bytes && artifact.stored.sha256 === checked.sha256;
    });
  }
  const details = record.details ?? {};
  if (!dump) return false;
  return details.storedBytes === dump.stored.bytes && details.storedSha256 === dump.stored.sha256;
}

/**
 * The record with every form of each secret masked, in every string it holds (failures quote
 * pg_restore and the user's command, which may print a connection URL): a record is stored beside
 * the backup, where anyone who may list the store reads it.
 */
export function redactCheckRecord<T extends object>(record: T, secrets: readonly string[]): T {
  return redactDeep(record, createRedactor(secrets));
}
