/**
 * The prune benchmark: `lifeboat prune` over 10,000 backups, in the local directory store and in the
 * S3 test server (@20minutes/s3rver on loopback): wall time, and the store requests it took.
 *
 * The history: one backup an hour for 10,000 hours (about 14 months), each a dump and a manifest,
 * with a passing restore-test record on one backup a day. The policy is a common one:
 * keep-hourly 24, keep-daily 7, keep-weekly 4, keep-monthly 12, so almost every backup goes.
 *
 * The target: one listing pass (ListObjectsV2 pages of 1000 keys) plus one delete call per 1000
 * keys removed (prune deletes in two passes, manifests first, so at most one call more), and under
 * 3 s on the local store.
 *
 * Run: node --openssl-legacy-provider --import tsx scripts/bench-prune.ts
 * Environment:
 *   LIFEBOAT_BENCH_PRUNE_BACKUPS   backups in the history, default 10000
 *   LIFEBOAT_BENCH_PRUNE_STORES    "local,s3" (default), "local" or "s3"
 *   LIFEBOAT_BENCH_PRUNE_DIR       where the local store goes, default the system's temporary directory
 *   LIFEBOAT_BENCH_JSON            also write the raw results to this file
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runPrune, type PruneResult } from "../src/commands/prune/run.js";
import { silentLogger } from "../src/commands/logger.js";
import { parsePruneSettings, type RawOptions } from "../src/settings/settings.js";
import { LocalStore } from "../src/storage/local-store.js";
import { createS3Store } from "../src/storage/s3-store.js";
import { hourlyTimes, seedLocalFolders, type FolderSpec } from "../test/helpers/backup-folders.js";
import { countingStore, type StoreCalls } from "../test/helpers/counting-store.js";
import { setEnv, startS3Server } from "../test/helpers/s3-server.js";
import { checkKey, dumpKey, manifestKey } from "../src/domain/layout.js";
import { newBackupId } from "../src/domain/backup-id.js";

const LABEL = "bench";
const TARGET_LOCAL_SECONDS = 3;
const POLICY: RawOptions = {
  label: LABEL,
  "keep-hourly": "24",
  "keep-daily": "7",
  "keep-weekly": "4",
  "keep-monthly": "12",
};

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(repoDir, "dist", "cli", "index.js");

function history(count: number, now: Date): FolderSpec[] {
  const newest = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 3_600_000);
  return hourlyTimes(newest, count).map((time, index) => ({
    time,
    dumpBytes: 1024,
    checks: index % 24 === 0 ? [{ kind: "restore-test", passed: true }] : [],
  }));
}

interface Measurement {
  store: string;
  run: string;
  seconds: number;
  /** Of which: the listing, and the deletes (NaN where not measured). */
  listSeconds: number;
  deleteSeconds: number;
  backups: number;
  objects: number;
  kept: number;
  deleted: number;
  keysDeleted: number;
  requests: Record<string, number>;
  /** The target's count: list pages + one delete call per 1000 keys removed. */
  targetRequests: number;
  actualRequests: number;
}

function keysIn(result: PruneResult): number {
  return result.decisions.filter((d) => d.action === "delete").reduce((sum, d) => sum + d.objects, 0);
}

function localMeasurement(run: string, seconds: number, result: PruneResult, calls: StoreCalls): Measurement {
  const objects = calls.listed;
  const keysDeleted = result.dryRun ? 0 : keysIn(result);
  return {
    store: "local",
    run,
    seconds,
    listSeconds: calls.listMs / 1000,
    deleteSeconds: calls.deleteMs / 1000,
    backups: result.decisions.length,
    objects,
    kept: result.kept,
    deleted: result.deleted,
    keysDeleted,
    requests: { check: calls.check, list: calls.list, deleteMany: calls.deleteMany },
    targetRequests: 1 + Math.ceil(keysDeleted / 1000),
    actualRequests: calls.list + calls.deleteMany,
  };
}

async function benchLocal(count: number): Promise<Measurement[]> {
  const work = mkdtempSync(join(process.env.LIFEBOAT_BENCH_PRUNE_DIR ?? tmpdir(), "lifeboat-bench-prune-"));
  try {
    const now = new Date();
    const seed = join(work, "seed");
    process.stderr.write(`local: writing ${count} backups ...\n`);
    seedLocalFolders(seed, LABEL, history(count, now));
    const out: Measurement[] = [];
    for (const dryRun of [true, false]) {
      const root = join(work, dryRun ? "dry" : "real");
      cpSync(seed, root, { recursive: true, preserveTimestamps: true });
      const { store, calls } = countingStore(new LocalStore(root));
      const settings = parsePruneSettings({ ...POLICY, storage: root, "dry-run": dryRun });
      const started = performance.now();
      const result = await runPrune(settings, { store, now: () => now, log: silentLogger });
      const seconds = (performance.now() - started) / 1000;
      out.push(
        localMeasurement(dryRun ? "dry-run, in process" : "prune, in process", seconds, result, calls),
      );
    }
    if (existsSync(cli)) {
      const root = join(work, "cli");
      cpSync(seed, root, { recursive: true, preserveTimestamps: true });
      const args = Object.entries(POLICY).flatMap(([name, value]) => [`--${name}`, String(value)]);
      const started = performance.now();
      const run = spawnSync(process.execPath, [cli, "prune", "--storage", root, ...args, "--json"], {
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      const seconds = (performance.now() - started) / 1000;
      if (run.status !== 0) throw new Error(`lifeboat prune failed: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as PruneResult;
      out.push({
        store: "local",
        run: "prune, bundled CLI (process start included)",
        seconds,
        listSeconds: Number.NaN,
        deleteSeconds: Number.NaN,
        backups: result.decisions.length,
        objects: result.decisions.reduce((sum, d) => sum + d.objects, 0),
        kept: result.kept,
        deleted: result.deleted,
        keysDeleted: keysIn(result),
        requests: {},
        targetRequests: 1 + Math.ceil(keysIn(result) / 1000),
        actualRequests: Number.NaN,
      });
    } else {
      process.stderr.write(`local: ${cli} is missing (npm run build): the CLI run is skipped\n`);
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Puts objects, `concurrency` at a time. */
async function putAll(
  put: (key: string, body: Buffer) => Promise<unknown>,
  objects: [string, Buffer][],
  concurrency: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < objects.length) {
        const [key, body] = objects[next++]!;
        await put(key, body);
      }
    }),
  );
}

function classify(method: string, url: string): string {
  if (method === "GET" && /[?&]list-type=2/.test(url)) return "ListObjectsV2";
  if (method === "POST" && /[?&]delete/.test(url)) return "DeleteObjects";
  if (method === "GET" && /[?&]object-lock/.test(url)) return "GetObjectLockConfiguration";
  if (method === "HEAD") return "HeadObject";
  return `${method} other`;
}

async function benchS3(count: number): Promise<Measurement[]> {
  const work = mkdtempSync(join(tmpdir(), "lifeboat-bench-prune-s3-"));
  const server = await startS3Server({ directory: join(work, "s3") });
  const restoreEnv = setEnv({ ...server.env, AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined });
  try {
    const now = new Date();
    const specs = history(count, now);
    const out: Measurement[] = [];
    const prefix = "bench";
    const open = () =>
      createS3Store({ bucket: server.bucket, prefix }, { endpoint: server.endpoint, forcePathStyle: true });
    const seeder = open();
    const objects: [string, Buffer][] = specs.flatMap((spec) => {
      const id = newBackupId(spec.time);
      const pairs: [string, Buffer][] = [[dumpKey(LABEL, id, true), Buffer.alloc(spec.dumpBytes ?? 0, 1)]];
      for (const check of spec.checks ?? []) {
        pairs.push([
          checkKey(LABEL, id, new Date(spec.time.getTime() + 3_600_000), check.kind, true),
          Buffer.from("{}"),
        ]);
      }
      pairs.push([manifestKey(LABEL, id), Buffer.from("{}")]);
      return pairs;
    });
    process.stderr.write(`s3: putting ${objects.length} objects under ${prefix}/ ...\n`);
    await putAll((key, body) => seeder.put(key, Readable.from([body])), objects, 32);
    seeder.client.destroy();
    // The dry run deletes nothing, so the real run that follows sees the same history.
    for (const dryRun of [true, false]) {
      const settings = parsePruneSettings({
        ...POLICY,
        storage: `s3://${server.bucket}/${prefix}`,
        "s3-endpoint": server.endpoint,
        "s3-force-path-style": "true",
        "dry-run": dryRun,
      });
      // A new store (and client) per run, as each run of the CLI or the action has.
      const s3Store = open();
      const { store, calls } = countingStore(s3Store);
      const first = server.requests.length;
      const started = performance.now();
      const result = await runPrune(settings, { store, now: () => now, log: silentLogger });
      const seconds = (performance.now() - started) / 1000;
      s3Store.client.destroy();
      const requests: Record<string, number> = {};
      for (const request of server.requests.slice(first)) {
        const kind = classify(request.method, request.url);
        requests[kind] = (requests[kind] ?? 0) + 1;
      }
      const keysDeleted = dryRun ? 0 : keysIn(result);
      const listPages = Math.ceil(objects.length / 1000);
      out.push({
        store: "s3rver",
        run: dryRun ? "dry-run, in process" : "prune, in process",
        seconds,
        listSeconds: calls.listMs / 1000,
        deleteSeconds: calls.deleteMs / 1000,
        backups: result.decisions.length,
        objects: objects.length,
        kept: result.kept,
        deleted: result.deleted,
        keysDeleted,
        requests,
        targetRequests: listPages + Math.ceil(keysDeleted / 1000),
        actualRequests: Object.values(requests).reduce((sum, n) => sum + n, 0),
      });
    }
    return out;
  } finally {
    restoreEnv();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function table(rows: Measurement[]): string {
  const header = [
    "store",
    "run",
    "backups",
    "objects",
    "kept",
    "deleted",
    "keys deleted",
    "seconds",
    "list s",
    "delete s",
    "requests",
    "target",
  ];
  const lines = rows.map((row) => [
    row.store,
    row.run,
    String(row.backups),
    String(row.objects),
    String(row.kept),
    String(row.deleted),
    String(row.keysDeleted),
    row.seconds.toFixed(2),
    Number.isNaN(row.listSeconds) ? "-" : row.listSeconds.toFixed(2),
    Number.isNaN(row.deleteSeconds) ? "-" : row.deleteSeconds.toFixed(2),
    Object.keys(row.requests).length
      ? Object.entries(row.requests)
          .map(([name, n]) => `${name} ${n}`)
          .join(", ")
      : "-",
    Number.isNaN(row.actualRequests) ? "-" : `${row.actualRequests} (target ${row.targetRequests})`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  return [header, ...lines]
    .map((line) =>
      line
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<void> {
  const count = Number(process.env.LIFEBOAT_BENCH_PRUNE_BACKUPS ?? "10000");
  if (!Number.isInteger(count) || count < 10 || count > 1_000_000) {
    throw new Error(
      `LIFEBOAT_BENCH_PRUNE_BACKUPS="${process.env.LIFEBOAT_BENCH_PRUNE_BACKUPS}": expected 10 to 1000000`,
    );
  }
  const stores = (process.env.LIFEBOAT_BENCH_PRUNE_STORES ?? "local,s3").split(",").map((s) => s.trim());
  const rows: Measurement[] = [];
  if (stores.includes("local")) rows.push(...(await benchLocal(count)));
  if (stores.includes("s3")) rows.push(...(await benchS3(count)));
  process.stdout.write(
    `prune over ${count} hourly backups; ${availableParallelism()} CPUs; node ${process.version}\n`,
  );
  process.stdout.write(
    `policy: ${Object.entries(POLICY)
      .filter(([name]) => name !== "label")
      .map(([n, v]) => `--${n} ${v}`)
      .join(" ")}\n\n`,
  );
  process.stdout.write(table(rows) + "\n\n");
  const local = rows.find((row) => row.store === "local" && row.run === "prune, in process");
  if (local) {
    process.stdout.write(
      `target: local prune under ${TARGET_LOCAL_SECONDS} s: ${local.seconds.toFixed(2)} s, ${local.seconds < TARGET_LOCAL_SECONDS ? "met" : "MISSED"}\n`,
    );
  }
  for (const row of rows.filter((r) => !Number.isNaN(r.actualRequests) && r.run.startsWith("prune"))) {
    process.stdout.write(
      `target: ${row.store} requests ${row.actualRequests} for ${row.keysDeleted} keys deleted (target ${row.targetRequests}): ` +
        `${row.actualRequests <= row.targetRequests + 3 ? "met" : "MISSED"} ` +
        "(beyond the target: the store check, the bucket's object-lock question on S3, and at most one call for deleting manifests first)\n",
    );
  }
  if (process.env.LIFEBOAT_BENCH_JSON)
    writeFileSync(process.env.LIFEBOAT_BENCH_JSON, JSON.stringify(rows, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench-prune: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
