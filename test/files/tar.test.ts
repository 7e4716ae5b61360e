import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, describe, test } from "node:test";
import { DirectorySource } from "../../src/files/directory-source.js";
import { DirectoryTarget } from "../../src/files/directory-target.js";
import { VanishedError } from "../../src/files/entry.js";
import type { FileEntry } from "../../src/files/entry.js";
import { INDEX_NAME, parseIndex } from "../../src/files/files-index.js";
import { restoreFiles } from "../../src/files/restore-files.js";
import { TarFormatError, encodeHeader, parsePax } from "../../src/files/tar-format.js";
import { readTar } from "../../src/files/tar-reader.js";
import { FileChangedError, writeTar } from "../../src/files/tar-writer.js";
import { verifyArchive } from "../../src/files/verify-archive.js";
import {
  LONG_NAME,
  UNICODE_NAME,
  assertSameTree,
  collect,
  makeSampleTree,
  memoryFile,
} from "./files-helpers.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-files-tar-"));
after(() => rmSync(work, { recursive: true, force: true }));
let fixtures = 0;
const fresh = (name: string): string => {
  const dir = join(work, `${++fixtures}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

async function tarOf(entries: FileEntry[] | AsyncIterable<FileEntry>, onChange: "fail" | "warn" = "fail") {
  const { stream, summary } = writeTar(entries, { onChange });
  const bytes = await collect(stream);
  return { bytes, summary: await summary };
}

describe("tar writer and stock tar", () => {
  test("a directory tree written by us extracts with tar -x byte for byte, links kept as links", async () => {
    const source = fresh("src");
    makeSampleTree(source);
    const archive = join(fresh("archive"), "files.tar");
    const { stream, summary } = writeTar(new DirectorySource(source).entries(), { source: "test" });
    await pipeline(stream, createWriteStream(archive));
    const totals = await summary;
    assert.equal(totals.files, 6);
    assert.equal(totals.symlinks, 2);
    assert.equal(totals.directories, 8);
    assert.equal(totals.bytes, 5 + 0 + Buffer.byteLength("not really a jpeg ✓") + 12 + 1500 + 70_001);
    assert.equal(totals.tarBytes % 10240, 0);
    assert.deepEqual(totals.changed, []);

    const out = fresh("out");
    execFileSync("tar", ["-xf", archive, "-C", out]);
    assertSameTree(out, source, { ignore: [INDEX_NAME] });

    const listing = execFileSync("tar", ["-tf", archive], { encoding: "utf8" }).split("\n");
    assert.ok(listing.includes(LONG_NAME));
    assert.ok(listing.includes(`ünï 📁/${UNICODE_NAME}`));
    assert.ok(listing.includes("empty-dir/nested-empty/"));
    assert.equal(listing.filter(Boolean).at(-1), INDEX_NAME, "the index is the last entry");

    const index = parseIndex(readFileSync(join(out, INDEX_NAME), "utf8"));
    assert.equal(index.header.source, "test");
    const empty = index.records.find((record) => record.path === "a/empty.txt");
    assert.equal(empty?.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(
      index.records.find((record) => record.path === "link-to-deep")?.linkTarget,
      "a/b/c/deep.txt",
    );
    const indexBytes = readFileSync(join(out, INDEX_NAME));
    const { createHash } = await import("node:crypto");
    assert.equal(createHash("sha256").update(indexBytes).digest("hex"), totals.indexSha256);
  });

  for (const format of ["pax", "gnu", "ustar"] as const) {
    test(`a tar made by tar --format=${format} -c reads with ours and restores the same tree`, async () => {
      const parent = fresh(`stock-${format}`);
      const source = join(parent, "tree");
      mkdirSync(source);
      if (format === "ustar") {
        // ustar cannot hold names over 255 bytes or a single segment over 100: a tamer tree.
        mkdirSync(join(source, "x", "empty"), { recursive: true });
        writeFileSync(join(source, "x", "ü.txt"), "u");
        writeFileSync(join(source, "x", "e"), "");
        writeFileSync(join(source, `${"p".repeat(90)}`), "p".repeat(1000));
      } else makeSampleTree(source);
      const archive = join(parent, "stock.tar");
      execFileSync("tar", [`--format=${format}`, "-cf", archive, "-C", parent, "tree"]);

      const out = fresh(`stock-${format}-out`);
      const result = await restoreFiles(createReadStream(archive), new DirectoryTarget(out));
      assert.equal(result.failed, 0, JSON.stringify(result.failures));
      assert.equal(result.indexChecked, false);
      assertSameTree(join(out, "tree"), source);
    });
  }

  test("10,000 small files: all stored, listed by tar -t, verified against the index", async () => {
    const entries = async function* (): AsyncGenerator<FileEntry> {
      for (let i = 0; i < 10_000; i += 1) {
        const folder = `f${String(i % 100).padStart(2, "0")}`;
        if (i < 100) yield { path: folder, type: "directory", size: 0, mtime: new Date(0) };
        yield memoryFile(`${folder}/file-${i}.txt`, `content of file ${i}\n`);
      }
    };
    const { bytes, summary } = await tarOf(entries());
    assert.equal(summary.files, 10_000);
    assert.equal(summary.directories, 100);
    const listed = execFileSync("tar", ["-tf", "-"], { input: bytes, maxBuffer: 64 << 20, encoding: "utf8" });
    assert.equal(listed.split("\n").filter(Boolean).length, 10_101);
    const report = await verifyArchive(Readable.from([bytes]));
    assert.equal(report.ok, true);
    assert.equal(report.files, 10_000);
    assert.equal(report.indexSha256, summary.indexSha256);
    const extracted = fresh("small-out");
    execFileSync("tar", ["-xf", "-", "-C", extracted], { input: bytes });
    assert.equal(readFileSync(join(extracted, "f37", "file-9937.txt"), "utf8"), "content of file 9937\n");
  });

  test("pax headers carry sizes over 8 GiB and mtimes before 1970, as tar -tv reads them", () => {
    const size = 9 * 1024 ** 3;
    const header = encodeHeader({
      path: "big.bin",
      type: "file",
      size,
      mtime: new Date("1960-06-01T00:00:00Z"),
      mode: 0o644,
    });
    const records = parsePax(header.subarray(512, 1024));
    assert.equal(records.get("size"), String(size));
    assert.equal(records.get("mtime"), String(Date.parse("1960-06-01T00:00:00Z") / 1000));
    // The content is missing: tar lists the entry, then reports the unexpected end.
    const listed = spawnSync("tar", ["-tvf", "-"], { input: header, encoding: "utf8" });
    assert.match(listed.stdout, new RegExp(`\\b${size}\\b 1960-06-01`));
    assert.match(listed.stdout, /big\.bin/);
  });

  test("a flipped header byte or a truncated archive is a TarFormatError, not a short listing", async () => {
    const { bytes } = await tarOf([memoryFile("a.txt", "x".repeat(2000)), memoryFile("b.txt", "y")]);
    const flipped = Buffer.from(bytes);
    flipped[10]! ^= 0xff;
    await assert.rejects(collect(readAllBodies(flipped)), TarFormatError);
    await assert.rejects(collect(readAllBodies(bytes.subarray(0, 1500))), /truncated inside "a.txt"/);
  });

  test("an entry's content left unread is skipped, and the next entry is still found", async () => {
    const { bytes } = await tarOf([memoryFile("a", "a".repeat(200_000)), memoryFile("b", "bee")]);
    const seen: string[] = [];
    for await (const entry of readTar(Readable.from([bytes]))) {
      seen.push(entry.path);
      if (entry.path === "b") assert.equal((await collect(entry.body)).toString(), "bee");
    }
    assert.deepEqual(seen, ["a", "b", INDEX_NAME]);
  });

  test("backpressure: a consumer that stops reading stops the source too", async () => {
    let produced = 0;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        produced += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 1));
      },
    });
    const size = 256 * 1024 * 1024;
    const { stream } = writeTar([
      { path: "big", type: "file", size, mtime: new Date(), open: async () => source },
    ]);
    const first = await new Promise<Buffer>((resolve) => stream.once("data", resolve));
    stream.pause();
    assert.ok(first.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = produced;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(produced, before, "the source is not read while the tar is not");
    assert.ok(produced < 4 * 1024 * 1024, `${produced} bytes read ahead of a paused consumer`);
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(source.destroyed, true, "destroying the tar releases the file being read");
  });

  test("the reserved index name at the source's root is refused", async () => {
    const { stream, summary } = writeTar([memoryFile(INDEX_NAME, "x")]);
    await assert.rejects(collect(stream), /reserves for the archive's index/);
    await assert.rejects(summary);
  });
});

/** Reads every entry's content, yielding each entry's bytes. */
async function* readAllBodies(bytes: Buffer): AsyncGenerator<Buffer> {
  for await (const entry of readTar(Readable.from([bytes]))) yield await collect(entry.body);
}

describe("files that change while read", () => {
  const changing = (): FileEntry[] => [
    memoryFile("before.txt", "fine"),
    memoryFile("grew.txt", "0123456789", 4),
    memoryFile("shrank.txt", "0123", 10),
    {
      path: "vanished.txt",
      type: "file",
      size: 3,
      mtime: new Date(0),
      open: () => Promise.reject(new VanishedError("vanished.txt")),
    },
    {
      ...memoryFile("modified.txt", "same size"),
      open: async () => ({
        stream: Readable.from([Buffer.from("same size")]),
        changedSince: async () => true,
      }),
    },
    memoryFile("after.txt", "also fine"),
  ];

  test("policy fail: the stream fails with a FileChangedError naming the file, the summary rejects", async () => {
    const { stream, summary } = writeTar(changing(), { onChange: "fail" });
    await assert.rejects(collect(stream), (error: unknown) => {
      assert.ok(error instanceof FileChangedError);
      assert.equal(error.file.path, "grew.txt");
      assert.equal(error.file.reason, "grew");
      assert.match(error.message, /"grew.txt" grew while it was read/);
      return true;
    });
    await assert.rejects(summary, FileChangedError);
    for (const entry of changing().slice(2, 5)) {
      const { stream: alone } = writeTar([entry], { onChange: "fail" });
      await assert.rejects(collect(alone), FileChangedError, entry.path);
    }
  });

  test("policy warn: a valid tar at the announced sizes, changed files marked in the index and summary", async () => {
    const { bytes, summary } = await tarOf(changing(), "warn");
    assert.deepEqual(
      summary.changed.map((file) => [file.path, file.reason]),
      [
        ["grew.txt", "grew"],
        ["shrank.txt", "shrank"],
        ["vanished.txt", "vanished"],
        ["modified.txt", "modified"],
      ],
    );
    assert.equal(summary.files, 5);
    const out = fresh("warn-out");
    execFileSync("tar", ["-xf", "-", "-C", out], { input: bytes });
    assert.equal(readFileSync(join(out, "grew.txt"), "utf8"), "0123");
    assert.deepEqual(
      readFileSync(join(out, "shrank.txt")),
      Buffer.concat([Buffer.from("0123"), Buffer.alloc(6)]),
    );
    assert.equal(readFileSync(join(out, "after.txt"), "utf8"), "also fine");
    const index = parseIndex(readFileSync(join(out, INDEX_NAME), "utf8"));
    const marks = Object.fromEntries(index.records.map((record) => [record.path, record.changed ?? "-"]));
    assert.deepEqual(marks, {
      "before.txt": "-",
      "grew.txt": "grew",
      "shrank.txt": "shrank",
      "vanished.txt": "vanished",
      "modified.txt": "modified",
      "after.txt": "-",
    });
    const report = await verifyArchive(Readable.from([bytes]));
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.changed.length, 4);
  });

  test("a local file appended to while it is read is caught (fail) or stored at its opening size (warn)", async () => {
    for (const policy of ["fail", "warn"] as const) {
      const source = fresh(`growing-${policy}`);
      const file = join(source, "log.txt");
      writeFileSync(file, Buffer.alloc(4 << 20, 0x61));
      const { stream, summary } = writeTar(new DirectorySource(source).entries(), { onChange: policy });
      let appended = false;
      const parts: Buffer[] = [];
      const reading = (async () => {
        for await (const chunk of stream) {
          parts.push(chunk as Buffer);
          if (!appended) {
            appended = true;
            appendFileSync(file, "more");
          }
        }
      })();
      if (policy === "fail") {
        await assert.rejects(reading, /"log.txt" grew while it was read/);
        await assert.rejects(summary);
      } else {
        await reading;
        const totals = await summary;
        assert.deepEqual(
          totals.changed.map((change) => change.reason),
          ["grew"],
        );
        const report = await verifyArchive(Readable.from(parts));
        assert.equal(report.ok, true);
        assert.equal(report.bytes, 4 << 20);
      }
    }
  });
});
