/**
 * keygen: an age key pair (the identity, secret, to a new 0600 file; the recipient to stdout), or
 * with --signing a minisign signing key pair (docs/evidence.md): the secret key to the file, the
 * public key beside it (`.pub`) and to stdout.
 */
import { existsSync, writeFileSync } from "node:fs";
import { generateIdentity } from "../../crypto/age/index.js";
import { generateSigningKey } from "../../crypto/minisign/index.js";
import { InputError } from "../../domain/errors.js";
import { readOptions } from "../../settings/read-option.js";
import { commandSpec, OPTIONS } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";

interface KeygenSettings {
  output: string;
  signing: boolean;
}

type KeygenResult =
  | { kind: "age"; identityFile: string; recipient: string }
  | { kind: "signing"; secretKeyFile: string; publicKeyFile: string; publicKey: string; keyId: string };

/** Where the public key of a signing key goes: `lifeboat.key` -> `lifeboat.pub`, else `<file>.pub`. */
export function publicKeyPath(secretKeyFile: string): string {
  return secretKeyFile.endsWith(".key")
    ? `${secretKeyFile.slice(0, -".key".length)}.pub`
    : `${secretKeyFile}.pub`;
}

function refuseExisting(path: string): void {
  if (existsSync(path)) {
    throw new InputError(`--output "${path}": the file exists; refusing to overwrite a key`, {
      input: "output",
    });
  }
}

function writeNew(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode, flag: "wx" });
  } catch (error) {
    // A missing or read-only directory is the path the user gave, not a fault of ours.
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new InputError(
      `--output "${path}": cannot create the file (${code}); expected a new file in an existing, writable directory`,
      { input: "output", cause: error },
    );
  }
}

export const keygenCommand: CommandDefinition<KeygenSettings, KeygenResult> = {
  spec: commandSpec("keygen"),
  parse: (raw) => readOptions(raw, { output: OPTIONS.output, signing: OPTIONS.signing }),
  run: async ({ output, signing }, { log, now }) => {
    refuseExisting(output);
    if (signing) {
      const publicKeyFile = publicKeyPath(output);
      refuseExisting(publicKeyFile);
      // Unencrypted, like `minisign -G -W`: the job that signs has no terminal for a password, and
      // its secret store is the key's protection (docs/evidence.md).
      const key = await generateSigningKey({ comment: `lifeboat, created ${now().toISOString()}` });
      writeNew(output, key.secretKeyText, 0o600);
      writeNew(publicKeyFile, key.publicKeyText, 0o644);
      log.info(
        `Signing key ${key.keyId} written to ${output} (keep it secret); the public key is in ${publicKeyFile} and is:`,
      );
      return {
        kind: "signing",
        secretKeyFile: output,
        publicKeyFile,
        publicKey: key.signingKey.publicKey.base64,
        keyId: key.keyId,
      };
    }
    const { identity, recipient } = generateIdentity();
    writeNew(output, `# created: ${now().toISOString()}\n# public key: ${recipient}\n${identity}\n`, 0o600);
    log.info(`Identity written to ${output} (keep it secret); the public key (recipient) is:`);
    return { kind: "age", identityFile: output, recipient };
  },
  text: (result) => (result.kind === "age" ? result.recipient : result.publicKey),
  json: (result) => {
    const { kind: _kind, ...rest } = result;
    return rest;
  },
};
