/**
 * The roles object's SQL, pure: `pg_dumpall --roles-only --no-role-passwords` output with the
 * reserved roles' statements left out, and the same statements classified again when they are
 * applied. Works statement by statement (not line by line), so a comment spanning lines or a
 * quoted name stays whole.
 */
import { OperationError } from "./errors.js";
import { splitSqlStatements } from "./sql-split.js";

const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;

export type RoleStatement =
  | { kind: "create"; role: string; sql: string }
  | { kind: "alter"; role: string; sql: string }
  | { kind: "comment"; role: string; sql: string }
  | { kind: "grant"; role: string; member: string; grantor: string | undefined; sql: string }
  | { kind: "session"; sql: string }
  | { kind: "other"; sql: string };

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase();
}

export function quoteRole(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** Drops the comment lines and psql meta-commands (\restrict, \unrestrict) before a statement. */
function stripLeading(statement: string): string {
  const lines = statement.split("\n");
  while (lines.length > 0 && /^\s*($|--|\\)/.test(lines[0]!)) lines.shift();
  return lines.join("\n").trim();
}

export function classifyRoleStatement(sql: string): RoleStatement {
  let match = new RegExp(`^(CREATE|ALTER|COMMENT ON) ROLE (${NAME})`, "i").exec(sql);
  if (match) {
    const verb = match[1]!.toUpperCase();
    const kind = verb === "CREATE" ? "create" : verb === "ALTER" ? "alter" : "comment";
    return { kind, role: unquote(match[2]!), sql };
  }
  match = new RegExp(`^GRANT (${NAME}) TO (${NAME})(.*?)(?: GRANTED BY (${NAME}))?$`, "is").exec(sql);
  if (match) {
    return {
      kind: "grant",
      role: unquote(match[1]!),
      member: unquote(match[2]!),
      grantor: match[4] === undefined ? undefined : unquote(match[4]),
      sql,
    };
  }
  if (/^(SET|RESET) /i.test(sql)) return { kind: "session", sql };
  return { kind: "other", sql };
}

/** The statements of a roles SQL text, comments and psql meta-commands left out. */
export function roleStatements(text: string): RoleStatement[] {
  const split = splitSqlStatements(text);
  if (split.problem) throw new OperationError(`the roles SQL does not parse: ${split.problem}`);
  return split.statements
    .map(stripLeading)
    .filter((sql) => sql !== "")
    .map(classifyRoleStatement);
}

/**
 * Attributes that are CREATE ROLE's defaults but that only a superuser may state: dropping them
 * changes nothing for a role the script has just created, and lets a non-superuser (a Supabase
 * project's postgres, the supabase/postgres image) apply the script.
 */
const SUPERUSER_DEFAULTS = /\s+(NOSUPERUSER|NOREPLICATION|NOBYPASSRLS)\b/gi;

function rewriteAlter(sql: string): string {
  const withAttributes = new RegExp(`^(ALTER ROLE ${NAME} WITH)(.*)$`, "is").exec(sql);
  if (!withAttributes) return sql;
  const quote = withAttributes[2]!.indexOf("'");
  const head = quote < 0 ? withAttributes[2]! : withAttributes[2]!.slice(0, quote);
  const tail = quote < 0 ? "" : withAttributes[2]!.slice(quote);
  // Never a password, whatever produced the text.
  const cleaned = `${head.replace(SUPERUSER_DEFAULTS, "")}${tail}`.replace(
    /\s+PASSWORD\s+('(?:[^']|'')*'|NULL)/gi,
    "",
  );
  return cleaned.trim() === "" ? "" : `${withAttributes[1]}${cleaned}`;
}

export interface FilteredRoles {
  sql: string;
  /** The roles the SQL creates, in order. */
  roles: string[];
  /** Reserved roles whose statements were left out. */
  left: string[];
}

/**
 * Keeps the statements of the roles that are not reserved: CREATE / ALTER / COMMENT ON ROLE of a
 * reserved role go, a GRANT goes when the granted role or the member is reserved, and a GRANTED BY
 * naming a reserved role is dropped (the grant is then made by whoever applies the script).
 */
export function filterRolesSql(
  text: string,
  isReserved: (role: string) => boolean,
  header: string,
): FilteredRoles {
  const kept: string[] = [];
  const roles: string[] = [];
  const left = new Set<string>();
  for (const statement of roleStatements(text)) {
    switch (statement.kind) {
      case "create":
      case "alter":
      case "comment": {
        if (isReserved(statement.role)) {
          left.add(statement.role);
          continue;
        }
        if (statement.kind === "create") roles.push(statement.role);
        const sql = statement.kind === "alter" ? rewriteAlter(statement.sql) : statement.sql;
        if (sql !== "") kept.push(sql);
        break;
      }
      case "grant": {
        if (isReserved(statement.role) || isReserved(statement.member)) continue;
        const sql =
          statement.grantor !== undefined && isReserved(statement.grantor)
            ? statement.sql.replace(/\s+GRANTED BY\s+\S+$/i, "")
            : statement.sql;
        kept.push(sql);
        break;
      }
      default:
        kept.push(statement.sql);
    }
  }
  const body = kept.map((sql) => `${sql};`).join("\n");
  const comment = header
    .split("\n")
    .map((line) => `-- ${line}`.trimEnd())
    .join("\n");
  return { sql: `${comment}\n\n${body}\n`, roles, left: [...left].sort() };
}
