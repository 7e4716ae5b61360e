/**
 * The textual age v1 header (age-encryption.org/v1): encoding, and strict parsing. Parsing is strict
 * because the spec requires rejecting non-canonical encodings: the header must not be malleable.
 */
import { AgeDecryptError } from "./errors.js";

export const VERSION_LINE = "age-encryption.org/v1\n";
export const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const FOOTER_PREFIX = "---";
const COLUMNS_PER_LINE = 64;
const BYTES_PER_LINE = (COLUMNS_PER_LINE / 4) * 3;
const MAC_LENGTH = 32;

/** One recipient stanza: `-> type args...` and a binary body. */
export interface Stanza {
  readonly type: string;
  readonly args: readonly string[];
  readonly body: Buffer;
}

export interface Header {
  readonly stanzas: readonly Stanza[];
  /** The header bytes the MAC covers: everything up to and including `---`. */
  readonly macInput: Buffer;
  readonly mac: Buffer;
}

/** Unpadded standard base64, as age writes it. */
export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64").replace(/=+$/, "");
}

const BASE64_TEXT = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes unpadded base64, or returns undefined unless `text` is the canonical encoding of its
 * bytes. Node's decoder skips invalid characters and ignores stray bits, hence the re-encoding check.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64_TEXT.test(text) || text.length % 4 === 1) return undefined;
  const data = Buffer.from(text, "base64");
  return encodeBase64(data) === text ? data : undefined;
}

/** True for a non-empty string of printable ASCII without spaces (VCHAR), as stanza arguments are. */
export function isValidArgument(text: string): boolean {
  return /^[\x21-\x7e]+$/.test(text);
}

function encodeStanza(stanza: Stanza): string {
  let text = `-> ${[stanza.type, ...stanza.args].join(" ")}\n`;
  const body = encodeBase64(stanza.body);
  // Full lines of 64 columns, then always a final shorter line, which is empty when the body fills
  // the last full line exactly: that short line is how a reader finds the end of the stanza.
  for (let offset = 0; offset <= body.length; offset += COLUMNS_PER_LINE) {
    text += `${body.slice(offset, offset + COLUMNS_PER_LINE)}\n`;
  }
  return text;
}

/** The header without its MAC: the exact bytes the MAC is computed over. */
export function encodeHeaderWithoutMac(stanzas: readonly Stanza[]): Buffer {
  return Buffer.from(VERSION_LINE + stanzas.map(encodeStanza).join("") + FOOTER_PREFIX, "latin1");
}

export function encodeMacLine(mac: Uint8Array): Buffer {
  return Buffer.from(` ${encodeBase64(mac)}\n`, "latin1");
}

/**
 * Scans the complete lines of `data` from `lineStart` for the MAC line, the only line that starts
 * with `---` (stanza lines start with `->` and body lines are base64, which has no `-`). Returns the
 * index just past the header, or where the first incomplete line starts, to resume once more data
 * has been appended.
 */
export function scanHeader(data: Buffer, lineStart: number): { done: boolean; offset: number } {
  for (;;) {
    const newline = data.indexOf(0x0a, lineStart);
    if (newline < 0) return { done: false, offset: lineStart };
    if (data.toString("latin1", lineStart, lineStart + 3) === FOOTER_PREFIX) {
      return { done: true, offset: newline + 1 };
    }
    lineStart = newline + 1;
  }
}

/** A decryption error for a header (or a stanza in it) that breaks the format. */
export function malformed(detail: string): AgeDecryptError {
  return new AgeDecryptError("header", `the file's age header is malformed: ${detail}`);
}

/** Parses a complete header, as delimited by scanHeader. */
export function parseHeader(header: Buffer): Header {
  const text = header.toString("latin1");
  if (!text.startsWith(VERSION_LINE)) {
    throw malformed("it does not start with the age-encryption.org/v1 version line");
  }
  const lines = text.slice(VERSION_LINE.length, -1).split("\n");
  const footer = lines.pop()!;
  const stanzas: Stanza[] = [];
  let index = 0;
  while (index < lines.length) {
    const lineNumber = index + 2;
    const [prefix, ...args] = lines[index++]!.split(" ");
    if (prefix !== "->" || args.length === 0 || !args.every(isValidArgument)) {
      throw malformed(`line ${lineNumber} is not a recipient stanza opening ("-> type args...")`);
    }
    const body: Buffer[] = [];
    for (;;) {
      if (index >= lines.length) {
        throw malformed(`the ${args[0]} stanza does not end with a short body line`);
      }
      const line = lines[index++]!;
      const decoded = line.length <= COLUMNS_PER_LINE ? decodeBase64(line) : undefined;
      if (!decoded) throw malformed(`the ${args[0]} stanza has a body line that is not canonical base64`);
      body.push(decoded);
      if (decoded.length < BYTES_PER_LINE) break;
    }
    stanzas.push({ type: args[0]!, args: args.slice(1), body: Buffer.concat(body) });
  }
  if (stanzas.length === 0) throw malformed("it has no recipient stanza");
  const [prefix, encodedMac, ...rest] = footer.split(" ");
  const mac = prefix === FOOTER_PREFIX && rest.length === 0 ? decodeBase64(encodedMac ?? "") : undefined;
  if (!mac || mac.length !== MAC_LENGTH) throw malformed("the MAC line is not `--- ` and a 32-byte MAC");
  const macInput = header.subarray(0, header.length - footer.length - 1 + FOOTER_PREFIX.length);
  return { stanzas, macInput, mac };
}
