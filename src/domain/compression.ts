/**
 * Lifeboat's own compression of the dump (pg_dump writes -Z0): the method and level a user asks
 * for with `--compression`, parsed once.
 */
import { InputError } from "./errors.js";

export type CompressionMethod = "zstd" | "gzip" | "none";

export type CompressionSpec =
  | { readonly method: "zstd"; readonly level: number }
  | { readonly method: "gzip"; readonly level: number }
  | { readonly method: "none" };

/**
 * Level 1 of zstd: on a pgbench-style archive it stores within 1-2% of level 3's size at about
 * 1.5x its speed (docs/benchmarks.md, "Compression engine"), and compression is the pipeline's
 * bottleneck once pg_dump stops compressing.
 */
export const DEFAULT_ZSTD_LEVEL = 1;
/** gzip's fastest level: the gzip option is for compatibility, not for size. */
export const DEFAULT_GZIP_LEVEL = 1;
export const DEFAULT_COMPRESSION: CompressionSpec = { method: "zstd", level: DEFAULT_ZSTD_LEVEL };

const LEVELS = { zstd: [1, 22], gzip: [1, 9] } as const;
const EXPECTED = "expected zstd[:1-22], gzip[:1-9] or none";

/** Parses `zstd`, `zstd:N`, `gzip`, `gzip:N` or `none` (an InputError naming --compression otherwise). */
export function parseCompression(text: string): CompressionSpec {
  const value = text.trim().toLowerCase();
  const fail = (why: string): never => {
    throw new InputError(`--compression "${text}": ${why}`, { input: "compression" });
  };
  if (value === "none") return { method: "none" };
  const match = /^(zstd|gzip)(?::(\d{1,3}))?$/.exec(value);
  if (!match) return fail(EXPECTED);
  const method = match[1] as "zstd" | "gzip";
  const [min, max] = LEVELS[method];
  const level =
    match[2] === undefined ? (method === "zstd" ? DEFAULT_ZSTD_LEVEL : DEFAULT_GZIP_LEVEL) : Number(match[2]);
  if (level < min || level > max) fail(`${method} levels go from ${min} to ${max}`);
  return { method, level };
}

/** The canonical text of a spec, as the manifest records it: `zstd:1`, `gzip:6`, `none`. */
export function formatCompression(spec: CompressionSpec): string {
  return spec.method === "none" ? "none" : `${spec.method}:${spec.level}`;
}
