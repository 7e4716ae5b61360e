/** Sample databases for tests and the demo: several schemas, types, and a few thousand rows. */
import type { Cluster } from "./postgres-cluster.js";

export const SHOP_SQL = `
CREATE SCHEMA shop;
CREATE SCHEMA audit;
CREATE SCHEMA "Mixed Case";
CREATE TYPE shop.order_state AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE shop.customers (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  profile jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES shop.customers(id),
  state shop.order_state NOT NULL,
  total numeric(12, 2) NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  placed_on date NOT NULL
);
CREATE TABLE audit.events (id uuid PRIMARY KEY, at timestamptz NOT NULL, payload bytea);
CREATE TABLE "Mixed Case"."Odd ""Name""" (k int PRIMARY KEY, v text);
CREATE TABLE public.empty_table (id int);
CREATE UNLOGGED TABLE public.scratch (id int);
CREATE MATERIALIZED VIEW shop.order_totals AS SELECT state, sum(total) AS total FROM shop.orders GROUP BY state;

INSERT INTO shop.customers (email, profile)
  SELECT 'user' || i || '@example.com', jsonb_build_object('n', i, 'vip', i % 7 = 0) FROM generate_series(1, 1500) i;
INSERT INTO shop.orders (customer_id, state, total, tags, placed_on)
  SELECT 1 + (i % 1500), (ARRAY['new','paid','shipped']::shop.order_state[])[1 + i % 3], (i % 1000) / 7.0,
         ARRAY['t' || (i % 5)], date '2026-01-01' + (i % 300)
    FROM generate_series(1, 4000) i;
INSERT INTO audit.events SELECT md5(i::text)::uuid, now() - i * interval '1 minute', decode(md5(i::text), 'hex')
  FROM generate_series(1, 2500) i;
INSERT INTO "Mixed Case"."Odd ""Name""" SELECT i, repeat('x', i % 50) FROM generate_series(1, 321) i;
INSERT INTO public.scratch SELECT generate_series(1, 10);
REFRESH MATERIALIZED VIEW shop.order_totals;
`;

/** Row counts SHOP_SQL produces, by "schema.table". */
export const SHOP_ROWS: Record<string, number> = {
  'Mixed Case.Odd "Name"': 321,
  "audit.events": 2500,
  "public.empty_table": 0,
  "public.scratch": 10,
  "shop.customers": 1500,
  "shop.orders": 4000,
};

export async function createShop(cluster: Cluster, database: string): Promise<void> {
  await cluster.createDatabase(database);
  await cluster.sql(database, SHOP_SQL);
}

/** Exact row counts of every user table of a database, by "schema.table". */
export async function countAllRows(cluster: Cluster, database: string): Promise<Record<string, number>> {
  const tables = await cluster.sql<{ schema: string; table: string }>(
    database,
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
  );
  const counts: Record<string, number> = {};
  for (const { schema, table } of tables) {
    const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
    const [row] = await cluster.sql<{ n: string }>(
      database,
      `SELECT count(*) AS n FROM ${ident(schema)}.${ident(table)}`,
    );
    counts[`${schema}.${table}`] = Number(row!.n);
  }
  return counts;
}
