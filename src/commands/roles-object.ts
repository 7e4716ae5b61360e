/**
 * The roles object beside a dump (`roles.sql.age`, or `roles.sql` unencrypted): written by backup
 * before the manifest, checked by verify, decrypted and applied by restore-test. It is small (a
 * few KiB), so it is encrypted and read in memory.
 */
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDecryptStream, type Identity } from "../crypto/age/index.js";
import type pg from "pg";
import { describeError, OperationError } from "../domain/errors.js";
import { backupPrefix } from "../domain/layout.js";
import type { Manifest, RolesInfo } from "../domain/manifest.js";
import { applyRoles, type AppliedRoles } from "../postgres/roles.js";
import type { PutOptions, Store } from "../storage/store.js";
import { HashTap } from "../streams/hash-tap.js";

/** Encrypts the roles SQL with `encrypt` (a fresh stream to the backup's recipients) and stores it. */
export async function putRolesObject(options: {
  store: Store;
  key: string;
  sql: string;
  count: number;
  encrypt: Transform;
  put: PutOptions;
}): Promise<RolesInfo> {
  const plain = new HashTap();
  const stored = new HashTap();
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from(options.sql, "utf8")]),
    plain,
    options.encrypt,
    stored,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  const body = Buffer.concat(chunks);
  await options.store.put(options.key, Readable.from([body]), {
    ...options.put,
    contentType: "application/octet-stream",
    sizeHint: body.length,
  });
  return {
    name: options.key.slice(options.key.lastIndexOf("/") + 1),
    bytes: stored.bytes,
    sha256: stored.sha256,
    plaintext: { bytes: plain.bytes, sha256: plain.sha256 },
    count: options.count,
  };
}

export interface RolesCheck {
  /** What does not match the manifest, one sentence each. */
  problems: string[];
  /** The SQL, when decrypted (identities given) and every check passed. */
  sql: string | undefined;
}

/**
 * Reads the roles object and checks it against the manifest: the stored bytes' size and sha256,
 * and with `identities` (an empty list for an unencrypted backup) the plaintext's too.
 */
export async function readRolesObject(
  store: Store,
  manifest: Manifest,
  identities: Identity[] | undefined,
): Promise<RolesCheck> {
  const roles = manifest.roles;
  if (!roles) return { problems: [], sql: undefined };
  const key = `${backupPrefix(manifest.label, manifest.backupId)}${roles.name}`;
  const stored = new HashTap();
  const plain = new HashTap();
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const decrypting = identities !== undefined && identities.length > 0;
  try {
    const chain = [
      await store.get(key),
      stored,
      ...(decrypting ? [createDecryptStream(identities)] : []),
      plain,
      sink,
    ];
    await pipeline(chain);
  } catch (error) {
    if (stored.bytes !== roles.bytes) {
      return {
        problems: [`${roles.name}: ${stored.bytes} bytes read, the manifest says ${roles.bytes}`],
        sql: undefined,
      };
    }
    return { problems: [`reading ${roles.name} failed: ${describeError(error)}`], sql: undefined };
  }
  if (stored.bytes !== roles.bytes || stored.sha256 !== roles.sha256) {
    return {
      problems: [
        `${roles.name}: ${stored.bytes} bytes with sha256 ${stored.sha256}; the manifest says ${roles.bytes} bytes, sha256 ${roles.sha256}`,
      ],
      sql: undefined,
    };
  }
  if (identities === undefined) return { problems: [], sql: undefined };
  if (plain.bytes !== roles.plaintext.bytes || plain.sha256 !== roles.plaintext.sha256) {
    return {
      problems: [
        `${roles.name} decrypts to ${plain.bytes} bytes with sha256 ${plain.sha256}; the manifest says ${roles.plaintext.bytes} bytes, sha256 ${roles.plaintext.sha256}`,
      ],
      sql: undefined,
    };
  }
  return { problems: [], sql: Buffer.concat(chunks).toString("utf8") };
}

/** Reads, checks and applies the backup's roles object to a server (restore-test's scratch server). */
export async function applyRolesObject(
  client: pg.Client,
  store: Store,
  manifest: Manifest,
  identities: Identity[],
): Promise<AppliedRoles> {
  const read = await readRolesObject(store, manifest, identities);
  if (read.sql === undefined) {
    throw new OperationError(
      read.problems[0] ?? `${manifest.roles?.name ?? "the roles object"} could not be read`,
    );
  }
  return applyRoles(client, read.sql);
}
