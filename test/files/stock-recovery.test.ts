import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { after, test } from "node:test";
import { DirectorySource } from "../../src/files/directory-source.js";
import { INDEX_NAME, parseIndex } from "../../src/files/files-index.js";
import { writeTar } from "../../src/files/tar-writer.js";
import { assertSameTree, makeSampleTree } from "./files-helpers.js";

const work = mkdtempSync(join(tmpdir(), "lifeboat-files-stock-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("recovery by hand: age -d -i key files.tar.zst.age | zstd -d | tar -x restores the tree", async () => {
  const source = join(work, "source");
  mkdirSync(source);
  makeSampleTree(source);
  const identity = join(work, "key.txt");
  execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" });
  const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim();
  const artifact = join(work, "files-1.tar.zst.age");

  // The artifact as the backup makes it, with the stock tools standing in for the project's
  // compressor and encryption: our tar | zstd | age.
  const compressAndEncrypt = spawn(
    "bash",
    ["-o", "pipefail", "-c", 'zstd -q -1 -c | age -r "$1" -o "$2"', "bash", recipient, artifact],
    {
      stdio: ["pipe", "inherit", "inherit"],
    },
  );
  const exited = new Promise<number | null>((resolve) => compressAndEncrypt.on("close", resolve));
  const { stream, summary } = writeTar(new DirectorySource(source).entries());
  await pipeline(stream, compressAndEncrypt.stdin);
  assert.equal(await exited, 0);
  const totals = await summary;

  const out = join(work, "recovered");
  mkdirSync(out);
  execFileSync("bash", [
    "-o",
    "pipefail",
    "-c",
    'age -d -i "$1" "$2" | zstd -d | tar -x -C "$3"',
    "bash",
    identity,
    artifact,
    out,
  ]);
  assertSameTree(out, source, { ignore: [INDEX_NAME] });
  const index = parseIndex(readFileSync(join(out, INDEX_NAME), "utf8"));
  assert.equal(index.records.filter((record) => record.type === "file").length, totals.files);

  // And the index lets a person check the files with sha256sum alone.
  const checks = index.records
    .filter((record) => record.type === "file")
    .map((record) => `${record.sha256}  ${record.path}\n`)
    .join("");
  execFileSync("sha256sum", ["--check", "--quiet", "-"], { cwd: out, input: checks });
});
