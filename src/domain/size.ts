import { InputError } from "./errors.js";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** A byte size: a number with an optional unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB). */
export function parseSize(text: string, input: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new InputError(`--${input} "${text}": expected a size such as 500MB, 2GiB or 1048576`, { input });
  }
  return Math.round(Number(match[1]) * factor);
}

/** A percentage: `50%` or `50`, as a fraction (0.5). */
export function parsePercent(text: string, input: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!match) throw new InputError(`--${input} "${text}": expected a percentage such as 50%`, { input });
  return Number(match[1]) / 100;
}
