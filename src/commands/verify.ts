/**
 * verify: the chosen backup against its manifest. Without a key: the stored object's size and
 * sha256, streamed. With one: also decrypted, the plaintext's sha256, and the archive's table of
 * contents read by pg_restore (every table the manifest counts must be in it). Then the gates
 * (max-age, max-size-change, min-size), and a check record beside the backup.
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeError, LifeboatError, OperationError } from "../domain/errors.js";
import { evaluateGates, storedSize } from "../domain/verify-gates.js";
import type { ToolCache } from "../postgres/pg-install.js";
import { listArchive, missingTableData } from "../postgres/pg-restore-list.js";
import type { VerifySettings } from "../settings/types.js";
import type { Store } from "../storage/store.js";
import { resolveBackup } from "./catalog.js";
import { writeCheckRecord, type CheckKind } from "./check-record.js";
import type { Logger } from "./logger.js";
import { readRolesObject } from "./roles-object.js";
import { findPgRestoreFor, identitiesFor, openBackup } from "./read-backup.js";

export interface VerifyResult {
  verified: boolean;
  kind: CheckKind;
  backupId: string;
  backupAgeSeconds: number;
  storedBytes: number;
  tablesListed: number | undefined;
  failures: string[];
  warnings: string[];
  checkKey: string;
}

export async function runVerify(
  settings: VerifySettings,
  deps: { store: Store; env: NodeJS.ProcessEnv; now: () => Date; log: Logger; toolCache?: ToolCache },
): Promise<VerifyResult> {
  const { store, log } = deps;
  await store.check();
  const { folder, manifest, committed } = await resolveBackup(store, settings.label, settings.backup);
  const name = `${settings.label}/${manifest.backupId}`;
  const unencrypted = manifest.encryption.format === "none";
  const deep =
    unencrypted || settings.keys.identityText !== undefined || settings.keys.passphrase !== undefined;
  // Keys and tools are checked before a byte is downloaded.
  const identities = deep ? identitiesFor(manifest, settings.keys, name) : undefined;
  const pgRestore = deep ? await findPgRestoreFor(manifest, settings, deps) : undefined;
  const kind: CheckKind = deep ? "verify-deep" : "verify";
  log.info(
    `Verifying ${store.url}/${name} (${deep ? "decrypt and read the archive" : "stored object only"})`,
  );

  const failures: string[] = [];
  const listedSize = storedSize(folder);
  if (listedSize !== manifest.object.bytes) {
    failures.push(
      `the store holds ${listedSize ?? "no"} bytes of ${manifest.object.name}; the manifest says ${manifest.object.bytes}`,
    );
  }

  const opened = await openBackup(store, manifest, identities);
  const listing = pgRestore ? listArchive(pgRestore) : undefined;
  const sink =
    listing?.sink ??
    new Writable({
      write: (_chunk, _encoding, callback) => callback(),
    });
  let tablesListed: number | undefined;
  let readWhole = true;
  try {
    await pipeline([...opened.chain, sink]);
  } catch (error) {
    readWhole = false;
    failures.push(`reading the backup failed: ${describeError(error)}`);
  }
  // Hashes exist only once the whole stream was read.
  const { stored, plain } = opened;
  if (readWhole && stored.bytes !== manifest.object.bytes) {
    failures.push(
      `read ${stored.bytes} bytes of ${manifest.object.name}; the manifest says ${manifest.object.bytes}`,
    );
  } else if (readWhole && stored.sha256 !== manifest.object.sha256) {
    failures.push(
      `the sha256 of ${manifest.object.name} is ${stored.sha256}; the manifest says ${manifest.object.sha256}`,
    );
  } else if (readWhole && plain) {
    const expected = manifest.dump.plaintext;
    if (plain.bytes !== expected.bytes || plain.sha256 !== expected.sha256) {
      failures.push(
        `the decrypted archive (${plain.bytes} bytes, sha256 ${plain.sha256}) differs from the manifest's (${expected.bytes} bytes, sha256 ${expected.sha256})`,
      );
    }
  }
  if (listing) {
    try {
      const text = await listing.listing;
      tablesListed = manifest.tables.length;
      const missing = missingTableData(text, manifest.tables);
      if (missing.length > 0) failures.push(`the archive has no data for ${missing.join(", ")}`);
    } catch (error) {
      if (failures.length === 0) failures.push(describeError(error));
    }
  }

  if (manifest.roles) {
    const roles = manifest.roles;
    const listedRoles = folder.objects.find((object) => object.key.endsWith(`/${roles.name}`))?.size;
    if (listedRoles !== roles.bytes) {
      failures.push(
        `the store holds ${listedRoles ?? "no"} bytes of ${roles.name}; the manifest says ${roles.bytes}`,
      );
    } else {
      failures.push(...(await readRolesObject(store, manifest, identities)).problems);
    }
  }

  const now = deps.now();
  const gates = evaluateGates({ manifest, committed, now, gates: settings.gates });
  failures.push(...gates.failures);
  for (const warning of gates.warnings) log.warn(warning);
  const verified = failures.length === 0;
  const checkKey = await writeCheckRecord(
    store,
    {
      kind,
      label: settings.label,
      backupId: manifest.backupId,
      passed: verified,
      failures,
      warnings: gates.warnings,
      details: {
        deep,
        storedBytes: stored.bytes,
        storedSha256: readWhole ? stored.sha256 : null,
        plaintextBytes: plain?.bytes ?? null,
        plaintextSha256: readWhole && plain ? plain.sha256 : null,
        tablesListed: tablesListed ?? null,
      },
    },
    now,
  ).catch((error: unknown) => {
    throw error instanceof LifeboatError
      ? error
      : new OperationError(`writing the check record failed: ${describeError(error)}`);
  });
  return {
    verified,
    kind,
    backupId: manifest.backupId,
    backupAgeSeconds: Math.round((now.getTime() - Date.parse(manifest.startedAt)) / 1000),
    storedBytes: manifest.object.bytes,
    tablesListed,
    failures,
    warnings: gates.warnings,
    checkKey,
  };
}

/** The one-line error for a failed verification, or undefined when it passed. */
export function verifyFailureMessage(result: VerifyResult): string | undefined {
  if (result.verified) return undefined;
  const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more)` : "";
  return `backup ${result.backupId} failed verification: ${result.failures[0]}${more}`;
}
