/**
 * A local directory as a files source.
 *
 * - Order is stable: depth first, each directory's names sorted by their UTF-8 bytes (the order S3
 *   lists keys in), a directory before its contents. Empty directories are kept.
 * - Symbolic links are stored as links (their target text, as is) and never followed: following
 *   them could leave the tree, loop, or store the same data twice. Restoring recreates the link.
 * - Sockets, FIFOs and devices are skipped (reading a FIFO would block the backup) and counted in
 *   `skipped`.
 * - A file is opened, its size taken from the open file, read once; if its size, mtime or inode
 *   moved on meanwhile it is reported changed (the tar writer's policy decides what that means).
 */
import type { Stats } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { InputError, OperationError, describeError } from "../domain/errors.js";
import { VanishedError } from "./entry.js";
import type { FileEntry, OpenedFile } from "./entry.js";

const READ_CHUNK = 256 * 1024;

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export class DirectorySource {
  /** The absolute directory. */
  readonly root: string;
  /** How the user named it (for messages). */
  readonly input: string;
  /** Paths of sockets, FIFOs and devices left out; filled while `entries()` runs. */
  readonly skipped: string[] = [];

  constructor(root: string, input: string = root) {
    this.root = root;
    this.input = input;
  }

  /** The absolute path (printable: local paths hold no credentials). */
  get url(): string {
    return this.root;
  }

  /** Nothing to free; here so every source can be closed alike. */
  destroy(): void {}

  /** Fails with an InputError naming the source unless it is a readable directory. */
  async check(): Promise<void> {
    let info: Stats;
    try {
      info = await stat(this.root);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not accessible" : describeError(error);
      throw new InputError(`--files "${this.input}": the directory ${why}`, { input: "files", cause: error });
    }
    if (!info.isDirectory()) {
      throw new InputError(`--files "${this.input}": expected a directory or an s3:// URL, found a file`, {
        input: "files",
      });
    }
    try {
      await readdir(this.root);
    } catch (error) {
      throw new InputError(`--files "${this.input}": the directory cannot be read: ${describeError(error)}`, {
        input: "files",
        cause: error,
      });
    }
  }

  entries(): AsyncIterable<FileEntry> {
    return this.walk("");
  }

  private async *walk(relative: string): AsyncGenerator<FileEntry> {
    const absolute = relative ? join(this.root, relative) : this.root;
    let names: string[];
    try {
      names = await readdir(absolute);
    } catch (error) {
      if (relative && isGone(error)) return; // removed since it was listed
      throw new OperationError(`files: cannot list "${relative || this.input}": ${describeError(error)}`, {
        cause: error,
      });
    }
    names.sort(byBytes);
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const full = join(absolute, name);
      let info: Stats;
      try {
        info = await lstat(full);
      } catch (error) {
        if (isGone(error)) continue;
        throw new OperationError(`files: cannot read "${path}": ${describeError(error)}`, { cause: error });
      }
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        yield { path, type: "directory", size: 0, mtime: info.mtime, mode };
        yield* this.walk(path);
      } else if (info.isSymbolicLink()) {
        let linkTarget: string;
        try {
          linkTarget = await readlink(full);
        } catch (error) {
          if (isGone(error)) continue;
          throw new OperationError(`files: cannot read the link "${path}": ${describeError(error)}`, {
            cause: error,
          });
        }
        yield { path, type: "symlink", size: 0, mtime: info.mtime, mode, linkTarget };
      } else if (info.isFile()) {
        yield {
          path,
          type: "file",
          size: info.size,
          mtime: info.mtime,
          mode,
          open: () => openFile(full, path),
        };
      } else {
        this.skipped.push(path);
      }
    }
  }
}

async function openFile(full: string, path: string): Promise<OpenedFile> {
  let handle;
  try {
    handle = await open(full, "r");
  } catch (error) {
    if (isGone(error)) throw new VanishedError(path, { cause: error });
    throw new OperationError(`files: cannot open "${path}": ${describeError(error)}`, { cause: error });
  }
  const before = await handle.stat();
  if (!before.isFile()) {
    await handle.close();
    throw new VanishedError(path); // replaced by something else since it was listed
  }
  return {
    stream: handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true }),
    size: before.size,
    mtime: before.mtime,
    changedSince: async () => {
      // Removed after a full read is fine: the copy taken is consistent.
      const after = await lstat(full).catch(() => undefined);
      return (
        after !== undefined &&
        (after.ino !== before.ino || after.size !== before.size || after.mtimeMs !== before.mtimeMs)
      );
    },
  };
}
