/**
 * Supabase Storage keeps one `storage.objects` row (bucket_id, name) per object. Comparing the rows
 * in the dump's snapshot with the files an S3 source read finds objects without a row and rows
 * without an object. Pure: rows and archive paths in, counts and names out.
 */

export interface StorageObjectRow {
  bucket: string;
  name: string;
}

export interface StorageConsistency {
  /** Rows whose object was not read (the file is missing from the backup). */
  missingFiles: StorageObjectRow[];
  /** Objects read that have no row. */
  filesWithoutRow: StorageObjectRow[];
  /** Rows and objects that match. */
  matched: number;
}

/**
 * `filePaths` are the archive paths of files (not folders). `source` is the S3 source they came from: `{ bucket: "*" }` (paths are `BUCKET/KEY`) or a
 * bucket and prefix (paths are keys relative to the prefix). Only rows inside the source's scope
 * count: a source of one bucket says nothing about the others.
 */
export function compareStorageObjects(
  rows: Iterable<StorageObjectRow>,
  filePaths: Iterable<string>,
  source: { bucket: string; prefix: string },
): StorageConsistency {
  const keyOf = (bucket: string, name: string): string => `${bucket}\u0000${name}`;
  const prefix = source.prefix ? `${source.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const read = new Map<string, StorageObjectRow>();
  for (const path of filePaths) {
    if (source.bucket === "*") {
      const slash = path.indexOf("/");
      if (slash <= 0) continue;
      const row = { bucket: path.slice(0, slash), name: path.slice(slash + 1) };
      read.set(keyOf(row.bucket, row.name), row);
    } else {
      const row = { bucket: source.bucket, name: prefix + path };
      read.set(keyOf(row.bucket, row.name), row);
    }
  }
  const result: StorageConsistency = { missingFiles: [], filesWithoutRow: [], matched: 0 };
  for (const row of rows) {
    if (source.bucket !== "*" && (row.bucket !== source.bucket || !row.name.startsWith(prefix))) continue;
    const key = keyOf(row.bucket, row.name);
    if (read.delete(key)) result.matched += 1;
    else result.missingFiles.push(row);
  }
  result.filesWithoutRow = [...read.values()];
  return result;
}
