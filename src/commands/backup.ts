/**
 * backup: preflight, dump, encrypt, stream into the store, count rows in the dump's snapshot, and
 * commit by writing the manifest last. Anything that fails before the manifest is written leaves
 * no object behind and no manifest: the next run starts clean.
 */
import { PassThrough, Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { newBackupId } from "../domain/backup-id.js";
import { buildPgDumpArgs, formatCompression, parseCompression } from "../domain/dump-plan.js";
import { describeError, LifeboatError, OperationError } from "../domain/errors.js";
import { dumpKey, manifestKey, rolesKey, ENCRYPTED_DUMP_FILE, PLAIN_DUMP_FILE } from "../domain/layout.js";
import {
  MANIFEST_SCHEMA_VERSION,
  serializeManifest,
  type EncryptionInfo,
  type Manifest,
  type RolesInfo,
  type TableCount,
} from "../domain/manifest.js";
import { isReservedRole, supabaseExtensionArgs, type Preset } from "../domain/supabase-preset.js";
import { provenanceFromEnv } from "../domain/provenance.js";
import { createEncryptStream, parseRecipient, passphraseRecipient } from "../crypto/age/index.js";
import { connect, readServerInfo } from "../postgres/connect.js";
import { preflight } from "../postgres/doctor.js";
import { findPgTool } from "../postgres/pg-dump-finder.js";
import type { ToolCache } from "../postgres/pg-install.js";
import { startPgDump, type RunningDump } from "../postgres/pg-dump.js";
import { exportSnapshot } from "../postgres/snapshot.js";
import { listExtensions } from "../postgres/extensions.js";
import { dumpRoles } from "../postgres/roles.js";
import { putRolesObject } from "./roles-object.js";
import type { BackupSettings } from "../settings/types.js";
import type { PutOptions, Store } from "../storage/store.js";
import { HashTap } from "../streams/hash-tap.js";
import { LIFEBOAT_VERSION } from "../version.js";
import type { Logger } from "./logger.js";

export interface BackupDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  log: Logger;
  /** Aborting (Ctrl-C, a cancelled job) stops pg_dump and the upload; nothing is committed. */
  signal?: AbortSignal;
  /** Where an installed pg_dump is cached between runs (actions/cache); none on the CLI. */
  toolCache?: ToolCache;
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

function encryptionFor(settings: BackupSettings): { stream: Transform; info: EncryptionInfo } {
  const { encryption } = settings;
  if (encryption.kind === "none") return { stream: new PassThrough(), info: { format: "none" } };
  if (encryption.kind === "passphrase") {
    return {
      stream: createEncryptStream([passphraseRecipient(encryption.passphrase)]),
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
    stream: createEncryptStream([...unique.values()]),
    info: { format: "age-v1", recipients: [...unique.keys()], passphrase: false },
  };
}

export async function runBackup(settings: BackupSettings, deps: BackupDeps): Promise<BackupResult> {
  const { store, log } = deps;
  const started = deps.now();
  const startedMs = performance.now();
  // Recipients are checked before anything connects or writes.
  const encryption = encryptionFor(settings);

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
    const pgDump = await findPgTool({
      name: "pg_dump",
      serverMajor: server.major,
      serverVersion: server.version,
      pgBinDir: settings.pgBinDir,
      pgVersion: settings.pgVersion,
      installPgClient: settings.installPgClient,
      env: deps.env,
      cache: deps.toolCache,
      log,
    });
    const compression = parseCompression(settings.compression, pgDump.major);
    // The store is checked once the database side is known to work, so a typo in the URL
    // leaves not even an empty directory behind.
    await store.check();
    log.info(
      `PostgreSQL ${server.version} at ${settings.databaseUrl.host}:${settings.databaseUrl.port}/${server.database}; pg_dump ${pgDump.version} (${pgDump.path}); compression ${formatCompression(compression)}`,
    );

    const backupId = newBackupId(started);
    const retention = settings.objectLock && {
      mode: settings.objectLock.mode,
      until: new Date(started.getTime() + settings.objectLock.days * 86_400_000),
    };
    const encrypted = encryption.info.format !== "none";
    const objectKey = dumpKey(settings.label, backupId, encrypted);
    // Read before the dump starts: a failure here leaves nothing behind to take back.
    const preset = settings.preset ?? "none";
    const presetArgs = preset === "supabase" ? supabaseExtensionArgs(await listExtensions(client)) : [];
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
    const args = buildPgDumpArgs({
      scope: settings.scope,
      compression,
      pgDumpMajor: pgDump.major,
      snapshot: snapshot.id,
      extraArgs: [...settings.extraArgs, ...presetArgs],
    });
    log.info(`Backing up into ${store.url}/${objectKey}`);

    const { tables, plain, stored } = await streamDump({
      dump: startPgDump({ pgDump, args, url: settings.databaseUrl, env: deps.env }),
      encrypt: encryption.stream,
      store,
      objectKey,
      sizeHint: dumpSizeCeiling(server.databaseBytes),
      retention,
      counting: snapshot
        .countRows(settings.scope, {
          excludeUnlogged: settings.extraArgs.includes("--no-unlogged-table-data"),
        })
        .catch((error: unknown) => {
          throw new OperationError(`counting rows in the dump's snapshot failed: ${describeError(error)}`, {
            cause: error,
          });
        }),
      signal: deps.signal,
    }).finally(async () => {
      await snapshot.release().catch(() => undefined);
      await closeClient();
    });

    // The roles object goes in before the manifest, like the dump; a failure takes both back.
    const rolesObjectKey = roles && rolesKey(settings.label, backupId, encrypted);
    let rolesInfo: RolesInfo | undefined;
    if (roles && rolesObjectKey) {
      try {
        rolesInfo = await putRolesObject({
          store,
          key: rolesObjectKey,
          sql: roles.sql,
          count: roles.roles.length,
          encrypt: encryptionFor(settings).stream,
          put: { signal: deps.signal, retention },
        });
      } catch (error) {
        await store.deleteMany([objectKey, rolesObjectKey]).catch(() => undefined);
        throw asOperationError(error);
      }
      log.info(
        `Roles: ${roles.roles.length} in ${rolesInfo.name}${roles.left.length > 0 ? `; reserved, left out: ${roles.left.join(", ")}` : ""}`,
      );
    }

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
        compression: formatCompression(compression),
        scope: settings.scope,
        plaintext: { bytes: plain.bytes, sha256: plain.sha256 },
      },
      object: {
        name: encrypted ? ENCRYPTED_DUMP_FILE : PLAIN_DUMP_FILE,
        bytes: stored.bytes,
        sha256: stored.sha256,
      },
      encryption: encryption.info,
      preset,
      ...(rolesInfo ? { roles: rolesInfo } : {}),
      tables,
      totalRows: tables.reduce((sum, table) => sum + table.rows, 0),
      objectLock: retention ? { mode: retention.mode, retainUntil: retention.until.toISOString() } : null,
      provenance: provenanceFromEnv(deps.env),
    };
    const key = manifestKey(settings.label, backupId);
    try {
      await store.put(key, Readable.from([Buffer.from(serializeManifest(manifest))]), {
        contentType: "application/json",
        signal: deps.signal,
        retention,
      });
    } catch (error) {
      await store.deleteMany([objectKey, ...(rolesObjectKey ? [rolesObjectKey] : [])]).catch(() => undefined);
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
 * pg_dump -> sha256 -> age -> sha256 -> store, with the row counts running beside it. The first
 * failure anywhere (pg_dump, the store, the counts, an interrupt) stops everything else: pg_dump is
 * killed, the upload aborted, and an object that was completed anyway is deleted again.
 */
async function streamDump(options: {
  dump: RunningDump;
  encrypt: Transform;
  store: Store;
  objectKey: string;
  sizeHint: number;
  retention: PutOptions["retention"];
  counting: Promise<TableCount[]>;
  signal: AbortSignal | undefined;
}): Promise<{ tables: TableCount[]; plain: HashTap; stored: HashTap }> {
  const { dump, store, objectKey, signal } = options;
  const plain = new HashTap();
  const stored = new HashTap();
  const controller = new AbortController();
  let firstError: unknown;
  const stop = (error: unknown) => {
    if (firstError !== undefined) return;
    firstError = error;
    controller.abort(error);
    dump.kill(describeError(error));
    stored.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const onInterrupt = () => stop(new OperationError(`interrupted: ${describeError(signal?.reason)}`));
  if (signal?.aborted) onInterrupt();
  signal?.addEventListener("abort", onInterrupt, { once: true });
  const watch = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      stop(error);
      throw error;
    });

  const [piped, put, counted] = await Promise.allSettled([
    watch(pipeline(dump.output, plain, options.encrypt, stored)),
    watch(
      store.put(objectKey, stored, {
        signal: controller.signal,
        contentType: "application/octet-stream",
        sizeHint: options.sizeHint,
        retention: options.retention,
      }),
    ),
    watch(options.counting),
  ]);
  signal?.removeEventListener("abort", onInterrupt);

  const takeBack = () => store.deleteMany([objectKey]).catch(() => undefined);
  if (piped.status === "rejected" || put.status === "rejected" || counted.status === "rejected") {
    // The put is all or nothing; if it completed before something else failed, take it back.
    if (put.status === "fulfilled") await takeBack();
    // Every rejection went through stop(), so firstError came first; but a store that fails hands
    // its raw error to the stream too, and its own put error says more (which object, which store).
    const explained = [firstError, put, piped, counted]
      .map((result) => (isRejected(result) ? result.reason : result))
      .find((error) => error instanceof LifeboatError);
    throw asOperationError(explained ?? firstError);
  }
  if (firstError !== undefined) {
    // Interrupted after every part had finished: nothing is committed.
    await takeBack();
    throw asOperationError(firstError);
  }
  if (put.value.bytes !== stored.bytes) {
    await takeBack();
    throw new OperationError(`the store took ${put.value.bytes} bytes of the ${stored.bytes} sent`);
  }
  return { tables: counted.value, plain, stored };
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
