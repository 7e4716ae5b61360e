/** Reading pg_dump custom-format archives as they stream: see parser.ts and tap.ts. */
export { createArchiveTap, type ArchiveTap } from "./tap.js";
export {
  ArchiveParser,
  type ArchiveParserOptions,
  type ArchiveSummary,
  type TableSummary,
} from "./parser.js";
export type { ArchiveHeader, TocEntry, TocSection, DataState, CompressionAlgorithm } from "./format.js";
export type { LargeObjectsDigest, TableDigest } from "./digests.js";
export { ArchiveFormatError, ArchiveTruncatedError, ArchiveUnsupportedError } from "./errors.js";
