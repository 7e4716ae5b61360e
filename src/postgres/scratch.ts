/**
 * Scratch databases for restore tests: created with a unique name on a server where the user may
 * CREATE DATABASE, dropped afterwards (connections and all).
 */
import type pg from "pg";
import type { DatabaseUrl } from "../domain/database-url.js";
import { InputError, OperationError, describeError } from "../domain/errors.js";
import { quoteIdent } from "./snapshot.js";

/** Invalid parameter value (encoding and locale do not match), wrong object type (unknown locale), undefined object (unknown encoding). */
const LOCALE_REFUSED = new Set(["22023", "42809", "42704"]);
/**
 * Besides those, what a server says to LOCALE_PROVIDER: an unknown option before PostgreSQL 15
 * (syntax error), no ICU in its build (feature not supported).
 */
const PROVIDER_REFUSED = new Set([...LOCALE_REFUSED, "42601", "0A000"]);

/** The source database's encoding and locale, from its catalog fingerprint. */
export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  /** The ICU locale of an ICU database, null for libc's; undefined when the fingerprint does not say. */
  icuLocale?: string | null;
}

interface Attempt {
  encoding: string;
  collate: string;
  ctype: string;
  provider: string;
  refused: ReadonlySet<string>;
  notice: string | undefined;
}

/**
 * Creates the scratch database; with `like`, from template0 in the source's encoding and locale,
 * so that a SQL_ASCII or LATIN1 source is not restored into UTF8, nor an ICU database into libc's
 * collation (where a text range partition's rows can fall outside its bounds). When the scratch
 * server cannot give the locale provider, the libc locale is kept; when it lacks that locale, the
 * encoding is kept with the C locale (which goes with every encoding); when it refuses even that,
 * the server's default is used. Returns a notice when it fell back.
 */
export async function createScratchDatabase(
  client: pg.Client,
  name: string,
  input: string,
  like?: DatabaseLocale,
): Promise<string | undefined> {
  if (like) {
    const attempts: Attempt[] = [];
    const { encoding, collate, ctype, icuLocale } = like;
    const libc = { encoding, collate, ctype, refused: LOCALE_REFUSED };
    const noLocale = `the scratch server has no locale ${collate}/${ctype}`;
    const cLocale = { encoding, collate: "C", ctype: "C", refused: LOCALE_REFUSED };
    if (typeof icuLocale === "string") {
      // The ICU locale is the database's collation: kept before the libc locale is.
      const icu = ` LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(icuLocale)}`;
      const noIcu = `the scratch server cannot create a database with ICU locale ${icuLocale}`;
      attempts.push(
        { ...libc, provider: icu, refused: PROVIDER_REFUSED, notice: undefined },
        {
          ...cLocale,
          provider: icu,
          refused: PROVIDER_REFUSED,
          notice: `${noLocale}: created with encoding ${encoding}, ICU locale ${icuLocale} and the C locale`,
        },
        { ...libc, provider: "", notice: `${noIcu}: created with the libc locale ${collate}/${ctype}` },
        {
          ...cLocale,
          provider: "",
          notice: `${noIcu} nor has the locale ${collate}/${ctype}: created with encoding ${encoding} and the C locale`,
        },
      );
    } else {
      if (icuLocale === null) {
        // Said, not left to template0: a scratch server initialized with ICU would give ICU's.
        attempts.push({
          ...libc,
          provider: " LOCALE_PROVIDER libc",
          refused: PROVIDER_REFUSED,
          notice: undefined,
        });
      }
      attempts.push(
        { ...libc, provider: "", notice: undefined },
        {
          ...cLocale,
          provider: "",
          notice: `${noLocale}: created with encoding ${encoding} and the C locale`,
        },
      );
    }
    let lastError: unknown;
    for (const attempt of attempts) {
      try {
        await client.query(
          `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(attempt.encoding)} LC_COLLATE ${quoteLiteral(attempt.collate)} LC_CTYPE ${quoteLiteral(attempt.ctype)}${attempt.provider}`,
        );
        return attempt.notice;
      } catch (error) {
        // Only a locale or encoding the server refuses is worth another try; anything else (no
        // permission) is reported as it is, below.
        if (!attempt.refused.has(String((error as { code?: string }).code)))
          throw creationError(error, name, input);
        lastError = error;
      }
    }
    await createPlain(client, name, input);
    return `the scratch server refuses encoding ${like.encoding} (${describeError(lastError)}): created with its default encoding and locale`;
  }
  return createPlain(client, name, input);
}

async function createPlain(client: pg.Client, name: string, input: string): Promise<undefined> {
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    return undefined;
  } catch (error) {
    throw creationError(error, name, input);
  }
}

function creationError(error: unknown, name: string, input: string): Error {
  if ((error as { code?: string }).code === "42501") {
    return new InputError(
      `--${input}: the role may not CREATE DATABASE on that server (${describeError(error)}); use a connection where it may, such as a service container's superuser`,
      { input, cause: error },
    );
  }
  return new OperationError(`creating the scratch database ${name} failed: ${describeError(error)}`, {
    cause: error,
  });
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export async function dropScratchDatabase(client: pg.Client, name: string): Promise<void> {
  // WITH (FORCE) ends leftover sessions (a migration tool that did not disconnect); PostgreSQL 13+.
  const serverVersion = Number((await client.query<{ v: string }>("SHOW server_version_num")).rows[0]!.v);
  const force = serverVersion >= 130000 ? " WITH (FORCE)" : "";
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
}

/** The scratch server's URL pointed at another database on it. */
export function withDatabase(url: DatabaseUrl, database: string): DatabaseUrl {
  const bare = new URL(url.withoutPassword);
  bare.pathname = `/${encodeURIComponent(database)}`;
  bare.searchParams.delete("dbname");
  const display = new URL(url.redacted);
  display.pathname = bare.pathname;
  const params = { ...url.params };
  delete params.dbname;
  return { ...url, database, withoutPassword: bare.toString(), redacted: display.toString(), params };
}
