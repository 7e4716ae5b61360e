/**
 * What restore-test leaves behind while it runs, and how a later run finds what a killed one left:
 * the scratch database and the working directory that holds the decrypted archive.
 *
 * Both are recognisable by name. A scratch database is `lifeboat_rt_<created>_<backup>_<random>`,
 * where `<created>` is the scratch server's own clock at creation (`20261129t040500`, UTC): every
 * runner that tests against one server reads the same clock, so no runner's skew can make a live
 * database look old. A working directory is `lifeboat-restore-<pid>-XXXXXX` in the temp dir.
 *
 * A run killed outright (SIGKILL, a lost machine) cleans up nothing; the next restore-test sweeps
 * what is older than SWEEP_SAFE_AGE_MS (24 hours, far longer than a restore-test runs, and longer
 * than a GitHub-hosted job may last), and only when it is certainly not in use: a database with no
 * session on it and not kept on purpose (keep-on-failure marks it with a comment), a directory
 * whose newest file is that old and whose process is gone. Databases named the way Lifeboat named
 * them before (`lifeboat_rt_<backup>_<random>`, no creation time) are never swept: their age is
 * unknown.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { describeError } from "../../domain/errors.js";
import { dropScratchDatabase } from "../../postgres/scratch.js";
import { quoteIdent } from "../../postgres/snapshot.js";
import type { Logger } from "../logger.js";
import { onForcedExit } from "../signals.js";

/** How old a leftover must be before a later run removes it. */
export const SWEEP_SAFE_AGE_MS = 24 * 3_600_000;

const SCRATCH_NAME = /^lifeboat_rt_(\d{8})t(\d{6})_[0-9a-z]{8}t[0-9a-z]{6}_[0-9a-f]{6}$/;
const KEPT_COMMENT = "lifeboat: kept for inspection (keep-on-failure)";
const WORK_DIR_PREFIX = "lifeboat-restore-";
const WORK_DIR = /^lifeboat-restore-(\d+)-[A-Za-z0-9]{6}$/;

/** The scratch server's clock. */
export async function serverNow(client: pg.Client): Promise<Date> {
  const { rows } = await client.query<{ now: Date }>("SELECT now() AS now");
  return new Date(rows[0]!.now);
}

/** A scratch database name that says when it was created (on the server's clock) and for which backup. */
export function scratchDatabaseName(backupId: string, created: Date): string {
  const stamp = created
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "")
    .toLowerCase();
  return `lifeboat_rt_${stamp}_${backupId.slice(0, 15).toLowerCase()}_${randomBytes(3).toString("hex")}`;
}

/** When a scratch database of this naming was created; undefined for any other name. */
export function scratchCreatedAt(name: string): Date | undefined {
  const match = SCRATCH_NAME.exec(name);
  if (!match) return undefined;
  const [date, time] = [match[1]!, match[2]!];
  const parsed = Date.parse(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}Z`,
  );
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

/** Marks a database kept on purpose, so that no later sweep drops it. */
export async function markKept(client: pg.Client, name: string): Promise<void> {
  await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${KEPT_COMMENT}'`);
}

/**
 * Drops the scratch databases killed runs left on this server: named by this module, created more
 * than SWEEP_SAFE_AGE_MS ago on the server's clock, with no session, not kept. Best effort: a
 * database the role may not drop is reported and left. Returns the names dropped.
 */
export async function sweepScratchDatabases(client: pg.Client, log: Logger): Promise<string[]> {
  let rows: { datname: string; sessions: number; comment: string | null }[];
  let now: Date;
  try {
    now = await serverNow(client);
    ({ rows } = await client.query<{ datname: string; sessions: number; comment: string | null }>(
      `SELECT d.datname,
              (SELECT count(*)::int FROM pg_stat_activity a
                WHERE a.datid = d.oid AND a.backend_type <> 'autovacuum worker') AS sessions,
              shobj_description(d.oid, 'pg_database') AS comment
         FROM pg_database d
        WHERE d.datname LIKE 'lifeboat\\_rt\\_%'`,
    ));
  } catch (error) {
    log.warn(`looking for scratch databases left by killed runs failed: ${describeError(error)}`);
    return [];
  }
  const dropped: string[] = [];
  for (const row of rows) {
    const created = scratchCreatedAt(row.datname);
    if (!created || now.getTime() - created.getTime() < SWEEP_SAFE_AGE_MS) continue;
    if (row.sessions > 0 || row.comment === KEPT_COMMENT) continue;
    try {
      await dropScratchDatabase(client, row.datname);
      dropped.push(row.datname);
    } catch (error) {
      log.warn(
        `the scratch database ${row.datname} left by a killed run could not be dropped: ${describeError(error)}`,
      );
    }
  }
  if (dropped.length > 0) {
    log.info(`Dropped scratch databases left by killed runs: ${dropped.join(", ")}`);
  }
  return dropped;
}

/**
 * The working directory for the decrypted archive (0700, as mkdtemp makes it). Until `remove` is
 * called, a second signal that exits the process at once still removes it.
 */
export async function createWorkDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-`));
  const unregister = onForcedExit(() => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    async remove() {
      await rm(path, { recursive: true, force: true });
      unregister();
    },
  };
}

/**
 * Removes the working directories of killed runs: named by createWorkDir, of a process that is
 * gone, nothing in them written for SWEEP_SAFE_AGE_MS. Returns the paths removed.
 */
export async function sweepWorkDirs(now: Date, log: Logger, dir = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = WORK_DIR.exec(name);
    if (!match || processAlive(Number(match[1]))) continue;
    const path = join(dir, name);
    try {
      if (now.getTime() - (await newestChange(path)) < SWEEP_SAFE_AGE_MS) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch (error) {
      log.warn(`the directory ${path} left by a killed run could not be removed: ${describeError(error)}`);
    }
  }
  if (removed.length > 0) log.info(`Removed decrypted files left by killed runs: ${removed.join(", ")}`);
  return removed;
}

/** The latest modification time of a directory and what is directly in it. */
async function newestChange(path: string): Promise<number> {
  let newest = (await stat(path)).mtimeMs;
  for (const entry of await readdir(path)) {
    const info = await stat(join(path, entry)).catch(() => undefined);
    if (info) newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: string }).code === "EPERM";
  }
}
