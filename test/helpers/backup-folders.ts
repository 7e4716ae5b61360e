/**
 * Backup folders without PostgreSQL: a dump object of random bytes, a manifest that lists it with
 * its real size and sha256 (unless the folder is to look failed or in flight) and check records
 * that name the dump they checked. prune reads the manifests and the deciding records, so they are
 * real in shape; the dump is not a pg_dump archive.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { newBackupId } from "../../src/domain/backup-id.js";
import { checkKey, dumpKey, manifestKey } from "../../src/domain/layout.js";
import { MANIFEST_SCHEMA_VERSION, serializeManifest, type Manifest } from "../../src/domain/manifest.js";
import type { Store } from "../../src/storage/store.js";

export interface FolderSpec {
  /** When the backup started: its id's time. */
  time: Date;
  /** Default true: with a manifest. */
  committed?: boolean;
  dumpBytes?: number;
  /** `checked: "other"` makes a record that checked other bytes than the manifest's dump. */
  checks?: { kind: string; passed: boolean; time?: Date; checked?: "dump" | "other" }[];
}

/** A schema-2 manifest for a folder whose only artifact is `dump.age` with these bytes. */
export function placeholderManifest(label: string, backupId: string, time: Date, dump: Buffer): Manifest {
  const digest = { bytes: dump.length, sha256: createHash("sha256").update(dump).digest("hex") };
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    backupId,
    label,
    startedAt: time.toISOString(),
    finishedAt: time.toISOString(),
    durationSeconds: 1,
    source: {
      serverVersion: "15",
      serverVersionNum: 150000,
      database: "db",
      host: "h",
      port: 5432,
      user: "u",
    },
    tool: { name: "lifeboat", version: "0", pgDumpVersion: "15.0", pgDumpArgs: [] },
    dump: {
      format: "custom",
      compression: "gzip:1",
      scope: {
        schemaOnly: false,
        dataOnly: false,
        includeSchemas: [],
        excludeSchemas: [],
        includeTables: [],
        excludeTables: [],
        excludeTableData: [],
      },
    },
    encryption: { format: "age-v1", recipients: ["age1placeholder"], passphrase: false },
    artifacts: [
      {
        name: "dump.age",
        kind: "dump",
        stored: digest,
        plaintext: digest,
        compression: "none",
        encryption: "age-v1",
      },
    ],
    tables: [],
    totalRows: 0,
    objectLock: null,
    provenance: null,
  };
}

export interface SeededFolder {
  backupId: string;
  keys: string[];
}

function folderObjects(label: string, spec: FolderSpec): { backupId: string; objects: [string, Buffer][] } {
  const backupId = newBackupId(spec.time);
  const dump = randomBytes(spec.dumpBytes ?? 100);
  const objects: [string, Buffer][] = [[dumpKey(label, backupId, true), dump]];
  const sha256 = createHash("sha256").update(dump).digest("hex");
  for (const check of spec.checks ?? []) {
    const at = check.time ?? new Date(spec.time.getTime() + 3_600_000);
    const checked =
      check.checked === "other"
        ? { bytes: dump.length, sha256: "0".repeat(64) }
        : { bytes: dump.length, sha256 };
    objects.push([
      checkKey(label, backupId, at, check.kind, check.passed),
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          kind: check.kind,
          label,
          backupId,
          passed: check.passed,
          artifacts: [{ name: "dump.age", ...checked }],
        }),
      ),
    ]);
  }
  if (spec.committed !== false) {
    objects.push([
      manifestKey(label, backupId),
      Buffer.from(serializeManifest(placeholderManifest(label, backupId, spec.time, dump))),
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
