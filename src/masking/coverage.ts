/**
 * The coverage report: columns that look personal, by name, type or a sample of their content,
 * but that no rule names (not even `keep`). Sampled values stay in memory here and are never
 * reported; a warning says what was seen and how often.
 */
import type pg from "pg";
import { OperationError } from "../domain/errors.js";
import { quoteIdent, quoteTable } from "./catalog-check.js";
import { qualifiedName, type MaskingRules } from "./rules.js";

export interface CoverageWarning {
  table: string;
  column: string;
  reasons: string[];
}

export interface CoverageOptions {
  /** Rows sampled per table for content checks (default 200). */
  sampleRows?: number;
  /** A text column whose sampled values average more than this many characters is free text (default 120). */
  freeTextLength?: number;
}

const NAME_PATTERNS: [RegExp, string][] = [
  [/e_?mail/, "email"],
  [/phone|mobile|(^|_)fax($|_)|(^|_)tel($|_)|msisdn/, "phone number"],
  [/(^|_)(first|last|full|given|family|middle|sur|display|user|maiden|nick)_?name$|^name$|^names?_/, "name"],
  [/address|street|(^|_)city($|_)|zip_?code|postcode|postal|(^|_)addr($|_)/, "address"],
  [/(^|_)ip($|_)|ip_?addr|remote_addr|user_agent/, "IP address or client"],
  [
    /birth|(^|_)dob($|_)|(^|_)ssn($|_)|passport|iban|card_?number|tax_?id|national_?id|licen[cs]e_?number/,
    "identity document or date of birth",
  ],
];

const CONTENT_PATTERNS: [RegExp, string][] = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/, "email"],
  [/(\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}/, "phone number"],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/, "IPv4 address"],
];

/** Arrays of text types, sampled like text (an `emails text[]` column). */
const TEXT_ARRAYS = new Set(["_text", "_varchar", "_bpchar", "_citext", "_json", "_jsonb"]);

interface ColumnRow {
  nspname: string;
  relname: string;
  attname: string;
  typname: string;
  typcategory: string;
}

export async function coverageReport(
  client: pg.Client,
  rules: MaskingRules,
  options: CoverageOptions = {},
): Promise<CoverageWarning[]> {
  const sampleRows = options.sampleRows ?? 200;
  const freeTextLength = options.freeTextLength ?? 120;
  const covered = new Set<string>();
  for (const table of rules.tables) {
    for (const column of table.columns) covered.add(`${qualifiedName(table)}.${column.column}`);
  }
  const { rows } = await client.query<ColumnRow>(
    `SELECT n.nspname, c.relname, a.attname, t.typname, t.typcategory::text
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
        AND a.attgenerated = ''
      ORDER BY n.nspname, c.relname, a.attnum`,
  );
  const byTable = new Map<string, ColumnRow[]>();
  for (const row of rows) {
    if (covered.has(`${row.nspname}.${row.relname}.${row.attname}`)) continue;
    const key = `${row.nspname}.${row.relname}`;
    byTable.set(key, [...(byTable.get(key) ?? []), row]);
  }

  // SQL_ASCII holds bytes in no encoding, which the server refuses to send as the UTF-8
  // node-postgres reads unless they are UTF-8: sampled as bytes, read as UTF-8 here.
  const sqlAscii =
    (await client.query<{ e: string }>("SELECT current_setting('server_encoding') AS e")).rows[0]!.e ===
    "SQL_ASCII";
  const warnings: CoverageWarning[] = [];
  for (const [table, columns] of byTable) {
    const reasons = new Map<string, string[]>(columns.map((c) => [c.attname, []]));
    for (const column of columns) {
      const name = column.attname.toLowerCase();
      for (const [pattern, what] of NAME_PATTERNS) {
        if (pattern.test(name)) reasons.get(column.attname)!.push(`name looks like ${what}`);
      }
      if (column.typname === "inet" || column.typname === "cidr")
        reasons.get(column.attname)!.push("type is an IP address");
      // A stored search vector holds the words of the columns it was built from, names and
      // emails included; one kept by a trigger is not rebuilt, since triggers are off while
      // masking (a generated one is rebuilt, and not listed here).
      if (column.typname === "tsvector")
        reasons.get(column.attname)!.push("type is a text-search vector (the words it was built from)");
    }
    // Text, json and arrays of them are sampled; a search vector's text holds its words.
    const sampled = columns.filter(
      (c) =>
        c.typcategory === "S" ||
        c.typname === "jsonb" ||
        c.typname === "json" ||
        c.typname === "tsvector" ||
        (c.typcategory === "A" && TEXT_ARRAYS.has(c.typname)),
    );
    if (sampled.length > 0) {
      const { schema, name } = { schema: columns[0]!.nspname, name: columns[0]!.relname };
      const read = (column: string) =>
        sqlAscii ? `convert_to(${quoteIdent(column)}::text, 'SQL_ASCII')` : `${quoteIdent(column)}::text`;
      const { rows: sample } = await client.query<Record<string, string | Buffer | null>>(
        `SELECT ${sampled.map((c, i) => `${read(c.attname)} AS c${i}`).join(", ")}
           FROM ${quoteTable({ schema, table: name })} LIMIT ${sampleRows}`,
      );
      sampled.forEach((column, i) => {
        const values = sample
          .map((row) => row[`c${i}`])
          .map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : v))
          .filter((v): v is string => v !== null && v !== undefined && v !== "");
        if (values.length === 0) return;
        for (const [pattern, what] of CONTENT_PATTERNS) {
          const hits = values.filter((v) => pattern.test(v)).length;
          if (hits > 0)
            reasons
              .get(column.attname)!
              .push(`content looks like ${what} (${hits} of ${values.length} sampled)`);
        }
        const average = values.reduce((sum, v) => sum + v.length, 0) / values.length;
        if (column.typcategory === "S" && average > freeTextLength) {
          reasons.get(column.attname)!.push(`free text (${Math.round(average)} characters on average)`);
        }
      });
    }
    for (const [column, found] of reasons) {
      if (found.length > 0) warnings.push({ table, column, reasons: found });
    }
  }
  return warnings;
}

export function formatCoverageWarning(warning: CoverageWarning): string {
  return `${warning.table}.${warning.column} has no masking rule: ${warning.reasons.join(", ")}`;
}

/** The error for a run asked to fail on uncovered columns, or undefined when there are none. */
export function coverageFailure(warnings: CoverageWarning[], rulesPath: string): OperationError | undefined {
  if (warnings.length === 0) return undefined;
  const names = warnings.map((w) => `${w.table}.${w.column}`);
  return new OperationError(
    `${warnings.length} column(s) look personal but have no rule in ${rulesPath}: ${names.join(", ")} (add a strategy, or \`keep\` to accept them)`,
  );
}
