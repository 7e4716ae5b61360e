/**
 * Re-wrapping an age file for new recipients without touching its payload (key rotation,
 * `lifeboat rekey`): the header's stanzas wrap the file key, and the payload is encrypted with a
 * key derived from the file key and the payload nonce alone. So a new header, wrapping the same
 * file key for other recipients and MACed with it, followed by the old payload byte for byte, is a
 * valid age file that only the new recipients can open.
 */
import { InputError } from "../../domain/errors.js";
import { MAX_HEADER_LENGTH, unlock } from "./decrypt.js";
import { encodeHeaderWithoutMac, encodeMacLine, malformed, scanHeader } from "./format.js";
import type { Identity, Recipient } from "./keys.js";
import { headerMac } from "./primitives.js";

/**
 * The age file `source` with its header replaced by one for `recipients`; the payload passes
 * through unchanged. Throws (as decryption would) when no identity opens the old header or its MAC
 * is wrong: a file the old identity cannot open is never rewritten.
 */
export async function* rewrapAge(
  source: AsyncIterable<Buffer | Uint8Array>,
  identities: readonly Identity[],
  recipients: readonly Recipient[],
): AsyncGenerator<Buffer> {
  if (recipients.length === 0) throw new InputError("rekey: at least one new recipient is needed");
  if (recipients.length > 1 && recipients.some((recipient) => recipient.kind === "scrypt")) {
    throw new InputError("rekey: a passphrase cannot be combined with other recipients");
  }
  let buffered = Buffer.alloc(0);
  let lineStart = 0;
  let headerDone = false;
  for await (const chunk of source) {
    const data = Buffer.from(chunk);
    if (headerDone) {
      yield data;
      continue;
    }
    buffered = Buffer.concat([buffered, data]);
    const scan = scanHeader(buffered, lineStart);
    if (!scan.done) {
      if (buffered.length > MAX_HEADER_LENGTH) {
        throw malformed(`no header MAC line within the first ${MAX_HEADER_LENGTH} bytes`);
      }
      lineStart = scan.offset;
      continue;
    }
    const fileKey = await unlock(buffered.subarray(0, scan.offset), identities);
    try {
      const stanzas = (await Promise.all(recipients.map((recipient) => recipient.wrap(fileKey)))).flat();
      const header = encodeHeaderWithoutMac(stanzas);
      yield Buffer.concat([
        header,
        encodeMacLine(headerMac(fileKey, header)),
        buffered.subarray(scan.offset),
      ]);
    } finally {
      fileKey.fill(0);
    }
    headerDone = true;
    buffered = Buffer.alloc(0);
  }
  if (!headerDone) throw malformed("the file ends inside its header");
}
