/**
 * verify: the chosen backup against its manifest. Without a key: the stored object's size and
 * sha256, streamed. With one: also decrypted, the plaintext's sha256, and the archive's table of
 * contents read by pg_restore (every table the manifest counts must be in it). Then the gates
 * (max-age, max-size-change, min-size), and a check record beside the backup.
 */
import { describeError } from "../../domain/errors.js";
import {
  backupStoredBytes,
  findDumpArtifact,
  type Artifact,
  type TableCount,
} from "../../domain/manifest.js";
import { createArchiveTap, type ArchiveSummary } from "../../postgres/archive/index.js";
import { contentsOf } from "../backup/run.js";
import { evaluateGates } from "../../domain/verify-gates.js";
import type { ToolCache } from "../../postgres/pg-install.js";
import { listArchive, missingTableData } from "../../postgres/pg-restore-list.js";
import { decodeUtf8, decoderFor } from "../../postgres/archive/text-encoding.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import type { CheckedArtifact, CheckKind } from "../../repository/check-record.js";
import { redactingRecords } from "../../repository/redacted-records.js";
import { readArtifact, type ArtifactRead } from "../../repository/read-artifact.js";
import type { VerifySettings } from "../../settings/types.js";
import type { Store } from "../../storage/store.js";
import { archiveProblems, verifyArchiveSink } from "../../files/verify-archive.js";
import type { Logger } from "../logger.js";
import { countingStage, startProgress } from "../progress.js";
import { releaseDecompressed } from "../../compress/index.js";
import { findPgRestoreFor, identitiesFor } from "../read-backup.js";
import { checkKeysOpen } from "../key-check.js";

export interface VerifyResult {
  verified: boolean;
  kind: CheckKind;
  backupId: string;
  backupAgeSeconds: number;
  storedBytes: number;
  tablesListed: number | undefined;
  /** Files checked against their archives' indexes (deep verify of a backup with --files sources). */
  filesChecked: number | undefined;
  failures: string[];
  warnings: string[];
  /** The check record's key; empty when the store would not take it (read-only), which a warning says. */
  checkKey: string;
  /** The manifest's tables (`schema.table`), and those the archive has no data for (deep verify). */
  tables?: string[];
  missingTables?: string[];
}

export async function runVerify(
  settings: VerifySettings,
  deps: {
    store: Store;
    env: NodeJS.ProcessEnv;
    now: () => Date;
    log: Logger;
    toolCache?: ToolCache;
    /** How often a progress line is logged (default 5 s). */
    progressEveryMs?: number;
    /** Aborted by the first SIGINT or SIGTERM: the read stops and no check record is written. */
    signal?: AbortSignal;
  },
): Promise<VerifyResult> {
  const { log } = deps;
  const repository = new BackupRepository(deps.store, settings.evidence);
  // Only the check record is written: the store is checked for reading, the write then says.
  await repository.check("read");
  // The newest backup even when broken: verify is where the damage is reported.
  const resolved = await repository.resolve(settings.label, settings.backup, { includeBroken: true });
  const { folder, manifest, committed } = resolved;
  for (const skipped of resolved.skipped) {
    log.warn(`backup ${skipped.backupId} is broken and was passed over: ${skipped.problems.join("; ")}`);
  }
  const name = `${settings.label}/${manifest.backupId}`;
  const unencrypted = manifest.encryption.format === "none";
  const deep =
    unencrypted || settings.keys.identityText !== undefined || settings.keys.passphrase !== undefined;
  // Keys and tools are checked before a byte is downloaded.
  const identities = deep ? identitiesFor(manifest, settings.keys, name) : undefined;
  // A files-only backup has no archive for pg_restore to read.
  const pgRestore =
    deep && findDumpArtifact(manifest) ? await findPgRestoreFor(manifest, settings, deps) : undefined;
  // A wrong passphrase is bad input found from the header, not a failure recorded against the backup.
  await checkKeysOpen(repository, manifest, identities, settings.keys);
  const kind: CheckKind = deep ? "verify-deep" : "verify";
  log.info(
    `Verifying ${repository.url}/${name} (${deep ? "decrypt and read the archive" : "stored object only"})`,
  );

  const failures: string[] = [];
  const reads: ArtifactRead[] = [];
  const dump = findDumpArtifact(manifest);
  let tablesListed: number | undefined;
  let missingTables: string[] | undefined;
  let filesChecked: number | undefined;
  // One loop over the artifacts: the listing's size first (cheap), then the bytes themselves.
  for (const artifact of manifest.artifacts) {
    const listed = folder.objects.find((object) => object.key === repository.artifactKey(manifest, artifact));
    if (listed?.size !== artifact.stored.bytes) {
      failures.push(
        `the store holds ${listed?.size ?? "no"} bytes of ${artifact.name}; the manifest says ${artifact.stored.bytes}`,
      );
      if (artifact !== dump) continue;
    }
    const listing =
      artifact === dump && pgRestore
        ? listArchive(pgRestore, { afterWrite: releaseDecompressed })
        : undefined;
    // A files archive is read through and every file checked against its index (docs/files.md).
    const archive =
      artifact.kind === "files" && identities
        ? verifyArchiveSink({ expectedIndexSha256: artifact.indexSha256 })
        : undefined;
    // The archive's own per-table rows and digests, read from the same decrypted stream, against
    // the manifest's: a manifest that no longer describes its dump (one flipped digit) fails here.
    // Only where the manifest has digests: those backups were read by this parser when they were
    // made (older ones may hold pg_dump's own compressed data, which it does not read).
    const contents =
      listing && manifest.tables.some((table) => table.sha256 !== undefined) ? createArchiveTap() : undefined;
    const counted = { bytes: 0 };
    const lines =
      dump && artifact === dump
        ? startProgress({
            what: "verify",
            log,
            everyMs: deps.progressEveryMs,
            sample: () => ({
              read: counted.bytes,
              readTotal: dump.stored.bytes,
              tables: { total: manifest.tables.length },
            }),
          })
        : undefined;
    const read = await readArtifact(repository, manifest, artifact, identities, {
      ...(listing ? { sink: listing.sink } : archive ? { sink: archive.sink } : {}),
      storedTaps: [countingStage(counted)],
      ...(contents
        ? {
            plaintextTaps: [
              { name: "archive", kind: "tap", stream: contents.stream, result: () => undefined },
            ],
          }
        : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    }).finally(() => lines?.stop());
    // Interrupted, the read's failure is not the backup's: no verdict, and no record for prune to count.
    if (deps.signal?.aborted) {
      listing?.listing.catch(() => undefined);
      archive?.result.catch(() => undefined);
      throw deps.signal.reason;
    }
    reads.push(read);
    failures.push(...read.problems.filter((problem) => !failures.includes(problem)));
    if (archive && artifact.kind === "files" && read.problems.length === 0) {
      const checked = await archive.result;
      failures.push(...archiveProblems(artifact, checked));
      filesChecked = (filesChecked ?? 0) + checked.files;
    }
    if (listing) {
      try {
        const bytes = await listing.listing;
        tablesListed = manifest.tables.length;
        const encoding = decoderFor(listing.encoding() ?? manifest.catalog?.database.encoding);
        const missing = missingTableData([encoding(bytes), decodeUtf8(bytes)], manifest.tables);
        missingTables = missing;
        if (missing.length > 0) failures.push(`the archive has no data for ${missing.join(", ")}`);
        if (contents && read.problems.length === 0) {
          failures.push(...(await tableContentProblems(manifest.tables, contents.summary)));
        }
      } catch (error) {
        if (failures.length === 0) failures.push(describeError(error));
      }
    }
  }

  const now = deps.now();
  const gates = evaluateGates({ manifest, committed, now, gates: settings.gates });
  failures.push(...gates.failures);
  for (const warning of gates.warnings) log.warn(warning);
  const verified = failures.length === 0;
  const dumpRead = reads.find((read) => read.artifact === dump);
  const warnings = [...gates.warnings];
  // Verifying needs read access only: a store that refuses the record (read-only, a role that
  // may not write) still gets its answer, and the warning says prune will not count it.
  const secrets = [settings.keys.passphrase, settings.keys.identityText].filter(
    (secret): secret is string => secret !== undefined,
  );
  const checkKey = await redactingRecords(repository, secrets)
    .writeCheckRecord(
      {
        kind,
        label: settings.label,
        backupId: manifest.backupId,
        passed: verified,
        artifacts: checkedArtifacts(reads),
        failures,
        warnings: gates.warnings,
        details: {
          deep,
          storedBytes: dumpRead?.stored?.bytes ?? null,
          storedSha256: dumpRead?.stored?.sha256 ?? null,
          plaintextBytes: dumpRead?.plaintext?.bytes ?? null,
          plaintextSha256: dumpRead?.plaintext?.sha256 ?? null,
          tablesListed: tablesListed ?? null,
          filesChecked: filesChecked ?? null,
        },
      },
      now,
    )
    .catch((error: unknown) => {
      const warning = `the check record could not be written, so this verification is not recorded (prune and list will not count it): ${describeError(error)}`;
      warnings.push(warning);
      log.warn(warning);
      return "";
    });
  return {
    verified,
    kind,
    backupId: manifest.backupId,
    backupAgeSeconds: Math.round((now.getTime() - Date.parse(manifest.startedAt)) / 1000),
    storedBytes: backupStoredBytes(manifest),
    tablesListed,
    filesChecked,
    failures,
    warnings,
    checkKey,
    tables: manifest.tables.map((table) => `${table.schema}.${table.table}`),
    ...(missingTables ? { missingTables } : {}),
  };
}

/** What a check read, as it found it: the artifacts read to the end, with their stored digest. */
export function checkedArtifacts(
  reads: readonly { artifact: Artifact; stored: ArtifactRead["stored"] }[],
): CheckedArtifact[] {
  return reads.flatMap((read) =>
    read.stored ? [{ name: read.artifact.name, bytes: read.stored.bytes, sha256: read.stored.sha256 }] : [],
  );
}

/** The one-line error for a failed verification, or undefined when it passed. */
export function verifyFailureMessage(result: VerifyResult): string | undefined {
  if (result.verified) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  return `backup ${result.backupId} failed verification: ${result.failures[0]}${more}`;
}

/**
 * The manifest's rows and content digest of each table against what the archive holds, for the
 * tables whose digest the manifest records (taken from the archive stream at backup time, by the
 * same parser; older manifests counted rows in SQL and are left to restore-test).
 */
async function tableContentProblems(
  tables: readonly TableCount[],
  summary: Promise<ArchiveSummary>,
): Promise<string[]> {
  let found: TableCount[];
  try {
    found = contentsOf(await summary).tables;
  } catch (error) {
    return [`reading the archive's table data failed: ${describeError(error)}`];
  }
  const byName = new Map(found.map((table) => [`${table.schema}.${table.table}`, table]));
  const problems: string[] = [];
  for (const table of tables) {
    if (table.sha256 === undefined) continue;
    const name = `${table.schema}.${table.table}`;
    const held = byName.get(name);
    // A table without data in the archive is reported by the listing's check.
    if (!held) continue;
    if (held.rows !== table.rows) {
      problems.push(`${name}: the archive holds ${held.rows} rows; the manifest says ${table.rows}`);
    } else if (held.sha256 !== table.sha256) {
      problems.push(
        `${name}: the archive's data has sha256 ${held.sha256}; the manifest says ${table.sha256}`,
      );
    }
  }
  return problems;
}
