/**
 * Splits a file of SQL statements at the semicolons that end them, leaving alone those inside
 * quotes (single, double), dollar quotes ($$...$$, $tag$...$tag$) and comments (line and nested block).
 * An unterminated quote or comment is an error: the file does not parse.
 */
export interface SplitResult {
  statements: string[];
  /** Why the file does not parse, or undefined. */
  problem: string | undefined;
}

export function splitSqlStatements(text: string): SplitResult {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const statement = text.slice(start, end).trim();
    if (stripComments(statement) !== "") statements.push(statement);
  };
  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === "-" && next === "-") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end + 1;
    } else if (ch === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        const pair = text.slice(i, i + 2);
        if (pair === "/*" || pair === "*/") {
          depth += pair === "/*" ? 1 : -1;
          i += 2;
        } else {
          i++;
        }
      }
      if (depth > 0) return { statements, problem: "a /* comment is not closed" };
    } else if (ch === "'" || ch === '"') {
      const close = findClosingQuote(text, i + 1, ch);
      if (close < 0) return { statements, problem: `a ${ch} quote opened at offset ${i} is not closed` };
      i = close + 1;
    } else if (ch === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i))?.[0];
      if (tag && !/[A-Za-z0-9_]/.test(text[i - 1] ?? "")) {
        const close = text.indexOf(tag, i + tag.length);
        if (close < 0) return { statements, problem: `the dollar quote ${tag} is not closed` };
        i = close + tag.length;
      } else {
        i++;
      }
    } else if (ch === ";") {
      push(i);
      start = ++i;
    } else {
      i++;
    }
  }
  push(text.length);
  return { statements, problem: undefined };
}

function findClosingQuote(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) i++;
      else return i;
    }
  }
  return -1;
}

function stripComments(statement: string): string {
  return statement
    .replace(/--[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .trim();
}
