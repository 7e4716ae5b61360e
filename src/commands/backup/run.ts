/**
 * backup: preflight, dump, compress, encrypt, stream into the store, count rows and hash each table
 * from the archive as it passes, and commit by writing the manifest last. Anything that fails before the manifest is written leaves
 * no object behind and no manifest: the next run starts clean.
 */
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { newBackupId } from "../../domain/backup-id.js";
import { formatCompression } from "../../compress/index.js";
import { buildPgDumpArgs, parseCompression } from "../../domain/dump-plan.js";
import { describeError, LifeboatError, OperationError } from "../../domain/errors.js";
import { dumpFileName, ENCRYPTED_ROLES_FILE, PLAIN_ROLES_FILE } from "../../domain/layout.js";
import {
  MANIFEST_SCHEMA_VERSION,
  type Artifact,
  type Digest,
  type DumpArtifact,
  type EncryptionInfo,
  type LargeObjectsSummary,
  type Manifest,
  type TableCount,
} from "../../domain/manifest.js";
import { isReservedRole, type Preset } from "../../domain/supabase-preset.js";
import { qualifiedName, type CatalogFingerprint } from "../../domain/catalog-diff.js";
import { parseCopyStatement } from "../../postgres/archive/copy-statement.js";
import { provenanceFromEnv } from "../../domain/provenance.js";
import { parseRecipient, passphraseRecipient, type Recipient } from "../../crypto/age/index.js";
import { connect, readServerInfo } from "../../postgres/connect.js";
import { preflight } from "../../postgres/doctor.js";
import { findPgDumpFor } from "../../postgres/pg-dump-finder.js";
import type { ToolCache } from "../../postgres/pg-install.js";
import { DUMP_TIME_ZONE, startPgDump, type RunningDump } from "../../postgres/pg-dump.js";
import { exportSnapshot } from "../../postgres/snapshot.js";
import { createArchiveTap, type ArchiveSummary } from "../../postgres/archive/index.js";
import { takeCatalogFingerprint } from "../../postgres/catalog-fingerprint.js";
import { fingerprintScopeFor } from "../../postgres/catalog-check.js";
import { dumpRoles } from "../../postgres/roles.js";
import { putRolesObject } from "../roles-object.js";
import { liveBytes, startProgress } from "../progress.js";
import type {
  BackupSettings,
  EncryptionSettings,
  PgClientSettings,
  StorageSettings,
} from "../../settings/types.js";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { emptyScope } from "../../domain/dump-plan.js";
import { PLAINTEXT, STORED, writeStages } from "../../pipeline/artifact-stages.js";
import { compose } from "../../pipeline/pipeline.js";
import type { Stage } from "../../pipeline/stage.js";
import {
  BackupRepository,
  LEFTOVER_SAFE_AGE_MS,
  type BackupTarget,
  type BackupWriter,
} from "../../repository/backup-repository.js";
import type { Store } from "../../storage/store.js";
import { LIFEBOAT_VERSION } from "../../version.js";
import type { Logger } from "../logger.js";
import { prepareFilesBackup, type FilesBackup } from "./files-artifacts.js";

export interface BackupDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  log: Logger;
  /** Where relative --files directories resolve; default the process's working directory. */
  cwd?: string;
  /** Aborting (Ctrl-C, a cancelled job) stops pg_dump and the upload; nothing is committed. */
  signal?: AbortSignal;
  /** Where an installed pg_dump is cached between runs (actions/cache); none on the CLI. */
  toolCache?: ToolCache;
  /** How often a progress line is logged (default 5 s). */
  progressEveryMs?: number;
  /**
   * Where the backup is written; default: the repository over `store`. The seam for several
   * destinations (issue 15): a target that fans each artifact out to a list of repositories.
   */
  target?: BackupTarget;
  /**
   * A transform of pg_dump's archive before anything reads it (restore-test's masked copy:
   * src/masking/archive-mask.ts): the manifest's rows and digests are then those of what it
   * writes, and its failure, like pg_dump's, commits nothing.
   */
  rewriteArchive?: Duplex;
}

export interface BackupResult {
  backupId: string;
  label: string;
  backupKey: string;
  manifestKey: string;
  storedBytes: number;
  sha256: string;
  durationSeconds: number;
  manifest: Manifest;
}

/** The recipients the backup's artifacts are encrypted to (none: the explicit opt-out), and how the manifest says so. */
export function encryptionFor(settings: Pick<BackupSettings, "encryption">): {
  recipients: Recipient[];
  info: EncryptionInfo;
} {
  const { encryption } = settings;
  if (encryption.kind === "none") return { recipients: [], info: { format: "none" } };
  if (encryption.kind === "passphrase") {
    return {
      recipients: [passphraseRecipient(encryption.passphrase)],
      info: { format: "age-v1", recipients: [], passphrase: true },
    };
  }
  // The same key given twice would only add an identical stanza: keep each once.
  const unique = new Map(
    encryption.recipients
      .map((text) => parseRecipient(text))
      .map((recipient) => [recipient.toString(), recipient]),
  );
  return {
    recipients: [...unique.values()],
    info: { format: "age-v1", recipients: [...unique.keys()], passphrase: false },
  };
}

/**
 * A backup Lifeboat makes on its own account (restore's safety backup of the target, restore-test's
 * masked copy of the scratch database): the whole database, the default compression, and the
 * pg_dump that fits that server (pg-version auto, whatever pinned the pg_restore).
 */
export function wholeDatabaseBackup(options: {
  into: StorageSettings;
  databaseUrl: DatabaseUrl;
  encryption: EncryptionSettings;
  client: PgClientSettings;
}): BackupSettings {
  const { into, client } = options;
  return {
    storage: into.storage,
    label: into.label,
    s3: into.s3,
    ...(into.evidence ? { evidence: into.evidence } : {}),
    databaseUrl: options.databaseUrl,
    encryption: options.encryption,
    compression: "auto",
    scope: emptyScope(),
    extraArgs: [],
    pgBinDir: client.pgBinDir,
    pgVersion: "auto",
    installPgClient: client.installPgClient,
  };
}

export async function runBackup(settings: BackupSettings, deps: BackupDeps): Promise<BackupResult> {
  const { log } = deps;
  const target: BackupTarget = deps.target ?? new BackupRepository(deps.store, settings.evidence);
  const started = deps.now();
  const startedMs = performance.now();
  // Recipients are checked before anything connects or writes.
  const encryption = encryptionFor(settings);
  // Every files source is checked before the database is touched: a bad one is exit 2, nothing written.
  const files = await prepareFilesBackup(settings.files, {
    cwd: deps.cwd ?? process.cwd(),
    env: deps.env,
    log,
    preset: settings.preset ?? "none",
  });
  try {
    return await backupWith(settings, deps, { target, started, startedMs, encryption, files });
  } finally {
    files.destroy();
  }
}

async function backupWith(
  settings: BackupSettings,
  deps: BackupDeps,
  context: {
    target: BackupTarget;
    started: Date;
    startedMs: number;
    encryption: ReturnType<typeof encryptionFor>;
    files: FilesBackup;
  },
): Promise<BackupResult> {
  const { log } = deps;
  const { target, started, startedMs, encryption, files } = context;
  await preflight(settings.databaseUrl, "database-url", { log });
  const client = await connect(settings.databaseUrl);
  let clientOpen = true;
  const closeClient = async () => {
    if (!clientOpen) return;
    clientOpen = false;
    await client.end().catch(() => undefined);
  };
  try {
    const server = await readServerInfo(client);
    const pgDump = await findPgDumpFor(server, settings, { env: deps.env, cache: deps.toolCache, log });
    const compression = parseCompression(settings.compression);
    // The store is checked once the database side is known to work, so a typo in the URL
    // leaves not even an empty directory behind.
    await target.check("write");
    // A local backup killed outright leaves a temporary file; the next backup takes it away.
    await target.sweepLeftovers(settings.label, new Date(started.getTime() - LEFTOVER_SAFE_AGE_MS));
    log.info(
      `PostgreSQL ${server.version} at ${settings.databaseUrl.host}:${settings.databaseUrl.port}/${server.database}; pg_dump ${pgDump.version} (${pgDump.path}); compression ${formatCompression(compression)}`,
    );

    const backupId = newBackupId(started);
    const retention = settings.objectLock && {
      mode: settings.objectLock.mode,
      until: new Date(started.getTime() + settings.objectLock.days * 86_400_000),
    };
    const encrypted = encryption.info.format !== "none";
    const dumpName = dumpFileName(encrypted, formatCompression(compression));
    // Read before the dump starts: a failure here leaves nothing behind to take back.
    const preset = settings.preset ?? "none";
    const roles = settings.includeRoles
      ? await dumpRoles({
          pgDump,
          url: settings.databaseUrl,
          env: deps.env,
          isReserved: (role) => isReservedRole(role, preset),
          header: rolesHeader(server.database, preset),
        })
      : undefined;
    const snapshot = await exportSnapshot(client);
    let catalog: CatalogFingerprint | undefined;
    try {
      catalog = await fingerprintInSnapshot(client, settings, preset);
      await files.readStorageObjects(client);
    } catch (error) {
      await snapshot.release().catch(() => undefined);
      throw error;
    }
    const args = buildPgDumpArgs({
      scope: settings.scope,
      snapshot: snapshot.id,
      extraArgs: settings.extraArgs,
    });
    const writer = target.beginBackup(settings.label, backupId, { retention });
    log.info(`Backing up into ${writer.url}/${settings.label}/${backupId}/${dumpName}`);

    const {
      archive,
      plain,
      stored,
      key: objectKey,
    } = await streamDump({
      dump: startPgDump({ pgDump, args, url: settings.databaseUrl, env: deps.env }),
      recipients: encryption.recipients,
      compression: formatCompression(compression),
      writer,
      name: dumpName,
      sizeHint: dumpSizeCeiling(server.databaseBytes),
      signal: deps.signal,
      log,
      progressEveryMs: deps.progressEveryMs,
      rewrite: deps.rewriteArchive,
    }).finally(async () => {
      await snapshot.release().catch(() => undefined);
      await closeClient();
    });

    // The roles object goes in before the manifest, like the dump; a failure takes both back.
    let rolesInfo: Artifact | undefined;
    if (roles) {
      const name = encrypted ? ENCRYPTED_ROLES_FILE : PLAIN_ROLES_FILE;
      try {
        rolesInfo = await putRolesObject({
          writer,
          name,
          sql: roles.sql,
          count: roles.roles.length,
          recipients: encryption.recipients,
          signal: deps.signal,
        });
      } catch (error) {
        await writer.abort();
        throw asOperationError(error);
      }
      log.info(
        `Roles: ${roles.roles.length} in ${name}${roles.left.length > 0 ? `; reserved, left out: ${roles.left.join(", ")}` : ""}`,
      );
    }

    // Each files source after the dump, before the manifest: a failure takes every artifact back.
    let filesArtifacts: Artifact[] = [];
    if (files.count > 0) {
      try {
        filesArtifacts = await files.write({
          writer,
          recipients: encryption.recipients,
          compression: formatCompression(compression),
          signal: deps.signal,
        });
      } catch (error) {
        await writer.abort();
        throw asOperationError(error);
      }
    }

    const { tables, largeObjects } = contentsOf(archive, new Set(Object.keys(catalog?.inherits ?? {})));
    const dumpArtifact: DumpArtifact = {
      name: dumpName,
      kind: "dump",
      stored,
      plaintext: plain,
      compression: formatCompression(compression),
      encryption: encrypted ? "age-v1" : "none",
    };
    const finished = deps.now();
    const durationSeconds = round((performance.now() - startedMs) / 1000);
    const manifest: Manifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      backupId,
      label: settings.label,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds,
      source: {
        serverVersion: server.version,
        serverVersionNum: server.versionNum,
        database: server.database,
        host: settings.databaseUrl.host,
        port: settings.databaseUrl.port,
        user: server.user,
      },
      tool: { name: "lifeboat", version: LIFEBOAT_VERSION, pgDumpVersion: pgDump.version, pgDumpArgs: args },
      dump: {
        format: "custom",
        compression: "none",
        scope: settings.scope,
        timeZone: DUMP_TIME_ZONE,
        byteaOutput: server.byteaOutput === "escape" ? "escape" : "hex",
        quoteAllIdentifiers: server.quoteAllIdentifiers || args.includes("--quote-all-identifiers"),
      },
      encryption: encryption.info,
      preset,
      artifacts: [dumpArtifact, ...(rolesInfo ? [rolesInfo] : []), ...filesArtifacts],
      tables,
      totalRows: tables.reduce((sum, table) => sum + table.rows, 0),
      largeObjects,
      objectLock: retention ? { mode: retention.mode, retainUntil: retention.until.toISOString() } : null,
      provenance: provenanceFromEnv(deps.env),
      ...(catalog ? { catalog } : {}),
      ...(settings.masked ? { masked: settings.masked } : {}),
    };
    let key: string;
    try {
      key = await writer.commit(manifest, { signal: deps.signal });
    } catch (error) {
      await writer.abort();
      throw asOperationError(error);
    }
    log.info(
      `Backup ${backupId} committed: ${stored.bytes} bytes stored, ${tables.length} tables, ${manifest.totalRows} rows, ${durationSeconds}s`,
    );
    return {
      backupId,
      label: settings.label,
      backupKey: objectKey,
      manifestKey: key,
      storedBytes: stored.bytes,
      sha256: stored.sha256,
      durationSeconds,
      manifest,
    };
  } finally {
    await closeClient();
  }
}

/**
 * The catalog fingerprint, read in the snapshot `client` exported and before pg_dump starts. Its
 * sequence values are read on a second, idle connection: read in the snapshot's transaction, each
 * sequence's lock would last until the dump ends, and a database of many sequences would run out
 * of lock slots. None for a data-only dump, which holds no catalog objects.
 */
async function fingerprintInSnapshot(
  client: pg.Client,
  settings: BackupSettings,
  preset: Preset,
): Promise<CatalogFingerprint | undefined> {
  const { scope } = settings;
  if (scope.dataOnly) return undefined;
  const fingerprintScope = fingerprintScopeFor(scope, preset);
  const sequenceReader = scope.schemaOnly ? undefined : await connect(settings.databaseUrl);
  try {
    return await takeCatalogFingerprint(client, fingerprintScope, sequenceReader ? { sequenceReader } : {});
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new OperationError(`reading the catalog in the dump's snapshot failed: ${describeError(error)}`, {
      cause: error,
    });
  } finally {
    await sequenceReader?.end().catch(() => undefined);
  }
}

/**
 * pg_dump -> the artifact write stages (plaintext digest, archive tap, compression, encryption,
 * stored digest) -> the writer. The archive tap reads the uncompressed archive as it passes: rows
 * and a sha256 per table, large objects. The first failure anywhere (pg_dump, a malformed archive,
 * the store, an interrupt) stops everything else: pg_dump is killed, the upload aborted, and an
 * object that was completed anyway is deleted again.
 */
async function streamDump(options: {
  dump: RunningDump;
  recipients: readonly Recipient[];
  compression: string;
  writer: BackupWriter;
  name: string;
  sizeHint: number;
  signal: AbortSignal | undefined;
  log: Logger;
  progressEveryMs: number | undefined;
  rewrite: Duplex | undefined;
}): Promise<{ archive: ArchiveSummary; plain: Digest; stored: Digest; key: string }> {
  const { dump, writer, signal } = options;
  const archive = createArchiveTap();
  const archiveStage: Stage<undefined> = {
    name: "archive",
    kind: "tap",
    stream: archive.stream,
    result: () => undefined,
  };
  const stages = writeStages({
    recipients: options.recipients,
    compression: options.compression,
    plaintextTaps: [archiveStage],
    // A rewrite passes pg_dump's own chunks on (slices of them): they are never refilled then.
    releaseInput: options.rewrite ? undefined : dump.release,
  });
  const chain = compose(stages);
  const progress = startProgress({
    what: "backup",
    log: options.log,
    everyMs: options.progressEveryMs,
    sample: () => {
      const { tablesDone, tablesTotal } = archive.progress();
      return {
        read: liveBytes(stages, PLAINTEXT),
        stored: liveBytes(stages, STORED),
        ...(tablesTotal > 0 ? { tables: { done: tablesDone, total: tablesTotal } } : {}),
      };
    },
  });
  const controller = new AbortController();
  let firstError: unknown;
  const stop = (error: unknown) => {
    if (firstError !== undefined) return;
    firstError = error;
    controller.abort(error);
    dump.kill(describeError(error));
    chain.output.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const onInterrupt = () => stop(new OperationError(`interrupted: ${describeError(signal?.reason)}`));
  signal?.addEventListener("abort", onInterrupt, { once: true });
  const watch = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      stop(error);
      throw error;
    });

  // The archive's summary once the stream went through whole: a malformed archive fails the tap's
  // stream itself, and a stream stopped for another reason (pg_dump died) must report that reason,
  // not the archive it cut short.
  const settled = Promise.allSettled([
    watch(
      pipeline([dump.output, ...(options.rewrite ? [options.rewrite] : []), ...chain.streams]).then(
        () => archive.summary,
      ),
    ),
    watch(
      writer.putArtifact(options.name, chain.output, {
        signal: controller.signal,
        sizeHint: options.sizeHint,
      }),
    ),
  ]).finally(() => progress.stop());
  // An interrupt that came before the streams were joined stops them only now that each has its
  // error handled: destroyed earlier, a stream's error had no listener and ended the process.
  if (signal?.aborted) onInterrupt();
  const [piped, put] = await settled;
  signal?.removeEventListener("abort", onInterrupt);

  const takeBack = () => writer.abort();
  if (piped.status === "rejected" || put.status === "rejected") {
    // The put is all or nothing; if it completed before something else failed, take it back.
    if (put.status === "fulfilled") await takeBack();
    // Every rejection went through stop(), so firstError came first; but a store that fails hands
    // its raw error to the stream too, and its own put error says more (which object, which store).
    const explained = [firstError, put, piped]
      .map((result) => (isRejected(result) ? result.reason : result))
      .find((error) => error instanceof LifeboatError);
    throw asOperationError(explained ?? firstError);
  }
  if (firstError !== undefined) {
    // Interrupted after every part had finished: nothing is committed.
    await takeBack();
    throw asOperationError(firstError);
  }
  const plain = chain.results.get<Digest>(PLAINTEXT);
  const stored = chain.results.get<Digest>(STORED);
  if (put.value.bytes !== stored.bytes) {
    await takeBack();
    throw new OperationError(`the store took ${put.value.bytes} bytes of the ${stored.bytes} sent`);
  }
  return { archive: piped.value, plain, stored, key: put.value.key };
}

/**
 * The manifest's `tables` and `largeObjects` from what the archive held: one entry per TABLE DATA
 * block (partitions each their own; tables without data under the scope have none), sorted by
 * schema then table in byte order.
 */
export function contentsOf(
  archive: ArchiveSummary,
  inheritanceChildren: ReadonlySet<string> = new Set(),
): {
  tables: TableCount[];
  largeObjects: LargeObjectsSummary;
} {
  const tables = archive.tables
    .map((table): TableCount => {
      const schema = table.schema ?? "";
      const name = table.table ?? "";
      const copy = parseCopyStatement(table.copyStatement ?? "");
      // An inheritance child's columns come after its parents' once restored: the archive's order
      // is kept for restore-test to read the rows back in.
      const columns = inheritanceChildren.has(qualifiedName(schema, name)) ? copy?.columns : undefined;
      // Rows pg_dump loads through the partition root are routed again by a restore.
      const loadedInto =
        copy && (copy.schema !== schema || copy.table !== name)
          ? { schema: copy.schema, table: copy.table }
          : undefined;
      return {
        schema,
        table: name,
        rows: table.rows,
        sha256: table.sha256,
        ...(columns ? { columns } : {}),
        ...(loadedInto ? { loadedInto } : {}),
      };
    })
    .sort(
      (a, b) =>
        Buffer.compare(Buffer.from(a.schema), Buffer.from(b.schema)) ||
        Buffer.compare(Buffer.from(a.table), Buffer.from(b.table)),
    );
  const { count, bytes, sha256 } = archive.largeObjects;
  return { tables, largeObjects: { count, bytes, sha256 } };
}

function isRejected(value: unknown): value is PromiseRejectedResult {
  return (
    typeof value === "object" && value !== null && (value as PromiseRejectedResult).status === "rejected"
  );
}

function asOperationError(error: unknown): LifeboatError {
  if (error instanceof LifeboatError) return error;
  return new OperationError(describeError(error), { cause: error });
}

/**
 * An upper estimate of the dump's size, for sizing multipart uploads. An uncompressed dump can be
 * larger than the database on disk (bytea is written as hex text), rarely more than twice.
 */
export function dumpSizeCeiling(databaseBytes: number): number {
  return 2 * databaseBytes + 1024 ** 3;
}

/** The comment at the top of the roles object: what it is and how to apply it. */
function rolesHeader(database: string, preset: Preset): string {
  return [
    `Roles of the cluster holding "${database}": pg_dumpall --roles-only --no-role-passwords,`,
    preset === "supabase"
      ? "without the Supabase platform's reserved roles and pg_* roles (docs/supabase.md)."
      : "without pg_* roles.",
    'Apply before pg_restore: psql -f roles.sql (existing roles report "already exists").',
  ].join("\n");
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
