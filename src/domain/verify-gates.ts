/**
 * verify's gates, pure: the facts in (the chosen backup, the label's committed backups, now) and
 * failures and warnings out, each a sentence a person can act on.
 */
import type { BackupFolder } from "./layout.js";
import { backupStoredBytes, type Manifest } from "./manifest.js";

export interface GateSettings {
  /** Fail when the newest committed backup is older than this (seconds): a dead-man's switch. */
  maxAgeSeconds: number | undefined;
  /** Fail (or warn) when the stored size moved more than this fraction against the previous backup. */
  maxSizeChange: number | undefined;
  sizeChangeAction: "fail" | "warn";
  /** Fail when the stored object is smaller than this many bytes. */
  minSizeBytes: number | undefined;
}

export interface GateOutcome {
  failures: string[];
  warnings: string[];
}

export function storedSize(folder: BackupFolder): number | undefined {
  return folder.objects.find((object) => /\/dump\.(age|pgdump)$/.test(object.key))?.size;
}

export function evaluateGates(input: {
  manifest: Manifest;
  /** Committed backups of the label, newest first. */
  committed: readonly BackupFolder[];
  now: Date;
  gates: GateSettings;
}): GateOutcome {
  const { manifest, committed, gates } = input;
  const storedBytes = backupStoredBytes(manifest);
  const failures: string[] = [];
  const warnings: string[] = [];
  const newest = committed[0];
  if (gates.maxAgeSeconds !== undefined && newest) {
    const age = (input.now.getTime() - newest.startedAt.getTime()) / 1000;
    if (age > gates.maxAgeSeconds) {
      failures.push(
        `the newest backup (${newest.backupId}) is ${formatHours(age)} old, more than max-age ${formatHours(gates.maxAgeSeconds)}`,
      );
    }
  }
  if (gates.minSizeBytes !== undefined && storedBytes < gates.minSizeBytes) {
    failures.push(`the stored object is ${storedBytes} bytes, less than min-size ${gates.minSizeBytes}`);
  }
  if (gates.maxSizeChange !== undefined) {
    const index = committed.findIndex((folder) => folder.backupId === manifest.backupId);
    const previous = index >= 0 ? committed[index + 1] : undefined;
    const previousSize = previous ? storedSize(previous) : undefined;
    if (previous && previousSize && previousSize > 0) {
      const change = (storedBytes - previousSize) / previousSize;
      if (Math.abs(change) > gates.maxSizeChange) {
        const message = `the stored size changed by ${(change * 100).toFixed(1)}% against the previous backup ${previous.backupId} (${previousSize} -> ${storedBytes} bytes), more than max-size-change ${(gates.maxSizeChange * 100).toFixed(0)}%`;
        (gates.sizeChangeAction === "fail" ? failures : warnings).push(message);
      }
    }
  }
  return { failures, warnings };
}

function formatHours(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)}h` : `${Math.round(seconds / 60)}m`;
}
