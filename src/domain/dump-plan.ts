/**
 * pg_dump's command line, built from the user's scope: pure, so the same arguments are tested,
 * recorded in the manifest and run.
 */
import { InputError } from "./errors.js";
import type { DumpScope } from "./manifest.js";

export type Compression =
  | { method: "none" }
  | { method: "gzip"; level: number }
  | { method: "lz4"; level: number | undefined }
  | { method: "zstd"; level: number | undefined };

const LEVELS = { gzip: [1, 9], lz4: [1, 12], zstd: [1, 22] } as const;

/**
 * `auto` picks what compresses fastest for a size close to pg_dump's default: zstd on pg_dump 16
 * and later, gzip level 1 on older ones (about twice as fast as the default level 6 for ~4% more
 * bytes, measured in docs/benchmarks.md).
 */
export function parseCompression(text: string, pgDumpMajor: number): Compression {
  const value = text.trim().toLowerCase();
  const fail = (why: string): never => {
    throw new InputError(`--compression "${text}": ${why}`, { input: "compression" });
  };
  if (value === "" || value === "auto") {
    return pgDumpMajor >= 16 ? { method: "zstd", level: undefined } : { method: "gzip", level: 1 };
  }
  if (value === "none" || value === "0") return { method: "none" };
  const match = /^(gzip|lz4|zstd)(?::(\d+))?$/.exec(value) ?? /^()(\d)$/.exec(value);
  if (!match) return fail("expected auto, none, gzip[:1-9], lz4[:1-12] or zstd[:1-22]");
  const method = (match[1] || "gzip") as "gzip" | "lz4" | "zstd";
  const level = match[2] === undefined ? undefined : Number(match[2]);
  const [min, max] = LEVELS[method];
  if (level !== undefined && (level < min || level > max)) {
    fail(`${method} levels go from ${min} to ${max}`);
  }
  if (method !== "gzip" && pgDumpMajor < 16) {
    fail(`${method} needs pg_dump 16 or later; this pg_dump is ${pgDumpMajor} (use gzip:1 to 9, or none)`);
  }
  if (method === "gzip") return { method, level: level ?? 1 };
  return { method, level };
}

export function formatCompression(compression: Compression): string {
  if (compression.method === "none") return "none";
  return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`;
}

function compressArgument(compression: Compression, pgDumpMajor: number): string {
  if (pgDumpMajor < 16) {
    // pg_dump 15 and older take a gzip level only.
    return `--compress=${compression.method === "gzip" ? compression.level : 0}`;
  }
  return `--compress=${formatCompression(compression)}`;
}

export function emptyScope(): DumpScope {
  return {
    schemaOnly: false,
    dataOnly: false,
    includeSchemas: [],
    excludeSchemas: [],
    includeTables: [],
    excludeTables: [],
    excludeTableData: [],
  };
}

/** pg_dump's arguments, connection excepted (the adapter adds --dbname and the password env). */
export function buildPgDumpArgs(options: {
  scope: DumpScope;
  compression: Compression;
  pgDumpMajor: number;
  snapshot: string | undefined;
  extraArgs: readonly string[];
}): string[] {
  const { scope } = options;
  const args = [
    "--format=custom",
    compressArgument(options.compression, options.pgDumpMajor),
    "--no-password",
  ];
  if (options.snapshot) args.push(`--snapshot=${options.snapshot}`);
  if (scope.schemaOnly) args.push("--schema-only");
  if (scope.dataOnly) args.push("--data-only");
  for (const pattern of scope.includeSchemas) args.push(`--schema=${pattern}`);
  for (const pattern of scope.excludeSchemas) args.push(`--exclude-schema=${pattern}`);
  for (const pattern of scope.includeTables) args.push(`--table=${pattern}`);
  for (const pattern of scope.excludeTables) args.push(`--exclude-table=${pattern}`);
  for (const pattern of scope.excludeTableData) args.push(`--exclude-table-data=${pattern}`);
  args.push(...options.extraArgs);
  return args;
}
