/**
 * A database that imitates a Supabase project's layout, in a throwaway cluster: the platform's
 * roles (cluster-wide), its schemas (auth, storage, extensions, realtime, graphql, vault,
 * supabase_functions, supabase_migrations) with a few tables each, and a user's public schema that
 * leans on them the way real apps do: foreign keys to auth.users, defaults calling
 * extensions.uuid_generate_v4(), RLS policies naming auth.uid() and the API roles, a trigger on
 * auth.users. Only contrib extensions are used; pg_trgm in the graphql schema stands in for an
 * extension the platform installs into a schema of its own (pg_graphql, pgsodium, supabase_vault).
 */
import type { Cluster } from "./postgres-cluster.js";

/** Roles the platform creates, reserved: left out of the roles object. */
export const IMITATED_RESERVED_ROLES = [
  "supabase_admin",
  "supabase_auth_admin",
  "supabase_storage_admin",
  "authenticator",
  "dashboard_user",
] as const;

/** Roles the roles object carries: the API roles and a role of the user's own. */
export const IMITATED_KEPT_ROLES = ["anon", "authenticated", "service_role", "app_writer"] as const;

/** Passwords set in the source cluster: none may reach the roles object. */
export const IMITATED_PASSWORDS = ["authenticator-secret-pw", "app-writer-secret-pw"] as const;

const ROLES_SQL = `
CREATE ROLE supabase_admin NOLOGIN CREATEROLE CREATEDB BYPASSRLS;
CREATE ROLE supabase_auth_admin NOLOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_storage_admin NOLOGIN NOINHERIT;
CREATE ROLE dashboard_user NOLOGIN CREATEROLE CREATEDB;
CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD 'authenticator-secret-pw';
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE app_writer LOGIN CONNECTION LIMIT 5 PASSWORD 'app-writer-secret-pw';
COMMENT ON ROLE app_writer IS 'the app''s own writer; kept';
GRANT anon, authenticated, service_role TO authenticator;
GRANT supabase_auth_admin TO supabase_admin;
GRANT authenticated TO app_writer;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE authenticator SET statement_timeout = '8s';
`;

/** What the platform sets up in every project: its schemas, tables, functions and grants. */
const PLATFORM_SQL = `
CREATE SCHEMA extensions;
CREATE EXTENSION "uuid-ossp" WITH SCHEMA extensions;
CREATE FUNCTION extensions.grant_api_access() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'granting';
END
$$;
ALTER FUNCTION extensions.grant_api_access() OWNER TO supabase_admin;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;

CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
  email text UNIQUE,
  encrypted_password text,
  raw_user_meta_data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE auth.identities (
  id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
  user_id uuid NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  provider text NOT NULL,
  identity_data jsonb NOT NULL
);
CREATE TABLE auth.schema_migrations (version text PRIMARY KEY);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE auth.identities OWNER TO supabase_auth_admin;
ALTER TABLE auth.schema_migrations OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
GRANT ALL ON auth.users, auth.identities TO dashboard_user;
GRANT SELECT ON auth.users TO service_role;

CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean NOT NULL DEFAULT false);
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
  bucket_id text NOT NULL REFERENCES storage.buckets(id),
  name text NOT NULL,
  owner uuid REFERENCES auth.users(id),
  metadata jsonb
);
CREATE TABLE storage.migrations (id int PRIMARY KEY, name text NOT NULL);
ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
ALTER TABLE storage.migrations OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
GRANT ALL ON storage.objects TO anon, authenticated, service_role;

CREATE SCHEMA realtime;
CREATE TABLE realtime.subscription (id bigserial PRIMARY KEY, entity text NOT NULL, claims jsonb);
CREATE SCHEMA graphql;
CREATE EXTENSION pg_trgm WITH SCHEMA graphql;
CREATE TABLE graphql.schema_version (version int PRIMARY KEY);
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), name text, secret text);
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[]);
CREATE SCHEMA supabase_functions AUTHORIZATION supabase_admin;
CREATE TABLE supabase_functions.hooks (id bigserial PRIMARY KEY, hook_table_id int NOT NULL, hook_name text NOT NULL);
CREATE TABLE supabase_functions.migrations (version text PRIMARY KEY);
`;

/** The user's own schema, leaning on the platform's. */
const USER_SQL = `
CREATE POLICY "own objects" ON storage.objects FOR SELECT TO authenticated USING (owner = auth.uid());
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  username text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.posts (
  id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(),
  author uuid NOT NULL REFERENCES auth.users(id),
  title text NOT NULL,
  body text
);
CREATE TABLE public.audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text);
ALTER TABLE public.audit_log OWNER TO app_writer;
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "posts are public" ON public.posts FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY "own posts" ON public.posts FOR ALL TO authenticated
  USING (author = auth.uid()) WITH CHECK (author = auth.uid());
CREATE POLICY "service posts" ON public.posts TO service_role USING (true);
CREATE POLICY "own profile" ON public.profiles FOR ALL TO authenticated USING (id = auth.uid());
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT ON public.posts TO anon;
GRANT ALL ON public.posts, public.profiles TO authenticated, service_role;

CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = '' AS $$
BEGIN
  INSERT INTO public.profiles (id, username) VALUES (new.id, split_part(new.email, '@', 1));
  RETURN new;
END
$$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
`;

const DATA_SQL = `
INSERT INTO auth.users (email, raw_user_meta_data)
  SELECT 'user' || i || '@example.com', jsonb_build_object('n', i) FROM generate_series(1, 25) i;
INSERT INTO auth.identities (user_id, provider, identity_data)
  SELECT id, 'email', jsonb_build_object('email', email) FROM auth.users;
INSERT INTO auth.schema_migrations VALUES ('20221208132122'), ('20230131181311'), ('20240115144230');
INSERT INTO storage.buckets VALUES ('avatars', 'avatars', true), ('private', 'private', false);
INSERT INTO storage.objects (bucket_id, name, owner, metadata)
  SELECT CASE WHEN i % 3 = 0 THEN 'private' ELSE 'avatars' END, 'file-' || i || '.png',
         (SELECT id FROM auth.users ORDER BY email LIMIT 1 OFFSET i % 25), jsonb_build_object('size', i * 100)
    FROM generate_series(1, 40) i;
INSERT INTO storage.migrations SELECT i, 'migration-' || i FROM generate_series(1, 5) i;
INSERT INTO realtime.subscription (entity, claims) VALUES ('public.posts', '{}'), ('public.profiles', '{}'), ('x', NULL);
INSERT INTO graphql.schema_version VALUES (1);
INSERT INTO vault.secrets (name, secret) VALUES ('stripe', 'sk_live_not_in_backup'), ('smtp', 'pw');
INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', ARRAY['create table x']), ('20240102000000', NULL);
INSERT INTO supabase_functions.hooks (hook_table_id, hook_name) VALUES (1, 'on_insert'), (2, 'on_update');
INSERT INTO supabase_functions.migrations VALUES ('initial'), ('20210809183423_update_grants');
INSERT INTO public.posts (author, title, body)
  SELECT (SELECT id FROM auth.users ORDER BY email LIMIT 1 OFFSET i % 25), 'post ' || i, repeat('x', i)
    FROM generate_series(1, 60) i;
INSERT INTO public.audit_log (note) SELECT 'note ' || i FROM generate_series(1, 7) i;
`;

/**
 * The rows the supabase preset keeps, per table (what the manifest must count). Profiles are made
 * by the trigger on auth.users, one per user.
 */
export const IMITATED_KEPT_TABLES: Record<string, number> = {
  "auth.users": 25,
  "auth.identities": 25,
  "storage.buckets": 2,
  "storage.objects": 40,
  "supabase_functions.hooks": 2,
  "public.profiles": 25,
  "public.posts": 60,
  "public.audit_log": 7,
};

/** Tables whose data the preset leaves out: platform schemas, and the platform's migration history. */
export const IMITATED_DROPPED_TABLES = [
  "realtime.subscription",
  "graphql.schema_version",
  "vault.secrets",
  "supabase_migrations.schema_migrations",
  "auth.schema_migrations",
  "storage.migrations",
  "supabase_functions.migrations",
] as const;

/** Creates the roles (once per cluster) and the database `name` with the imitated layout. */
export async function createSupabaseLayout(cluster: Cluster, name: string): Promise<void> {
  await cluster.sql("postgres", ROLES_SQL);
  await cluster.createDatabase(name);
  await cluster.sql(name, PLATFORM_SQL);
  await cluster.sql(name, USER_SQL);
  await cluster.sql(name, DATA_SQL);
}

/**
 * A new, empty project: the platform's roles and schemas only, in database `name`, and the role a
 * Supabase project gives its user, standing in for its `postgres`: not a superuser, owner of the
 * database, BYPASSRLS, all privileges on the auth, storage and supabase_functions tables, a member of the storage admin
 * (so it may add policies to storage.objects), and allowed to set session_replication_role (what
 * Supabase's supautils allows; PostgreSQL 15's GRANT SET ON PARAMETER here).
 */
export async function createSupabaseProject(
  cluster: Cluster,
  name: string,
  user = { name: "project_admin", password: "project-admin-pw" },
): Promise<void> {
  await cluster.sql("postgres", ROLES_SQL);
  await cluster.sql(
    "postgres",
    `CREATE ROLE ${user.name} LOGIN PASSWORD '${user.password}' NOSUPERUSER CREATEROLE CREATEDB BYPASSRLS;
     GRANT anon, authenticated, service_role, supabase_storage_admin TO ${user.name};
     GRANT SET ON PARAMETER session_replication_role TO ${user.name};`,
  );
  await cluster.sql("postgres", `CREATE DATABASE ${name} OWNER ${user.name}`);
  await cluster.sql(name, PLATFORM_SQL);
  await cluster.sql(
    name,
    `GRANT USAGE ON SCHEMA auth, storage, supabase_functions, extensions TO ${user.name};
     GRANT ALL ON ALL TABLES IN SCHEMA auth, storage, supabase_functions TO ${user.name};
     GRANT ALL ON ALL SEQUENCES IN SCHEMA auth, storage, supabase_functions TO ${user.name};`,
  );
}
