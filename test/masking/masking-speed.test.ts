/**
 * Masking at scale: N customers (email key, name, phone, free text, jsonb) and N orders
 * referencing them by email, dumped, masked as the dump streams, verified, and restored; the joins
 * hold in the restored copy. The time is printed (LIFEBOAT_MASK_BENCH_ROWS=1000000 for a larger
 * fixture, LIFEBOAT_MASK_BENCH_WORKERS=0 for the fakes in the main thread only);
 * npm run bench:mask measures masking against a restore.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadavg } from "node:os";
import pg from "pg";
import { maskingKey } from "../../src/masking/fakes.js";
import { maskDatabase, restoreArchive } from "../helpers/masked-dump.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const ROWS = Number(process.env.LIFEBOAT_MASK_BENCH_ROWS ?? 50_000);
/** Worker threads for the fakes (fake-pool.ts); unset: one per core. */
const WORKERS = process.env.LIFEBOAT_MASK_BENCH_WORKERS;

let cluster: Cluster;
before(async () => {
  cluster = await startCluster({ settings: ["-c shared_buffers=256MB", "-c max_wal_size=4GB"] });
  await cluster.createDatabase("big");
  await cluster.sql(
    "big",
    `CREATE TABLE public.customers (email text PRIMARY KEY, name text, phone text, bio text, profile jsonb);
     CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_email text NOT NULL REFERENCES public.customers (email), note text);
     INSERT INTO public.customers
     SELECT 'c' || i || '@shop.example', 'Given' || i || ' Family' || i, '+1 555 ' || lpad(i::text, 7, '0'),
            'Customer ' || i || ' wrote in about order ' || i || ', reach them at c' || i || '@shop.example please',
            jsonb_build_object('name', 'Given' || i, 'tier', 'gold')
       FROM generate_series(1, ${ROWS}) AS i;
     INSERT INTO public.orders SELECT i, 'c' || (1 + (i * 7) % ${ROWS}) || '@shop.example', 'leave at door' FROM generate_series(1, ${ROWS}) AS i;
     ANALYZE;`,
  );
});
after(async () => cluster?.stop());

test(`masks and verifies ${ROWS} customers and ${ROWS} orders as they are dumped`, async () => {
  const rules = `version: 1
tables:
  public.customers:
    columns:
      email: email
      name: name
      phone: phone
      bio: text
      profile: { jsonb: { name: { name: first } } }
  public.orders:
    columns:
      customer_email: email
`;
  const started = performance.now();
  const masked = await maskDatabase(cluster, "big", rules, maskingKey("benchmark-masking-key-0123456789"), {
    ...(WORKERS === undefined ? {} : { workers: Number(WORKERS) }),
  });
  const ms = Math.round(performance.now() - started);
  // On a shared machine the figure means little without the load it was taken under.
  const load = loadavg().map((n) => n.toFixed(1));
  console.log(
    `dumping and masking ${2 * ROWS} rows (${ROWS} customers, ${ROWS} orders): ${ms} ms, ${Math.round((2 * ROWS) / (ms / 1000))} rows/s, ${masked.result.sourceDigests} source digests (load average ${load.join(", ")})`,
  );
  assert.deepEqual(masked.result.relations, [
    { relation: "public.customers", rows: ROWS },
    { relation: "public.orders", rows: ROWS },
  ]);
  await restoreArchive(cluster, masked.archive, "big_masked");
  const client = new pg.Client({ connectionString: cluster.url("big_masked") });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE c.email LIKE 'user\\_%@example.invalid')::int AS fakes
         FROM public.orders o JOIN public.customers c ON c.email = o.customer_email`,
    );
    assert.deepEqual(rows[0], { n: ROWS, fakes: ROWS });
  } finally {
    await client.end();
  }
});
