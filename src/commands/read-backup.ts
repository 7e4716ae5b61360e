/**
 * What reading a backup back needs besides the bytes (src/repository/read-artifact.ts streams and
 * checks those): the identities that open it, and a pg_restore that reads its archive.
 */
import { parseIdentities, passphraseIdentity, recipientOf, type Identity } from "../crypto/age/index.js";
import { InputError } from "../domain/errors.js";
import type { Manifest } from "../domain/manifest.js";
import { findPgTool, type PgTool } from "../postgres/pg-dump-finder.js";
import type { DecryptionKeys, PgClientSettings } from "../settings/types.js";
import type { ToolCache } from "../postgres/pg-install.js";
import type { Logger } from "./logger.js";

/**
 * The identities that can open this backup (none for an unencrypted one), checked against the
 * manifest before anything is downloaded: a key for another recipient, or none where one is
 * needed, is bad input.
 */
export function identitiesFor(manifest: Manifest, keys: DecryptionKeys, backupName: string): Identity[] {
  const { encryption } = manifest;
  if (encryption.format === "none") return [];
  if (encryption.passphrase) {
    if (keys.passphrase === undefined) {
      throw new InputError(
        `--passphrase-file: backup ${backupName} is encrypted with a passphrase; give it with --passphrase-file or LIFEBOAT_PASSPHRASE`,
        { input: "passphrase-file" },
      );
    }
    return [passphraseIdentity(keys.passphrase)];
  }
  if (keys.identityText === undefined) {
    throw new InputError(
      `--identity-file: backup ${backupName} is encrypted to ${encryption.recipients.join(", ")}; give the matching identity with --identity-file or LIFEBOAT_IDENTITY`,
      { input: "identity-file" },
    );
  }
  const identities = parseIdentities(keys.identityText);
  const matching = identities.filter((identity) => encryption.recipients.includes(recipientOf(identity)));
  if (matching.length === 0) {
    throw new InputError(
      `--identity-file: the identity is for ${identities.map((identity) => recipientOf(identity)).join(", ")}, but backup ${backupName} is encrypted to ${encryption.recipients.join(", ")}`,
      { input: "identity-file" },
    );
  }
  return matching;
}

/** A pg_restore that reads this backup's archive: of the dump's pg_dump major or newer. */
export function findPgRestoreFor(
  manifest: Manifest,
  settings: PgClientSettings,
  deps: { env: NodeJS.ProcessEnv; log?: Logger; toolCache?: ToolCache | undefined },
): Promise<PgTool> {
  const version = manifest.tool.pgDumpVersion;
  if (version === undefined) {
    // Every command that needs pg_restore restores or reads the dump, which this backup lacks.
    throw new InputError(
      `--backup: backup ${manifest.label}/${manifest.backupId} holds no database dump (a files-only backup); its files come back with restore-files`,
      { input: "backup" },
    );
  }
  return findPgTool({
    name: "pg_restore",
    serverMajor: Number(version.split(".")[0]),
    serverVersion: version,
    target: `read archives made by pg_dump ${version}`,
    pgBinDir: settings.pgBinDir,
    pgVersion: settings.pgVersion,
    installPgClient: settings.installPgClient,
    env: deps.env,
    cache: deps.toolCache,
    log: deps.log,
  });
}
