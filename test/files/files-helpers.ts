/** Helpers for the files tests: sample trees, tree comparison, synthetic entries. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FileEntry } from "../../src/files/entry.js";

export const LONG_NAME = `${"long-name-".repeat(22)}end.txt`; // 227 characters, one segment
export const UNICODE_NAME = "photos ünïcödé 😀 写真.jpg";

/**
 * A tree with nested folders, unicode and 200+ character names, a 200+ character path, empty files
 * and folders, a relative symlink and a binary file spanning several tar blocks.
 */
export function makeSampleTree(root: string): void {
  mkdirSync(join(root, "a", "b", "c"), { recursive: true });
  mkdirSync(join(root, "empty-dir", "nested-empty"), { recursive: true });
  mkdirSync(join(root, "ünï 📁"), { recursive: true });
  writeFileSync(join(root, "a", "b", "c", "deep.txt"), "deep\n");
  writeFileSync(join(root, "a", "empty.txt"), "");
  writeFileSync(join(root, "ünï 📁", UNICODE_NAME), Buffer.from("not really a jpeg ✓"));
  writeFileSync(join(root, LONG_NAME), "a long name\n");
  const deep = join(root, "d".repeat(90), "e".repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${"f".repeat(60)}.bin`), Buffer.alloc(1500, 7));
  writeFileSync(join(root, "random.bin"), pseudoRandom(70_001, 1));
  symlinkSync(join("a", "b", "c", "deep.txt"), join(root, "link-to-deep"));
  symlinkSync("does-not-exist", join(root, "dangling-link"));
}

/** Deterministic bytes (sha256 in counter mode), so nothing large is stored to compare with. */
export function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let block = 0;
  for (let offset = 0; offset < length; offset += 32, block += 1) {
    createHash("sha256").update(`${seed}:${block}`).digest().copy(out, offset);
  }
  return out;
}

type Node = { type: "file"; content: string } | { type: "directory" } | { type: "symlink"; target: string };

/** Every path under `root` (the index file excluded) with its type and content or link target. */
export function describeTree(root: string, options: { ignore?: string[] } = {}): Map<string, Node> {
  const result = new Map<string, Node>();
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      if (options.ignore?.includes(path)) continue;
      const full = join(root, path);
      const info = lstatSync(full);
      if (info.isDirectory()) {
        result.set(path, { type: "directory" });
        walk(path);
      } else if (info.isSymbolicLink()) result.set(path, { type: "symlink", target: readlinkSync(full) });
      else
        result.set(path, {
          type: "file",
          content: createHash("sha256").update(readFileSync(full)).digest("hex"),
        });
    }
  };
  walk("");
  return result;
}

export function assertSameTree(actual: string, expected: string, options: { ignore?: string[] } = {}): void {
  const a = describeTree(actual, options);
  const b = describeTree(expected, options);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [path, node] of b) assert.deepEqual(a.get(path), node, path);
}

export async function collect(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

/** A file entry whose content is `content` and whose announced size is `size` (default: its length). */
export function memoryFile(path: string, content: Buffer | string, size?: number): FileEntry {
  const bytes = Buffer.from(content);
  return {
    path,
    type: "file",
    size: size ?? bytes.length,
    mtime: new Date("2026-01-02T03:04:05Z"),
    open: async () => Readable.from([bytes]),
  };
}
