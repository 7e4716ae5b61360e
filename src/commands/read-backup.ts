/**
 * Reading a backup back: the stored object streamed from the store, its sha256 and size taken on
 * the way, then (with an identity) decrypted, with the plaintext's sha256 and size taken too. Never
 * a local copy unless the caller writes one.
 */
import type { Readable } from "node:stream";
import {
  createDecryptStream,
  parseIdentities,
  passphraseIdentity,
  recipientOf,
  type Identity,
} from "../crypto/age/index.js";
import { InputError } from "../domain/errors.js";
import { backupPrefix } from "../domain/layout.js";
import type { Manifest } from "../domain/manifest.js";
import { findPgTool, type PgTool } from "../postgres/pg-dump-finder.js";
import type { DecryptionKeys, PgClientSettings } from "../settings/types.js";
import type { ToolCache } from "../postgres/pg-install.js";
import type { Store } from "../storage/store.js";
import { HashTap } from "../streams/hash-tap.js";
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

export interface OpenedBackup {
  /** sha256 and size of the stored object's bytes, as they come from the store. */
  stored: HashTap;
  /** sha256 and size of the plaintext archive; undefined when only the stored object is read. */
  plain: HashTap | undefined;
  /** Every stream of the chain in order, for stream.pipeline(); the last one yields the bytes. */
  chain: (Readable | NodeJS.ReadWriteStream)[];
}

/**
 * Streams a backup's object: `decrypt` undefined reads the stored bytes only; otherwise the chain
 * ends in the plaintext archive (decrypted with these identities, or as stored when the backup is
 * unencrypted and `decrypt` is an empty list).
 */
export async function openBackup(
  store: Store,
  manifest: Manifest,
  decrypt: Identity[] | undefined,
): Promise<OpenedBackup> {
  const key = `${backupPrefix(manifest.label, manifest.backupId)}${manifest.object.name}`;
  const stored = new HashTap();
  const chain: (Readable | NodeJS.ReadWriteStream)[] = [await store.get(key), stored];
  if (decrypt === undefined) return { stored, plain: undefined, chain };
  if (decrypt.length > 0) chain.push(createDecryptStream(decrypt));
  const plain = new HashTap();
  chain.push(plain);
  return { stored, plain, chain };
}

/** A pg_restore that reads this backup's archive: of the dump's pg_dump major or newer. */
export function findPgRestoreFor(
  manifest: Manifest,
  settings: PgClientSettings,
  deps: { env: NodeJS.ProcessEnv; log?: Logger; toolCache?: ToolCache | undefined },
): Promise<PgTool> {
  return findPgTool({
    name: "pg_restore",
    serverMajor: Number(manifest.tool.pgDumpVersion.split(".")[0]),
    serverVersion: manifest.tool.pgDumpVersion,
    target: `read archives made by pg_dump ${manifest.tool.pgDumpVersion}`,
    pgBinDir: settings.pgBinDir,
    pgVersion: settings.pgVersion,
    installPgClient: settings.installPgClient,
    env: deps.env,
    cache: deps.toolCache,
    log: deps.log,
  });
}
