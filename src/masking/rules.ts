/**
 * The masking rules file (YAML, docs/masking.md): parsed and checked for shape only, with no
 * database at hand. Every structural mistake is an InputError naming the file, the line, and what
 * was expected; the catalog check (catalog-check.ts) then holds the rules against the database.
 */
import { createHash } from "node:crypto";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from "yaml";
import { InputError } from "../domain/errors.js";

export type {
  ColumnRule,
  JsonbPathRule,
  MaskingRules,
  NamePart,
  Strategy,
  TableRule,
  ValueStrategy,
} from "../domain/masking-rules.js";
import type {
  ColumnRule,
  JsonbPathRule,
  MaskingRules,
  NamePart,
  Strategy,
  TableRule,
  ValueStrategy,
} from "../domain/masking-rules.js";

const STRATEGY_WORDS =
  "keep, null, email, name, phone, text, hash, uuid, {fixed: VALUE}, {name: first|last|full}, {jsonb: {PATH: STRATEGY}}";

export function qualifiedName(rule: { schema: string; table: string }): string {
  return `${rule.schema}.${rule.table}`;
}

export function parseMaskingRules(text: string, path: string): MaskingRules {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number => lines.linePos(node?.range?.[0] ?? 0).line;
  const fail = (line: number, what: string): never => {
    throw new InputError(`mask ${path}:${line}: ${what}`, { input: "mask" });
  };
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    fail(lines.linePos(first.pos[0]).line, `not valid YAML (${first.message.split("\n")[0]})`);
  }
  const root = doc.contents;
  if (!isMap(root)) fail(1, "expected a mapping with `version: 1`, `tables:` and optionally `sql:`");
  const top = root as unknown as { items: Pair<Node, Node>[] };
  let version: unknown;
  let tablesNode: Node | undefined;
  let sqlNode: Node | undefined;
  for (const pair of top.items) {
    const key = scalarKey(pair, lineOf, fail);
    if (key === "version") version = isScalar(pair.value) ? pair.value.value : undefined;
    else if (key === "tables") tablesNode = pair.value ?? undefined;
    else if (key === "sql") sqlNode = pair.value ?? undefined;
    else fail(lineOf(pair.key as Node), `unknown key \`${key}\`: expected version, tables or sql`);
  }
  if (version !== 1) fail(1, "expected `version: 1` at the top");

  const tables: TableRule[] = [];
  if (tablesNode !== undefined && tablesNode !== null) {
    if (!isMap(tablesNode)) fail(lineOf(tablesNode), "`tables` must map schema.table names to rules");
    for (const pair of (tablesNode as unknown as { items: Pair<Node, Node>[] }).items) {
      const name = scalarKey(pair, lineOf, fail);
      const line = lineOf(pair.key as Node);
      const parts = splitQualifiedName(name);
      if (!parts) fail(line, `table \`${name}\`: expected a schema-qualified name such as public.users`);
      tables.push(parseTable(parts!, pair.value, line, lineOf, fail));
    }
  }
  const seen = new Set<string>();
  for (const table of tables) {
    const key = qualifiedName(table);
    if (seen.has(key)) fail(table.line, `table ${key} appears twice`);
    seen.add(key);
  }

  const sql: string[] = [];
  if (sqlNode !== undefined && sqlNode !== null) {
    if (!isSeq(sqlNode)) fail(lineOf(sqlNode), "`sql` must be a list of SQL statements (strings)");
    for (const item of (sqlNode as unknown as { items: Node[] }).items) {
      if (!isScalar(item) || typeof item.value !== "string" || item.value.trim() === "") {
        fail(lineOf(item), "each `sql` entry must be a non-empty string of SQL");
      }
      sql.push((item as { value: string }).value);
    }
  }
  if (tables.length === 0 && sql.length === 0)
    fail(1, "no rules: expected at least one table under `tables` or one `sql` entry");
  return { path, tables, sql, digest: createHash("sha256").update(text).digest("hex") };
}

type Fail = (line: number, what: string) => never;
type LineOf = (node: Node | null | undefined) => number;

function scalarKey(pair: Pair<Node, Node>, lineOf: LineOf, fail: Fail): string {
  const key = pair.key;
  if (!isScalar(key) || (typeof key.value !== "string" && typeof key.value !== "number")) {
    fail(lineOf(key as Node), "expected a plain key");
  }
  return String((key as { value: unknown }).value);
}

function parseTable(
  name: { schema: string; table: string },
  node: Node | null,
  line: number,
  lineOf: LineOf,
  fail: Fail,
): TableRule {
  const label = `${name.schema}.${name.table}`;
  if (!isMap(node))
    fail(line, `table ${label}: expected a mapping with \`columns:\` and optionally \`where:\``);
  let where: string | undefined;
  const columns: ColumnRule[] = [];
  for (const pair of (node as unknown as { items: Pair<Node, Node>[] }).items) {
    const key = scalarKey(pair, lineOf, fail);
    if (key === "where") {
      const value = pair.value;
      if (!isScalar(value) || typeof value.value !== "string" || value.value.trim() === "") {
        fail(lineOf(pair.key as Node), `table ${label}: \`where\` must be a SQL condition (a string)`);
      }
      where = (value as { value: string }).value;
    } else if (key === "columns") {
      const value = pair.value;
      if (!isMap(value))
        fail(lineOf(pair.key as Node), `table ${label}: \`columns\` must map column names to strategies`);
      for (const column of (value as unknown as { items: Pair<Node, Node>[] }).items) {
        const columnName = scalarKey(column, lineOf, fail);
        const columnLine = lineOf(column.key as Node);
        const strategy = parseStrategy(
          column.value,
          columnLine,
          `${label}.${columnName}`,
          lineOf,
          fail,
          true,
        );
        columns.push({ column: columnName, strategy, line: columnLine });
      }
    } else {
      fail(lineOf(pair.key as Node), `table ${label}: unknown key \`${key}\`: expected columns or where`);
    }
  }
  if (columns.length === 0 && where === undefined)
    fail(line, `table ${label}: expected \`columns:\` or \`where:\``);
  return { schema: name.schema, table: name.table, where, columns, line };
}

function parseStrategy(
  node: Node | null,
  line: number,
  label: string,
  lineOf: LineOf,
  fail: Fail,
  topLevel: boolean,
): Strategy {
  const expected = `${label}: expected a strategy (${topLevel ? STRATEGY_WORDS : STRATEGY_WORDS.replace(", {jsonb: {PATH: STRATEGY}}", "").replace("keep, ", "")})`;
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return { kind: "null" };
  if (isScalar(node)) {
    const word = node.value;
    switch (word) {
      case "keep":
        if (!topLevel) break;
        return { kind: "keep" };
      case "null":
      case "email":
      case "phone":
      case "text":
      case "hash":
      case "uuid":
        return { kind: word };
      case "name":
        return { kind: "name", part: "full", unique: false };
    }
    fail(line, `${expected}, got \`${String(word)}\``);
  }
  if (!isMap(node)) fail(line, expected);
  const items = (node as unknown as { items: Pair<Node, Node>[] }).items;
  const entries = new Map<string, Node | null>(
    items.map((pair) => [scalarKey(pair, lineOf, fail), pair.value]),
  );
  if (entries.has("fixed")) {
    if (entries.size !== 1) fail(line, `${label}: \`fixed\` takes no other keys`);
    const value = entries.get("fixed");
    if (
      !isScalar(value) ||
      value.value === null ||
      !["string", "number", "boolean"].includes(typeof value.value)
    ) {
      fail(line, `${label}: \`fixed\` needs a string, number or boolean (use \`null\` for NULL)`);
    }
    return { kind: "fixed", value: (value as { value: string | number | boolean }).value };
  }
  if (entries.has("name")) {
    const part = entries.get("name");
    const partValue = isScalar(part) ? part.value : undefined;
    if (partValue !== "first" && partValue !== "last" && partValue !== "full") {
      fail(line, `${label}: \`name\` must be first, last or full`);
    }
    const unique = entries.get("unique");
    for (const key of entries.keys()) {
      if (key !== "name" && key !== "unique")
        fail(line, `${label}: unknown key \`${key}\` for name: expected unique`);
    }
    if (unique !== undefined && !(isScalar(unique) && typeof unique.value === "boolean")) {
      fail(line, `${label}: \`unique\` must be true or false`);
    }
    return { kind: "name", part: partValue as NamePart, unique: isScalar(unique) && unique.value === true };
  }
  if (entries.has("jsonb") && topLevel) {
    if (entries.size !== 1) fail(line, `${label}: \`jsonb\` takes no other keys`);
    const paths = entries.get("jsonb");
    if (!isMap(paths) || (paths as unknown as { items: unknown[] }).items.length === 0) {
      fail(line, `${label}: \`jsonb\` must map paths (key.key) to strategies`);
    }
    const rules: JsonbPathRule[] = [];
    for (const pair of (paths as unknown as { items: Pair<Node, Node>[] }).items) {
      const path = scalarKey(pair, lineOf, fail);
      const pathLine = lineOf(pair.key as Node);
      const keys = path.split(".");
      if (keys.some((key) => key === ""))
        fail(pathLine, `${label}: jsonb path \`${path}\`: expected keys separated by dots`);
      const strategy = parseStrategy(
        pair.value,
        pathLine,
        `${label} ${path}`,
        lineOf,
        fail,
        false,
      ) as ValueStrategy;
      rules.push({ path: keys, strategy, line: pathLine });
    }
    return { kind: "jsonb", paths: rules };
  }
  return fail(line, expected);
}

/** `schema.table`, either part optionally double-quoted (`"my.schema"."T"`); undefined otherwise. */
export function splitQualifiedName(name: string): { schema: string; table: string } | undefined {
  const parts: string[] = [];
  let rest = name.trim();
  while (rest !== "") {
    let part: string;
    if (rest.startsWith('"')) {
      const match = /^"((?:[^"]|"")+)"/.exec(rest);
      if (!match) return undefined;
      part = match[1]!.replaceAll('""', '"');
      rest = rest.slice(match[0].length);
    } else {
      const match = /^[^."]+/.exec(rest);
      if (!match) return undefined;
      part = match[0];
      rest = rest.slice(part.length);
    }
    parts.push(part);
    if (rest === "") break;
    if (!rest.startsWith(".")) return undefined;
    rest = rest.slice(1);
    if (rest === "") return undefined;
  }
  return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : undefined;
}
