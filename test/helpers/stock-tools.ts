/** Stock-tool steps shared by tests and the demo: recovery without Lifeboat, and stand-in pg_dumps. */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The stock tool that undoes an artifact's `compression` ("zstd:1" -> `zstd -d`), as a pipe stage. */
export function stockDecompressor(compression: string): string {
  const method = compression.split(":", 1)[0];
  if (method === "zstd") return "zstd -d";
  if (method === "gzip") return "gzip -d";
  if (method === "none") return "cat";
  throw new Error(`no stock tool for compression ${compression}`);
}

/**
 * `age -d -i <identity> <object> | zstd -d | pg_restore --no-owner --exit-on-error -d <url>`, as
 * docs/format.md says; `compression` is the dump artifact's (the zstd step is left out for "none").
 */
export function restoreWithStockTools(options: {
  identityFile: string;
  object: string;
  compression: string;
  pgRestore: string;
  targetUrl: string;
}): void {
  execFileSync("bash", [
    "-o",
    "pipefail",
    "-c",
    `age -d -i "$1" "$2" | ${stockDecompressor(options.compression)} | "$3" --no-owner --exit-on-error -d "$4"`,
    "bash",
    options.identityFile,
    options.object,
    options.pgRestore,
    options.targetUrl,
  ]);
}

/**
 * A directory holding a `pg_dump` shell script that answers --version as the real one does and
 * otherwise runs `body` (where `$REAL` is the real pg_dump): for tests that need a pg_dump which
 * dies, stalls or waits at a chosen moment. Returns the directory, for --pg-bin-dir.
 */
export function fakePgDump(dir: string, realPgDump: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "pg_dump");
  writeFileSync(
    script,
    `#!/bin/sh\nREAL='${realPgDump}'\ncase "$1" in --version) exec "$REAL" --version;; esac\n${body}\n`,
  );
  chmodSync(script, 0o755);
  return dir;
}
