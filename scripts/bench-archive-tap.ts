/**
 * Throughput of the archive tap (src/postgres/archive) on a pg_dump -Fc -Z0 archive file:
 * `node --import tsx scripts/bench-archive-tap.ts ARCHIVE [runs]`. Reports CPU seconds per GB, since
 * wall time on a shared machine measures the neighbours; sha256 alone over the same bytes is the
 * reference (hashing every table byte is the tap's floor).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ArchiveParser } from "../src/postgres/archive/index.js";

const path = process.argv[2];
if (!path) {
  console.error("usage: bench-archive-tap.ts ARCHIVE [runs]");
  process.exit(2);
}
const runs = Number(process.argv[3] ?? 3);
const archive = readFileSync(path);
// 64 KiB: what a pipe from pg_dump delivers per read.
const chunks: Buffer[] = [];
for (let at = 0; at < archive.length; at += 65536) chunks.push(archive.subarray(at, at + 65536));

function measure(work: () => void): { cpu: number; wall: number } {
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  work();
  const cpu = process.cpuUsage(cpuStart);
  return { cpu: (cpu.user + cpu.system) / 1e6, wall: Number(process.hrtime.bigint() - wallStart) / 1e9 };
}

const gb = archive.length / 1e9;
console.log(`archive: ${gb.toFixed(3)} GB, ${chunks.length} chunks of 64 KiB`);
for (let run = 1; run <= runs; run++) {
  const hash = measure(() => {
    const h = createHash("sha256");
    for (const chunk of chunks) h.update(chunk);
    h.digest();
  });
  let rows = 0;
  const tap = measure(() => {
    const parser = new ArchiveParser();
    for (const chunk of chunks) parser.write(chunk);
    rows = parser.end().tables.reduce((sum, table) => sum + table.rows, 0);
  });
  console.log(
    `run ${run}: tap ${(gb / tap.cpu).toFixed(2)} GB/s of CPU (${tap.cpu.toFixed(2)} s CPU, ${tap.wall.toFixed(2)} s wall, ${rows} rows); ` +
      `sha256 alone ${(gb / hash.cpu).toFixed(2)} GB/s of CPU`,
  );
}
