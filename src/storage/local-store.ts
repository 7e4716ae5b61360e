/**
 * A store in a local directory: the embedded default for trying things out, and for tests.
 *
 * A put streams into a temporary file next to its target (named `.partial-<random>`, which list()
 * never reports and no key may use), syncs it to disk and renames it into place, so an object is
 * either absent or complete. A failed or aborted put removes its temporary file.
 */
import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { constants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { access as access_, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { InputError, NotFoundError, OperationError, describeError } from "../domain/errors.js";
import { TEMP_FILE_PREFIX, assertValidKey, assertValidPrefix, compareKeys } from "./keys.js";
import type { DeleteResult, ObjectInfo, PutOptions, Store, StoreAccess } from "./store.js";

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

const MISSING = new Set(["ENOENT", "ENOTDIR"]);

export class LocalStore implements Store {
  readonly url: string;
  /** The absolute directory that holds the objects. */
  readonly root: string;

  constructor(root: string) {
    if (!isAbsolute(root)) throw new Error(`a local store needs an absolute path, got "${root}"`);
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  /**
   * Checks that the root is a directory we can use for `access`, or (for writing) could be made as
   * one. Reading needs read access only: a read-only copy of a store can be listed, verified and
   * restored from, and a missing root reads as empty. Writing into a missing root is probed by
   * making and removing its first missing directory, so a path where nothing can be made
   * (`/proc/foo`, a read-only mount) fails here, before pg_dump starts. Leaves nothing behind.
   */
  async check(access: StoreAccess = "write"): Promise<void> {
    try {
      let dir = this.root;
      let missingChild: string | undefined;
      for (;;) {
        const info = await stat(dir).catch((error: unknown) => {
          if (errorCode(error) === "ENOENT") return undefined;
          throw error;
        });
        if (info) {
          if (!info.isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
          if (access === "read") {
            await access_(dir, constants.R_OK | constants.X_OK);
            return;
          }
          await access_(dir, constants.W_OK | constants.X_OK);
          if (missingChild) {
            await mkdir(missingChild, { mode: DIRECTORY_MODE });
            await rmdir(missingChild);
          }
          return;
        }
        const parent = dirname(dir);
        if (parent === dir) return;
        missingChild = dir;
        dir = parent;
      }
    } catch (error) {
      const code = errorCode(error);
      const why =
        code === "EEXIST" || code === "ENOTDIR"
          ? "a file is in the way, not a directory"
          : code === "EACCES" || code === "EPERM" || code === "EROFS"
            ? "permission denied"
            : code === "ENOENT"
              ? "no directory can be made there"
              : describeError(error);
      throw new InputError(`--storage "${this.url}": cannot use the directory ${this.root}: ${why}`, {
        input: "storage",
        cause: error,
      });
    }
  }

  /** Removes `.partial-*` files (of writers killed outright) last written before `olderThan`. */
  async sweepLeftovers(prefix: string, olderThan: Date): Promise<string[]> {
    assertValidPrefix(prefix);
    const removed: string[] = [];
    const visit = async (dirKey: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(join(this.root, dirKey), { withFileTypes: true });
      } catch (error) {
        if (MISSING.has(errorCode(error) ?? "")) return;
        throw error;
      }
      const emptied = new Set<string>();
      for (const entry of entries) {
        const key = dirKey + entry.name;
        if (entry.isDirectory()) await visit(`${key}/`);
        else if (entry.isFile() && entry.name.startsWith(TEMP_FILE_PREFIX)) {
          const path = join(this.root, ...key.split("/"));
          const info = await stat(path).catch(() => undefined);
          if (!info || info.mtime >= olderThan) continue;
          await unlink(path).catch(() => undefined);
          removed.push(key);
          emptied.add(dirname(key));
        }
      }
      await this.prune(emptied);
    };
    const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    await visit(dirKey);
    return removed;
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ bytes: number }> {
    assertValidKey(key);
    if (options.retention) {
      body.destroy();
      throw new InputError(
        `--storage "${this.url}": a local directory cannot hold an object lock; use s3://`,
        {
          input: "storage",
        },
      );
    }
    const { signal } = options;
    const target = this.pathOf(key);
    const temp = join(dirname(target), `${TEMP_FILE_PREFIX}${randomBytes(8).toString("hex")}`);
    let handle: FileHandle | undefined;
    let bytes = 0;
    try {
      signal?.throwIfAborted();
      handle = await createFile(temp);
      await pipeline(
        body,
        async function* count(source: AsyncIterable<Buffer | string>) {
          for await (const chunk of source) {
            bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
            yield chunk;
          }
        },
        handle.createWriteStream(),
        { signal },
      );
      handle = undefined; // closed by its stream
      await syncFile(temp);
      signal?.throwIfAborted();
      await rename(temp, target);
      await syncDirectory(dirname(target));
      return { bytes };
    } catch (error) {
      body.destroy();
      await handle?.close().catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
      await this.prune(new Set([dirname(key)]));
      const message = signal?.aborted
        ? `storing "${key}" in ${this.url} was aborted: ${describeError(signal.reason)}`
        : `storing "${key}" in ${this.url} failed: ${describeError(error)}`;
      throw new OperationError(message, { cause: signal?.aborted ? signal.reason : error });
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.pathOf(key), "r");
      if ((await handle.stat()).isFile()) return handle.createReadStream();
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if (!MISSING.has(errorCode(error) ?? "") && errorCode(error) !== "EISDIR") {
        throw new OperationError(`reading "${key}" from ${this.url} failed: ${describeError(error)}`, {
          cause: error,
        });
      }
    }
    await handle?.close().catch(() => undefined);
    throw new NotFoundError(`"${key}" does not exist in ${this.url}`);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    return this.info(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const keys = this.walk(prefix.slice(0, slash + 1), prefix.slice(slash + 1));
    // Up to IO_CONCURRENCY stats in flight ahead of the object being yielded, in key order: a
    // listing of many small folders is then not one thread-pool round trip after another.
    const window: Promise<ObjectInfo | undefined>[] = [];
    let more = true;
    for (;;) {
      while (more && window.length < IO_CONCURRENCY) {
        const next = await keys.next();
        if (next.done) {
          more = false;
          break;
        }
        const info = this.info(next.value);
        // Awaited below in order; until then a failure must not count as an unhandled rejection.
        info.catch(() => undefined);
        window.push(info);
      }
      const first = window.shift();
      if (!first) return;
      const info = await first;
      if (info) yield info;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteResult> {
    for (const key of keys) assertValidKey(key);
    const emptied = new Set<string>();
    const outcomes = await mapConcurrently(keys, IO_CONCURRENCY, async (key) => {
      try {
        await unlink(this.pathOf(key));
        emptied.add(dirname(key));
        return undefined;
      } catch (error) {
        const code = errorCode(error) ?? "";
        // A key naming a directory is not an object: like a missing key, there is nothing to delete.
        if (MISSING.has(code) || code === "EISDIR") return undefined;
        return describeError(error);
      }
    });
    const result: DeleteResult = { deleted: [], failed: [] };
    keys.forEach((key, index) => {
      const reason = outcomes[index];
      if (reason === undefined) result.deleted.push(key);
      else result.failed.push({ key, reason });
    });
    await this.prune(emptied);
    return result;
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  private async info(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (error) {
      if (MISSING.has(errorCode(error) ?? "")) return undefined;
      throw new OperationError(`reading "${key}" in ${this.url} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Yields the keys of the files under the directory `dirKey` ("" or ending in "/") whose names
   * start with `namePrefix`, in key order: a directory sorts as its name plus "/", exactly where its
   * keys sort.
   */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<string> {
    yield* this.walkChildren(await this.children(dirKey, namePrefix));
  }

  /** The entries of the directory `dirKey` whose names start with `namePrefix`, in key order. */
  private async children(dirKey: string, namePrefix: string): Promise<Child[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, dirKey), { withFileTypes: true });
    } catch (error) {
      if (MISSING.has(errorCode(error) ?? "")) return [];
      throw new OperationError(`listing ${this.url} failed: ${describeError(error)}`, { cause: error });
    }
    return entries
      .filter((entry) => entry.name.startsWith(namePrefix) && !entry.name.startsWith(TEMP_FILE_PREFIX))
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry) => ({
        key: dirKey + entry.name,
        directory: entry.isDirectory(),
        sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name,
      }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  }

  /** The keys under `children`, in order, reading up to IO_CONCURRENCY directories ahead. */
  private async *walkChildren(children: Child[]): AsyncGenerator<string> {
    const reading = new Map<number, Promise<Child[]>>();
    let ahead = 0;
    for (let index = 0; index < children.length; index++) {
      for (; ahead < children.length && ahead < index + IO_CONCURRENCY; ahead++) {
        const child = children[ahead]!;
        if (!child.directory) continue;
        const listing = this.children(`${child.key}/`, "");
        listing.catch(() => undefined);
        reading.set(ahead, listing);
      }
      const child = children[index]!;
      if (!child.directory) {
        yield child.key;
        continue;
      }
      const listing = reading.get(index)!;
      reading.delete(index);
      yield* this.walkChildren(await listing);
    }
  }

  /**
   * Removes directories left empty by a delete, up to (not including) the root: one level at a
   * time, deepest first, so that each directory is tried once however many of its children went.
   */
  private async prune(dirKeys: Set<string>): Promise<void> {
    const pending = new Set([...dirKeys].filter((dirKey) => dirKey !== "." && dirKey !== ""));
    while (pending.size > 0) {
      const depth = Math.max(...[...pending].map((dirKey) => dirKey.split("/").length));
      const level = [...pending].filter((dirKey) => dirKey.split("/").length === depth);
      const removed = await mapConcurrently(level, IO_CONCURRENCY, async (dirKey) =>
        // Not empty (or already gone): then its parents are not empty either.
        rmdir(this.pathOf(dirKey)).then(
          () => true,
          () => false,
        ),
      );
      level.forEach((dirKey, index) => {
        pending.delete(dirKey);
        const parent = dirname(dirKey);
        if (removed[index] && parent !== ".") pending.add(parent);
      });
    }
  }
}

interface Child {
  key: string;
  directory: boolean;
  sortKey: string;
}

/** File system calls a listing or a delete keeps in flight at once. */
const IO_CONCURRENCY = 32;

/** `work` over every item, at most `limit` at a time; results in the items' order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function createLocalStore(root: string): LocalStore {
  return new LocalStore(root);
}

/** Objects are private to the user that runs Lifeboat (an unencrypted dump is readable data). */
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

/**
 * Creates `path` exclusively (mode 0600), creating its directories first (0700); retries when a
 * prune races us.
 */
async function createFile(path: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await makeDirectories(dirname(path));
    try {
      return await open(path, "wx", FILE_MODE);
    } catch (error) {
      if (errorCode(error) !== "ENOENT" || attempt >= 3) throw error;
    }
  }
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdir spins forever where a directory cannot be
 * made but its parent exists (under /proc), so each level is made on its own and a failure is final.
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const exists = await stat(current).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (exists) break;
    missing.push(current);
    if (dirname(current) === current) break;
  }
  for (const level of missing.reverse()) {
    await mkdir(level, { mode: DIRECTORY_MODE }).catch((error: unknown) => {
      if (errorCode(error) !== "EEXIST") throw error;
    });
  }
}

/** Flushes a written file to disk (fsync applies to the file, whichever descriptor asks). */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable. Best effort: some file systems refuse to sync a directory. */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } catch {
    // The data itself is synced; only the rename's durability depends on this.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
