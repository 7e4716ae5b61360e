/**
 * `npm run demo`: the whole job on the embedded default, on this machine. A throwaway PostgreSQL
 * with sample data, a fresh age key pair, an encrypted backup into ./backups with the bundled
 * CLI, `lifeboat list`, then a recovery with stock tools only (age + zstd + pg_restore) to prove it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { countAllRows, createShop } from "../test/helpers/fixtures.js";
import { startCluster } from "../test/helpers/postgres-cluster.js";
import { restoreWithStockTools, stockDecompressor } from "../test/helpers/stock-tools.js";

const cli = resolve("dist/cli/index.js");
const demoDir = resolve(".lifeboat-demo");
const storage = resolve("backups");
const identity = join(demoDir, "key.txt");

function lifeboat(args: string[], env: NodeJS.ProcessEnv): string {
  console.log(`\n$ lifeboat ${args.join(" ")}`);
  const result = spawnSync(process.execPath, [cli, ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.stdout.write(result.stdout);
  if (result.status !== 0) throw new Error(`lifeboat ${args[0]} exited with ${result.status}`);
  return result.stdout.trim();
}

function has(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

console.log("Starting a throwaway PostgreSQL with sample data ...");
const cluster = await startCluster();
try {
  await createShop(cluster, "shop");
  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });
  const env = { ...process.env, DATABASE_URL: cluster.url("shop") };

  const recipient = lifeboat(["keygen", "--output", identity], env);
  const backupId = lifeboat(
    ["backup", "--storage", storage, "--label", "demo", "--recipient", recipient],
    env,
  );
  lifeboat(["list", "--storage", storage, "--label", "demo"], env);

  const object = join(storage, "demo", backupId, "dump.age");
  const pgRestore = join(cluster.binDir, "pg_restore");
  const manifest = JSON.parse(readFileSync(join(storage, "demo", backupId, "manifest.json"), "utf8")) as {
    artifacts: { compression: string }[];
  };
  const compression = manifest.artifacts[0]!.compression;
  console.log("\nRecovery with stock tools only (no Lifeboat needed):");
  console.log(
    `  age -d -i ${identity} ${object} | ${stockDecompressor(compression)} | pg_restore --no-owner -d "$TARGET_DATABASE_URL"`,
  );
  if (has("age") && has("zstd")) {
    await cluster.createDatabase("shop_restored");
    restoreWithStockTools({
      identityFile: identity,
      object,
      compression,
      pgRestore,
      targetUrl: cluster.url("shop_restored"),
    });
    const counts = await countAllRows(cluster, "shop_restored");
    const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
    console.log(
      `  done here into a fresh database: ${Object.keys(counts).length} tables, ${rows} rows restored.`,
    );
  } else {
    console.log("  (install age and zstd, e.g. apt-get install age zstd, to run it here)");
  }
  console.log(`\nThe backup is in ${join(storage, "demo", backupId)}; the demo key in ${identity}.`);
} finally {
  await cluster.stop();
}
