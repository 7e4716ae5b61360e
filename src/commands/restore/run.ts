/**
 * restore (action restore-db): a chosen backup restored into a target database that already
 * exists, typically the one it was taken from. Refused unless `confirm` names the target database;
 * by default a safety backup of the target is taken first, into the same storage and encrypted to
 * the same keys, so that the restore itself can be undone. Everything that can be checked is
 * checked before anything is written: the backup, the key, the scope, the target, the confirmation.
 *
 * Two strategies (docs/restore.md). swap, the default wherever the role may rename the target:
 * the backup is restored into a new database beside it, its rows and catalog are checked there,
 * and only a restore that passes is renamed into the target's place; the target is never written
 * to, and its previous content stays under a stated name. in-place, where renaming is impossible
 * (a managed platform's `postgres` database) or only part of the backup is restored: pg_restore
 * writes into the target itself, after a check-first read of the whole dump (nothing unchecked
 * reaches the target), and the row and catalog checks always run and decide the outcome.
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import type { Identity } from "../../crypto/age/index.js";
import { classifyRestoreErrors } from "../../domain/benign-restore-errors.js";
import { displayName, referencedRoles, type CatalogFingerprint } from "../../domain/catalog-diff.js";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { emptyScope } from "../../domain/dump-plan.js";
import { describeError, InputError, OperationError } from "../../domain/errors.js";
import { dumpArtifact, rolesArtifact, type Manifest } from "../../domain/manifest.js";
import { checkRestoreScope } from "../../domain/restore-scope.js";
import { isReservedRole, type Preset } from "../../domain/supabase-preset.js";
import { tapStage } from "../../pipeline/stage.js";
import {
  catalogWarnings,
  compareRestoredCatalog,
  fingerprintScopeFor,
  usableCatalog,
  type CatalogResult,
} from "../../postgres/catalog-check.js";
import { connect } from "../../postgres/connect.js";
import {
  connectMaintenance,
  copyDatabaseProperties,
  createDatabaseBeside,
  describeSessions,
  newDatabaseName,
  oldDatabaseName,
  probeSwap,
  swapDatabases,
  sweepAbandoned,
  type SwapProbe,
} from "../../postgres/database-swap.js";
import { preflight } from "../../postgres/doctor.js";
import type { PgTool } from "../../postgres/pg-dump-finder.js";
import type { ToolCache } from "../../postgres/pg-install.js";
import { runPgRestore, type PgRestoreOutcome } from "../../postgres/pg-restore.js";
import { compareRowCounts } from "../../postgres/row-counts.js";
import { dropScratchDatabase, withDatabase } from "../../postgres/scratch.js";
import { formatBytes } from "../../report/format.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import { openArtifactRead, readArtifact } from "../../repository/read-artifact.js";
import type { DecryptionKeys, EncryptionSettings, RestoreSettings } from "../../settings/types.js";
import type { Store } from "../../storage/store.js";
import { runBackup, wholeDatabaseBackup } from "../backup/run.js";
import type { Logger } from "../logger.js";
import { startProgress } from "../progress.js";
import { releaseDecompressed } from "../../compress/index.js";
import { findPgRestoreFor, identitiesFor } from "../read-backup.js";
import { readRolesObject } from "../roles-object.js";

export type RestoreStrategy = "swap" | "in-place";

export interface RestoreResult {
  passed: boolean;
  backupId: string;
  label: string;
  targetDatabase: string;
  targetServer: string;
  strategy: RestoreStrategy;
  /** Why this strategy: chosen by the user, or what auto found. */
  strategyReason: string;
  /** swap: the new database the backup was restored into and checked in before the swap. */
  restoredInto: string;
  /** swap: the target's previous database, kept under this name; null when dropped or in place. */
  oldDatabase: string | null;
  safetyBackup: { label: string; backupId: string; storedBytes: number } | null;
  /** Wall time from the first byte read from the store to the end of pg_restore. */
  restoreSeconds: number;
  bytesRead: number;
  pgRestoreArgs: string[];
  /** Whole-database restores only: tables whose row count differs from the manifest's. */
  rowCheck: {
    tablesChecked: number;
    mismatches: { table: string; expected: number; actual: number | null }[];
  } | null;
  /** Whole-database restores only: the restored catalog against the manifest's fingerprint. */
  catalog: CatalogResult | null;
  /** pg_restore's errors that count. */
  restoreErrors: string[];
  /** pg_restore's errors known to leave the database as the archive describes it, with why. */
  benignErrors: { error: string; why: string }[];
  /** Things the user should know that are not failures (locale fallback, settings not copied). */
  warnings: string[];
  failures: string[];
  pgRestoreLog: string;
}

export interface RestoreDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  log: Logger;
  signal?: AbortSignal;
  /** How often a progress line is logged (default 5 s). */
  progressEveryMs?: number;
  /** Where an installed pg_restore/pg_dump is cached between runs (actions/cache); none on the CLI. */
  toolCache?: ToolCache;
}

const TARGET_INPUT = "target-database-url";

/** What the run found before writing anything, shared by both strategies. */
interface Prepared {
  repository: BackupRepository;
  manifest: Manifest;
  name: string;
  identities: Identity[];
  pgRestore: PgTool;
  target: DatabaseUrl;
  where: string;
  strategy: RestoreStrategy;
  strategyReason: string;
  args: string[];
  /** The manifest's fingerprint, when this code can compare with it. */
  source: CatalogFingerprint | undefined;
  catalogNotices: string[];
  whole: boolean;
}

export async function runRestore(settings: RestoreSettings, deps: RestoreDeps): Promise<RestoreResult> {
  const prepared = await prepare(settings, deps);
  const rolesObject = rolesArtifact(prepared.manifest);
  if (rolesObject) {
    // A restore goes into an existing database, whose cluster normally has the roles already.
    deps.log.info(
      `${rolesObject.name} (${rolesObject.count} roles) is not applied by restore; apply it first by hand if the target's server lacks them (docs/supabase.md)`,
    );
  }
  const safety: { made: RestoreResult["safetyBackup"] } = { made: null };
  // In a swap the target is not written to until the swap itself: its safety backup waits until
  // the restored database has passed its checks, so that a bad backup costs none.
  const takeSafety = async () => (safety.made = await takeSafetyBackup(settings, deps, prepared));
  let result: StrategyResult;
  if (prepared.strategy === "swap") {
    result = await restoreBySwap(settings, deps, prepared, takeSafety);
  } else {
    await takeSafety();
    result = await restoreInPlace(settings, deps, prepared);
  }
  const safetyBackup = safety.made;
  const full: RestoreResult = {
    ...result,
    passed: result.failures.length === 0,
    backupId: prepared.manifest.backupId,
    label: settings.label,
    targetDatabase: prepared.target.database,
    targetServer: `${prepared.target.host}:${prepared.target.port}`,
    strategy: prepared.strategy,
    strategyReason: prepared.strategyReason,
    safetyBackup,
    pgRestoreArgs: prepared.args,
  };
  const { log } = deps;
  const rowCheck = full.rowCheck;
  log.info(
    `${full.passed ? "Restored" : "Restore FAILED:"} ${prepared.name} into ${prepared.where} (${prepared.strategy}): ${formatBytes(full.bytesRead)} read in ${full.restoreSeconds}s` +
      (rowCheck
        ? `, ${rowCheck.tablesChecked} tables, ${rowCheck.mismatches.length} row-count differences`
        : "") +
      (full.catalog?.compared
        ? `, catalog ${full.catalog.failures} failure(s) ${full.catalog.warnings} warning(s)`
        : "") +
      (full.oldDatabase ? `; the previous database is kept as ${full.oldDatabase}` : "") +
      (safetyBackup ? `; undo with the safety backup ${settings.safetyLabel}/${safetyBackup.backupId}` : ""),
  );
  return full;
}

/**
 * Everything checked before anything is written: the backup, the key, the scope, the target and
 * its confirmation, and which strategy applies. Bad input throws InputError (exit 2).
 */
async function prepare(settings: RestoreSettings, deps: RestoreDeps): Promise<Prepared> {
  const { store, log } = deps;
  const repository = new BackupRepository(store, settings.evidence);
  // Reading is all the restore itself needs; a safety backup checks for writing on its own.
  await repository.check("read");
  const resolved = await repository.resolve(settings.label, settings.backup);
  const { manifest } = resolved;
  for (const skipped of resolved.skipped) {
    log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
  }
  const name = `${settings.label}/${manifest.backupId}`;
  if (resolved.problems.length > 0) {
    throw new OperationError(
      `backup ${name} is broken, so nothing was restored: ${resolved.problems.join("; ")}`,
    );
  }
  const identities = identitiesFor(manifest, settings.keys, name);
  // pg_restore matches --table and --schema silently: a name the backup lacks would restore nothing.
  checkRestoreScope(manifest, settings);
  const pgRestore = await findPgRestoreFor(manifest, settings, deps);

  const target = settings.targetUrl;
  const where = `${target.host}:${target.port}/${target.database}`;
  await preflight(target, TARGET_INPUT, { log });
  const usable = usableCatalog(manifest);
  const source = "catalog" in usable ? usable.catalog : undefined;
  const catalogNotices = "notice" in usable ? [usable.notice] : [];
  const whole = settings.schemas.length === 0 && settings.tables.length === 0;
  const client = await connect(target, TARGET_INPUT);
  let probe: SwapProbe;
  try {
    const current = (await client.query<{ name: string }>("SELECT current_database() AS name")).rows[0]!.name;
    if (current !== settings.confirm) {
      throw new InputError(
        `--confirm "${settings.confirm}": the target database is "${current}" (at ${target.host}:${target.port}); give its name to confirm that it is overwritten`,
        { input: "confirm" },
      );
    }
    probe = await probeSwap(client, { explicit: settings.strategy === "swap" });
    if (source) await warnMissingRoles(client, source, manifest.preset ?? "none", log);
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!probe.impossible && settings.strategy !== "in-place" && whole) {
    // The renames run from another database of the server: one must accept the role.
    try {
      await (await connectMaintenance(target, TARGET_INPUT)).end();
    } catch (error) {
      probe = { ...probe, impossible: describeError(error) };
    }
  }
  const { strategy, reason } = chooseStrategy(settings, probe, whole);
  log.info(`Strategy: ${strategy} (${reason})`);
  if (strategy === "swap") {
    const others = describeSessions(probe.otherSessions);
    if (others && !settings.terminateConnections) {
      throw new InputError(
        `--terminate-connections: ${others} are connected to ${target.database}; the swap renames it, which PostgreSQL allows only when no one is connected: stop them, pass --terminate-connections (they are ended at the swap), or --strategy in-place`,
        { input: "terminate-connections" },
      );
    }
    if (settings.clean) log.info("--clean has nothing to do in a swap: the backup goes into a new database");
  } else if (settings.dropOld) {
    log.warn("--drop-old has nothing to do in place: no old database is kept");
  }
  const args = pgRestoreArgs(settings, strategy);
  if (strategy === "in-place" && settings.clean) {
    await refuseBlockedClean(target, manifest, source, settings);
  }
  for (const notice of catalogNotices) log.info(notice);

  if (strategy === "in-place") {
    // Nothing unchecked reaches the target: the whole dump is read and checked first.
    await checkBeforeRestore(repository, manifest, identities, log);
  } else {
    // The new database is where an unchecked byte can land; it is dropped if the read fails.
    await checkKeyAndRoles(repository, manifest, identities, log);
  }
  // A signal during the checks (a long check-first read) stops here, before anything is written.
  deps.signal?.throwIfAborted();
  return {
    repository,
    manifest,
    name,
    identities,
    pgRestore,
    target,
    where,
    strategy,
    strategyReason: reason,
    args,
    source,
    catalogNotices,
    whole,
  };
}

/** The strategy the settings and the target allow; an explicit one that cannot run is exit 2. */
export function chooseStrategy(
  settings: Pick<RestoreSettings, "strategy">,
  probe: Pick<SwapProbe, "impossible">,
  whole: boolean,
): { strategy: RestoreStrategy; reason: string } {
  if (settings.strategy === "in-place") return { strategy: "in-place", reason: "--strategy in-place" };
  if (settings.strategy === "swap") {
    if (probe.impossible) {
      throw new InputError(`--strategy swap: impossible here: ${probe.impossible}`, { input: "strategy" });
    }
    return { strategy: "swap", reason: "--strategy swap" };
  }
  if (!whole) {
    return { strategy: "in-place", reason: "auto: only part of the backup is restored (--schema/--table)" };
  }
  if (probe.impossible) return { strategy: "in-place", reason: `auto: no swap, ${probe.impossible}` };
  return { strategy: "swap", reason: "auto: the role may create databases beside the target and rename it" };
}

/**
 * The archive's ownership and grants name roles that must exist on the target's server: one
 * missing grantee makes pg_restore lose every grant of that object. restore does not create roles
 * on a real server; it says which are missing, and the catalog check then fails on what they cost.
 */
async function warnMissingRoles(
  client: pg.Client,
  source: CatalogFingerprint,
  preset: Preset,
  log: Logger,
): Promise<void> {
  const wanted = referencedRoles(source);
  const { rows } = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])",
    [wanted],
  );
  const present = new Set(rows.map((row) => row.rolname));
  const missing = wanted.filter((role) => !present.has(role));
  // The platform's roles are left out of the roles object on purpose: applying it does not help.
  const platform = missing.filter((role) => isReservedRole(role, preset));
  const others = missing.filter((role) => !isReservedRole(role, preset));
  if (others.length > 0) {
    log.warn(
      `roles the backup's objects name are missing on the target's server: ${others.join(", ")}; their ownership and grants will not restore (create them first, or apply the backup's roles object: docs/supabase.md)`,
    );
  }
  if (platform.length > 0) {
    log.warn(
      `roles of the Supabase platform's that the backup's objects name are missing on the target's server, and the roles object leaves them out: ${platform.join(", ")}; create them first (${platform.map((role) => `CREATE ROLE ${displayName(role)} NOLOGIN;`).join(" ")}), or every object naming one loses its owner and all its grants, those to anon and authenticated too (docs/supabase.md)`,
    );
  }
}

/**
 * An in-place --clean drops each object of the archive before recreating it; an object in the
 * target that is not in the archive and depends on one of its tables (a view added since the
 * backup, a foreign key from a newer table) makes the drop fail, and the table's rows would then be
 * loaded beside the old ones. Found before anything is written.
 */
async function refuseBlockedClean(
  target: DatabaseUrl,
  manifest: Manifest,
  source: CatalogFingerprint | undefined,
  scope: Pick<RestoreSettings, "schemas" | "tables">,
): Promise<void> {
  // Only the tables this restore drops: all of the archive's, or those --schema/--table select.
  const restored = (schema: string, table: string) =>
    (scope.schemas.length === 0 || scope.schemas.includes(schema)) &&
    (scope.tables.length === 0 || scope.tables.includes(table));
  const archived = new Set(
    manifest.tables.filter((t) => restored(t.schema, t.table)).map((t) => `${t.schema}.${t.table}`),
  );
  const archivedViews = new Set<string>();
  if (source) {
    for (const group of [source.tables, source.partitionedTables, source.foreignTables]) {
      for (const [schema, names] of Object.entries(group)) {
        for (const n of names) if (restored(schema, n)) archived.add(`${schema}.${n}`);
      }
    }
    for (const group of [source.views, source.materializedViews]) {
      for (const [schema, names] of Object.entries(group)) {
        for (const n of names) archivedViews.add(`${schema}.${n}`);
      }
    }
  }
  const client = await connect(target, TARGET_INPUT);
  let rows: { dependent: string; kind: string; on: string }[];
  try {
    ({ rows } = await client.query<{ dependent: string; kind: string; on: string }>(
      `SELECT DISTINCT dn.nspname || '.' || dc.relname AS dependent,
              CASE dc.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
              rn.nspname || '.' || rc.relname AS on
         FROM pg_catalog.pg_depend d
         JOIN pg_catalog.pg_rewrite w ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND w.oid = d.objid
         JOIN pg_catalog.pg_class dc ON dc.oid = w.ev_class
         JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
         JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::regclass AND rc.oid = d.refobjid
         JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE dc.oid <> rc.oid AND dc.relkind IN ('v', 'm')
       UNION
       SELECT cn.nspname || '.' || cc.relname, 'foreign key of table', rn.nspname || '.' || rc.relname
         FROM pg_catalog.pg_constraint con
         JOIN pg_catalog.pg_class cc ON cc.oid = con.conrelid
         JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
         JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
         JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE con.contype = 'f' AND con.conparentid = 0`,
    ));
  } finally {
    await client.end().catch(() => undefined);
  }
  const blocking = rows.filter((row) => {
    if (!archived.has(row.on)) return false;
    // Without a fingerprint a view's presence in the archive is unknown: it is given the benefit.
    if (row.kind === "foreign key of table") return !archived.has(row.dependent);
    return source !== undefined && !archivedViews.has(row.dependent);
  });
  if (blocking.length === 0) return;
  const first = blocking[0]!;
  const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : "";
  throw new InputError(
    `--clean: ${first.kind} ${first.dependent} is not in the backup and depends on table ${first.on}${more}, so pg_restore --clean cannot drop ${first.on} and would load its rows beside the old ones; drop it first, or restore with --strategy swap`,
    { input: "clean" },
  );
}

async function takeSafetyBackup(
  settings: RestoreSettings,
  deps: RestoreDeps,
  prepared: Prepared,
): Promise<RestoreResult["safetyBackup"]> {
  const { log, store } = deps;
  if (!settings.safetyBackup) {
    log.warn(
      prepared.strategy === "swap"
        ? "no safety backup of the target (safety-backup false): the swap keeps the previous database unless --drop-old"
        : "no safety backup of the target (safety-backup false): this restore cannot be undone by Lifeboat",
    );
    return null;
  }
  log.info(
    `Safety backup of the target ${prepared.where} under ${store.url}/${settings.safetyLabel}/ before anything is overwritten`,
  );
  const backupSettings = wholeDatabaseBackup({
    into: { ...settings, label: settings.safetyLabel },
    databaseUrl: prepared.target,
    encryption: safetyEncryption(prepared.manifest, settings.keys),
    client: settings,
  });
  let made;
  try {
    made = await runBackup(backupSettings, {
      store,
      env: deps.env,
      now: deps.now,
      log,
      signal: deps.signal,
      toolCache: deps.toolCache,
    });
  } catch (error) {
    if (error instanceof InputError || deps.signal?.aborted) throw error;
    throw new OperationError(
      `the safety backup of the target failed, so nothing was restored: ${describeError(error)}`,
      { cause: error },
    );
  }
  log.info(
    `Safety backup ${settings.safetyLabel}/${made.backupId} committed; restore it to undo this restore`,
  );
  return { label: made.label, backupId: made.backupId, storedBytes: made.storedBytes };
}

type StrategyResult = Pick<
  RestoreResult,
  | "restoredInto"
  | "oldDatabase"
  | "restoreSeconds"
  | "bytesRead"
  | "rowCheck"
  | "catalog"
  | "restoreErrors"
  | "benignErrors"
  | "warnings"
  | "failures"
  | "pgRestoreLog"
>;

/**
 * swap: a new database beside the target, restored and checked; only if every check passes does
 * it take the target's name. The target is not written to; on any failure or interruption the new
 * database is dropped and the target is as it was.
 */
async function restoreBySwap(
  settings: RestoreSettings,
  deps: RestoreDeps,
  prepared: Prepared,
  beforeSwap: () => Promise<unknown>,
): Promise<StrategyResult> {
  const { log } = deps;
  const { target } = prepared;
  const admin = await connectMaintenance(target, TARGET_INPUT);
  const fresh = newDatabaseName(target.database, deps.now());
  const warnings: string[] = [];
  let swapped = false;
  let rethrow: unknown;
  let outcome: Restored | undefined;
  let oldDatabase: string | null = null;
  const failures: string[] = [];
  try {
    for (const name of await sweepAbandoned(admin, target.database, deps.now())) {
      log.info(`Dropped ${name}, the new database of an earlier restore that was killed before it finished`);
    }
    const notice = await createDatabaseBeside(admin, {
      name: fresh,
      target: target.database,
      like: prepared.source?.database,
    });
    if (notice) {
      warnings.push(notice);
      log.warn(notice);
    }
    log.info(
      `Restoring ${prepared.repository.url}/${prepared.name} into the new database ${fresh} beside ${prepared.where}; it takes the target's place only if its checks pass`,
    );
    outcome = await restoreInto(withDatabase(target, fresh), deps, prepared);
    failures.push(...outcome.failures);
    failures.push(...(await checkRestored(withDatabase(target, fresh), prepared, outcome, true, log)));
    if (failures.length === 0) {
      deps.signal?.throwIfAborted();
      try {
        await beforeSwap();
      } catch (error) {
        rethrow = error;
        throw error;
      }
      for (const problem of await copyDatabaseProperties(admin, target.database, fresh)) {
        warnings.push(problem);
        log.warn(problem);
      }
      const old = oldDatabaseName(target.database, deps.now());
      await swapDatabases(admin, {
        target: target.database,
        replacement: fresh,
        old,
        terminate: settings.terminateConnections,
        signal: deps.signal,
      });
      swapped = true;
      oldDatabase = old;
      log.info(
        `Swapped: ${target.database} now holds the restored backup; its previous content is database ${old}`,
      );
      if (settings.dropOld) {
        try {
          await dropScratchDatabase(admin, old);
          oldDatabase = null;
          log.info(`Dropped the previous database ${old} (--drop-old)`);
        } catch (error) {
          const line = `dropping the previous database ${old} failed, it is kept: ${describeError(error)}`;
          warnings.push(line);
          log.warn(line);
        }
      }
    }
  } catch (error) {
    if (!deps.signal?.aborted && rethrow === undefined) failures.push(describeError(error));
  } finally {
    if (!swapped) {
      await dropScratchDatabase(admin, fresh).then(
        () => log.info(`The target ${target.database} is untouched; the new database ${fresh} was dropped`),
        (error: unknown) =>
          log.warn(`dropping the new database ${fresh} failed: ${describeError(error)}; drop it by hand`),
      );
    }
    await admin.end().catch(() => undefined);
  }
  if (deps.signal?.aborted && !swapped) throw deps.signal.reason;
  // The safety backup's own failure ends the run as it would before an in-place restore.
  if (rethrow !== undefined) throw rethrow;
  return {
    restoredInto: fresh,
    oldDatabase,
    restoreSeconds: outcome?.restoreSeconds ?? 0,
    bytesRead: outcome?.bytesRead ?? 0,
    rowCheck: outcome?.rowCheck ?? null,
    catalog: outcome?.catalog ?? null,
    restoreErrors: outcome?.restoreErrors ?? [],
    benignErrors: outcome?.benignErrors ?? [],
    warnings: [...warnings, ...(outcome ? outcomeWarnings(outcome) : [])],
    failures,
    pgRestoreLog: outcome?.log ?? "",
  };
}

/** in-place: pg_restore into the target itself; the checks always run and decide the outcome. */
async function restoreInPlace(
  settings: RestoreSettings,
  deps: RestoreDeps,
  prepared: Prepared,
): Promise<StrategyResult> {
  const { log } = deps;
  log.info(
    `Restoring ${prepared.repository.url}/${prepared.name} into ${prepared.where}${prepared.args.length ? ` with ${prepared.args.join(" ")}` : ""}`,
  );
  let outcome: Restored;
  try {
    outcome = await restoreInto(prepared.target, deps, prepared);
  } catch (error) {
    if (deps.signal?.aborted) {
      log.warn(
        `interrupted while pg_restore wrote into ${prepared.target.database}: it is partly restored${settings.safetyBackup ? "; restore the safety backup to put it back" : ""}`,
      );
    }
    throw error;
  }
  const failures = [
    ...outcome.failures,
    ...(await checkRestored(prepared.target, prepared, outcome, settings.clean, log)),
  ];
  return {
    restoredInto: prepared.target.database,
    oldDatabase: null,
    restoreSeconds: outcome.restoreSeconds,
    bytesRead: outcome.bytesRead,
    rowCheck: outcome.rowCheck,
    catalog: outcome.catalog,
    restoreErrors: outcome.restoreErrors,
    benignErrors: outcome.benignErrors,
    warnings: outcomeWarnings(outcome),
    failures,
    pgRestoreLog: outcome.log,
  };
}

interface Restored {
  restoreSeconds: number;
  bytesRead: number;
  restoreErrors: string[];
  benignErrors: { error: string; why: string }[];
  failures: string[];
  log: string;
  rowCheck: RestoreResult["rowCheck"];
  catalog: CatalogResult | null;
}

/** Streams the dump into pg_restore, checked on the way; pg_restore's errors classified. */
async function restoreInto(database: DatabaseUrl, deps: RestoreDeps, prepared: Prepared): Promise<Restored> {
  const { log } = deps;
  const dump = dumpArtifact(prepared.manifest);
  const failures: string[] = [];
  const started = performance.now();
  const progress = { bytes: 0 };
  const lines = startProgress({
    what: "restore",
    log,
    everyMs: deps.progressEveryMs,
    startedMs: started,
    sample: () => ({
      read: progress.bytes,
      readTotal: dump.stored.bytes,
      tables: { total: prepared.manifest.tables.length },
    }),
  });
  let outcome: PgRestoreOutcome | undefined;
  let opened: Awaited<ReturnType<typeof openArtifactRead>> | undefined;
  try {
    opened = await openArtifactRead(prepared.repository, prepared.manifest, dump, prepared.identities, {
      storedTaps: [
        tapStage("progress", {
          update: (chunk) => (progress.bytes += chunk.length),
          finish: () => progress.bytes,
        }),
      ],
    });
    outcome = await runPgRestore({
      pgRestore: prepared.pgRestore,
      target: database,
      args: prepared.args,
      input: opened.streams,
      jobs: 1,
      env: deps.env,
      signal: deps.signal,
      afterWrite: releaseDecompressed,
    });
  } catch (error) {
    if (deps.signal?.aborted) throw deps.signal.reason;
    failures.push(describeError(error));
  } finally {
    lines.stop();
  }
  // A read that does not match the manifest is the cause of whatever pg_restore made of it.
  const damage = outcome ? opened?.check()[0] : undefined;
  if (damage) failures.unshift(damage);
  const restoreSeconds = Math.round((performance.now() - started) / 10) / 100;
  const { real, benign } = classifyRestoreErrors(outcome?.errors ?? [], prepared.manifest.preset ?? "none");
  for (const entry of benign) log.info(`pg_restore error known to be benign (${entry.why}): ${entry.error}`);
  if (real.length > 0) {
    failures.push(`pg_restore reported ${real.length} error(s): ${real[0]}`);
  } else if (outcome && outcome.exitCode !== 0 && outcome.errors.length === 0) {
    failures.push(
      `pg_restore exited with status ${outcome.exitCode}: ${outcome.log.trim().split("\n").at(-1) ?? ""}`,
    );
  }
  return {
    restoreSeconds,
    bytesRead: progress.bytes,
    restoreErrors: real,
    benignErrors: benign,
    failures,
    log: outcome?.log ?? "",
    rowCheck: null,
    catalog: null,
  };
}

/**
 * The row counts and the catalog of a whole-database restore against the manifest, whatever
 * pg_restore reported: they say what the database holds. `exact`: a difference in rows is a
 * failure (a new database, or --clean); otherwise rows already in the target legitimately stay.
 * Fills `outcome.rowCheck` and `outcome.catalog`; returns the failures.
 */
async function checkRestored(
  database: DatabaseUrl,
  prepared: Prepared,
  outcome: Restored,
  exact: boolean,
  log: Logger,
): Promise<string[]> {
  if (!prepared.whole) return [];
  const failures: string[] = [];
  const { manifest } = prepared;
  let client: pg.Client;
  try {
    client = await connect(database, TARGET_INPUT);
  } catch (error) {
    return [`the restored database could not be checked: ${describeError(error)}`];
  }
  try {
    const mismatches = await compareRowCounts(client, manifest.tables);
    outcome.rowCheck = { tablesChecked: manifest.tables.length, mismatches };
    for (const mismatch of mismatches.slice(0, 5)) {
      const line = `${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after the restore, the manifest counted ${mismatch.expected}`;
      if (exact) failures.push(line);
      else log.warn(`${line} (without clean, rows already in the target stay)`);
    }
    if (exact && mismatches.length > 5) failures.push(`... and ${mismatches.length - 5} more tables differ`);
    const catalog: CatalogResult = {
      compared: false,
      notices: [...prepared.catalogNotices],
      rolesCreated: [],
      missingRoles: [],
      failures: 0,
      warnings: 0,
      differences: [],
    };
    outcome.catalog = catalog;
    if (prepared.source) {
      try {
        const compared = await compareRestoredCatalog(client, prepared.source, {
          scope: fingerprintScopeFor(manifest.dump?.scope ?? emptyScope(), manifest.preset ?? "none"),
          pgRestoreArgs: prepared.args,
          missingRoles: [],
        });
        Object.assign(catalog, { compared: true, ...compared });
        for (const difference of compared.differences.filter((d) => d.severity === "failure")) {
          failures.push(`catalog: ${difference.object}: ${difference.problem}`);
        }
        log.info(
          `Catalog compared with the manifest's fingerprint: ${compared.failures} failure(s), ${compared.warnings} warning(s)`,
        );
      } catch (error) {
        failures.push(`comparing the restored catalog with the manifest's failed: ${describeError(error)}`);
      }
    }
  } catch (error) {
    failures.push(`the restored database could not be checked: ${describeError(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return failures;
}

function outcomeWarnings(outcome: Restored): string[] {
  return [
    ...outcome.benignErrors.map((entry) => `benign pg_restore error (${entry.why}): ${entry.error}`),
    ...(outcome.catalog ? catalogWarnings(outcome.catalog) : []),
  ];
}

/**
 * Reads the whole dump (decrypted) and the roles object's stored bytes, and compares them with the
 * manifest, before anything is written anywhere. A wrong passphrase (which no public key reveals)
 * is bad input; any difference is a failed backup, and nothing is restored.
 */
async function checkBeforeRestore(
  repository: BackupRepository,
  manifest: Manifest,
  identities: Identity[],
  log: Logger,
): Promise<void> {
  log.info(
    `Checking ${repository.url}/${manifest.label}/${manifest.backupId} against its manifest before restoring it`,
  );
  const read = await readArtifact(repository, manifest, dumpArtifact(manifest), identities);
  refuseDamage(manifest, [
    ...read.problems,
    ...(await readRolesObject(repository, manifest, identities)).problems,
  ]);
}

/**
 * The swap's cheaper check before the safety backup: the key opens the dump (its first bytes
 * decrypt) and the roles object matches the manifest. The dump itself is checked whole as it is
 * restored into the new database, which a mismatch drops.
 */
async function checkKeyAndRoles(
  repository: BackupRepository,
  manifest: Manifest,
  identities: Identity[],
  log: Logger,
): Promise<void> {
  log.info(`Checking that the key opens ${repository.url}/${manifest.label}/${manifest.backupId}`);
  const problems: string[] = [];
  const enough = new Error("first bytes decrypted");
  try {
    const opened = await openArtifactRead(repository, manifest, dumpArtifact(manifest), identities);
    await pipeline([
      ...opened.streams,
      new Writable({
        write(_chunk, _encoding, callback) {
          callback(enough);
        },
      }),
    ]);
  } catch (error) {
    if (error !== enough)
      problems.push(`reading ${dumpArtifact(manifest).name} failed: ${describeError(error)}`);
  }
  problems.push(...(await readRolesObject(repository, manifest, identities)).problems);
  refuseDamage(manifest, problems);
}

function refuseDamage(manifest: Manifest, problems: string[]): void {
  if (problems.length === 0) return;
  const name = `${manifest.label}/${manifest.backupId}`;
  if (
    manifest.encryption.format !== "none" &&
    manifest.encryption.passphrase &&
    /passphrase is incorrect|no identity matches/.test(problems[0]!)
  ) {
    throw new InputError(`--passphrase-file: the passphrase does not decrypt backup ${name}`, {
      input: "passphrase-file",
    });
  }
  throw new OperationError(
    `backup ${name} does not match its manifest, so nothing was restored: ${problems.join("; ")}`,
  );
}

/** The safety backup is readable with the same key as the backup being restored. */
function safetyEncryption(manifest: Manifest, keys: DecryptionKeys): EncryptionSettings {
  const { encryption } = manifest;
  if (encryption.format === "none") return { kind: "none" };
  if (encryption.passphrase) return { kind: "passphrase", passphrase: keys.passphrase! };
  return { kind: "recipients", recipients: encryption.recipients };
}

/**
 * pg_restore's arguments. In place with --clean, a table whose creation failed gets no data
 * (--no-data-for-failed-tables): its rows would otherwise be loaded beside the ones it kept.
 */
export function pgRestoreArgs(
  settings: Pick<
    RestoreSettings,
    "schemas" | "tables" | "clean" | "noOwner" | "noPrivileges" | "pgRestoreArgs"
  >,
  strategy: RestoreStrategy = "in-place",
): string[] {
  const clean = strategy === "in-place" && settings.clean;
  const args = [
    ...(clean ? ["--clean", "--if-exists", "--no-data-for-failed-tables"] : []),
    ...(settings.noOwner ? ["--no-owner"] : []),
    ...(settings.noPrivileges ? ["--no-privileges"] : []),
    ...settings.pgRestoreArgs,
    ...settings.schemas.map((schema) => `--schema=${schema}`),
    ...settings.tables.map((table) => `--table=${table}`),
  ];
  return [...new Set(args)];
}

export function restoreFailureMessage(result: RestoreResult): string | undefined {
  if (result.passed) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  const where =
    result.strategy === "swap"
      ? `; the target ${result.targetDatabase} is untouched`
      : result.safetyBackup
        ? `; the target's previous content is in the safety backup ${result.safetyBackup.label}/${result.safetyBackup.backupId}`
        : "";
  return `restore of ${result.label}/${result.backupId} failed: ${result.failures[0]}${more}${where}`;
}
