import type { Readable } from "node:stream";

/** What a caller means to do with a store; checked up front by `check`. */
export type StoreAccess = "read" | "write";

/** What a store knows of one object. */
export interface ObjectInfo {
  /** Key relative to the store's root (the storage URL's prefix), "/"-separated. */
  key: string;
  size: number;
  lastModified: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Aborting rejects the put and leaves no object (and no partial upload) behind. */
  signal?: AbortSignal;
  /**
   * An upper estimate of the body's size when it is not known in advance (a stream). S3 grows its
   * multipart part size from it so the object fits in 10,000 parts.
   */
  sizeHint?: number;
  /**
   * Protect the object with an S3 Object Lock retention until this date (the bucket must have
   * Object Lock enabled). Stores that cannot lock refuse the put rather than store it unprotected.
   */
  retention?: { mode: "GOVERNANCE" | "COMPLIANCE"; until: Date };
}

/** An S3 Object Lock on one object: a retention until a date, a legal hold, or both. */
export interface ObjectLock {
  /** GOVERNANCE or COMPLIANCE, when the object has a retention. */
  mode?: string;
  retainUntil?: Date;
  legalHold: boolean;
}

export interface DeleteResult {
  deleted: string[];
  /** Keys that could not be deleted, with the store's reason. */
  failed: { key: string; reason: string }[];
}

/**
 * Storage knows bytes and keys only; encryption sits one layer above it, so every store holds
 * ciphertext. Keys are relative to the store's root and never start with "/".
 *
 * Errors: `NotFoundError` for a missing key, `InputError` for configuration the user must fix
 * (bucket missing, credentials refused), `OperationError` for everything else.
 */
export interface Store {
  /** The storage location without credentials, e.g. `s3://bucket/prefix` or `file:///abs/path`. */
  readonly url: string;
  /**
   * Fails with an InputError when the store cannot be used for `access` (default "write"): bucket
   * missing, access denied, directory not creatable. Reading needs read access only, so list,
   * verify's reads and restore work on a read-only copy. Leaves nothing behind.
   */
  check(access?: StoreAccess): Promise<void>;
  /**
   * Streams `body` into `key`. All or nothing: the object becomes visible only once the whole body
   * has been stored; if the body errors, the signal aborts or the store fails, the put rejects and
   * no object (and no incomplete multipart upload) is left behind. The store owns `body`: on any
   * failure it is destroyed.
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<{ bytes: number }>;
  /** The object's bytes as a stream. Rejects with NotFoundError when the key does not exist. */
  get(key: string): Promise<Readable>;
  /** The object's size and time, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes the keys (missing keys count as deleted); batched by the store as it allows. */
  deleteMany(keys: readonly string[]): Promise<DeleteResult>;
  /**
   * The object locks on these keys (keys without one, or missing, are left out of the map). Only
   * stores that have object locks implement it (S3); it costs nothing when the bucket cannot lock.
   */
  objectLocks?(keys: readonly string[]): Promise<Map<string, ObjectLock>>;
  /**
   * Removes what writers killed outright left under `prefix` (a local store's temporary files)
   * when it was last written before `olderThan`; returns what it removed. Stores whose incomplete
   * writes are invisible and expire on their own (S3 multipart uploads) do not implement it.
   */
  sweepLeftovers?(prefix: string, olderThan: Date): Promise<string[]>;
}
