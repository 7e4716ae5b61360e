import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DirectorySource } from "../../src/files/directory-source.js";
import { DirectoryTarget } from "../../src/files/directory-target.js";
import type { FileEntry } from "../../src/files/entry.js";
import { restoreFiles } from "../../src/files/restore-files.js";
import { writeTar } from "../../src/files/tar-writer.js";
import { assertSameTree, makeSampleTree, memoryFile } from "./files-helpers.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-files-restore-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("a local tree restores into an empty directory: links as links, empty files and folders, modes, mtimes", async () => {
  const source = join(work, "source");
  mkdirSync(source);
  makeSampleTree(source);
  const { stream } = writeTar(new DirectorySource(source).entries());
  const out = join(work, "out");
  const result = await restoreFiles(stream, new DirectoryTarget(out));
  assert.deepEqual([result.failed, result.damaged.length, result.indexChecked], [0, 0, true]);
  assert.equal(result.written, 6 + 2);
  assertSameTree(out, source);
  assert.equal(readlinkSync(join(out, "link-to-deep")), "a/b/c/deep.txt");
  assert.equal(lstatSync(join(out, "dangling-link")).isSymbolicLink(), true);
  const original = statSync(join(source, "random.bin"));
  const restored = statSync(join(out, "random.bin"));
  assert.equal(Math.floor(restored.mtimeMs / 1000), Math.floor(original.mtimeMs / 1000));
  assert.equal(restored.mode & 0o777, original.mode & 0o777);
});

test("entries that would leave the target are refused, nothing is written outside it", async () => {
  const outside = join(work, "outside");
  mkdirSync(outside);
  const entries: FileEntry[] = [
    memoryFile("../escaped.txt", "no"),
    memoryFile("a/../../escaped-too.txt", "no"),
    { path: "evil-link", type: "symlink", size: 0, mtime: new Date(), linkTarget: outside },
    memoryFile("evil-link/planted.txt", "no"),
    memoryFile("evil-link/sub/planted.txt", "no"),
    memoryFile("fine.txt", "yes"),
  ];
  const { stream } = writeTar(entries);
  const out = join(work, "guarded");
  const result = await restoreFiles(stream, new DirectoryTarget(out));
  assert.deepEqual(
    result.failures.map((failure) => failure.path),
    ["../escaped.txt", "a/../../escaped-too.txt", "evil-link/planted.txt", "evil-link/sub/planted.txt"],
  );
  assert.equal(result.written, 2); // the link itself and fine.txt
  assert.equal(existsSync(join(outside, "planted.txt")), false);
  assert.equal(existsSync(join(outside, "sub")), false);
  assert.equal(existsSync(join(work, "escaped.txt")), false);
  assert.equal(readFileSync(join(out, "fine.txt"), "utf8"), "yes");
});

test("overwrite replaces files and links but never a directory with a file", async () => {
  const out = join(work, "overwrite");
  mkdirSync(join(out, "taken"), { recursive: true });
  const { stream } = writeTar([memoryFile("taken", "file over a dir"), memoryFile("plain.txt", "new")]);
  const first = await restoreFiles(stream, new DirectoryTarget(out, { overwrite: true }));
  assert.deepEqual(
    first.failures.map((failure) => failure.path),
    ["taken"],
  );
  assert.equal(lstatSync(join(out, "taken")).isDirectory(), true);
  assert.equal(readFileSync(join(out, "plain.txt"), "utf8"), "new");
});
