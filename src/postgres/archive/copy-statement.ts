/**
 * The COPY statement a TABLE DATA entry's rows are restored with, as pg_dump writes it
 * (pg_dump.c dumpTableData: `COPY <schema>.<table> (<columns>) FROM stdin;`, names quoted by
 * fmtId only where needed). Two facts in it decide whether a restored table can be read back as
 * the archive holds it:
 * - the columns, in the order the rows hold their values: the source's, which a restore does not
 *   always keep (an inheritance child gets its parent's columns first, so a column added to the
 *   parent later comes before the child's own after a restore);
 * - the table it loads into: the partition root, not the partition, under
 *   --load-via-partition-root, which pg_dump also chooses itself for hash partitioning on an enum
 *   (the hash of an enum is of its OID, which a restore does not keep): the rows are routed again
 *   and may land in another partition.
 */

export interface CopyStatement {
  schema: string;
  table: string;
  /** The column list; empty for a table without columns. */
  columns: string[];
}

/**
 * Reads `COPY schema.table (a, "B c") FROM stdin;`; undefined for anything else (INSERT data has
 * no copy statement; a statement from another tool).
 */
export function parseCopyStatement(statement: string): CopyStatement | undefined {
  let at = 0;
  const text = statement.trim();
  const skipSpaces = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const identifier = (): string | undefined => {
    if (text[at] === '"') {
      let name = "";
      at++;
      for (;;) {
        const end = text.indexOf('"', at);
        if (end < 0) return undefined;
        name += text.slice(at, end);
        at = end + 1;
        if (text[at] !== '"') return name;
        name += '"';
        at++;
      }
    }
    // fmtId leaves a name unquoted only when it is lower case letters, digits and underscores.
    const match = /^[a-z_][a-z0-9_]*/.exec(text.slice(at));
    if (!match) return undefined;
    at += match[0].length;
    return match[0];
  };
  if (!/^COPY\s/i.test(text)) return undefined;
  at = 4;
  skipSpaces();
  const schema = identifier();
  if (schema === undefined || text[at] !== ".") return undefined;
  at++;
  const table = identifier();
  if (table === undefined) return undefined;
  skipSpaces();
  const columns: string[] = [];
  if (text[at] === "(") {
    at++;
    for (;;) {
      skipSpaces();
      const column = identifier();
      if (column === undefined) return undefined;
      columns.push(column);
      skipSpaces();
      if (text[at] === ",") {
        at++;
        continue;
      }
      if (text[at] !== ")") return undefined;
      at++;
      break;
    }
    skipSpaces();
  }
  return /^FROM\s+stdin\s*;?$/i.test(text.slice(at)) ? { schema, table, columns } : undefined;
}
