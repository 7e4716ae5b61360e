/**
 * restore-test: the proof that a backup restores. Into a fresh scratch database on a server the
 * user names: decrypt (to a local file when it fits, for a parallel pg_restore; streamed otherwise),
 * restore, compare every table's row count with the manifest's exact counts, run the user's SQL
 * assertions and command (a migration tool) against the restored copy, measure, drop the scratch
 * database, and write a check record.
 */
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { describeError, InputError, OperationError } from "../../domain/errors.js";
import { dumpArtifact, rolesArtifact, type Manifest, type TableCount } from "../../domain/manifest.js";
import {
  classifyRestoreErrors,
  readRestoreErrors,
  restoreErrorFailures,
  toleratedErrorLines,
} from "../../domain/restore-errors.js";
import type { CatalogFingerprint } from "../../domain/catalog-diff.js";
import {
  catalogWarnings,
  compareRestoredCatalog,
  createReferencedRoles,
  fingerprintScopeFor,
  usableCatalog,
  type CatalogResult,
} from "../../postgres/catalog-check.js";
import { connect } from "../../postgres/connect.js";
import { preflight } from "../../postgres/doctor.js";
import type { PgTool } from "../../postgres/pg-dump-finder.js";
import type { ToolCache } from "../../postgres/pg-install.js";
import { runPgRestore } from "../../postgres/pg-restore.js";
import { createScratchDatabase, dropScratchDatabase, withDatabase } from "../../postgres/scratch.js";
import type { RestoreTestSettings } from "../../settings/types.js";
import type { Store } from "../../storage/store.js";
import type { AppliedRoles } from "../../postgres/roles.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import type { CheckedArtifact } from "../../repository/check-record.js";
import { openArtifactRead, readDigests } from "../../repository/read-artifact.js";
import type { Logger } from "../logger.js";
import { countingStage, startProgress } from "../progress.js";
import { releaseDecompressed } from "../../compress/index.js";
import { checkFilesArtifacts } from "../files-check.js";
import { emptyScope } from "../../domain/dump-plan.js";
import { applyRolesObject } from "../roles-object.js";
import { makeMaskedCopy, prepareMaskedCopy, type MaskedCopyResult } from "./masked-copy.js";
import { findPgRestoreFor, identitiesFor } from "../read-backup.js";
import { checkTables, runRicherChecks, type DigestResult, type RicherChecks } from "./checks.js";
import { checkKeysOpen } from "../key-check.js";
import { redactingRecords } from "../../repository/redacted-records.js";
import { createFileSink } from "../../streams/file-sink.js";
import { databaseUrlSecrets } from "../../domain/redact.js";
import {
  createWorkDir,
  markKept,
  scratchDatabaseName,
  serverNow,
  sweepScratchDatabases,
  sweepWorkDirs,
} from "./scratch.js";
import { runUserCommand } from "./user-command.js";
import { PhaseClock, type PhaseTiming } from "./phases.js";

export interface AssertionResult {
  sql: string;
  passed: boolean;
  detail: string;
}

export interface RestoreTestResult {
  passed: boolean;
  backupId: string;
  scratchDatabase: string;
  kept: boolean;
  /** Wall time from the first byte read from the store to the end of pg_restore. */
  restoreSeconds: number;
  mode: "file" | "stream";
  tablesChecked: number;
  mismatches: { table: string; expected: number; actual: number | null }[];
  restoreErrors: string[];
  toleratedErrors: string[];
  assertions: AssertionResult[];
  run: { command: string; exitCode: number | null; output: string } | null;
  failures: string[];
  pgRestoreLog: string;
  /** The backup's roles object applied before the restore: roles created, roles already there. */
  roles: AppliedRoles | null;
  /** The backup's files sources read through, every file checked against its index; null when none. */
  files?: { sources: number; files: number; bytes: number } | null;
  catalog: CatalogResult;
  /** restore-test --mask: the masked copy made after the checks passed (null without --mask or when a check failed). */
  masked?: MaskedCopyResult | null;
  /** Drift, recovery-time budget, sequences and content digests (checks.ts); null when nothing was restored. */
  checks?: RicherChecks | null;
  /** Wall and CPU seconds of each phase, in order (for benchmarks and slow-run reports). */
  phases?: PhaseTiming[];
  checkKey: string;
}

export type { CatalogResult } from "../../postgres/catalog-check.js";

/** The listing shows the backup broken: every problem becomes a failure, nothing is restored. */
class BrokenBackup extends OperationError {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
  }
}

export async function runRestoreTest(
  settings: RestoreTestSettings,
  deps: {
    store: Store;
    env: NodeJS.ProcessEnv;
    now: () => Date;
    log: Logger;
    toolCache?: ToolCache;
    cwd?: string;
    /** The first SIGINT/SIGTERM: children stop, the scratch database is dropped, no record is written. */
    signal?: AbortSignal;
    /** How often a progress line is logged (default 5 s). */
    progressEveryMs?: number;
  },
): Promise<RestoreTestResult> {
  const { log } = deps;
  const clock = new PhaseClock();
  const repository = new BackupRepository(deps.store, settings.evidence);
  await repository.check("write");
  const resolved = await repository.resolve(settings.label, settings.backup);
  const { manifest } = resolved;
  for (const skipped of resolved.skipped) {
    log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
  }
  const name = `${settings.label}/${manifest.backupId}`;
  const identities = identitiesFor(manifest, settings.keys, name);
  const pgRestore = await findPgRestoreFor(manifest, settings, deps);
  // A wrong key is bad input, found from the age header before anything is restored or recorded.
  await checkKeysOpen(repository, manifest, identities, settings.keys);
  // The staging keys and the masked copy's store are checked before anything is restored.
  const maskedStore = settings.masking
    ? await prepareMaskedCopy(settings.masking, settings, manifest, identities, deps)
    : undefined;
  let masked: MaskedCopyResult | null = null;

  await preflight(settings.scratchUrl, "scratch-database-url", { log });
  const admin = await connect(settings.scratchUrl, "scratch-database-url");
  // What killed runs left on this server and machine; then a name that says when it was made.
  await sweepScratchDatabases(admin, log);
  await sweepWorkDirs(deps.now(), log);
  const database = scratchDatabaseName(manifest.backupId, await serverNow(admin).catch(() => deps.now()));
  const failures: string[] = [];
  const checked: CheckedArtifact[] = [];
  let result:
    | Omit<RestoreTestResult, "checkKey" | "passed" | "kept" | "failures" | "roles" | "catalog" | "files">
    | undefined;
  let roles: AppliedRoles | null = null;
  let files: RestoreTestResult["files"] = null;
  const usable = usableCatalog(manifest);
  const source = "catalog" in usable ? usable.catalog : undefined;
  const catalog: CatalogResult = {
    compared: false,
    notices: "notice" in usable ? [usable.notice] : [],
    rolesCreated: [],
    missingRoles: [],
    failures: 0,
    warnings: 0,
    differences: [],
  };
  for (const notice of catalog.notices) log.info(notice);
  let created = false;
  try {
    if (settings.assertions) await checkAssertionSyntax(admin, settings.assertions);
    // A backup whose artifacts the listing already shows missing or resized is not restored at all.
    if (resolved.problems.length > 0) throw new BrokenBackup(resolved.problems);
    // The source's encoding and locale: a SQL_ASCII or LATIN1 source is not restored into UTF8.
    const localeNotice = await createScratchDatabase(
      admin,
      database,
      "scratch-database-url",
      source?.database,
    );
    created = true;
    if (localeNotice) {
      catalog.notices.push(localeNotice);
      log.warn(localeNotice);
    }
    clock.mark("prepare");
    const rolesObject = rolesArtifact(manifest);
    if (rolesObject) {
      // Roles are cluster-wide: only missing ones are created, and none is dropped afterwards.
      roles = await applyRolesObject(admin, repository, manifest, identities);
      checked.push({
        name: rolesObject.name,
        bytes: rolesObject.stored.bytes,
        sha256: rolesObject.stored.sha256,
      });
      log.info(
        `Roles from ${rolesObject.name}: created ${roles.created.join(", ") || "none"}; already there: ${roles.existing.join(", ") || "none"}`,
      );
      for (const error of roles.errors.filter((text) => !settings.tolerate.some((p) => p.test(text)))) {
        failures.push(`applying ${rolesObject.name}: ${error}`);
      }
    }
    if (source) {
      // After the roles object: it creates roles with their real attributes; the rest NOLOGIN.
      const referenced = await createReferencedRoles(admin, source);
      catalog.rolesCreated = referenced.created;
      catalog.missingRoles = referenced.missing.map((entry) => entry.role);
      if (referenced.created.length > 0) {
        log.info(`Roles the archive names, created NOLOGIN: ${referenced.created.join(", ")}`);
      }
      for (const entry of referenced.missing) {
        log.warn(`role ${entry.role} could not be created on the scratch server: ${entry.error}`);
      }
    }
    log.info(
      `Restoring ${repository.url}/${name} into scratch database ${database} on ${settings.scratchUrl.host}:${settings.scratchUrl.port}`,
    );
    const target = withDatabase(settings.scratchUrl, database);
    clock.mark("roles");
    result = await restoreAndCheck(
      settings,
      { ...deps, manifestTables: manifest.tables },
      {
        repository,
        manifest,
        identities,
        pgRestore,
        target,
        database,
        failures,
        checked,
        source,
        catalog,
        clock,
        richer: (client, restoreSeconds, digests) =>
          runRicherChecks({
            client,
            target,
            store: deps.store,
            label: settings.label,
            manifest,
            restoreSeconds,
            digests,
            settings: {
              maxTableDrift: settings.maxTableDrift,
              driftAction: settings.driftAction ?? "fail",
              maxRestoreSeconds: settings.maxRestoreSeconds,
            },
            now: deps.now(),
            clock,
          }),
      },
    );
    // The backup's files sources, each archive read through and every file checked against its index.
    const filesCheck = await checkFilesArtifacts(repository, manifest, identities);
    if (filesCheck) {
      files = { sources: filesCheck.sources, files: filesCheck.files, bytes: filesCheck.bytes };
      failures.push(...filesCheck.problems);
      checked.push(...filesCheck.checked);
      log.info(
        `Files: ${filesCheck.files} files in ${filesCheck.sources} source(s) checked against their indexes`,
      );
    }
    clock.mark("assertions, run, files");
    // Masking only after every check, files included, passed.
    if (settings.masking && maskedStore && failures.length === 0) {
      masked = await makeMaskedCopy(maskedStore, settings.masking, settings, manifest, target, deps);
    }
  } catch (error) {
    // Once the scratch database exists, the scratch server was reachable: a connection to it
    // failing later is the run failing (exit 1, the leftover named below), not bad input.
    const lostServer = created && error instanceof InputError && error.input === "scratch-database-url";
    if ((error instanceof InputError && !lostServer) || deps.signal?.aborted) {
      await dropScratchDatabase(admin, database).catch(() => undefined);
      await admin.end().catch(() => undefined);
      throw deps.signal?.aborted ? deps.signal.reason : error;
    }
    if (error instanceof BrokenBackup) failures.push(...error.problems);
    else failures.push(describeError(error));
  }
  const passed = failures.length === 0;
  // Cancelled after the last step: the same as during one (dropped, nothing recorded).
  const kept = !passed && settings.keepOnFailure && !deps.signal?.aborted;
  if (!kept) {
    await dropScratchDatabase(admin, database).catch((error: unknown) =>
      log.warn(`dropping the scratch database ${database} failed: ${describeError(error)}`),
    );
  } else {
    await markKept(admin, database).catch(() => undefined);
    log.warn(`the scratch database ${database} is kept for inspection (keep-on-failure); drop it when done`);
  }
  await admin.end().catch(() => undefined);
  clock.mark("drop");
  deps.signal?.throwIfAborted();

  const full: Omit<RestoreTestResult, "checkKey"> = {
    passed,
    backupId: manifest.backupId,
    scratchDatabase: database,
    kept,
    restoreSeconds: result?.restoreSeconds ?? 0,
    mode: result?.mode ?? "stream",
    tablesChecked: result?.tablesChecked ?? 0,
    mismatches: result?.mismatches ?? [],
    restoreErrors: result?.restoreErrors ?? [],
    toleratedErrors: result?.toleratedErrors ?? [],
    assertions: result?.assertions ?? [],
    run: result?.run ?? null,
    failures,
    pgRestoreLog: result?.pgRestoreLog ?? "",
    roles,
    files,
    catalog,
    masked,
    checks: result?.checks ?? null,
    phases: clock.phases,
  };
  for (const warning of full.checks?.warnings ?? []) log.warn(warning);
  const records = redactingRecords(repository, databaseUrlSecrets(settings.scratchUrl));
  const checkKey = await records.writeCheckRecord(
    {
      kind: "restore-test",
      label: settings.label,
      backupId: manifest.backupId,
      passed,
      artifacts: checked,
      failures,
      warnings: [
        ...full.toleratedErrors.map((error) => `tolerated pg_restore error: ${error}`),
        ...catalogWarnings(catalog),
        ...(full.checks?.warnings ?? []),
      ],
      details: {
        restoreSeconds: full.restoreSeconds,
        mode: full.mode,
        scratchServer: settings.scratchUrl.redacted,
        tablesChecked: full.tablesChecked,
        mismatches: full.mismatches,
        restoreErrors: full.restoreErrors,
        assertions: full.assertions,
        run: full.run,
        roles: full.roles,
        files: full.files,
        catalog: {
          compared: catalog.compared,
          notices: catalog.notices,
          rolesCreated: catalog.rolesCreated,
          missingRoles: catalog.missingRoles,
          failures: catalog.failures,
          warnings: catalog.warnings,
        },
        ...(masked
          ? {
              masked: {
                label: masked.label,
                backupId: masked.backupId,
                rulesSha256: masked.rulesSha256,
                error: masked.error ?? null,
              },
            }
          : {}),
        checks: full.checks && {
          drift: { ...full.checks.drift, tables: undefined },
          budget: full.checks.budget,
          sequences: full.checks.sequences,
          digests: full.checks.digests,
        },
      },
    },
    deps.now(),
  );
  clock.mark("record");
  return { ...full, checkKey };
}

async function restoreAndCheck(
  settings: RestoreTestSettings,
  deps: {
    env: NodeJS.ProcessEnv;
    log: Logger;
    manifestTables: TableCount[];
    progressEveryMs?: number;
    signal?: AbortSignal | undefined;
  },
  context: {
    repository: BackupRepository;
    manifest: Manifest;
    identities: ReturnType<typeof identitiesFor>;
    pgRestore: PgTool;
    target: DatabaseUrl;
    database: string;
    failures: string[];
    /** Artifacts read to the end, with the digest found: what the check record says it checked. */
    checked: CheckedArtifact[];
    /** The manifest's catalog fingerprint, when there is one this code reads. */
    source: CatalogFingerprint | undefined;
    catalog: CatalogResult;
    clock: PhaseClock;
    richer: (client: pg.Client, restoreSeconds: number, digests: DigestResult) => Promise<RicherChecks>;
  },
) {
  const { manifest, failures } = context;
  const started = performance.now();
  const dump = dumpArtifact(manifest);
  // A scratch server has none of the source's tablespaces: everything goes to its default one.
  // Subscriptions are left out: each names its publisher's connection (often production's, with
  // the password), a --run command or a masked copy could turn it on, and a database that holds
  // one cannot be dropped.
  const pgRestoreArgs = [
    ...["--no-tablespaces", "--no-subscriptions"].filter((flag) => !settings.pgRestoreArgs.includes(flag)),
    ...settings.pgRestoreArgs,
  ];
  const read = { bytes: 0, phase: "" };
  const opened = await openArtifactRead(context.repository, manifest, dump, context.identities, {
    storedTaps: [countingStage(read)],
  });
  const work = await createWorkDir();
  const workDir = work.path;
  const mode =
    settings.decryptToDisk === "auto" && (await fitsOnDisk(workDir, dump.plaintext.bytes))
      ? "file"
      : "stream";
  // Records what was read once the read is complete, and fails unless it matches the manifest.
  const checkRead = () => {
    const { stored } = readDigests(opened.results);
    context.checked.push({ name: dump.name, bytes: stored.bytes, sha256: stored.sha256 });
    const problems = opened.check();
    if (problems.length > 0) throw new OperationError(problems[0]!);
  };
  const lines = startProgress({
    what: "restore-test",
    log: deps.log,
    everyMs: deps.progressEveryMs,
    startedMs: started,
    sample: () => ({
      read: read.bytes,
      readTotal: dump.stored.bytes,
      tables: { total: manifest.tables.length },
      ...(read.phase ? { phase: read.phase } : {}),
    }),
  });
  let outcome;
  try {
    if (mode === "file") {
      // Decrypted to disk and checked before pg_restore sees a byte: nothing unchecked reaches the scratch database.
      const file = join(workDir, "dump.pgdump");
      const sink = createFileSink(file, { mode: 0o600, afterWrite: releaseDecompressed });
      await pipeline([...opened.streams, sink], {
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      checkRead();
      // The digests were taken upstream of the file: its size says that every byte they saw is in it.
      if (sink.bytesWritten !== dump.plaintext.bytes) {
        throw new OperationError(
          `the archive file holds ${sink.bytesWritten} bytes where the backup's plaintext has ${dump.plaintext.bytes}`,
        );
      }
      context.clock.mark("read archive");
      read.phase = `pg_restore -j${settings.jobs} running`;
      outcome = await runPgRestore({
        pgRestore: context.pgRestore,
        target: context.target,
        args: pgRestoreArgs,
        input: file,
        jobs: settings.jobs,
        env: deps.env,
        signal: deps.signal,
        sessionSettings: RESTORE_SESSION,
      });
    } else {
      // Streamed (no room on disk, or decrypt-to-disk never): pg_restore reads the bytes as they are
      // checked, so a mismatch is found at the end; the scratch database is then dropped as failed.
      outcome = await runPgRestore({
        pgRestore: context.pgRestore,
        target: context.target,
        args: pgRestoreArgs,
        input: opened.streams,
        jobs: 1,
        env: deps.env,
        signal: deps.signal,
        sessionSettings: RESTORE_SESSION,
        afterWrite: releaseDecompressed,
      });
      checkRead();
    }
  } finally {
    lines.stop();
    await work.remove();
  }
  const restoreSeconds = Math.round((performance.now() - started) / 10) / 100;
  context.clock.mark(mode === "file" ? "pg_restore" : "read archive + pg_restore");

  // pg_restore's errors are judged once the catalog comparison knows what was lost; their
  // failures go first, as before.
  const errorFailuresAt = failures.length;
  const client = await connect(context.target, "scratch-database-url").catch((error: unknown) => {
    // The server took the scratch database and pg_restore moments ago: losing it now (a crash, a
    // restart) is the test failing, and pg_restore's own first error says most about why.
    const first = readRestoreErrors(outcome.log)[0]?.text;
    throw new OperationError(
      `the scratch server stopped answering after pg_restore (${describeError(error)})${first ? `; pg_restore: ${first}` : ""}`,
      { cause: error },
    );
  });
  try {
    // Row counts and content digests in one pass on sessions of their own, while this one compares
    // the catalog; the findings are reported in the same order as before (counts, then catalog).
    const tablePass = checkTables(context.target, manifest, { jobs: settings.jobs });
    const catalogFailures: string[] = [];
    const catalogDone = context.source
      ? compareCatalog(
          client,
          context.source,
          manifest,
          pgRestoreArgs,
          context.catalog,
          catalogFailures,
          deps.log,
        )
      : Promise.resolve();
    const [tables] = await Promise.all([tablePass, catalogDone]);
    const { mismatches } = tables;
    context.clock.mark("row counts + content digests, catalog");
    for (const mismatch of mismatches.slice(0, 5)) {
      failures.push(
        `${mismatch.table}: ${mismatch.actual === null ? "missing" : `${mismatch.actual} rows`} after restore, the manifest counted ${mismatch.expected}`,
      );
    }
    if (mismatches.length > 5) failures.push(`... and ${mismatches.length - 5} more tables differ`);
    // Before the assertions and the user's command, which may change the schema (a migration).
    failures.push(...catalogFailures);
    const classified = classifyRestoreErrors(readRestoreErrors(outcome.log), {
      tolerate: settings.tolerate,
      preset: manifest.preset ?? "none",
      differences: context.catalog.differences,
    });
    failures.splice(errorFailuresAt, 0, ...restoreErrorFailures(classified, outcome.exitCode, outcome.log));
    const restoreErrors = classified.filter((e) => e.verdict === "lost" || e.verdict === "unexplained");
    const toleratedErrors = toleratedErrorLines(classified);
    // Before the assertions and the command too: they see the copy as it was restored.
    const checks = await context.richer(client, restoreSeconds, tables.digests);
    failures.push(...checks.failures);
    const assertions = settings.assertions ? await runAssertions(client, settings.assertions.statements) : [];
    for (const assertion of assertions.filter((a) => !a.passed)) {
      failures.push(`assertion failed: ${oneLine(assertion.sql)}: ${assertion.detail}`);
    }
    await client.end();
    deps.signal?.throwIfAborted();
    const run = settings.run
      ? await runUserCommand(settings.run, context.target, deps.env, {
          passThrough: settings.runEnv,
          signal: deps.signal,
        })
      : null;
    if (run && run.exitCode !== 0) {
      failures.push(`the run command exited with status ${run.exitCode}: ${lastLine(run.output)}`);
    }
    return {
      backupId: manifest.backupId,
      scratchDatabase: context.database,
      restoreSeconds,
      mode,
      tablesChecked: manifest.tables.length,
      mismatches,
      restoreErrors: restoreErrors.map((e) => e.text),
      toleratedErrors,
      assertions,
      run,
      pgRestoreLog: outcome.log,
      checks,
    } as const;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The restored catalog against the manifest's fingerprint: each failure becomes a restore-test
 * failure named by object. A comparison that cannot run is a failure too, and the row counts and
 * other findings are kept.
 */
async function compareCatalog(
  client: pg.Client,
  source: CatalogFingerprint,
  manifest: Manifest,
  pgRestoreArgs: readonly string[],
  catalog: CatalogResult,
  failures: string[],
  log: Logger,
): Promise<void> {
  let compared;
  try {
    compared = await compareRestoredCatalog(client, source, {
      scope: fingerprintScopeFor(manifest.dump?.scope ?? emptyScope(), manifest.preset ?? "none"),
      pgRestoreArgs,
      missingRoles: catalog.missingRoles,
    });
  } catch (error) {
    failures.push(`comparing the restored catalog with the manifest's failed: ${describeError(error)}`);
    return;
  }
  Object.assign(catalog, { compared: true, ...compared });
  for (const difference of compared.differences.filter((d) => d.severity === "failure")) {
    failures.push(`catalog: ${difference.object}: ${difference.problem}`);
  }
  log.info(
    `Catalog compared with the manifest's fingerprint: ${compared.failures} failure(s), ${compared.warnings} warning(s)`,
  );
}

/**
 * What pg_restore's sessions need beyond what the archive sets: pg_dump writes a NULL array element
 * as NULL and never sets array_nulls, so a scratch role or server with array_nulls off would
 * restore it as the string "NULL" (or fail on a non-text array).
 */
const RESTORE_SESSION = { array_nulls: "on" };

/** Room for the decrypted archive with 10% and 256 MiB to spare, so a parallel restore is safe. */
async function fitsOnDisk(dir: string, bytes: number): Promise<boolean> {
  try {
    const stats = await statfs(dir);
    return stats.bavail * stats.bsize > bytes * 1.1 + 256 * 1024 * 1024;
  } catch {
    return false;
  }
}

/** Assertions that cannot even be parsed are bad input, found before anything is restored. */
async function checkAssertionSyntax(client: pg.Client, assertions: { path: string; statements: string[] }) {
  for (const [index, sql] of assertions.statements.entries()) {
    try {
      await client.query(`PREPARE lifeboat_assertion_check AS ${sql}`);
      await client.query("DEALLOCATE lifeboat_assertion_check");
    } catch (error) {
      // Only a syntax error says the file is wrong; a missing table is expected before the restore.
      if ((error as { code?: string }).code === "42601") {
        throw new InputError(
          `--assertions "${assertions.path}": statement ${index + 1} does not parse: ${describeError(error)}`,
          { input: "assertions" },
        );
      }
    }
  }
}

async function runAssertions(client: pg.Client, statements: string[]): Promise<AssertionResult[]> {
  const results: AssertionResult[] = [];
  for (const sql of statements) {
    try {
      const result = await client.query({ text: sql, rowMode: "array" });
      const last = Array.isArray(result) ? result.at(-1) : result;
      const rows = (last?.rows ?? []) as unknown[][];
      const value = rows[0]?.[0];
      const passed = rows.length === 1 && value === true;
      results.push({
        sql,
        passed,
        detail: passed
          ? "true"
          : rows.length !== 1
            ? `returned ${rows.length} rows, expected one`
            : `returned ${String(value)}`,
      });
    } catch (error) {
      results.push({ sql, passed: false, detail: `error: ${describeError(error)}` });
    }
  }
  return results;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

export function restoreTestFailureMessage(result: RestoreTestResult): string | undefined {
  // The backup restored and checked out; only the masked copy failed, and none was written.
  if (result.passed && result.masked?.error) {
    return `restore-test of ${result.backupId} passed, but no masked copy was written: ${result.masked.error}`;
  }
  if (result.passed) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  return `restore-test of ${result.backupId} failed: ${result.failures[0]}${more}`;
}
