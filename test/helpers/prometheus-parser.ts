/**
 * A strict reader of the Prometheus text exposition format (0.0.4), written from the format's
 * description (prometheus.io/docs/instrumenting/exposition_formats): stricter than Prometheus
 * itself, so that what passes here passes there.
 *
 * Rules enforced: lines end in `\n` (the last one too); `# HELP name text` and `# TYPE name type`
 * at most once per family, TYPE before the family's first sample; every sample's family has a TYPE
 * (histogram and summary samples belong to their base name through _bucket/_sum/_count); a
 * family's lines are not interleaved with another's; metric names match
 * `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names `[a-zA-Z_][a-zA-Z0-9_]*` without the reserved `__`
 * prefix; label values are quoted and only `\\`, `\"` and `\n` are escapes; no label name twice
 * in a sample; values are Go floats (or NaN, +Inf, -Inf); no duplicate series. Timestamps are
 * refused unless `allowTimestamps` (the node_exporter textfile collector refuses them).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "ExpositionError";
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;

function parseFloatStrict(text: string, line: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!FLOAT.test(text)) throw new ExpositionError(line, `invalid value ${JSON.stringify(text)}`);
  return Number(text);
}

function familyOf(name: string, families: Map<string, MetricFamily>): string {
  if (families.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    const family = base === undefined ? undefined : families.get(base);
    if (family && (family.type === "histogram" || family.type === "summary")) return base!;
  }
  return name;
}

/** Reads `{a="x",b="y"}` starting at `text[start] === "{"`; returns the labels and the index after `}`. */
function readLabels(
  text: string,
  start: number,
  line: number,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 };
    const nameMatch = /^[^=]*/.exec(text.slice(i))![0];
    const name = nameMatch.trim();
    if (!LABEL_NAME.test(name)) throw new ExpositionError(line, `invalid label name ${JSON.stringify(name)}`);
    if (name.startsWith("__")) throw new ExpositionError(line, `reserved label name ${name}`);
    if (name in labels) throw new ExpositionError(line, `label ${name} given twice`);
    i += nameMatch.length;
    if (text[i] !== "=" || text[i + 1] !== '"') throw new ExpositionError(line, `label ${name}: expected ="`);
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ExpositionError(line, `label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new ExpositionError(line, `label ${name}: invalid escape \\${next ?? ""}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new ExpositionError(line, `label ${name}: expected , or }`);
  }
}

export function parseExposition(
  text: string,
  options: { allowTimestamps?: boolean } = {},
): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith("\n"))
    throw new ExpositionError(text.split("\n").length, "no final line feed");
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, line: number) => {
    if (current === name) return;
    if (closed.has(name)) throw new ExpositionError(line, `${name}: lines of the family are not together`);
    if (current !== undefined) closed.add(current);
    current = name;
  };
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!meta) return; // a plain comment
      const [, keyword, name, rest = ""] = meta;
      if (!METRIC_NAME.test(name!))
        throw new ExpositionError(line, `invalid metric name ${JSON.stringify(name)}`);
      enter(name!, line);
      if (keyword === "HELP") {
        if (helps.has(name!)) throw new ExpositionError(line, `${name}: second HELP`);
        if (/\\(?![\\n])/.test(rest)) throw new ExpositionError(line, `${name}: invalid escape in HELP`);
        helps.set(
          name!,
          rest.replace(/\\(\\|n)/g, (_m, c: string) => (c === "n" ? "\n" : "\\")),
        );
        const family = families.get(name!);
        if (family) family.help = helps.get(name!);
        return;
      }
      if (!TYPES.has(rest)) throw new ExpositionError(line, `${name}: unknown type ${JSON.stringify(rest)}`);
      if (families.has(name!)) throw new ExpositionError(line, `${name}: second TYPE or TYPE after samples`);
      const family: MetricFamily = { name: name!, type: rest as MetricFamily["type"], samples: [] };
      if (helps.has(name!)) family.help = helps.get(name!);
      families.set(name!, family);
      return;
    }
    const nameMatch = /^[^\s{]+/.exec(raw);
    const name = nameMatch?.[0] ?? "";
    if (!METRIC_NAME.test(name))
      throw new ExpositionError(line, `invalid metric name ${JSON.stringify(name)}`);
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const read = readLabels(raw, name.length, line);
      labels = read.labels;
      rest = raw.slice(read.end);
    }
    const fields = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2 || fields[0] === "") {
      throw new ExpositionError(line, `${name}: expected a value and an optional timestamp`);
    }
    const familyName = familyOf(name, families);
    const family = families.get(familyName);
    if (!family) throw new ExpositionError(line, `${name}: sample without a TYPE line`);
    enter(familyName, line);
    const sample: Sample = { name, labels, value: parseFloatStrict(fields[0]!, line) };
    if (fields.length === 2) {
      if (!options.allowTimestamps) throw new ExpositionError(line, `${name}: timestamps are not allowed`);
      if (!/^-?\d+$/.test(fields[1]!)) throw new ExpositionError(line, `${name}: invalid timestamp`);
      sample.timestamp = Number(fields[1]);
    }
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (series.has(key)) throw new ExpositionError(line, `duplicate series ${key}`);
    series.add(key);
    family.samples.push(sample);
  });
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws when not exactly one. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.get(name);
  const matches = (family?.samples ?? []).filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matches.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${matches.length} samples`);
  return matches[0]?.value;
}
