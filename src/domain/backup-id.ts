import { randomBytes } from "node:crypto";

/**
 * Backup ids sort by time as plain strings: `YYYYMMDDTHHMMSSZ-<random>` in UTC, the random part
 * keeping two backups started in the same second apart.
 */
const BACKUP_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z0-9]{6,16})$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function newBackupId(now: Date, random: Buffer = randomBytes(6)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  const suffix = [...random].map((byte) => ALPHABET[byte % ALPHABET.length]).join("");
  return `${stamp}-${suffix}`;
}

export function isBackupId(text: string): boolean {
  return parseBackupIdTime(text) !== undefined;
}

/** The UTC start time encoded in a backup id, or undefined when the text is not a backup id. */
export function parseBackupIdTime(text: string): Date | undefined {
  const match = BACKUP_ID.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const time = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  // Reject ids such as 20261340T... that Date.UTC would silently roll over.
  if (time.getUTCMonth() !== month! - 1 || time.getUTCDate() !== day!) return undefined;
  return time;
}
