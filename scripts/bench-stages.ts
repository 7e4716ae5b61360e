/**
 * Where a backup's CPU goes, stage by stage, on one `pg_dump -Fc -Z0` archive file: each of
 * lifeboat's in-process stages alone (sha256, the archive tap, zstd:1, age) and the shell
 * pipeline's tools alone (zstd -1, age), in CPU seconds, which a shared machine disturbs far less
 * than wall time. `node --import tsx scripts/bench-stages.ts ARCHIVE` (npm run bench:stages).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, statSync, unlinkSync } from "node:fs";
import { loadavg } from "node:os";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createCompressor } from "../src/compress/index.js";
import { parseCompression } from "../src/domain/dump-plan.js";
import { createEncryptStream, parseRecipient } from "../src/crypto/age/index.js";
import { createArchiveTap } from "../src/postgres/archive/index.js";

const archive = process.argv[2];
if (!archive) {
  console.error("usage: bench-stages.ts ARCHIVE (a pg_dump -Fc -Z0 file)");
  process.exit(2);
}
const gb = statSync(archive).size / 1e9;
const keygen = spawnSync("age-keygen", [], { encoding: "utf8" });
const recipient = /age1[0-9a-z]+/.exec(keygen.stdout)![0];

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/** CPU seconds of this process (all threads: the thread pool's zstd included) for one pass. */
async function inProcess(
  stream: () => Transform | undefined,
  source = archive,
): Promise<{ cpu: number; wall: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const transform = stream();
  await pipeline(
    transform
      ? [createReadStream(source, { highWaterMark: 65536 }), transform, discard()]
      : [createReadStream(source, { highWaterMark: 65536 }), discard()],
  );
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1e6, wall: (performance.now() - started) / 1000 };
}

function external(command: string, input: string, output = "/dev/null"): { cpu: number; wall: number } {
  const result = spawnSync(
    "/usr/bin/time",
    ["-f", "%U %S %e", "sh", "-c", `${command} < "$0" > "$1"`, input, output],
    {
      encoding: "utf8",
    },
  );
  const [user, system, wall] = result.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { cpu: user! + system!, wall: wall! };
}

const rows: [string, { cpu: number; wall: number }][] = [];
rows.push(["read the file through a Node stream (baseline)", await inProcess(() => undefined)]);
rows.push([
  "sha256 (lifeboat hashes plaintext and stored bytes)",
  await inProcess(() => {
    const hash = createHash("sha256");
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        hash.digest();
        done();
      },
    });
  }),
]);
rows.push(["archive tap (rows and sha256 per table)", await inProcess(() => createArchiveTap().stream)]);
rows.push([
  "zstd:1 (lifeboat's compressor)",
  await inProcess(() => createCompressor(parseCompression("zstd:1"))),
]);
// age encrypts what zstd left: measure it on the compressed bytes, as in the pipeline.
const compressed = `${archive}.zst`;
spawnSync("zstd", ["-1", "-q", "-f", "-o", compressed, archive]);
rows.push([
  "age encrypt of the zstd output (lifeboat's)",
  await inProcess(() => createEncryptStream([parseRecipient(recipient)]), compressed),
]);
rows.push(["zstd -1 CLI", external("zstd -1 -q -c", archive)]);
rows.push(["age CLI on the zstd output", external(`age -r ${recipient}`, compressed)]);
unlinkSync(compressed);

console.log(
  `archive ${gb.toFixed(3)} GB; load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")}`,
);
for (const [name, m] of rows) {
  console.log(
    `${name.padEnd(52)} CPU ${m.cpu.toFixed(2).padStart(6)} s  wall ${m.wall.toFixed(2).padStart(6)} s  ${(gb / m.cpu).toFixed(2)} GB/s of CPU`,
  );
}
