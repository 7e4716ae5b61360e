/**
 * The tar format as Lifeboat writes and reads it: POSIX.1-2001 pax (ustar headers, with a pax
 * extended header in front of any entry whose name, link target, size or mtime does not fit the
 * ustar fields). Readers also accept GNU long names (`L`/`K` entries) and base-256 numbers, as
 * GNU tar writes them in its default format.
 *
 * Pure functions over 512-byte blocks; no I/O.
 */
import { OperationError } from "../domain/errors.js";

export const BLOCK = 512;
/** GNU tar pads archives to its default record of 20 blocks; doing the same keeps old tars happy. */
export const RECORD = 20 * BLOCK;
/** The largest number an 11-digit octal ustar field holds: 8 GiB - 1. */
export const MAX_OCTAL_11 = 0o77777777777;

export type EntryType = "file" | "directory" | "symlink";

/** A tar entry's metadata as the reader reports it. */
export interface TarHeader {
  path: string;
  /** "hardlink" and "other" (devices, fifos) are read but never written by Lifeboat. */
  type: EntryType | "hardlink" | "other";
  size: number;
  mtime: Date;
  mode: number;
  linkTarget?: string;
}

/** A tar archive that cannot be read: damaged, truncated or not a tar at all. */
export class TarFormatError extends OperationError {}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

export function paddingFor(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

export function zeroBlocks(bytes: number): Buffer {
  return bytes <= BLOCK ? ZERO_BLOCK.subarray(0, bytes) : Buffer.alloc(bytes);
}

function isPlainAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  // width - 1 digits and a NUL, as POSIX asks.
  block.write(value.toString(8).padStart(width - 1, "0") + "\0", offset, width, "ascii");
}

function writeString(block: Buffer, offset: number, width: number, value: string): void {
  block.write(value, offset, width, "utf8");
}

/** One pax record: `<length> <key>=<value>\n`, where the length counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, "utf8");
  const digits = String(bodyBytes).length;
  let length = bodyBytes + digits;
  if (String(length).length > digits) length += 1;
  return Buffer.from(`${length}${body}`, "utf8");
}

function typeFlag(type: EntryType): string {
  return type === "file" ? "0" : type === "directory" ? "5" : "2";
}

function ustarBlock(fields: {
  name: string;
  mode: number;
  size: number;
  mtimeSeconds: number;
  flag: string;
  linkName: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, 0); // uid: ownership is not kept, restores belong to whoever restores
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtimeSeconds);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block.write(fields.flag, 156, 1, "ascii");
  writeString(block, 157, 100, fields.linkName);
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return block;
}

/**
 * The header blocks of one entry: a pax extended header when needed, then the ustar header.
 * Directory paths get their trailing "/" here.
 */
export function encodeHeader(entry: {
  path: string;
  type: EntryType;
  size: number;
  mtime: Date;
  mode: number;
  linkTarget?: string;
}): Buffer {
  const name = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const size = entry.type === "file" ? entry.size : 0;
  const seconds = Math.floor(entry.mtime.getTime() / 1000);
  const link = entry.type === "symlink" ? (entry.linkTarget ?? "") : "";
  const pax: Buffer[] = [];
  const fitsName = isPlainAscii(name) && Buffer.byteLength(name) <= 100;
  if (!fitsName) pax.push(paxRecord("path", name));
  const fitsLink = isPlainAscii(link) && Buffer.byteLength(link) <= 100;
  if (!fitsLink) pax.push(paxRecord("linkpath", link));
  const fitsSize = size <= MAX_OCTAL_11;
  if (!fitsSize) pax.push(paxRecord("size", String(size)));
  const fitsMtime = Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_OCTAL_11;
  if (!fitsMtime) pax.push(paxRecord("mtime", String(Number.isFinite(seconds) ? seconds : 0)));
  const ustar = ustarBlock({
    name: fitsName ? name : asciiStandIn(name, 100),
    mode: entry.mode,
    size: fitsSize ? size : 0,
    mtimeSeconds: fitsMtime ? seconds : 0,
    flag: typeFlag(entry.type),
    linkName: fitsLink ? link : asciiStandIn(link, 100),
  });
  if (pax.length === 0) return ustar;
  const records = Buffer.concat(pax);
  const paxHeader = ustarBlock({
    // The name of the extended header itself, as pax suggests: readers that ignore pax show it.
    name: asciiStandIn(`PaxHeaders/${name}`, 100),
    mode: 0o644,
    size: records.length,
    mtimeSeconds: fitsMtime ? seconds : 0,
    flag: "x",
    linkName: "",
  });
  return Buffer.concat([paxHeader, records, zeroBlocks(paddingFor(records.length)), ustar]);
}

/** A readable ASCII approximation for the ustar field, for tools that do not know pax. */
function asciiStandIn(text: string, width: number): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= width ? ascii : ascii.slice(ascii.length - width);
}

/** The end of an archive: two zero blocks, then zeros up to a whole record. */
export function trailer(bytesSoFar: number): Buffer {
  const end = bytesSoFar + 2 * BLOCK;
  const rest = end % RECORD;
  return Buffer.alloc(2 * BLOCK + (rest === 0 ? 0 : RECORD - rest));
}

// ---------------------------------------------------------------------------------------------
// Reading

export function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

function readString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? width : end).toString("utf8");
}

/** An octal field, or a GNU base-256 one (high bit of the first byte set). */
function readNumber(block: Buffer, offset: number, width: number): number {
  const field = block.subarray(offset, offset + width);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw new TarFormatError("tar header: negative base-256 number");
    let value = field[0]! & 0x7f;
    for (let i = 1; i < width; i += 1) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw new TarFormatError("tar header: number too large");
    return value;
  }
  const text = field.toString("ascii").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`tar header: "${text}" is not an octal number`);
  return parseInt(text, 8);
}

export function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** The raw fields of one header block, before pax or GNU overrides. */
export interface RawHeader {
  flag: string;
  name: string;
  linkName: string;
  size: number;
  mtime: number;
  mode: number;
}

export function decodeBlock(block: Buffer): RawHeader {
  if (!checksumMatches(block))
    throw new TarFormatError("tar header checksum mismatch: the archive is damaged");
  let name = readString(block, 0, 100);
  const magic = block.toString("ascii", 257, 263);
  if (magic.startsWith("ustar")) {
    const prefix = readString(block, 345, 155);
    // GNU's old format ("ustar  ") keeps other data at 345; only POSIX ustar has a prefix there.
    if (magic === "ustar\0" && prefix) name = `${prefix}/${name}`;
  }
  return {
    flag: String.fromCharCode(block[156]!),
    name,
    linkName: readString(block, 157, 100),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    mode: readNumber(block, 100, 8),
  };
}

/** Parses pax records into key/value pairs. */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number(data.toString("ascii", offset, space));
    if (!Number.isSafeInteger(length) || length <= 0 || offset + length > data.length) {
      throw new TarFormatError("pax extended header: malformed record");
    }
    const record = data.toString("utf8", space + 1, offset + length - 1);
    const equals = record.indexOf("=");
    if (equals === -1) throw new TarFormatError("pax extended header: record without '='");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

export function typeOf(flag: string): TarHeader["type"] {
  switch (flag) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "5":
      return "directory";
    case "2":
      return "symlink";
    case "1":
      return "hardlink";
    default:
      return "other";
  }
}
