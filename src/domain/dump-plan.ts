/**
 * pg_dump's command line, built from the user's scope: pure, so the same arguments are tested,
 * recorded in the manifest and run.
 */
import {
  DEFAULT_COMPRESSION,
  parseCompression as parseCompressionSpec,
  type CompressionSpec,
} from "./compression.js";
import type { DumpScope } from "./manifest.js";

/**
 * Lifeboat's own compression of the dump (`--compression`): zstd[:N], gzip[:N] or none, and `auto`
 * (the default) for zstd:1. pg_dump itself always writes uncompressed (-Z0): its compression runs in
 * its one thread, gzip only before pg_dump 16, and an uncompressed archive is what the archive tap
 * reads rows from (docs/benchmarks.md).
 */
export function parseCompression(text: string): CompressionSpec {
  const value = text.trim().toLowerCase();
  if (value === "" || value === "auto") return DEFAULT_COMPRESSION;
  return parseCompressionSpec(text);
}

/** What pg_dump is asked for: no compression, spelled the way every major since 9 reads it. */
const PG_DUMP_COMPRESS = "--compress=0";

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
  snapshot: string | undefined;
  extraArgs: readonly string[];
}): string[] {
  const { scope } = options;
  const args = ["--format=custom", PG_DUMP_COMPRESS, "--no-password"];
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
