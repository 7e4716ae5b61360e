import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { DirectoryTarget } from "../../src/files/directory-target.js";
import { restoreFiles } from "../../src/files/restore-files.js";
import { BLOCK, decodeBlock, isZeroBlock, paddingFor, parsePax } from "../../src/files/tar-format.js";
import { writeTar } from "../../src/files/tar-writer.js";
import { verifyArchive } from "../../src/files/verify-archive.js";
import { collect, memoryFile, pseudoRandom } from "./files-helpers.js";

/** Where each entry sits in a tar: from its first header block (pax included) to its end. */
function layout(tar: Buffer): { path: string; start: number; data: number; end: number }[] {
  const entries: { path: string; start: number; data: number; end: number }[] = [];
  let offset = 0;
  let start = 0;
  let paxPath: string | undefined;
  while (offset < tar.length && !isZeroBlock(tar.subarray(offset, offset + BLOCK))) {
    const raw = decodeBlock(tar.subarray(offset, offset + BLOCK));
    const data = offset + BLOCK;
    const end = data + raw.size + paddingFor(raw.size);
    if (raw.flag === "x") paxPath = parsePax(tar.subarray(data, data + raw.size)).get("path");
    else {
      entries.push({ path: paxPath ?? raw.name, start, data, end });
      paxPath = undefined;
      start = end;
    }
    offset = end;
  }
  return entries;
}

let archive: Buffer;
let indexSha256: string;
const work = mkdtempSync(join(tmpdir(), "lifeboat-files-verify-"));

before(async () => {
  const { stream, summary } = writeTar([
    memoryFile("one.txt", "first file"),
    memoryFile("photos/ünï 😀.jpg", pseudoRandom(20_000, 5)),
    memoryFile("three.txt", "third"),
  ]);
  archive = await collect(stream);
  indexSha256 = (await summary).indexSha256;
});
after(() => rmSync(work, { recursive: true, force: true }));

describe("verifying a files archive against its index", () => {
  test("an intact archive passes, with its counts and the index digest the writer reported", async () => {
    const report = await verifyArchive(Readable.from([archive]), { expectedIndexSha256: indexSha256 });
    assert.equal(report.ok, true);
    assert.deepEqual([report.files, report.bytes], [3, 10 + 20_000 + 5]);
    assert.equal(report.indexSha256, indexSha256);
  });

  test("a flipped byte in a file's content is caught and named", async () => {
    const photo = layout(archive).find((entry) => entry.path.startsWith("photos/"))!;
    const tampered = Buffer.from(archive);
    tampered[photo.data + 12_345]! ^= 0x01;
    const report = await verifyArchive(Readable.from([tampered]));
    assert.equal(report.ok, false);
    assert.deepEqual(report.damaged, [
      { path: "photos/ünï 😀.jpg", reason: "sha256 differs from the index" },
    ]);
    assert.deepEqual([report.missing, report.extra], [[], []]);

    const restored = await restoreFiles(
      Readable.from([tampered]),
      new DirectoryTarget(join(work, "tampered")),
    );
    assert.deepEqual(restored.damaged, ["photos/ünï 😀.jpg"]);
    assert.equal(restored.written, 3);
  });

  test("a file cut out of the archive is reported missing", async () => {
    const one = layout(archive).find((entry) => entry.path === "one.txt")!;
    const cut = Buffer.concat([archive.subarray(0, one.start), archive.subarray(one.end)]);
    const report = await verifyArchive(Readable.from([cut]));
    assert.equal(report.ok, false);
    assert.deepEqual(report.missing, ["one.txt"]);
    assert.deepEqual(report.damaged, []);
  });

  test("a file slipped in is reported extra", async () => {
    const { stream } = writeTar([memoryFile("intruder.txt", "hello")]);
    const other = await collect(stream);
    const intruder = layout(other).find((entry) => entry.path === "intruder.txt")!;
    const index = layout(archive).at(-1)!;
    const spliced = Buffer.concat([
      archive.subarray(0, index.start),
      other.subarray(intruder.start, intruder.end),
      archive.subarray(index.start),
    ]);
    const report = await verifyArchive(Readable.from([spliced]));
    assert.deepEqual([report.ok, report.extra], [false, ["intruder.txt"]]);
  });

  test("a different index than the manifest names, a missing index and a truncated archive all fail", async () => {
    const wrongDigest = await verifyArchive(Readable.from([archive]), {
      expectedIndexSha256: "0".repeat(64),
    });
    assert.deepEqual([wrongDigest.ok, wrongDigest.indexMismatch], [false, true]);

    const index = layout(archive).at(-1)!;
    const noIndex = Buffer.concat([archive.subarray(0, index.start), Buffer.alloc(2 * BLOCK)]);
    const withoutIndex = await verifyArchive(Readable.from([noIndex]));
    assert.deepEqual([withoutIndex.ok, withoutIndex.indexFound], [false, false]);
    assert.match(withoutIndex.unreadable ?? "", /holds no \.lifeboat-index\.jsonl/);

    const truncated = await verifyArchive(Readable.from([archive.subarray(0, 3000)]));
    assert.equal(truncated.ok, false);
    assert.match(truncated.unreadable ?? "", /truncated/);
  });
});
