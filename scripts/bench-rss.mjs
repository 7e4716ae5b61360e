// Preloaded by scripts/bench.ts into the lifeboat CLI it measures:
//   LIFEBOAT_BENCH_RSS_FILE=/tmp/x.json node --import ./scripts/bench-rss.mjs dist/cli/index.js backup ...
// On exit it writes this process's own peak resident set size and CPU time (getrusage RUSAGE_SELF:
// pg_dump and other children are not counted) as JSON to the file the variable names.
import { writeFileSync } from "node:fs";

const target = process.env.LIFEBOAT_BENCH_RSS_FILE;
if (target) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    const report = {
      maxRssKiB: usage.maxRSS,
      userCpuSeconds: usage.userCPUTime / 1e6,
      systemCpuSeconds: usage.systemCPUTime / 1e6,
    };
    writeFileSync(target, JSON.stringify(report) + "\n");
  });
}
