/**
 * pg_restore's errors, classified instead of counted, pure. pg_restore keeps going past an error
 * and names the archive entry it was restoring ("from TOC entry 3390; 0 0 ACL TABLE daily
 * postgres"), so each error can be tied to the object it concerns. After the catalog comparison:
 *
 * - an error whose object the comparison finds missing (or missing a grant) is a loss: it fails
 *   the test and names the object, whether or not a --tolerate pattern or an expectation covers it
 *   (one unknown grantee rolls back every grant of its object: tolerating that error hid them all);
 * - otherwise an error matching a --tolerate pattern is tolerated, and listed with the pattern;
 * - otherwise an error the backup's preset makes expected is tolerated, and listed with why (a
 *   Supabase platform extension that a plain server lacks, a platform role), and so is one whose
 *   object the comparison lists with a warning that explains it (an event trigger a restorer that
 *   is not a superuser cannot create, an owner it cannot set);
 * - anything else fails the test, as an error nobody explained.
 */
import type { CatalogDifference } from "./catalog-diff.js";
import { failedPlatformExtension, isPlatformRoleError, unquoteName, type Preset } from "./supabase-preset.js";

export interface RestoreError {
  /** The error, with the DETAIL, HINT and "Command was" lines that follow it. */
  text: string;
  /** The archive entry it concerns: its kind and tag, as pg_restore names entries. */
  entry?: { desc: string; tag: string };
  /** The statement that failed, when pg_restore printed it (its first 4 kB). */
  command?: string;
}

export type RestoreErrorVerdict = "lost" | "tolerated" | "expected" | "unexplained";

/** The lines pg_restore writes after an error's own line: they belong to that error (or its statement). */
const CONTINUATION = /^(DETAIL|HINT|Command was):/;

export interface ClassifiedRestoreError extends RestoreError {
  verdict: RestoreErrorVerdict;
  /** Why it is tolerated or expected; for a loss, the object the comparison found missing. */
  reason: string;
}

/**
 * The errors in pg_restore's output, each with the archive entry it concerns. pg_restore 15 names
 * the entry only when verbose ("from TOC entry <id>; <tableoid> <oid> <desc> <tag> <owner>", once
 * before the first error of an entry); otherwise the entry is read from the statement that failed
 * ("Command was:", up to the blank line that ends it).
 */
export function readRestoreErrors(log: string): RestoreError[] {
  const errors: RestoreError[] = [];
  let entry: RestoreError["entry"];
  let inCommand = false;
  for (const line of log.split("\n")) {
    if (inCommand && line.trim() !== "" && !line.startsWith("pg_restore: ") && !CONTINUATION.test(line)) {
      const last = errors[errors.length - 1]!;
      if ((last.command ?? "").length < COMMAND_KEEP) last.command += `\n${line}`;
      continue;
    }
    inCommand = false;
    const from = /^pg_restore: from TOC entry \d+; \d+ \d+ (.*)$/.exec(line);
    if (from) {
      entry = splitEntry(from[1]!);
      continue;
    }
    const error = /^pg_restore: error: (.*)$/.exec(line);
    if (error) {
      const text = error[1]!.trim();
      // The summary of the others, not an error of its own.
      if (/^errors ignored on restore: \d+$/.test(text)) continue;
      errors.push({ text, ...(entry ? { entry } : {}) });
    } else if (errors.length > 0 && CONTINUATION.test(line.trim())) {
      let last = errors[errors.length - 1]!;
      if (line.startsWith("Command was: ") && last.command !== undefined) {
        // pg_restore -j's workers write an error and its "Command was:" separately, so two
        // workers' lines can interleave: a second statement after an error that has one belongs
        // to an earlier error still without its statement, not to this one.
        last = errors.findLast((candidate) => candidate.command === undefined) ?? last;
      }
      last.text += ` ${line.trim()}`;
      if (line.startsWith("Command was: ")) {
        last.command = line.slice("Command was: ".length);
        inCommand = true;
      }
    } else if (/^pg_restore: (?!error:)/.test(line) && !line.startsWith("pg_restore: while PROCESSING TOC")) {
      // Another message (a warning, progress): the entry it followed is no longer current.
      entry = undefined;
    }
  }
  return errors.map((error) => {
    if (error.entry || error.command === undefined) return error;
    const fromCommand = entryOfStatement(error.command);
    return fromCommand ? { ...error, entry: fromCommand } : error;
  });
}

/** How much of a failed statement is read to find its object (function bodies can be long). */
const COMMAND_KEEP = 4096;

const NAME = String.raw`((?:"(?:[^"]|"")*"|[^\s"(,;])+)`;
/** A function's argument list after its name, skipped. */
const ARGS = String.raw`(?:\(.*?\))?`;
const KINDS = String.raw`(TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE|FOREIGN TABLE|SCHEMA|FUNCTION|PROCEDURE|AGGREGATE|TYPE|DOMAIN|LARGE OBJECT|FOREIGN SERVER|SERVER|FOREIGN DATA WRAPPER|EXTENSION|PUBLICATION|EVENT TRIGGER|INDEX)`;

/** Statements pg_dump writes, and the entry (kind and tag, names qualified) each belongs to. */
const STATEMENTS: [RegExp, (m: RegExpExecArray) => { desc: string; tag: string }][] = [
  [
    new RegExp(String.raw`^(?:GRANT|REVOKE) .*? ON ${KINDS} ${NAME}${ARGS} (?:TO|FROM) `, "s"),
    (m) => ({ desc: "ACL", tag: `${m[1]} ${m[2]}` }),
  ],
  [
    new RegExp(
      String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE ${NAME}(?: IN SCHEMA ${NAME})? (?:GRANT|REVOKE) .*? ON (\w+)`,
      "s",
    ),
    (m) => ({ desc: "DEFAULT ACL", tag: [m[1], m[2], m[3]].filter(Boolean).join(" ") }),
  ],
  [
    new RegExp(String.raw`^CREATE POLICY ${NAME} ON ${NAME}`),
    (m) => ({ desc: "POLICY", tag: `${m[2]} ${m[1]}` }),
  ],
  [
    new RegExp(String.raw`^CREATE (?:CONSTRAINT )?TRIGGER ${NAME} .*? ON ${NAME}`, "s"),
    (m) => ({ desc: "TRIGGER", tag: `${m[2]} ${m[1]}` }),
  ],
  [
    new RegExp(String.raw`^CREATE (?:UNIQUE )?INDEX ${NAME} ON (?:ONLY )?${NAME}`),
    (m) => ({ desc: "INDEX", tag: `${m[2]} ${m[1]}` }),
  ],
  [
    new RegExp(String.raw`^ALTER (?:TABLE|FOREIGN TABLE) (?:ONLY )?${NAME}\s+ADD CONSTRAINT ${NAME}`),
    (m) => ({ desc: "CONSTRAINT", tag: `${m[1]} ${m[2]}` }),
  ],
  [
    new RegExp(String.raw`^ALTER TABLE (?:ONLY )?${NAME} (?:ENABLE|FORCE) ROW LEVEL SECURITY`),
    (m) => ({ desc: "ROW SECURITY", tag: m[1]! }),
  ],
  [
    new RegExp(String.raw`^ALTER TABLE (?:ONLY )?${NAME} ATTACH PARTITION ${NAME}`),
    (m) => ({ desc: "TABLE ATTACH", tag: m[2]! }),
  ],
  [
    new RegExp(String.raw`^ALTER PUBLICATION ${NAME} ADD `),
    (m) => ({ desc: "PUBLICATION TABLE", tag: m[1]! }),
  ],
  [
    new RegExp(String.raw`^CREATE USER MAPPING FOR ${NAME} SERVER ${NAME}`),
    (m) => ({ desc: "USER MAPPING", tag: `USER MAPPING ${m[1]} SERVER ${m[2]}` }),
  ],
  [/^CREATE CAST \(([^ ]+) AS /, (m) => ({ desc: "CAST", tag: `CAST (${m[1]} AS` })],
  [/^SELECT pg_catalog\.lo_create\('(\d+)'\)/, (m) => ({ desc: "BLOB", tag: m[1]! })],
  [
    new RegExp(String.raw`^COMMENT ON ${KINDS} ${NAME}${ARGS} IS `),
    (m) => ({ desc: "COMMENT", tag: `${m[1]} ${m[2]}` }),
  ],
  [new RegExp(String.raw`^ALTER ${KINDS} ${NAME}${ARGS} OWNER TO `), (m) => ({ desc: m[1]!, tag: m[2]! })],
  [
    new RegExp(String.raw`^CREATE (?:OR REPLACE )?(?:UNLOGGED )?${KINDS} (?:IF NOT EXISTS )?${NAME}`),
    (m) => ({ desc: m[1]!, tag: m[2]! }),
  ],
];

/** The entry a failed statement belongs to, when it is one of the statements above. */
export function entryOfStatement(sql: string): { desc: string; tag: string } | undefined {
  const text = sql.trim();
  for (const [regex, entry] of STATEMENTS) {
    const match = regex.exec(text);
    if (match) return entry(match);
  }
  return undefined;
}

/** Entry kinds of more than one word, longest first, so "FK CONSTRAINT" is not read as "FK". */
const MULTI_WORD_DESCS = [
  "PUBLICATION TABLES IN SCHEMA",
  "MATERIALIZED VIEW DATA",
  "FOREIGN DATA WRAPPER",
  "PUBLICATION TABLE",
  "MATERIALIZED VIEW",
  "CHECK CONSTRAINT",
  "SECURITY LABEL",
  "EVENT TRIGGER",
  "FK CONSTRAINT",
  "FOREIGN TABLE",
  "LARGE OBJECT",
  "ROW SECURITY",
  "SEQUENCE OWNED BY",
  "SEQUENCE SET",
  "TABLE ATTACH",
  "INDEX ATTACH",
  "USER MAPPING",
  "DEFAULT ACL",
  "TABLE DATA",
  "BLOBS",
];

/**
 * "<desc> <tag> <owner>" -> desc and tag. The owner is one word, empty for entries without one
 * (extensions, comments on them: the line then ends in a space), or "(no owner)".
 */
function splitEntry(text: string): { desc: string; tag: string } {
  const desc = MULTI_WORD_DESCS.find((d) => text.startsWith(`${d} `)) ?? text.split(" ")[0]!;
  const rest = text.slice(desc.length + 1).replace(/ \(no owner\)$/, " ");
  const ownerAt = rest.lastIndexOf(" ");
  return { desc, tag: ownerAt < 0 ? rest : rest.slice(0, ownerAt) };
}

/** The first words of the catalog comparison's object labels each kind of entry can concern. */
const LABEL_KINDS: Record<string, string[]> = {
  TABLE: ["table", "partitioned table", "view", "materialized view", "foreign table", "sequence", "column"],
  VIEW: ["view"],
  "MATERIALIZED VIEW": ["materialized view"],
  "MATERIALIZED VIEW DATA": ["materialized view"],
  SEQUENCE: ["sequence"],
  "SEQUENCE SET": ["sequence"],
  "FOREIGN TABLE": ["foreign table"],
  FUNCTION: ["function", "procedure", "aggregate"],
  PROCEDURE: ["procedure"],
  AGGREGATE: ["aggregate"],
  TYPE: ["type", "domain", "composite", "range"],
  DOMAIN: ["domain"],
  SCHEMA: ["schema"],
  POLICY: ["policy"],
  TRIGGER: ["trigger"],
  INDEX: ["index"],
  CONSTRAINT: ["constraint"],
  "FK CONSTRAINT": ["constraint"],
  "CHECK CONSTRAINT": ["constraint"],
  "ROW SECURITY": ["table", "partitioned table"],
  "TABLE ATTACH": ["table"],
  EXTENSION: ["extension"],
  SERVER: ["server"],
  "FOREIGN SERVER": ["server"],
  "FOREIGN DATA WRAPPER": ["foreign-data wrapper"],
  "USER MAPPING": ["user mapping"],
  "EVENT TRIGGER": ["event trigger"],
  PUBLICATION: ["publication"],
  "PUBLICATION TABLE": ["publication"],
  "PUBLICATION TABLES IN SCHEMA": ["publication"],
  CAST: ["cast"],
  BLOB: ["large object"],
  "LARGE OBJECT": ["large object"],
  "DEFAULT ACL": ["default privileges of"],
  COLUMN: ["column"],
};

/** Entries about another object: the object's kind opens the tag ("ACL" "TABLE daily"). */
const ABOUT_ANOTHER = new Set(["ACL", "COMMENT", "SECURITY LABEL"]);

/** The kinds and name words of the object an entry concerns. */
function entryObject(entry: { desc: string; tag: string }): { kinds: string[]; names: string[] } {
  let { desc, tag } = entry;
  if (ABOUT_ANOTHER.has(desc)) {
    const kind = Object.keys(LABEL_KINDS)
      .sort((a, b) => b.length - a.length)
      .find((k) => tag.startsWith(`${k} `));
    if (!kind) return { kinds: [], names: [] };
    desc = kind;
    tag = tag.slice(kind.length + 1);
  }
  if (desc === "USER MAPPING") tag = tag.replace(/^USER MAPPING /, "").replace(/ SERVER /, " ");
  else if (desc === "DEFAULT ACL") tag = tag.replace(/^DEFAULT PRIVILEGES FOR /, "");
  else if (desc === "CAST") tag = /^CAST \(([^ ]+) AS /.exec(tag)?.[1] ?? tag;
  // Argument types are spelled differently (integer, int4): the name before them says enough.
  else if (["FUNCTION", "PROCEDURE", "AGGREGATE"].includes(desc)) tag = tag.replace(/\(.*$/, "");
  return { kinds: LABEL_KINDS[desc] ?? [], names: words(tag) };
}

function words(text: string): string[] {
  return text
    .replaceAll('"', "")
    .split(/[\s.@,]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

/** Whether a catalog difference concerns the object an archive entry creates or grants on. */
export function entryConcerns(entry: { desc: string; tag: string }, difference: CatalogDifference): boolean {
  const { kinds, names } = entryObject(entry);
  const kind = kinds.find((k) => difference.object.startsWith(`${k} `));
  if (!kind || names.length === 0) return false;
  let label = difference.object.slice(kind.length);
  if (["function", "procedure", "aggregate"].includes(kind)) label = label.replace(/\(.*$/, "");
  const labelWords = new Set(words(label));
  return names.every((name) => labelWords.has(name));
}

/**
 * A new database already has schema public (from template0): a dump that selects it
 * (`--include-schema public`) creates it again, and only that statement fails.
 */
function expectedOnNewDatabase(error: RestoreError): string | undefined {
  return /schema "public" already exists/.test(error.text) &&
    /^CREATE SCHEMA public;?\s*$/.test(error.command ?? "")
    ? "a new database has schema public already"
    : undefined;
}

/**
 * Why the backup's preset expects an error on a plain server, or undefined. `platformExtensions`
 * collects the platform extensions whose creation failed, so that the comment on one is expected
 * too.
 */
function expectedByPreset(
  error: RestoreError,
  preset: Preset,
  platformExtensions: Set<string>,
): string | undefined {
  if (preset !== "supabase") return undefined;
  if (isPlatformRoleError(error.text)) {
    return "a role of the Supabase platform's, left out of the roles object on purpose";
  }
  const created = failedPlatformExtension(error.text);
  if (created) {
    platformExtensions.add(created.extension);
    return `an extension the Supabase platform installs (in schema ${created.schema}): left out of the catalog comparison`;
  }
  if (error.entry?.desc === "COMMENT" && error.entry.tag.startsWith("EXTENSION ")) {
    const name = error.entry.tag.slice("EXTENSION ".length);
    if (platformExtensions.has(name)) return `the comment on the platform's extension ${name}`;
  }
  return undefined;
}

/**
 * The catalog comparison's warning that explains an error: one about the error's object (an event
 * trigger a restorer that is not a superuser could not create), or, for an ownership change that
 * failed, the one about everything that role owned ("objects owned by postgres in the source").
 */
function explainingWarning(
  error: RestoreError,
  warnings: readonly CatalogDifference[],
): CatalogDifference | undefined {
  const about = error.entry && warnings.find((difference) => entryConcerns(error.entry!, difference));
  if (about) return about;
  const owner = / OWNER TO ("(?:[^"]|"")+"|[^\s;]+);/.exec(error.command ?? "");
  if (!owner) return undefined;
  const role = unquoteName(owner[1]!);
  return warnings.find((difference) => difference.object === `objects owned by ${role} in the source`);
}

/**
 * Classifies each error against the catalog comparison's differences (none when it did not run:
 * then nothing is known lost, and tolerated errors stay tolerated).
 */
export function classifyRestoreErrors(
  errors: readonly RestoreError[],
  options: { tolerate: readonly RegExp[]; preset: Preset; differences: readonly CatalogDifference[] },
): ClassifiedRestoreError[] {
  const platformExtensions = new Set<string>();
  const lostObjects = options.differences.filter((difference) => difference.severity === "failure");
  const warnings = options.differences.filter((difference) => difference.severity === "warning");
  return errors.map((error): ClassifiedRestoreError => {
    const lost = error.entry && lostObjects.find((difference) => entryConcerns(error.entry!, difference));
    if (lost) return { ...error, verdict: "lost", reason: `${lost.object}: ${lost.problem}` };
    const pattern = options.tolerate.find((regex) => regex.test(error.text));
    if (pattern) return { ...error, verdict: "tolerated", reason: `matches --tolerate ${String(pattern)}` };
    const expected =
      expectedOnNewDatabase(error) ?? expectedByPreset(error, options.preset, platformExtensions);
    if (expected) return { ...error, verdict: "expected", reason: expected };
    const warning = explainingWarning(error, warnings);
    if (warning) {
      return {
        ...error,
        verdict: "expected",
        reason: `${warning.object}: ${warning.reason ?? warning.problem}`,
      };
    }
    return { ...error, verdict: "unexplained", reason: "" };
  });
}

/** An error's entry as pg_restore names it ("ACL TABLE daily"), for messages. */
function entryText(error: RestoreError): string {
  return error.entry ? `${error.entry.desc} ${error.entry.tag}` : "an unnamed entry";
}

/** PostgreSQL's words for a server that ran out of disk, memory or connections. */
const RESOURCE_EXHAUSTED =
  /No space left on device|could not extend file|Disk quota exceeded|out of memory|too many clients already|remaining connection slots are reserved/i;

/**
 * The test's failures from the classified errors: one per loss (the object first), and one line
 * for the errors nobody explained, as before. A pg_restore that failed without printing an error
 * fails too. A server that ran out of disk or memory leads, whatever else failed: it explains the
 * rest (tables left empty, a foreign key that then could not be added), and a one-line error that
 * names only a consequence sends the reader after the wrong cause.
 */
export function restoreErrorFailures(
  classified: readonly ClassifiedRestoreError[],
  exitCode: number | null,
  log: string,
): string[] {
  const exhausted = classified.find(
    (error) => error.verdict !== "tolerated" && RESOURCE_EXHAUSTED.test(error.text),
  );
  const failures = exhausted ? [`the server ran out of resources during pg_restore: ${exhausted.text}`] : [];
  failures.push(
    ...classified
      .filter((error) => error.verdict === "lost")
      .map((error) => `${error.reason}: pg_restore failed on ${entryText(error)}: ${error.text}`),
  );
  const unexplained = classified.filter((error) => error.verdict === "unexplained");
  if (unexplained.length > 0) {
    failures.push(`pg_restore reported ${unexplained.length} error(s): ${unexplained[0]!.text}`);
  } else if (exitCode !== 0 && classified.length === 0) {
    failures.push(`pg_restore exited with status ${exitCode}: ${log.trim().split("\n").at(-1) ?? ""}`);
  }
  return failures;
}

/** Each tolerated or expected error, with why: the lines the result and the report list. */
export function toleratedErrorLines(classified: readonly ClassifiedRestoreError[]): string[] {
  return classified
    .filter((error) => error.verdict === "tolerated" || error.verdict === "expected")
    .map((error) => `${error.text} [${entryText(error)}; ${error.reason}]`);
}
