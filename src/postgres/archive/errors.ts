/**
 * What can go wrong reading a pg_dump custom-format archive stream. All are OperationErrors (exit
 * 1): the archive came from our own pg_dump run, so a bad one means the dump failed, not the input.
 */
import { OperationError } from "../../domain/errors.js";

/** The bytes are not a well-formed custom-format archive (bad magic, bad length, unknown id). */
export class ArchiveFormatError extends OperationError {}

/** The stream ended before the archive did; the message names what was cut off. */
export class ArchiveTruncatedError extends ArchiveFormatError {}

/**
 * A well-formed archive this reader cannot summarise: a version it does not know, or data it
 * cannot count (compressed inside the archive: row counts need `pg_dump -Z0`).
 */
export class ArchiveUnsupportedError extends ArchiveFormatError {}
