/**
 * restore-test --mask: the masked copy for staging (issue 18, docs/masking.md). It runs in the
 * scratch database once every check of the restore passed: the rules are checked against the
 * restored catalog, the coverage report is taken, the filters and free SQL run in one transaction,
 * and an ordinary backup of the scratch database is made whose archive is masked as pg_dump writes
 * it (src/masking/archive-mask.ts), verified as it ends, encrypted to the staging recipients only,
 * under the masked label, its manifest marked `masked`. The backup commits last, so any failure on
 * the way leaves no masked copy; raw data never leaves the job.
 */
import { describeError, InputError } from "../../domain/errors.js";
import type { DatabaseUrl } from "../../domain/database-url.js";
import type { Manifest } from "../../domain/manifest.js";
import { parseRecipient, recipientOf, X25519Identity, type Identity } from "../../crypto/age/index.js";
import {
  ArchiveMasker,
  checkRulesAgainstCatalog,
  ConstraintProbe,
  coverageFailure,
  coverageReport,
  defaultWorkers,
  formatCoverageWarning,
  planArchiveMasking,
  prepareScratch,
  type ArchiveMaskPlan,
} from "../../masking/index.js";
import { connect } from "../../postgres/connect.js";
import { BackupRepository } from "../../repository/backup-repository.js";
import type { MaskingSettings, RestoreTestSettings } from "../../settings/types.js";
import { openStore } from "../../storage/open-store.js";
import type { Store } from "../../storage/store.js";
import { runBackup, wholeDatabaseBackup, type BackupDeps } from "../backup/run.js";

export interface MaskedCopyResult {
  label: string;
  /** The masked copy's storage, as a URL without credentials. */
  storage: string;
  /** The committed masked backup, or null when none was written. */
  backupId: string | null;
  rulesSha256: string;
  tablesMasked: number;
  maskedColumns: number;
  /** Distinct source values the verification checked the masked columns against. */
  sourceDigests: number;
  /** Columns that look personal but have no rule (names only, never values). */
  coverageWarnings: string[];
  durationSeconds: number;
  /** Why no masked copy was written; absent when one was. */
  error?: string;
}

/** backup's dependencies but the store and target (the masked copy opens its own), and where paths resolve. */
export type MaskedCopyDeps = Omit<BackupDeps, "store" | "target"> & { cwd?: string };

/** What is checked before the restore starts: the staging keys and the masked copy's store. */
export interface PreparedMaskedCopy {
  store: Store;
}

/**
 * Bad masking input is exit 2 before the scratch database exists: recipients that do not parse,
 * a staging recipient that can also read the production backup, a store that cannot be written.
 */
export async function prepareMaskedCopy(
  masking: MaskingSettings,
  settings: RestoreTestSettings,
  manifest: Manifest,
  identities: Identity[],
  deps: MaskedCopyDeps,
): Promise<PreparedMaskedCopy> {
  const input = "masked-recipient";
  const production = new Set<string>(
    manifest.encryption.format === "none" ? [] : manifest.encryption.recipients,
  );
  for (const identity of identities) {
    if (identity instanceof X25519Identity) production.add(recipientOf(identity));
  }
  for (const text of masking.recipients) {
    let recipient: string;
    try {
      recipient = parseRecipient(text).toString();
    } catch (error) {
      throw new InputError(`--${input}: ${describeError(error).replace(/^recipient: /, "")}`, {
        input,
        cause: error,
      });
    }
    if (production.has(recipient)) {
      throw new InputError(
        `--${input} ${recipient}: can decrypt the production backup too; a masked copy is encrypted to staging's keys only`,
        { input },
      );
    }
  }
  const store = await openStore(masking.destination.storage, {
    cwd: deps.cwd,
    s3: masking.destination.s3,
    env: deps.env,
    input: masking.destination.storage === settings.storage ? "storage" : "masked-storage",
  });
  await new BackupRepository(store).check("write");
  return { store };
}

/**
 * Masks the scratch database and stores it as the masked backup. Never throws an operational
 * failure: it is returned in `error` (the restore proof stands on its own), with bad rules
 * (an unknown table or column) thrown as the InputError they are.
 */
export async function makeMaskedCopy(
  prepared: PreparedMaskedCopy,
  masking: MaskingSettings,
  settings: RestoreTestSettings,
  source: Manifest,
  scratch: DatabaseUrl,
  deps: MaskedCopyDeps,
): Promise<MaskedCopyResult> {
  const { log } = deps;
  const started = performance.now();
  const result: MaskedCopyResult = {
    label: masking.label,
    storage: prepared.store.url,
    backupId: null,
    rulesSha256: masking.rules.digest,
    tablesMasked: 0,
    maskedColumns: 0,
    sourceDigests: 0,
    coverageWarnings: [],
    durationSeconds: 0,
  };
  const finish = (error?: unknown) => {
    result.durationSeconds = Math.round((performance.now() - started) / 10) / 100;
    if (error !== undefined) result.error = describeError(error);
    return result;
  };

  const client = await connect(scratch, "scratch-database-url");
  let archivePlan: ArchiveMaskPlan;
  let sqlAscii: boolean;
  try {
    sqlAscii =
      (await client.query<{ e: string }>("SELECT current_setting('server_encoding') AS e")).rows[0]!.e ===
      "SQL_ASCII";
    // Rules naming what the restored database lacks are the user's to fix: exit 2.
    const plan = await checkRulesAgainstCatalog(masking.rules, client);
    archivePlan = await planArchiveMasking(client, plan);
    const warnings = await coverageReport(client, masking.rules);
    result.coverageWarnings = warnings.map(formatCoverageWarning);
    for (const line of result.coverageWarnings) log.warn(line);
    if (masking.coverage === "fail") {
      const failure = coverageFailure(warnings, masking.rules.path);
      if (failure) return finish(failure);
    }
    log.info(
      `Masking the scratch copy by ${masking.rules.path} (rules sha256 ${masking.rules.digest.slice(0, 12)}...)`,
    );
    const prepared = await prepareScratch(client, plan, masking.key, { signal: deps.signal });
    result.tablesMasked = plan.tables.filter((table) => table.columns.length > 0).length;
    result.maskedColumns = plan.tables.reduce((sum, table) => sum + table.columns.length, 0);
    if (prepared.userMappingsDropped > 0) {
      log.info(
        `Left ${prepared.userMappingsDropped} user mapping(s) out of the masked copy: they hold the credentials of foreign servers`,
      );
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    return finish(error);
  } finally {
    await client.end().catch(() => undefined);
  }

  let probe: ConstraintProbe | undefined;
  try {
    probe = await ConstraintProbe.forPlan(archivePlan, () => connect(scratch, "scratch-database-url"));
  } catch (error) {
    return finish(error);
  }
  const masker = new ArchiveMasker(archivePlan, masking.key, {
    workers: defaultWorkers(),
    probe,
    encoding: sqlAscii ? "latin1" : "utf8",
  });
  try {
    const made = await runBackup(
      {
        ...wholeDatabaseBackup({
          into: { ...masking.destination, label: masking.label, evidence: settings.evidence },
          databaseUrl: scratch,
          encryption: { kind: "recipients", recipients: masking.recipients },
          client: settings,
        }),
        // A subscription carries its publisher's connection string (password included) and would
        // stream production's rows into staging once enabled: a masked copy has none. The rows
        // are masked as UTF-8 text, whatever the database's encoding (a restore converts back);
        // but SQL_ASCII holds bytes in no encoding, which the server refuses to convert to UTF-8
        // unless they happen to be UTF-8: they are dumped as they are (masked fields read as UTF-8).
        extraArgs: ["--no-subscriptions", ...(sqlAscii ? [] : ["--encoding=UTF8"])],
        masked: {
          rulesSha256: masking.rules.digest,
          sourceLabel: source.label,
          sourceBackupId: source.backupId,
        },
      },
      {
        store: prepared.store,
        env: deps.env,
        now: deps.now,
        log,
        signal: deps.signal,
        toolCache: deps.toolCache,
        rewriteArchive: masker.stream,
      },
    );
    const masked = masker.result();
    result.sourceDigests = masked.sourceDigests;
    log.info(
      `Masked ${masked.relations.reduce((sum, r) => sum + r.rows, 0)} rows of ${masked.relations.length} table(s) as they were dumped, verified against ${masked.sourceDigests} source digests; masked copy written in ${Math.round((performance.now() - started) / 100) / 10}s`,
    );
    result.backupId = made.backupId;
    log.info(`Masked copy committed: ${prepared.store.url}/${masking.label}/${made.backupId}`);
    return finish();
  } catch (error) {
    // A failed dump, masking, verification or upload commits nothing (the manifest goes last):
    // there is no masked copy.
    masker.stream.destroy();
    return finish(error);
  } finally {
    await probe?.close();
  }
}
