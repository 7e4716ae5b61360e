/**
 * Masking as restore-test --mask does it, without the backup around it: the rules checked against
 * a database, the filters and free SQL run in it, then its pg_dump -Z0 archive masked as it streams
 * (ArchiveMasker) and, only when the masker finished and verified, restored by pg_restore into a
 * new database for the test to read. Also the reference the masker is held to: the same rules
 * applied in the database by the SQL twins of the fakes, in one UPDATE per table.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { planArchiveMasking, prepareScratch, type PreparedScratch } from "../../src/masking/apply.js";
import { ArchiveMasker, type ArchiveMaskResult } from "../../src/masking/archive-mask.js";
import {
  checkRulesAgainstCatalog,
  quoteIdent,
  quoteTable,
  type MaskingPlan,
  type PlannedColumn,
} from "../../src/masking/catalog-check.js";
import { ConstraintProbe } from "../../src/masking/constraint-probe.js";
import {
  DROP_FUNCTIONS_SQL,
  fakeFunctionsSql,
  PAD_ARGUMENTS_SQL,
  SET_KEY_SQL,
  setKeyValues,
  type MaskingKey,
} from "../../src/masking/fakes.js";
import { parseMaskingRules } from "../../src/masking/rules.js";
import type { ValueStrategy } from "../../src/domain/masking-rules.js";
import type { Cluster } from "./postgres-cluster.js";

const run = promisify(execFile);

export interface MaskedDump {
  prepared: PreparedScratch;
  result: ArchiveMaskResult;
  /** The masked archive's bytes. */
  archive: Buffer;
}

export interface MaskOptions {
  workers?: number;
  batchBytes?: number;
  /** Restore the masked archive into this database (created first); none: the archive only. */
  into?: string;
}

export async function maskDatabase(
  cluster: Cluster,
  database: string,
  rulesText: string,
  key: MaskingKey,
  options: MaskOptions = {},
): Promise<MaskedDump> {
  const client = new pg.Client({ connectionString: cluster.url(database) });
  await client.connect();
  let plan: MaskingPlan;
  let prepared: PreparedScratch;
  let archivePlan: Awaited<ReturnType<typeof planArchiveMasking>>;
  try {
    plan = await checkRulesAgainstCatalog(parseMaskingRules(rulesText, "mask.yml"), client);
    archivePlan = await planArchiveMasking(client, plan);
    prepared = await prepareScratch(client, plan, key);
  } finally {
    await client.end();
  }
  const probe = await ConstraintProbe.forPlan(archivePlan, async () => {
    const probeClient = new pg.Client({ connectionString: cluster.url(database) });
    await probeClient.connect();
    return probeClient;
  });
  const masker = new ArchiveMasker(archivePlan, key, {
    workers: options.workers ?? 2,
    ...(options.batchBytes === undefined ? {} : { batchBytes: options.batchBytes }),
    ...(probe ? { probe } : {}),
  });
  const dump = spawn(
    join(cluster.binDir, "pg_dump"),
    ["-Fc", "-Z0", "--encoding=UTF8", cluster.url(database)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  dump.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => dump.on("close", done));
  const chunks: Buffer[] = [];
  try {
    await pipeline(dump.stdout, masker.stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
  } finally {
    await probe?.close();
  }
  const code = await exited;
  if (code !== 0) throw new Error(`pg_dump failed (${code}): ${stderr}`);
  const archive = Buffer.concat(chunks);
  if (options.into) await restoreArchive(cluster, archive, options.into);
  return { prepared, result: masker.result(), archive };
}

/** pg_restore of an archive's bytes into a new database, stopping at the first error. */
export async function restoreArchive(
  cluster: Cluster,
  archive: Buffer,
  database: string,
  options: { exists?: boolean } = {},
): Promise<void> {
  if (!options.exists) await cluster.createDatabase(database);
  const dir = mkdtempSync(join(tmpdir(), "lifeboat-masked-"));
  try {
    const file = join(dir, "masked.pgdump");
    await pipeline(
      (async function* () {
        yield archive;
      })(),
      createWriteStream(file),
    );
    await run(join(cluster.binDir, "pg_restore"), ["--exit-on-error", "-d", cluster.url(database), file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The reference: the rules applied in the database by the SQL fakes (pg_temp, as free SQL calls
 * them), one UPDATE per table, jsonb paths by nested jsonb_set in the order of the rules. No
 * filters, no verification: only the values the masker must give.
 */
export async function maskInDatabaseBySql(
  client: pg.Client,
  rulesText: string,
  key: MaskingKey,
): Promise<void> {
  const plan = await checkRulesAgainstCatalog(parseMaskingRules(rulesText, "mask.yml"), client);
  await client.query("BEGIN");
  try {
    for (const sql of fakeFunctionsSql()) await client.query(sql);
    await client.query(SET_KEY_SQL, setKeyValues(key));
    for (const table of plan.tables) {
      if (table.columns.length === 0) continue;
      await client.query(`ALTER TABLE ${quoteTable(table)} DISABLE TRIGGER USER`);
      const sets = table.columns.map(
        (column) => `${quoteIdent(column.column)} = ${maskExpression(client, column)}`,
      );
      await client.query(`UPDATE ${quoteTable(table)} SET ${sets.join(", ")}`);
      await client.query(`ALTER TABLE ${quoteTable(table)} ENABLE TRIGGER USER`);
    }
    for (const sql of DROP_FUNCTIONS_SQL) await client.query(sql);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

function pathLiteral(path: string[]): string {
  return `'{${path
    .map((key) => `"${key.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`)
    .join(",")
    .replaceAll("'", "''")}}'::text[]`;
}

function fakeCall(strategy: ValueStrategy, text: string): string {
  const pads = PAD_ARGUMENTS_SQL;
  switch (strategy.kind) {
    case "email":
      return `pg_temp.lifeboat_mask_email(${text}, ${pads})`;
    case "name":
      return `pg_temp.lifeboat_mask_name(${text}, '${strategy.part}', ${strategy.unique}, ${pads})`;
    case "phone":
      return `pg_temp.lifeboat_mask_phone(${text}, ${pads})`;
    case "text":
      return `pg_temp.lifeboat_mask_text(${text}, ${pads})`;
    case "hash":
      return `pg_temp.lifeboat_mask_hash(${text}, ${pads})`;
    case "uuid":
      return `pg_temp.lifeboat_mask_uuid(${text}, ${pads})`;
    default:
      throw new Error(`no fake for ${strategy.kind}`);
  }
}

function jsonbLiteral(client: pg.Client, value: string | number | boolean): string {
  if (typeof value === "number") return `to_jsonb(${client.escapeLiteral(String(value))}::numeric)`;
  if (typeof value === "boolean") return `to_jsonb(${value})`;
  return `to_jsonb(${client.escapeLiteral(value)}::text)`;
}

function maskExpression(client: pg.Client, column: PlannedColumn): string {
  const ident = quoteIdent(column.column);
  const strategy = column.strategy;
  if (strategy.kind === "keep") return ident;
  if (strategy.kind === "null") return "NULL";
  if (strategy.kind === "fixed") return `${client.escapeLiteral(String(strategy.value))}::${column.type}`;
  if (strategy.kind === "jsonb") {
    let document = ident;
    for (const rule of strategy.paths) {
      const replacement =
        rule.strategy.kind === "null"
          ? "'null'::jsonb"
          : rule.strategy.kind === "fixed"
            ? jsonbLiteral(client, rule.strategy.value)
            : `to_jsonb(${fakeCall(rule.strategy, "d #>> p")})`;
      document = `(SELECT CASE WHEN d #> p IS NULL OR jsonb_typeof(d #> p) = 'null' THEN d ELSE jsonb_set(d, p, ${replacement}, false) END
                     FROM (SELECT ${document} AS d, ${pathLiteral(rule.path)} AS p) AS j)`;
    }
    return document;
  }
  const fake = fakeCall(strategy, `${ident}::text`);
  const sized =
    column.maxLength !== undefined && strategy.kind !== "uuid" ? `left(${fake}, ${column.maxLength})` : fake;
  return `${sized}::${column.type}`;
}
