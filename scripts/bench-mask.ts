/**
 * `npm run bench:mask`: what `restore-test --mask` adds to a restore-test (issue 18: masking a
 * 1 GB database adds at most the time of one restore), on two databases:
 *
 *   realistic  customers (email key, name, phone, free text, jsonb with name and email) and
 *              orders referencing them by email, next to non-personal bulk (pgbench tables)
 *   worst      customers only: nearly every byte is a masked column
 *
 * For each, side by side from the same stored backup:
 *   a  lifeboat restore-test                       (restore + checks; the "one restore")
 *   b  lifeboat restore-test --mask ...            (the same, then mask, verify, back up the copy)
 *   added = b - a, and added / a                   target <= 1.0
 *   c  the masking stream alone: pg_dump -Z0 of the database into nothing, then the same dump
 *      through the archive masker (src/masking/archive-mask.ts), with the CPU seconds of the
 *      job's Node process (the masker and its worker threads)
 * Wall time on a shared machine means little alone: CPU seconds (from /proc) and the load average
 * at the start and the end are printed with it.
 *
 * Environment: LIFEBOAT_BENCH_MASK_GB (realistic size, default 1), LIFEBOAT_BENCH_MASK_WORST_GB
 * (default 0.5; 0 skips it), LIFEBOAT_BENCH_QUICK=1 (0.05 GB each, to try the script),
 * LIFEBOAT_BENCH_MASK_SRC (another checkout's src/ for step c),
 * LIFEBOAT_BENCH_CLI_DIR (the CLI bundle for a and b, default dist/cli: what users run, with the
 * masking worker threads' own bundle next to it), LIFEBOAT_BENCH_MASK_WORKERS (worker threads for
 * step c; default one per core).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import type * as Apply from "../src/masking/apply.js";
import type * as ArchiveMask from "../src/masking/archive-mask.js";
import type * as CatalogCheck from "../src/masking/catalog-check.js";
import type * as Fakes from "../src/masking/fakes.js";
import type * as Rules from "../src/masking/rules.js";
import { startCluster, type Cluster } from "../test/helpers/postgres-cluster.js";

const GB = 1e9;
const quick = process.env.LIFEBOAT_BENCH_QUICK === "1";
const realisticBytes = (quick ? 0.05 : Number(process.env.LIFEBOAT_BENCH_MASK_GB ?? "1")) * GB;
const worstBytes = (quick ? 0.05 : Number(process.env.LIFEBOAT_BENCH_MASK_WORST_GB ?? "0.5")) * GB;
const maskingSource = resolve(process.env.LIFEBOAT_BENCH_MASK_SRC ?? "src");
const cli = join(resolve(process.env.LIFEBOAT_BENCH_CLI_DIR ?? "dist/cli"), "index.js");
const workers = process.env.LIFEBOAT_BENCH_MASK_WORKERS;
const TICKS = 100;

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");

/** CPU seconds of the children this process has waited for (the CLI and everything it ran). */
function childrenCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / TICKS;
}

/** CPU seconds of a process and its reaped children: the postmaster counts its ended backends. */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
}

async function lifeboat(args: string[], env: NodeJS.ProcessEnv) {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args, "--json"], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`lifeboat ${args[0]} failed (${code}): ${stderr.slice(-2000)}`);
  return { seconds, stderr, json: JSON.parse(stdout) as Record<string, unknown> };
}

const RULES = `version: 1
tables:
  public.customers:
    columns:
      id: keep
      created_at: keep
      email: email
      full_name: name
      phone: phone
      bio: text
      profile:
        jsonb:
          name.first: { name: first }
          name.last: { name: last }
          contact.email: email
  public.orders:
    columns:
      customer_email: email
      shipping_name: name
`;

/** Customers with the personal data a shop keeps; orders point at them by email (the FK). */
function personalSql(customers: number, ordersPerCustomer: number): string {
  return `
    CREATE TABLE public.customers (
      id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, phone text, bio text,
      profile jsonb, created_at timestamptz NOT NULL);
    INSERT INTO public.customers
    SELECT i, 'user' || i || '.' || substr(md5(i::text), 1, 6) || '@mail' || (i % 97) || '.example',
           'Given' || i || ' Family' || (i % 50000), '+1 (555) ' || lpad((i % 10000000)::text, 7, '0'),
           'Customer since ' || (2000 + i % 25) || ', prefers delivery after 6pm; call ' || lpad((i % 10000000)::text, 7, '0')
             || ' or write to user' || i || '@mail.example. ' || repeat(substr(md5(i::text), 1, 8) || ' ', 1 + i % 6),
           jsonb_build_object('name', jsonb_build_object('first', 'Given' || i, 'last', 'Family' || (i % 50000)),
                              'contact', jsonb_build_object('email', 'user' || i || '@mail.example', 'optin', i % 2 = 0),
                              'plan', (ARRAY['free','pro','team'])[1 + i % 3], 'visits', i % 1000),
           now() - (i % 2000) * interval '1 day'
      FROM generate_series(1, ${customers}) AS i;
    CREATE TABLE public.orders (
      id bigint PRIMARY KEY, customer_email text NOT NULL REFERENCES public.customers (email),
      total numeric(10, 2) NOT NULL, status text NOT NULL, shipping_name text, placed_at timestamptz NOT NULL);
    INSERT INTO public.orders
    SELECT o, c.email, (o % 50000) / 100.0, (ARRAY['paid','shipped','returned'])[1 + o % 3], c.full_name,
           now() - (o % 700) * interval '1 hour'
      FROM generate_series(1, ${customers * ordersPerCustomer}) AS o
      JOIN public.customers c ON c.id = 1 + (o::bigint * 7919) % ${customers};
    CREATE INDEX ON public.orders (customer_email);
    ANALYZE;`;
}

interface Case {
  name: string;
  build: (cluster: Cluster, database: string) => Promise<void>;
}

const allCases: Case[] = [
  {
    name: "realistic",
    build: async (cluster, database) => {
      // About 40% of the bytes are the two personal tables, the rest pgbench's non-personal bulk.
      const customers = Math.max(1000, Math.round((realisticBytes * 0.4) / 950));
      const scale = Math.max(1, Math.round((realisticBytes * 0.6) / 15.5e6));
      execFileSync(
        join(cluster.binDir, "pgbench"),
        ["-i", "-q", "-s", String(scale), cluster.url(database)],
        {
          stdio: "ignore",
        },
      );
      await cluster.sql(database, personalSql(customers, 2));
    },
  },
  {
    name: "worst",
    build: async (cluster, database) => {
      await cluster.sql(database, personalSql(Math.max(1000, Math.round(worstBytes / 620)), 0));
    },
  },
];
const cases = allCases.filter((c) => (c.name === "worst" ? worstBytes > 0 : realisticBytes > 0));

const work = mkdtempSync(join(tmpdir(), "lifeboat-bench-mask-"));
const cluster = await startCluster({
  settings: ["-c max_wal_size=4GB", "-c maintenance_work_mem=256MB", "-c shared_buffers=256MB"],
});
const postmaster = Number(readFileSync(join(cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
const { planArchiveMasking } = (await import(join(maskingSource, "masking/apply.ts"))) as typeof Apply;
const { ArchiveMasker } = (await import(
  join(maskingSource, "masking/archive-mask.ts")
)) as typeof ArchiveMask;
const { checkRulesAgainstCatalog } = (await import(
  join(maskingSource, "masking/catalog-check.ts")
)) as typeof CatalogCheck;
const { maskingKey } = (await import(join(maskingSource, "masking/fakes.ts"))) as typeof Fakes;
const { parseMaskingRules } = (await import(join(maskingSource, "masking/rules.ts"))) as typeof Rules;

console.log(`load average at the start: ${load()}; masking code for step c: ${maskingSource}`);
try {
  const identity = join(work, "production.key");
  const staging = join(work, "staging.key");
  execFileSync("age-keygen", ["-o", identity], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", staging], { stdio: "pipe" });
  const recipient = (file: string) => execFileSync("age-keygen", ["-y", file], { encoding: "utf8" }).trim();
  const keyFile = join(work, "masking.key");
  writeFileSync(keyFile, "benchmark-masking-key-0123456789\n", { mode: 0o600 });
  const rulesFile = join(work, "mask.yml");
  writeFileSync(rulesFile, RULES);

  for (const c of cases) {
    const database = `bench_${c.name}`;
    await cluster.createDatabase(database);
    const building = performance.now();
    await c.build(cluster, database);
    const [size] = await cluster.sql<{ bytes: string; masked: string }>(
      database,
      `SELECT pg_database_size(current_database()) AS bytes,
              pg_total_relation_size('public.customers') + coalesce(pg_total_relation_size(to_regclass('public.orders')), 0) AS masked`,
    );
    const [counts] = await cluster.sql<{ customers: string; orders: string }>(
      database,
      "SELECT (SELECT count(*) FROM public.customers) AS customers, (SELECT count(*) FROM public.orders) AS orders",
    );
    console.log(
      `\n== ${c.name}: ${(Number(size!.bytes) / GB).toFixed(2)} GB, of which the masked tables ${(Number(size!.masked) / GB).toFixed(2)} GB` +
        ` (${counts!.customers} customers, ${counts!.orders} orders); built in ${((performance.now() - building) / 1000).toFixed(0)} s`,
    );

    const env = { ...process.env, DATABASE_URL: cluster.url(database) };
    const store = join(work, `store-${c.name}`);
    await lifeboat(["backup", "--storage", store, "--recipient", recipient(identity)], env);
    const restoreArgs = [
      "restore-test",
      "--storage",
      store,
      "--identity-file",
      identity,
      "--scratch-database-url",
      cluster.url("postgres"),
      "--jobs",
      "2",
    ];
    const measure = async (args: string[]) => {
      const job = childrenCpu();
      const server = processCpu(postmaster);
      const loadBefore = load();
      const run = await lifeboat(args, env);
      return { ...run, jobCpu: childrenCpu() - job, serverCpu: processCpu(postmaster) - server, loadBefore };
    };
    const a = await measure(restoreArgs);
    const b = await measure([
      ...restoreArgs,
      "--mask",
      rulesFile,
      "--masked-label",
      "staging",
      "--masked-recipient",
      recipient(staging),
      "--masking-key-file",
      keyFile,
    ]);
    const masked = b.json.masked as { backupId?: string | null; error?: string | null } | undefined;
    if (!masked?.backupId)
      throw new Error(`no masked copy was written: ${masked?.error ?? b.stderr.slice(-2000)}`);
    const maskingLine = /masked copy written in ([0-9.]+)s/.exec(b.stderr);
    const row = (name: string, run: typeof a) =>
      console.log(
        `${name.padEnd(36)} ${run.seconds.toFixed(1).padStart(7)} s wall  ${run.jobCpu.toFixed(1).padStart(6)} s CPU job  ${run.serverCpu.toFixed(1).padStart(6)} s CPU server  (load ${run.loadBefore})`,
      );
    row("a  restore-test", a);
    row("b  restore-test --mask", b);
    const added = b.seconds - a.seconds;
    console.log(
      `added by masking: ${added.toFixed(1)} s = ${(added / a.seconds).toFixed(2)} x the restore-test (target <= 1.00: ${added <= a.seconds ? "MET" : "MISSED"});` +
        ` of which the masked copy (filters, masked dump, verification, upload) ${maskingLine?.[1] ?? "?"} s`,
    );

    // c: the masking stream alone, against pg_dump alone, both into nothing.
    const client = new pg.Client({ connectionString: cluster.url(database) });
    await client.connect();
    try {
      const plan = await checkRulesAgainstCatalog(parseMaskingRules(RULES, "bench.yml"), client);
      const archivePlan = await planArchiveMasking(client, plan);
      const dumpArgs = ["-Fc", "-Z0", "--encoding=UTF8", cluster.url(database)];
      const dumpInto = async (mask: boolean) => {
        const loadBefore = load();
        const node = process.cpuUsage();
        const started = performance.now();
        const child = spawn(join(cluster.binDir, "pg_dump"), dumpArgs, {
          stdio: ["ignore", "pipe", "inherit"],
        });
        const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
        const masker = mask
          ? new ArchiveMasker(archivePlan, maskingKey("benchmark-masking-key-0123456789"), {
              workers:
                workers === undefined
                  ? (await import(join(maskingSource, "masking/fake-pool.ts"))).defaultWorkers()
                  : Number(workers),
            })
          : undefined;
        await pipeline([child.stdout, ...(masker ? [masker.stream] : []), sink]);
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(node);
        const result = masker?.result();
        console.log(
          `c  pg_dump -Z0${mask ? " | archive masker" : ""} into nothing: ${seconds.toFixed(1)} s wall, ` +
            `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU job` +
            (result
              ? `, ${result.relations.reduce((sum, r) => sum + r.rows, 0)} rows masked, ${result.sourceDigests} source digests, ${result.lookedUp} values looked up`
              : "") +
            ` (load ${loadBefore} -> ${load()})`,
        );
      };
      await dumpInto(false);
      await dumpInto(true);
    } finally {
      await client.end();
    }
    await cluster.sql("postgres", `DROP DATABASE ${database}`);
  }
  console.log(`\nload average at the end: ${load()}`);
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
