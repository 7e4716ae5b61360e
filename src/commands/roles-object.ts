/**
 * The roles object beside a dump (`roles.sql.age`, or `roles.sql` unencrypted): written by backup
 * before the manifest, checked by verify, decrypted and applied by restore-test. It is small (a
 * few KiB), so its SQL is held in memory once read.
 */
import { Readable, Writable } from "node:stream";
import type pg from "pg";
import type { Identity, Recipient } from "../crypto/age/index.js";
import { OperationError } from "../domain/errors.js";
import type { Digest, Manifest, RolesArtifact } from "../domain/manifest.js";
import { rolesArtifact } from "../domain/manifest.js";
import { PLAINTEXT, STORED, writeStages } from "../pipeline/artifact-stages.js";
import { runIntoConsumer } from "../pipeline/pipeline.js";
import { applyRoles, type AppliedRoles } from "../postgres/roles.js";
import type { BackupRepository, BackupWriter } from "../repository/backup-repository.js";
import { readArtifact } from "../repository/read-artifact.js";

/** Encrypts the roles SQL to `recipients` (none: unencrypted) and writes it as the backup's artifact `name`. */
export async function putRolesObject(options: {
  writer: BackupWriter;
  name: string;
  sql: string;
  count: number;
  recipients: readonly Recipient[];
  signal?: AbortSignal | undefined;
}): Promise<RolesArtifact> {
  const body = Buffer.from(options.sql, "utf8");
  const { results } = await runIntoConsumer(
    Readable.from([body]),
    writeStages({ recipients: options.recipients, compression: "none" }),
    (output) =>
      options.writer.putArtifact(options.name, output, {
        // age adds a header of a few hundred bytes per recipient and 16 bytes per 64 KiB.
        sizeHint: body.length + 1024 * (options.recipients.length + 1),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
  );
  return {
    name: options.name,
    kind: "roles",
    stored: results.get<Digest>(STORED),
    plaintext: results.get<Digest>(PLAINTEXT),
    compression: "none",
    encryption: options.recipients.length > 0 ? "age-v1" : "none",
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
  repository: BackupRepository,
  manifest: Manifest,
  identities: Identity[] | undefined,
): Promise<RolesCheck> {
  const roles = rolesArtifact(manifest);
  if (!roles) return { problems: [], sql: undefined };
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const read = await readArtifact(repository, manifest, roles, identities, { sink });
  if (read.problems.length > 0 || identities === undefined)
    return { problems: read.problems, sql: undefined };
  return { problems: [], sql: Buffer.concat(chunks).toString("utf8") };
}

/** Reads, checks and applies the backup's roles object to a server (restore-test's scratch server). */
export async function applyRolesObject(
  client: pg.Client,
  repository: BackupRepository,
  manifest: Manifest,
  identities: Identity[],
): Promise<AppliedRoles> {
  const read = await readRolesObject(repository, manifest, identities);
  if (read.sql === undefined) {
    throw new OperationError(
      read.problems[0] ?? `${rolesArtifact(manifest)?.name ?? "the roles object"} could not be read`,
    );
  }
  return applyRoles(client, read.sql);
}
