import { randomBytes } from "node:crypto";

/**
 * Backup ids sort by time as plain strings: `YYYYMMDDTHHMMSSZ-<mmm><random>` in UTC. The suffix
 * starts with the milliseconds (three digits), so that two backups started in the same second sort
 * in the order they started ("latest" and prune's newest are the truly newest); the random part
 * keeps two started in the same millisecond apart. Ids written before the milliseconds were added
 * (`-<random>` only) still parse; within their second they sort by their random part.
 */
const BACKUP_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z0-9]{6,16})$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function newBackupId(now: Date, random: Buffer = randomBytes(6)): string {
  const iso = now.toISOString();
  const stamp = iso.replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const millis = iso.slice(20, 23);
  const suffix = [...random].map((byte) => ALPHABET[byte % ALPHABET.length]).join("");
  return `${stamp}-${millis}${suffix}`;
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
