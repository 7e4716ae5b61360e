/** keygen: an age key pair; the identity (secret) to a new 0600 file, the recipient to stdout. */
import { existsSync, writeFileSync } from "node:fs";
import { generateIdentity } from "../../crypto/age/index.js";
import { InputError } from "../../domain/errors.js";
import { readOptions } from "../../settings/read-option.js";
import { commandSpec, OPTIONS } from "../../settings/spec.js";
import type { CommandDefinition } from "../command.js";

interface KeygenSettings {
  output: string;
}

interface KeygenResult {
  identityFile: string;
  recipient: string;
}

export const keygenCommand: CommandDefinition<KeygenSettings, KeygenResult> = {
  spec: commandSpec("keygen"),
  parse: (raw) => readOptions(raw, { output: OPTIONS.output }),
  run: ({ output }, { log, now }) => {
    if (existsSync(output)) {
      throw new InputError(`--output "${output}": the file exists; refusing to overwrite a key`, {
        input: "output",
      });
    }
    const { identity, recipient } = generateIdentity();
    try {
      writeFileSync(output, `# created: ${now().toISOString()}\n# public key: ${recipient}\n${identity}\n`, {
        mode: 0o600,
        flag: "wx",
      });
    } catch (error) {
      // A missing or read-only directory is the path the user gave, not a fault of ours.
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new InputError(
        `--output "${output}": cannot create the file (${code}); expected a new file in an existing, writable directory`,
        { input: "output", cause: error },
      );
    }
    log.info(`Identity written to ${output} (keep it secret); the public key (recipient) is:`);
    return Promise.resolve({ identityFile: output, recipient });
  },
  text: (result) => result.recipient,
  json: (result) => ({ ...result }),
};
