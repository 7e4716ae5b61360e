/**
 * The masking rules (docs/masking.md) as data: what src/masking/rules.ts parses the YAML file into,
 * and the key the fakes are derived from. Types only, so that the settings can carry them.
 */
export type NamePart = "first" | "last" | "full";

/** A strategy that turns one value into another (usable at the top of a column or at a jsonb path). */
export type ValueStrategy =
  | { kind: "null" }
  | { kind: "fixed"; value: string | number | boolean }
  | { kind: "email" }
  | { kind: "name"; part: NamePart; unique: boolean }
  | { kind: "phone" }
  | { kind: "text" }
  | { kind: "hash" }
  | { kind: "uuid" };

export interface JsonbPathRule {
  /** Keys (or array indexes, as digits) from the document's root. */
  path: string[];
  strategy: ValueStrategy;
  line: number;
}

export type Strategy = { kind: "keep" } | ValueStrategy | { kind: "jsonb"; paths: JsonbPathRule[] };

export interface ColumnRule {
  column: string;
  strategy: Strategy;
  line: number;
}

export interface TableRule {
  schema: string;
  table: string;
  /** Rows for which this SQL condition is not true are deleted (subsetting). */
  where: string | undefined;
  columns: ColumnRule[];
  line: number;
}

export interface MaskingRules {
  /** The file the rules came from, for messages. */
  path: string;
  tables: TableRule[];
  /** Free SQL run in order in the scratch copy before it is dumped (and its rows masked). */
  sql: string[];
  /** sha256 (hex) of the file's bytes: what the masked backup's manifest records. */
  digest: string;
}

/** The masking secret prepared for HMAC-SHA256 (RFC 2104): key' XOR ipad and key' XOR opad. */
export interface MaskingKey {
  innerPad: Buffer;
  outerPad: Buffer;
}
