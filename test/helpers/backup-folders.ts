/**
 * Backup folders as a listing sees them, without PostgreSQL: a dump object, a manifest (unless the
 * folder is to look failed or in flight) and check records. prune reads only the listing, so the
 * contents are placeholders.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { newBackupId } from "../../src/domain/backup-id.js";
import { checkKey, dumpKey, manifestKey } from "../../src/domain/layout.js";
import type { Store } from "../../src/storage/store.js";

export interface FolderSpec {
  /** When the backup started: its id's time. */
  time: Date;
  /** Default true: with a manifest. */
  committed?: boolean;
  dumpBytes?: number;
  checks?: { kind: string; passed: boolean; time?: Date }[];
}

export interface SeededFolder {
  backupId: string;
  keys: string[];
}

function folderObjects(label: string, spec: FolderSpec): { backupId: string; objects: [string, Buffer][] } {
  const backupId = newBackupId(spec.time);
  const objects: [string, Buffer][] = [[dumpKey(label, backupId, true), randomBytes(spec.dumpBytes ?? 100)]];
  for (const check of spec.checks ?? []) {
    const at = check.time ?? new Date(spec.time.getTime() + 3_600_000);
    objects.push([
      checkKey(label, backupId, at, check.kind, check.passed),
      Buffer.from(JSON.stringify({ kind: check.kind, passed: check.passed })),
    ]);
  }
  if (spec.committed !== false) {
    objects.push([
      manifestKey(label, backupId),
      Buffer.from(JSON.stringify({ schemaVersion: 1, backupId, label })),
    ]);
  }
  return { backupId, objects };
}

/** Writes the folders through the store (what backup, verify and restore-test do). */
export async function seedFolders(store: Store, label: string, specs: FolderSpec[]): Promise<SeededFolder[]> {
  const seeded: SeededFolder[] = [];
  for (const spec of specs) {
    const { backupId, objects } = folderObjects(label, spec);
    for (const [key, body] of objects) await store.put(key, Readable.from([body]));
    seeded.push({ backupId, keys: objects.map(([key]) => key) });
  }
  return seeded;
}

/**
 * Writes the folders straight into a local store's directory, with each file's modification time
 * set to the backup's time (as if written then): fast enough for thousands of backups.
 */
export function seedLocalFolders(root: string, label: string, specs: FolderSpec[]): SeededFolder[] {
  return specs.map((spec) => {
    const { backupId, objects } = folderObjects(label, spec);
    for (const [key, body] of objects) {
      const path = join(root, ...key.split("/"));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, body);
      utimesSync(path, spec.time, spec.time);
    }
    return { backupId, keys: objects.map(([key]) => key) };
  });
}

/** `count` times, `stepMs` apart, the last one at `newest`. */
export function hourlyTimes(newest: Date, count: number, stepMs = 3_600_000): Date[] {
  return Array.from({ length: count }, (_, i) => new Date(newest.getTime() - (count - 1 - i) * stepMs));
}
