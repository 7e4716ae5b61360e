/**
 * Puts archive entries back into a local directory.
 *
 * - Never overwrites: a path that exists is skipped unless `overwrite` (then a file or link is
 *   replaced; a directory is never replaced by a file or link).
 * - Files are created exclusively (O_EXCL, which also refuses to follow a link planted at the path)
 *   and removed again if writing them fails, so no half-file stays behind.
 * - Paths that could leave the directory (absolute, "..", empty segments) are refused, and so is any
 *   path whose parent resolves outside it through a symbolic link restored earlier.
 * - Modes are restored (less the umask), mtimes of files and links too; ownership is not.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, realpath, rm, stat, symlink, unlink, utimes, lutimes } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InputError, describeError } from "../domain/errors.js";
import { isSafeRelativePath } from "./entry.js";
import type { FilesTarget, PutOutcome } from "./restore-files.js";
import type { TarHeader } from "./tar-format.js";

export class DirectoryTarget implements FilesTarget {
  readonly description: string;
  private realRoot: string | undefined;

  constructor(
    readonly root: string,
    private readonly options: { overwrite?: boolean; input?: string } = {},
  ) {
    this.description = root;
  }

  /** Creates the directory if needed; fails with an InputError if it cannot be one. */
  async check(): Promise<void> {
    const input = this.options.input ?? "to";
    try {
      await mkdir(this.root, { recursive: true });
      if (!(await stat(this.root)).isDirectory()) throw new Error("not a directory");
      this.realRoot = await realpath(this.root);
    } catch (error) {
      throw new InputError(`--${input} "${this.root}": cannot restore into it: ${describeError(error)}`, {
        input,
        cause: error,
      });
    }
  }

  async put(entry: TarHeader, body: Readable): Promise<PutOutcome> {
    if (entry.type !== "file" && entry.type !== "directory" && entry.type !== "symlink") return "unsupported";
    if (!isSafeRelativePath(entry.path)) throw new Error("the path would leave the target directory");
    const root = this.realRoot ?? (await realpath(this.root));
    this.realRoot = root;
    const full = join(root, entry.path);
    const parent = dirname(full);
    // Checked before creating anything (a restored link could point mkdir outside) and after.
    const inside = (path: string): boolean => path === root || path.startsWith(root + sep);
    const outside = new Error("a symbolic link in the path leads outside the target directory");
    if (!inside(await realAncestor(parent))) throw outside;
    await mkdir(parent, { recursive: true });
    if (!inside(await realpath(parent))) throw outside;

    if (entry.type === "directory") {
      const existing = await lstat(full).catch(() => undefined);
      if (existing?.isDirectory()) return "skipped-existing";
      if (existing) throw new Error("a file is in the way of the directory");
      await mkdir(full, { mode: entry.mode & 0o7777 });
      return "written";
    }

    const existing = await lstat(full).catch(() => undefined);
    if (existing) {
      if (!this.options.overwrite) return "skipped-existing";
      if (existing.isDirectory()) throw new Error("a directory is in the way");
      await unlink(full);
    }

    if (entry.type === "symlink") {
      await symlink(entry.linkTarget ?? "", full);
      await lutimes(full, entry.mtime, entry.mtime).catch(() => undefined);
      return "written";
    }

    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(full, flags, entry.mode & 0o7777);
    try {
      // The write stream closes the handle, on success and on failure alike.
      await pipeline(body, handle.createWriteStream());
    } catch (error) {
      await rm(full, { force: true });
      throw error;
    }
    await utimes(full, entry.mtime, entry.mtime);
    return "written";
  }
}

/** The real path of the deepest part of `path` that exists. */
async function realAncestor(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      return await realpath(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || dirname(current) === current) throw error;
    }
  }
}
