/**
 * A check-record writer that masks secrets first: a record is stored beside the backup, where anyone
 * who may list the store reads it, and its failures quote pg_restore and the user's command, which
 * may print a connection URL.
 */
import type { BackupRepository } from "./backup-repository.js";
import { redactCheckRecord } from "./check-record.js";

export function redactingRecords(
  repository: BackupRepository,
  secrets: readonly string[],
): Pick<BackupRepository, "writeCheckRecord"> {
  return {
    writeCheckRecord: (record, at) => repository.writeCheckRecord(redactCheckRecord(record, secrets), at),
  };
}
