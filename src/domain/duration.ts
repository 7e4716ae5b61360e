/**
 * Durations as people type them in options such as `keep-within`, `safe-age` and `max-age`:
 * one or more `<whole number><unit>` parts, largest unit first, each unit at most once, no spaces:
 *
 *   w  week (7 days)   d  day (24 hours)   h  hour   m  minute   s  second
 *
 * e.g. `36h`, `7d`, `2w`, `1d12h`, `90m`, `1w2d3h4m5s`. Months and years are left out on purpose:
 * their length varies, and `m` is minutes. A day is always 24 hours (UTC has no daylight saving).
 */
import { InputError } from "./errors.js";

const UNITS = [
  ["w", 7 * 24 * 3_600_000],
  ["d", 24 * 3_600_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
] as const;

const PART = /(\d+)([wdhms])/y;

/** What a duration looks like, for error messages. */
export const DURATION_FORMS = "a duration such as 36h, 7d, 2w, 1d12h or 90m (units w, d, h, m, s)";

/** The duration in milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const source = text.trim();
  if (source === "") return undefined;
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < source.length) {
    const match = PART.exec(source);
    if (!match) return undefined;
    const unit = UNITS.findIndex(([name]) => name === match[2]);
    // Largest unit first and each unit once: "1h1d" and "1h2h" are typos, not durations.
    if (unit <= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(match[1]) * UNITS[unit]![1];
    if (!Number.isSafeInteger(total)) return undefined;
  }
  return total;
}

/**
 * Parses the option `input`'s value, or throws the InputError that names it:
 * `--keep-within "7 days": expected a duration such as 36h, 7d, ...`.
 */
export function parseDurationOption(text: string, input: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InputError(`--${input} "${text}": expected ${DURATION_FORMS}`, { input });
  return ms;
}

/**
 * The shortest text parseDuration reads back as `ms` (rounded down to whole seconds): `1d12h`,
 * `90m` is `1h30m`, 0 is `0s`.
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000)) * 1000;
  if (rest === 0) return "0s";
  let text = "";
  for (const [name, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${name}`;
    rest -= count * size;
  }
  return text;
}
