/**
 * Steps the catalog tests share: a dump in an exported snapshot with the fingerprint taken in that
 * same snapshot, and a restore onto another cluster the way a faithful scratch restore does it
 * (missing roles created NOLOGIN, the database created with the source's encoding and locale from
 * template0, no tablespaces).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { takeCatalogFingerprint, type FingerprintScope } from "../../src/postgres/catalog-fingerprint.js";
import type { CatalogFingerprint } from "../../src/domain/catalog-diff.js";
import type { Cluster } from "../helpers/postgres-cluster.js";
import { ident, literal } from "../helpers/real-schemas.js";

const run = promisify(execFile);

export const FULL_SCOPE: FingerprintScope = {
  includeSchemas: [],
  excludeSchemas: [],
  includeTables: [],
  excludeTables: [],
};

export async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/**
 * pg_dump -Fc with --snapshot, the fingerprint taken inside the transaction that exported it (its
 * sequence values on a second, idle connection) before pg_dump starts.
 */
export async function dumpInSnapshot(
  cluster: Cluster,
  database: string,
  file: string,
  scope: FingerprintScope = FULL_SCOPE,
): Promise<CatalogFingerprint> {
  return withClient(cluster.url(database), async (client) => {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const { rows } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
    const fingerprint = await withClient(cluster.url(database), (sequenceReader) =>
      takeCatalogFingerprint(client, scope, { sequenceReader }),
    );
    await run(join(cluster.binDir, "pg_dump"), [
      "--format=custom",
      `--snapshot=${rows[0]!.id}`,
      `--file=${file}`,
      `--dbname=${cluster.url(database)}`,
    ]);
    await client.query("ROLLBACK");
    return fingerprint;
  });
}

/** The source's roles (superusers and pg_ roles excepted) that the target lacks, created NOLOGIN. */
export async function createMissingRoles(source: Cluster, target: Cluster): Promise<string[]> {
  const wanted = await source.sql<{ rolname: string }>(
    "postgres",
    "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND NOT rolsuper ORDER BY 1",
  );
  const present = new Set(
    (await target.sql<{ rolname: string }>("postgres", "SELECT rolname FROM pg_roles")).map((r) => r.rolname),
  );
  const created: string[] = [];
  for (const { rolname } of wanted) {
    if (present.has(rolname)) continue;
    await target.sql("postgres", `CREATE ROLE ${ident(rolname)} NOLOGIN`);
    created.push(rolname);
  }
  return created;
}

export async function createDatabaseLike(
  target: Cluster,
  name: string,
  fingerprint: CatalogFingerprint,
  owner?: string,
): Promise<void> {
  const { encoding, collate, ctype } = fingerprint.database;
  await target.sql(
    "postgres",
    `CREATE DATABASE ${ident(name)} TEMPLATE template0 ENCODING ${literal(encoding)}
       LC_COLLATE ${literal(collate)} LC_CTYPE ${literal(ctype)}${owner ? ` OWNER ${ident(owner)}` : ""}`,
  );
}

/** pg_restore --no-tablespaces; its exit code and error lines, for the test to judge. */
export async function pgRestore(
  target: Cluster,
  url: string,
  file: string,
  extra: string[] = [],
): Promise<{ code: number; errors: string[] }> {
  try {
    await run(join(target.binDir, "pg_restore"), ["--no-tablespaces", ...extra, `--dbname=${url}`, file], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, errors: [] };
  } catch (error) {
    const failure = error as { code?: number; stderr?: string };
    const errors = (failure.stderr ?? "").split("\n").filter((line) => /error:/.test(line));
    return { code: failure.code ?? 1, errors };
  }
}

export async function fingerprintOf(
  cluster: Cluster,
  database: string,
  scope: FingerprintScope = FULL_SCOPE,
): Promise<CatalogFingerprint> {
  return withClient(cluster.url(database), (client) => takeCatalogFingerprint(client, scope));
}
