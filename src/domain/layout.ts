/**
 * Where things live in a store, relative to its root (the storage URL's prefix):
 *
 *   <label>/<backup-id>/dump.age            the age-encrypted pg_dump archive (unencrypted: dump.pgdump.zst,
 *                                           dump.pgdump.gz or dump.pgdump, by its compression)
 *   <label>/<backup-id>/roles.sql.age       the roles, when included (roles.sql when unencrypted)
 *   <label>/<backup-id>/manifest.json       written last: the commit marker
 *   <label>/<backup-id>/checks/<timestamp>-<kind>-<pass|fail>.json
 *
 * A folder without a manifest is not a backup: it is in flight, or it failed. A folder with a
 * manifest whose artifacts are missing or of another size than the manifest says is a broken
 * backup (folderProblems): never the newest, never verified.
 */
import { parseBackupIdTime } from "./backup-id.js";
import { InputError } from "./errors.js";
import type { Manifest } from "./manifest.js";

/** One object of a listing (the store's ObjectInfo has this shape). */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

export const MANIFEST_FILE = "manifest.json";
export const ENCRYPTED_DUMP_FILE = "dump.age";
export const PLAIN_DUMP_FILE = "dump.pgdump";
/** Unencrypted dumps end in the suffix of the tool that opens them (zstd -d, gunzip). */
const COMPRESSION_SUFFIXES: Record<string, string> = { zstd: ".zst", gzip: ".gz", none: "" };
export const ENCRYPTED_ROLES_FILE = "roles.sql.age";
export const PLAIN_ROLES_FILE = "roles.sql";

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateLabel(label: string): string {
  if (!LABEL.test(label)) {
    throw new InputError(
      `--label "${label}": expected 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { input: "label" },
    );
  }
  return label;
}

export function backupPrefix(label: string, backupId: string): string {
  return `${label}/${backupId}/`;
}

export function manifestKey(label: string, backupId: string): string {
  return `${backupPrefix(label, backupId)}${MANIFEST_FILE}`;
}

/**
 * The dump's name, by its real encoding: dump.age when encrypted (age hides what is inside; the
 * manifest's `compression` says it), otherwise dump.pgdump plus the compression's suffix
 * (dump.pgdump.zst for zstd:N), so that a file fetched by hand says which tool opens it.
 * `compression` is the manifest's text ("zstd:1", "gzip:6", "none"). Backups made before this
 * named an unencrypted zstd dump dump.pgdump; every reader goes by the manifest's artifact names,
 * so those read as before.
 */
export function dumpFileName(encrypted: boolean, compression: string): string {
  if (encrypted) return ENCRYPTED_DUMP_FILE;
  const method = compression.split(":", 1)[0] ?? "";
  const suffix = COMPRESSION_SUFFIXES[method];
  if (suffix === undefined) throw new Error(`no file name for compression "${compression}"`);
  return `${PLAIN_DUMP_FILE}${suffix}`;
}

/** Whether a key is a backup's dump, under any name a Lifeboat wrote (old and new). */
export function isDumpKey(key: string): boolean {
  return /\/dump\.(?:age|pgdump(?:\.zst|\.gz)?)$/.test(key);
}

export function dumpKey(label: string, backupId: string, encrypted: boolean, compression = "none"): string {
  return `${backupPrefix(label, backupId)}${dumpFileName(encrypted, compression)}`;
}

/** The key of an artifact (a name in the manifest's `artifacts`) of a backup. */
export function artifactKey(label: string, backupId: string, name: string): string {
  return `${backupPrefix(label, backupId)}${name}`;
}

export function rolesKey(label: string, backupId: string, encrypted: boolean): string {
  return `${backupPrefix(label, backupId)}${encrypted ? ENCRYPTED_ROLES_FILE : PLAIN_ROLES_FILE}`;
}

export interface CheckRecordRef {
  key: string;
  time: Date;
  kind: string;
  passed: boolean;
}

/** What a listing of `<label>/` says about one backup folder. */
export interface BackupFolder {
  backupId: string;
  startedAt: Date;
  /** True when manifest.json exists: only then is the folder a backup. */
  committed: boolean;
  objects: ListedObject[];
  checks: CheckRecordRef[];
  bytes: number;
}

const CHECK = /^checks\/(\d{8}T\d{6}(?:\d{3})?Z)-([a-z][a-z-]*)-(pass|fail)\.json$/;

export function parseCheckStamp(stamp: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z$/.exec(stamp);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  return new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, ms ? +ms : 0));
}

export function checkKey(label: string, backupId: string, time: Date, kind: string, passed: boolean): string {
  const stamp = time.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${backupPrefix(label, backupId)}checks/${stamp}-${kind}-${passed ? "pass" : "fail"}.json`;
}

/**
 * Groups a listing of `<label>/` into backup folders, newest first. Keys that are not inside a
 * folder named by a backup id are ignored (they are not ours).
 */
export function groupBackupFolders(label: string, objects: Iterable<ListedObject>): BackupFolder[] {
  const folders = new Map<string, BackupFolder>();
  const root = `${label}/`;
  for (const object of objects) {
    if (!object.key.startsWith(root)) continue;
    const rest = object.key.slice(root.length);
    const slash = rest.indexOf("/");
    if (slash < 0) continue;
    const backupId = rest.slice(0, slash);
    const startedAt = parseBackupIdTime(backupId);
    if (!startedAt) continue;
    let folder = folders.get(backupId);
    if (!folder) {
      folder = { backupId, startedAt, committed: false, objects: [], checks: [], bytes: 0 };
      folders.set(backupId, folder);
    }
    folder.objects.push(object);
    folder.bytes += object.size;
    const name = rest.slice(slash + 1);
    if (name === MANIFEST_FILE) folder.committed = true;
    const check = CHECK.exec(name);
    const checkTime = check ? parseCheckStamp(check[1]!) : undefined;
    if (check && checkTime) {
      folder.checks.push({ key: object.key, time: checkTime, kind: check[2]!, passed: check[3] === "pass" });
    }
  }
  const list = [...folders.values()];
  for (const folder of list) folder.checks.sort((a, b) => a.time.getTime() - b.time.getTime());
  return list.sort((a, b) => (a.backupId < b.backupId ? 1 : a.backupId > b.backupId ? -1 : 0));
}

/**
 * What is wrong with a committed folder against its manifest, from the listing alone: an artifact
 * missing, or stored with another size. Empty for an intact backup.
 */
export function folderProblems(folder: BackupFolder, manifest: Manifest): string[] {
  const problems: string[] = [];
  const prefix = backupPrefix(manifest.label, manifest.backupId);
  for (const artifact of manifest.artifacts) {
    const listed = folder.objects.find((object) => object.key === `${prefix}${artifact.name}`);
    if (!listed) problems.push(`${artifact.name} is missing`);
    else if (listed.size !== artifact.stored.bytes) {
      problems.push(`${artifact.name} is ${listed.size} bytes; the manifest says ${artifact.stored.bytes}`);
    }
  }
  return problems;
}
