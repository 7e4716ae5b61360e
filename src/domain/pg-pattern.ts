/**
 * pg_dump's -n/-t patterns (psql's \d rules) turned into anchored POSIX regular expressions, so
 * that the tables we count rows of are the tables pg_dump dumps: unquoted letters fold to lower
 * case, `*` and `?` are wildcards, `.` separates schema from name, double quotes keep case and
 * make every character literal ("" is a quote).
 */
export interface NamePattern {
  /** Regex for the schema part, or undefined when the pattern has no schema part. */
  schema: string | undefined;
  name: string;
}

export function parseNamePattern(pattern: string): NamePattern {
  const parts: string[] = [""];
  let inQuotes = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '"') {
      if (inQuotes && pattern[i + 1] === '"') {
        parts[parts.length - 1] += '"';
        i++;
      } else {
        inQuotes = !inQuotes;
      }
    } else if (!inQuotes && ch === ".") {
      parts.push("");
    } else if (!inQuotes && ch === "*") {
      parts[parts.length - 1] += ".*";
    } else if (!inQuotes && ch === "?") {
      parts[parts.length - 1] += ".";
    } else {
      const literal = inQuotes ? ch : ch.toLowerCase();
      parts[parts.length - 1] += literal.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
    }
  }
  const anchor = (regex: string) => `^(${regex === "" ? ".*" : regex})$`;
  if (parts.length === 1) return { schema: undefined, name: anchor(parts[0]!) };
  // pg_dump accepts db.schema.table too; the database part must be the current one, ignore it.
  const name = parts[parts.length - 1]!;
  const schema = parts[parts.length - 2]!;
  return { schema: anchor(schema), name: anchor(name) };
}

/** For schema patterns (-n): the whole pattern names a schema. */
export function schemaPatternRegex(pattern: string): string {
  const parsed = parseNamePattern(pattern);
  return parsed.name;
}
