/**
 * Realistic schema fixtures for throwaway clusters (postgres-cluster.ts): the shapes real databases
 * have and toy ones lack. Each builder adds one shape to one database and is small enough to read;
 * `buildRealSchema` composes the ones that fit together in one database. Roles are cluster-wide:
 * `createRoles` first (SOURCE_ONLY_ROLES exist on the source only, so a restore elsewhere has to
 * create them).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "./postgres-cluster.js";

/** Roles created on the source cluster only: grants, owners and policies name them. */
export const SOURCE_ONLY_ROLES = ["app_owner", "reporting", "auditor", "etl writer", "Ünïcode Role"] as const;

/** The password of the foreign server's user mapping: it must never reach a fingerprint or report. */
export const FDW_SECRET = "fdw-mapping-secret-pw";

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export async function createRoles(
  cluster: Cluster,
  roles: readonly string[] = SOURCE_ONLY_ROLES,
): Promise<void> {
  for (const role of roles) {
    await cluster.sql(
      "postgres",
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(role)}) THEN
           CREATE ROLE ${ident(role)} NOLOGIN;
         END IF;
       END $$`,
    );
  }
}

/**
 * Range partitions (with a default), list partitions with range sub-partitions, a primary key and
 * a foreign key on partitioned tables, an index and a trigger cloned to every partition.
 */
export async function addPartitionedSchema(
  cluster: Cluster,
  database: string,
  schema = "sales",
): Promise<void> {
  const s = ident(schema);
  await cluster.sql(
    database,
    `CREATE SCHEMA ${s};
     CREATE TABLE ${s}.orders (id bigint NOT NULL, ordered_at date NOT NULL, region text NOT NULL, total numeric(12,2),
       PRIMARY KEY (id, ordered_at)) PARTITION BY RANGE (ordered_at);
     CREATE TABLE ${s}.orders_2024 PARTITION OF ${s}.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE ${s}.orders_2025 PARTITION OF ${s}.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE ${s}.orders_other PARTITION OF ${s}.orders DEFAULT;
     CREATE INDEX orders_region_idx ON ${s}.orders (region);
     CREATE TABLE ${s}.order_items (order_id bigint NOT NULL, ordered_at date NOT NULL, sku text NOT NULL, qty int CHECK (qty > 0),
       FOREIGN KEY (order_id, ordered_at) REFERENCES ${s}.orders);
     CREATE TABLE ${s}.events (id bigint NOT NULL, region text NOT NULL, at timestamptz NOT NULL, payload jsonb)
       PARTITION BY LIST (region);
     CREATE TABLE ${s}.events_eu PARTITION OF ${s}.events FOR VALUES IN ('eu', 'uk') PARTITION BY RANGE (at);
     CREATE TABLE ${s}.events_eu_2025 PARTITION OF ${s}.events_eu FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE ${s}.events_eu_old PARTITION OF ${s}.events_eu DEFAULT;
     CREATE TABLE ${s}.events_us PARTITION OF ${s}.events FOR VALUES IN ('us');
     CREATE FUNCTION ${s}.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER orders_touch BEFORE UPDATE ON ${s}.orders FOR EACH ROW EXECUTE FUNCTION ${s}.touch();
     INSERT INTO ${s}.orders SELECT g, date '2024-06-01' + (g % 600), CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g
       FROM generate_series(1, 300) g;
     INSERT INTO ${s}.order_items SELECT id, ordered_at, 'sku-' || id, 1 FROM ${s}.orders;
     INSERT INTO ${s}.events SELECT g, CASE WHEN g % 3 = 0 THEN 'us' ELSE 'eu' END, timestamptz '2024-11-01' + g * interval '1 day', '{}'
       FROM generate_series(1, 120) g;`,
  );
}

/** Plain table inheritance (not partitioning), with a child of two parents. */
export async function addInheritance(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE TABLE public.cities (name text PRIMARY KEY, population int);
     CREATE TABLE public.capitals (country text NOT NULL) INHERITS (public.cities);
     CREATE TABLE public.tagged (tag text);
     CREATE TABLE public.tagged_capitals () INHERITS (public.capitals, public.tagged);
     INSERT INTO public.cities VALUES ('Lyon', 500000);
     INSERT INTO public.capitals VALUES ('Paris', 2100000, 'FR');
     INSERT INTO public.tagged_capitals VALUES ('Bern', 130000, 'CH', 'small');`,
  );
}

/** Three large objects: one granted to two roles, one owned by another role. */
export async function addLargeObjects(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `SELECT lo_from_bytea(424242, 'granted blob'::bytea);
     SELECT lo_from_bytea(424243, 'owned blob'::bytea);
     SELECT lo_from_bytea(424244, 'plain blob'::bytea);
     GRANT SELECT ON LARGE OBJECT 424242 TO reporting, auditor;
     GRANT UPDATE ON LARGE OBJECT 424242 TO "etl writer";
     ALTER LARGE OBJECT 424243 OWNER TO app_owner;`,
  );
}

/** Domains, an enum, a composite and a range type, and casts between user types. */
export async function addTypesAndCasts(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE DOMAIN public.email AS text CHECK (VALUE ~ '@');
     CREATE DOMAIN public.positive_int AS int NOT NULL CHECK (VALUE > 0);
     CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
     ALTER TYPE public.mood ADD VALUE 'ecstatic' AFTER 'happy';
     CREATE TYPE public.money_pair AS (amount numeric, currency char(3));
     CREATE TYPE public.float_range AS RANGE (subtype = float8);
     CREATE FUNCTION public.mood_score(public.mood) RETURNS int LANGUAGE sql IMMUTABLE
       AS $$ SELECT array_position(enum_range(NULL::public.mood), $1) $$;
     CREATE CAST (public.mood AS int) WITH FUNCTION public.mood_score(public.mood) AS ASSIGNMENT;
     CREATE FUNCTION public.pair_text(public.money_pair) RETURNS text LANGUAGE sql IMMUTABLE
       AS $$ SELECT $1.amount || ' ' || $1.currency $$;
     CREATE CAST (public.money_pair AS text) WITH FUNCTION public.pair_text(public.money_pair);
     CREATE TABLE public.customers (id int PRIMARY KEY, email public.email, mood public.mood, wallet public.money_pair);
     INSERT INTO public.customers VALUES (1, 'a@b.c', 'happy', (10, 'EUR'));
     GRANT USAGE ON TYPE public.mood TO reporting;
     REVOKE USAGE ON DOMAIN public.email FROM PUBLIC;`,
  );
}

/** Default privileges: global and per schema, for several roles, one revoking from PUBLIC. */
export async function addDefaultPrivileges(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE SCHEMA IF NOT EXISTS reports;
     ALTER DEFAULT PRIVILEGES IN SCHEMA reports GRANT SELECT ON TABLES TO reporting;
     ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA reports GRANT SELECT, INSERT ON TABLES TO "etl writer";
     ALTER DEFAULT PRIVILEGES FOR ROLE app_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
     ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO auditor;
     ALTER DEFAULT PRIVILEGES FOR ROLE app_owner GRANT USAGE ON TYPES TO reporting;`,
  );
}

/** postgres_fdw: the extension, a server, user mappings (one with a password), a foreign table. */
export async function addForeignServer(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE EXTENSION postgres_fdw;
     CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw
       OPTIONS (host '127.0.0.1', port '${cluster.port}', dbname 'postgres');
     CREATE USER MAPPING FOR postgres SERVER loopback OPTIONS (user 'postgres', password '${FDW_SECRET}');
     CREATE USER MAPPING FOR reporting SERVER loopback OPTIONS (user 'reporting');
     CREATE USER MAPPING FOR PUBLIC SERVER loopback;
     GRANT USAGE ON FOREIGN SERVER loopback TO reporting;
     CREATE FOREIGN TABLE public.remote_settings (name text, setting text) SERVER loopback
       OPTIONS (schema_name 'pg_catalog', table_name 'pg_settings');
     GRANT SELECT ON public.remote_settings TO reporting;`,
  );
}

/** A publication of chosen tables (one with a column list and a row filter) and one FOR ALL TABLES. */
export async function addPublications(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE TABLE IF NOT EXISTS public.messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text, room text);
     CREATE PUBLICATION pub_messages FOR TABLE public.messages (id, body) WHERE (room <> 'secret'), public.cities;
     CREATE PUBLICATION pub_everything FOR ALL TABLES WITH (publish = 'insert, update');`,
  );
}

/**
 * Grants to several roles on one object (pg_restore sends them as one entry: one missing grantee
 * used to lose them all), column grants, a revoke from PUBLIC, a grant with grant option, and
 * objects owned by a role that exists on the source only.
 */
export async function addGrants(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE SCHEMA IF NOT EXISTS reports;
     GRANT USAGE ON SCHEMA reports TO reporting, auditor, "etl writer";
     CREATE TABLE reports.daily (day date PRIMARY KEY, total numeric, secret text);
     GRANT SELECT ON reports.daily TO reporting, auditor;
     GRANT SELECT, INSERT, UPDATE ON reports.daily TO "etl writer" WITH GRANT OPTION;
     GRANT SELECT (day, total) ON reports.daily TO "Ünïcode Role";
     CREATE FUNCTION reports.rollup() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
     REVOKE EXECUTE ON FUNCTION reports.rollup() FROM PUBLIC;
     GRANT EXECUTE ON FUNCTION reports.rollup() TO reporting;
     CREATE TABLE reports.owned (id int PRIMARY KEY);
     ALTER TABLE reports.owned OWNER TO app_owner;
     GRANT SELECT ON reports.owned TO auditor;
     CREATE SCHEMA vendor AUTHORIZATION app_owner;
     CREATE VIEW reports.daily_totals AS SELECT day, total FROM reports.daily;
     GRANT SELECT ON reports.daily_totals TO PUBLIC;`,
  );
}

/** Row-level security: enabled and forced, policies for several roles and commands. */
export async function addRowSecurity(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE TABLE public.notes (id int PRIMARY KEY, owner_name text NOT NULL, body text);
     ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
     ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;
     CREATE POLICY notes_read ON public.notes FOR SELECT TO reporting, auditor USING (true);
     CREATE POLICY notes_own ON public.notes AS RESTRICTIVE FOR UPDATE TO "etl writer"
       USING (owner_name = current_user) WITH CHECK (owner_name = current_user);
     CREATE POLICY "Everyone may insert" ON public.notes FOR INSERT WITH CHECK (true);
     GRANT SELECT, INSERT, UPDATE ON public.notes TO reporting, auditor, "etl writer";
     INSERT INTO public.notes VALUES (1, 'postgres', 'hello');
     CREATE TABLE public.rls_only (id int);
     ALTER TABLE public.rls_only ENABLE ROW LEVEL SECURITY;`,
  );
}

/** An event trigger (creating one needs superuser). */
export async function addEventTrigger(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ddl'; END $$;
     CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
     CREATE EVENT TRIGGER quiet_drop ON sql_drop EXECUTE FUNCTION public.log_ddl();
     ALTER EVENT TRIGGER quiet_drop DISABLE;`,
  );
}

/** Identifiers that need quoting: quotes, spaces, dots, unicode, mixed case. */
export async function addOddIdentifiers(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE SCHEMA "Odd Schema";
     CREATE TABLE "Odd Schema"."Mixed Case" ("Id" int PRIMARY KEY, "with space" text, "qu""ote" text);
     CREATE TABLE "Odd Schema"."dotted.name" (id int);
     CREATE TABLE "Odd Schema"."ünïcødé ☃" (id int GENERATED BY DEFAULT AS IDENTITY, v text);
     CREATE SEQUENCE "Odd Schema"."Seq ""Q""";
     SELECT setval('"Odd Schema"."Seq ""Q"""', 77);
     CREATE FUNCTION "Odd Schema"."Fn ""x"""("Arg" int, "b c" text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
     CREATE INDEX "Idx With Space" ON "Odd Schema"."Mixed Case" ("with space");
     GRANT SELECT ON "Odd Schema"."Mixed Case" TO "Ünïcode Role", "etl writer";
     INSERT INTO "Odd Schema"."ünïcødé ☃" (v) SELECT 'x' || g FROM generate_series(1, 5) g;`,
  );
}

/** Sequences with values a fresh one would not have: advanced, descending, cycling, not yet called. */
export async function addSequences(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE SEQUENCE public.invoice_no START 1000 INCREMENT 7;
     SELECT setval('public.invoice_no', 12345);
     CREATE SEQUENCE public.countdown INCREMENT -1 MINVALUE -1000 MAXVALUE 100 START 100;
     SELECT nextval('public.countdown') FROM generate_series(1, 5);
     CREATE SEQUENCE public.wheel MAXVALUE 3 CYCLE;
     SELECT nextval('public.wheel') FROM generate_series(1, 5);
     CREATE SEQUENCE public.fresh;
     CREATE SEQUENCE public.big_one AS bigint START 9000000000000;
     SELECT setval('public.big_one', 9000000000123, false);
     CREATE TABLE public.tickets (id int GENERATED ALWAYS AS IDENTITY (START 500) PRIMARY KEY, label text);
     INSERT INTO public.tickets (label) SELECT 't' || g FROM generate_series(1, 25) g;
     GRANT USAGE ON SEQUENCE public.invoice_no TO "etl writer";`,
  );
}

/** A view, a materialized view over it, and an index on the materialized view. */
export async function addViews(cluster: Cluster, database: string): Promise<void> {
  await cluster.sql(
    database,
    `CREATE TABLE IF NOT EXISTS public.cities (name text PRIMARY KEY, population int);
     CREATE VIEW public.big_cities AS SELECT name FROM public.cities WHERE population > 100000;
     CREATE MATERIALIZED VIEW public.city_stats AS SELECT count(*) AS n, sum(population) AS people FROM public.cities;
     CREATE UNIQUE INDEX city_stats_n ON public.city_stats (n);
     GRANT SELECT ON public.city_stats TO reporting;`,
  );
}

/** ALTER DATABASE ... SET and ALTER ROLE ... IN DATABASE ... SET; one setting only a superuser may set. */
export async function addDatabaseSettings(cluster: Cluster, database: string): Promise<void> {
  const db = ident(database);
  await cluster.sql(
    "postgres",
    `ALTER DATABASE ${db} SET work_mem = '8MB';
     ALTER DATABASE ${db} SET search_path = public, reports;
     ALTER DATABASE ${db} SET log_min_duration_statement = '250ms';
     ALTER ROLE reporting IN DATABASE ${db} SET statement_timeout = '30s';`,
  );
}

/** A tablespace in a directory owned by the server's user, and a table and an index in it. */
export async function addTablespace(cluster: Cluster, database: string, name = "fast_disk"): Promise<string> {
  // Inside the data directory, so that the cluster's teardown removes it (the server warns only).
  const dir = join(cluster.dataDir, `tablespace-${name}`);
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", dir]);
  await cluster.sql("postgres", `CREATE TABLESPACE ${ident(name)} LOCATION ${literal(dir)}`);
  await cluster.sql(
    database,
    `CREATE TABLE public.hot_rows (id int PRIMARY KEY USING INDEX TABLESPACE ${ident(name)}, v text) TABLESPACE ${ident(name)};
     INSERT INTO public.hot_rows SELECT g, 'v' FROM generate_series(1, 50) g;`,
  );
  return dir;
}

/**
 * `count` small tables with a primary key, by DO blocks of 500 (seconds, not minutes; each block
 * its own transaction, because creating a table locks it until commit and one transaction of
 * thousands of tables exhausts the default lock table). Every tenth table also has an identity
 * column, so there are sequences to read too; a grant to one role on every table keeps the ACL
 * part of the fingerprint realistic.
 */
export async function addManyTables(
  cluster: Cluster,
  database: string,
  count: number,
  options: { schema?: string; grantTo?: string } = {},
): Promise<void> {
  const schema = ident(options.schema ?? "bulk");
  const grant = options.grantTo
    ? `EXECUTE format('GRANT SELECT ON ${schema}.%I TO ${ident(options.grantTo).replaceAll("'", "''")}', name);`
    : "";
  await cluster.sql(database, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
  for (let first = 1; first <= count; first += 500) {
    const last = Math.min(count, first + 499);
    await cluster.sql(
      database,
      `DO $$
       DECLARE name text;
       BEGIN
         FOR i IN ${first}..${last} LOOP
           name := 't_' || lpad(i::text, 5, '0');
           IF i % 10 = 0 THEN
             EXECUTE format('CREATE TABLE ${schema}.%I (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)', name);
           ELSE
             EXECUTE format('CREATE TABLE ${schema}.%I (id int PRIMARY KEY, v text)', name);
           END IF;
           ${grant}
         END LOOP;
       END $$`,
    );
  }
}

/**
 * A database in another encoding, from template0 with the C locale (any encoding goes with C).
 * SQL_ASCII stores bytes unchecked: the table holds a byte that is not valid UTF-8.
 */
export async function createEncodedDatabase(
  cluster: Cluster,
  name: string,
  encoding: "SQL_ASCII" | "LATIN1",
): Promise<void> {
  await cluster.sql(
    "postgres",
    `CREATE DATABASE ${ident(name)} TEMPLATE template0 ENCODING ${literal(encoding)} LC_COLLATE 'C' LC_CTYPE 'C'`,
  );
  await cluster.sql(
    name,
    encoding === "SQL_ASCII"
      ? `CREATE TABLE public.raw_bytes (id int PRIMARY KEY, v text);
         INSERT INTO public.raw_bytes VALUES (1, E'caf\\xe9'), (2, 'plain');`
      : `CREATE TABLE public.latin (id int PRIMARY KEY, v text);
         INSERT INTO public.latin VALUES (1, 'café'), (2, 'Ålborg');`,
  );
}

/**
 * The composed fixture: every builder that fits in one database, in an order that works. Needs
 * `createRoles` first. Tablespaces, encodings and the many tables are separate (other databases or
 * clusters).
 */
export async function buildRealSchema(cluster: Cluster, database: string): Promise<void> {
  await createRoles(cluster);
  await addPartitionedSchema(cluster, database);
  await addInheritance(cluster, database);
  await addTypesAndCasts(cluster, database);
  await addGrants(cluster, database);
  await addDefaultPrivileges(cluster, database);
  await addLargeObjects(cluster, database);
  await addForeignServer(cluster, database);
  await addPublications(cluster, database);
  await addRowSecurity(cluster, database);
  await addEventTrigger(cluster, database);
  await addOddIdentifiers(cluster, database);
  await addSequences(cluster, database);
  await addViews(cluster, database);
  await addDatabaseSettings(cluster, database);
}
