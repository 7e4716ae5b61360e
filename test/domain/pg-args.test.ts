import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { InputError } from "../../src/domain/errors.js";
import {
  allowedPgOptions,
  parsePgArgs,
  parsePgDumpArgs,
  parsePgRestoreArgs,
  pgOptionDecisions,
  pgOptionTable,
  tokenizePgArgs,
  type PgArgsTool,
} from "../../src/domain/pg-args.js";

const execFileAsync = promisify(execFile);

function refusal(tool: PgArgsTool, argv: string[]): string {
  try {
    parsePgArgs(tool, argv, tool === "pg_dump" ? "pg-dump-args" : "pg-restore-args");
  } catch (error) {
    assert.ok(error instanceof InputError, `InputError expected for ${JSON.stringify(argv)}`);
    assert.equal(error.exitCode, 2);
    assert.equal(error.input, tool === "pg_dump" ? "pg-dump-args" : "pg-restore-args");
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  assert.fail(`${tool} ${JSON.stringify(argv)} was accepted`);
}

describe("tokenizePgArgs reads words the way getopt_long does", () => {
  const dump = pgOptionTable("pg_dump");
  const read = (argv: string[]) =>
    tokenizePgArgs(argv, dump, "pg_dump").map(({ name, value }) => [name, value]);

  test("long options: exact, abbreviated, =value and the next word as value", () => {
    assert.deepEqual(read(["--no-owner"]), [["no-owner", undefined]]);
    assert.deepEqual(read(["--no-ow"]), [["no-owner", undefined]]);
    assert.deepEqual(read(["--dbn=x"]), [["dbname", "x"]]);
    assert.deepEqual(read(["--dbn", "x"]), [["dbname", "x"]]);
    assert.deepEqual(
      read(["--role", "--file=/tmp/x"]),
      [["role", "--file=/tmp/x"]],
      "a required value is the next word, whatever it looks like",
    );
    assert.deepEqual(read(["--role="]), [["role", ""]]);
    assert.deepEqual(
      read(["--no-sync"]),
      [["no-sync", undefined]],
      "an exact name wins over longer ones it prefixes",
    );
  });

  test("a prefix unique in one major but not in the union is refused", () => {
    const v15 = tokenizePgArgs(["--fil=/p"], pgOptionTable("pg_dump", 15), "pg_dump");
    assert.deepEqual(
      v15.map(({ name, value }) => [name, value]),
      [["file", "/p"]],
    );
    assert.throws(() => read(["--fil=/p"]), /ambiguous: --fil could be --file, --filter/);
  });

  test("aliases come back under one name", () => {
    assert.deepEqual(read(["--no-acl", "--attribute-inserts", "--large-objects"]), [
      ["no-privileges", undefined],
      ["column-inserts", undefined],
      ["blobs", undefined],
    ]);
  });

  test("short clusters: flags, then the rest of the word or the next word as a value", () => {
    assert.deepEqual(read(["-Od", "x"]), [
      ["no-owner", undefined],
      ["dbname", "x"],
    ]);
    assert.deepEqual(read(["-Of/path"]), [
      ["no-owner", undefined],
      ["file", "/path"],
    ]);
    assert.deepEqual(read(["-Ofoo"]), [
      ["no-owner", undefined],
      ["file", "oo"],
    ]);
    assert.deepEqual(read(["-f-"]), [["file", "-"]]);
    assert.deepEqual(read(["-Ox", "-v"]), [
      ["no-owner", undefined],
      ["no-privileges", undefined],
      ["verbose", undefined],
    ]);
  });

  test("errors: ambiguous prefixes, values on flags, missing values, positional words, --", () => {
    assert.throws(
      () => read(["--no-p"]),
      /ambiguous: --no-p could be --no-password, --no-privileges, --no-publications/,
    );
    assert.throws(() => read(["--no-owner=x"]), /--no-owner takes no value/);
    assert.throws(() => read(["--role"]), /--role needs a value/);
    assert.throws(() => read(["-f"]), /-f needs a value/);
    assert.throws(() => read(["mydb"]), /database name/);
    assert.throws(() => read([""]), /not an option/);
    assert.throws(() => read(["-"]), /not an option/);
    assert.throws(() => read(["--"]), /ends the options/);
    assert.throws(() => read(["--=x"]), /not an option/);
    assert.throws(() => read(["--bogus"]), /no option --bogus/);
    assert.throws(() => read(["-o"]), /no option -o/);
  });
});

describe("--pg-dump-args allow-list", () => {
  test("accepted options come back in canonical long form", () => {
    assert.deepEqual(
      parsePgDumpArgs(
        "--no-owner -x --no-comm --lock-wait-timeout 30s --role=app_owner -v --no-acl --quote-all",
      ),
      [
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        "--lock-wait-timeout=30s",
        "--role=app_owner",
        "--verbose",
        "--no-privileges",
        "--quote-all-identifiers",
      ],
    );
    assert.deepEqual(parsePgDumpArgs(""), []);
    assert.deepEqual(parsePgDumpArgs(["-Ox"]), ["--no-owner", "--no-privileges"]);
  });

  const attacks: [string[], RegExp][] = [
    [["--dbn=x"], /"--dbn=x" is not allowed \(--dbname: the connection comes from --database-url\)/],
    [["-Od"], /"-Od" is not allowed \(-d needs a value\)/],
    [["-Od", "x"], /"-Od x" is not allowed \(--dbname:/],
    // pg_dump 17 added --filter: in the union of the versions, --fil is ambiguous.
    [["--fil=/path"], /"--fil=\/path" is not allowed \(ambiguous: --fil could be --file, --filter\)/],
    [["-Of", "/path"], /"-Of \/path" is not allowed \(--file:/],
    [["-Ofoo"], /"-Ofoo" is not allowed \(--file:/],
    [["--file"], /"--file" is not allowed \(--file needs a value\)/],
    [["--file=x"], /--file: the output goes to the store/],
    [["-f-"], /"-f-" is not allowed \(--file:/],
    [["--format=p"], /"--format=p" is not allowed \(--format: the format is always custom\)/],
    [["-Fp"], /--format:/],
    [["-j4"], /"-j4" is not allowed \(--jobs:/],
    [["--"], /"--" is not allowed \(it ends the options/],
    [["--", "--no-owner"], /"--" is not allowed/],
    [[""], /"" is not allowed \(not an option: pg_dump would take it as the database name\)/],
    [["--no-owner=x"], /"--no-owner=x" is not allowed \(--no-owner takes no value\)/],
    [["--no-p"], /"--no-p" is not allowed \(ambiguous/],
    [["--no-s"], /ambiguous/],
    [["--ver"], /ambiguous: --ver could be --verbose, --version/],
    [["--snapshot=00000003-1"], /lifeboat exports the snapshot itself/],
    [["-h", "evil"], /--host:/],
    [["-Uroot"], /--username:/],
    [["-W"], /--password:/],
    [["--table=secret"], /use --include-table/],
    [["-Tx"], /use --exclude-table/],
    [["--exclude-table-data=x"], /use --exclude-table-data/],
    [["--inserts"], /INSERT statements/],
    [["--column-inserts"], /INSERT statements/],
    [["--rows-per-insert=10"], /INSERT statements/],
    [["--extra-float-digits=-15"], /lose digits/],
    [["--enable-row-security"], /partial backup/],
    [["--no-unlogged-table-data"], /leaves rows out/],
    [["--serializable-deferrable"], /exported snapshot/],
    [["--filter=/etc/passwd"], /scope/],
    [["--restrict-key=abc"], /plain-text/],
    [["--role=x;DROP"], /--role: expected a role name/],
    [["--role", "--file=/tmp/x"], /"--role --file=\/tmp\/x" is not allowed \(--role: expected a role name/],
    [["--lock-wait-timeout=soon"], /--lock-wait-timeout: expected a time/],
    [["--sync-method=none"], /expected fsync or syncfs/],
    [["--bogus"], /"--bogus" is not allowed \(not in the allowed list: --disable-dollar-quoting, /],
    [["-o"], /"-o" is not allowed \(not in the allowed list/],
    [["mydb"], /database name/],
    [["--help"], /not a dump option/],
    [["-V"], /not in the allowed list/],
  ];
  for (const [argv, expected] of attacks) {
    test(`refuses ${JSON.stringify(argv)}`, () => {
      const message = refusal("pg_dump", argv);
      assert.match(message, /^--pg-dump-args: /);
      assert.match(message, expected);
    });
  }
});

describe("--pg-restore-args allow-list", () => {
  test("accepted options come back in canonical long form", () => {
    assert.deepEqual(
      parsePgRestoreArgs(
        "-O -x --no-tablespaces --disable-trig --role app --use-set --no-data-for-failed-tables",
      ),
      [
        "--no-owner",
        "--no-privileges",
        "--no-tablespaces",
        "--disable-triggers",
        "--role=app",
        "--use-set-session-authorization",
        "--no-data-for-failed-tables",
      ],
    );
  });

  const attacks: [string[], RegExp][] = [
    [
      ["--dbn=postgres"],
      /"--dbn=postgres" is not allowed \(--dbname: Lifeboat names the database it restores into/,
    ],
    [["-Od", "postgres"], /"-Od postgres" is not allowed \(--dbname:/],
    [["-Odpostgres"], /"-Odpostgres" is not allowed \(--dbname:/],
    [["-C"], /--create:/],
    [["-c"], /scratch database is new; restore has its own --clean/],
    [["--fil=/tmp/out.sql"], /ambiguous: --fil could be --file, --filter/],
    [["-f-"], /--file:/],
    [["-l"], /--list:/],
    [["-L", "list.txt"], /--use-list:/],
    [["-j4"], /use --jobs/],
    [["-e"], /--exit-on-error: Lifeboat reads every pg_restore error itself/],
    [["-1"], /--single-transaction:/],
    [["--transaction-size=100"], /--transaction-size:/],
    [["-n", "public"], /--schema: the whole backup is restored/],
    [["--section=data"], /whole backup/],
    [["-v"], /--verbose:/],
    [["/tmp/other.dump"], /not an option: pg_restore would read it as the input file/],
    [["--"], /ends the options: what follows would be read as the input file/],
    [[""], /not an option/],
    [["--no-owner=x"], /takes no value/],
    [["--no-p"], /ambiguous/],
    [["--no-t"], /ambiguous/],
    [["--e"], /ambiguous/],
    [["--hel"], /not in the allowed list/],
    [["--role=bad name"], /expected a role name/],
  ];
  for (const [argv, expected] of attacks) {
    test(`refuses ${JSON.stringify(argv)}`, () => {
      const message = refusal("pg_restore", argv);
      assert.match(message, /^--pg-restore-args: /);
      assert.match(message, expected);
    });
  }
});

describe("the tables and the decisions", () => {
  for (const tool of ["pg_dump", "pg_restore"] as const) {
    test(`${tool}: every option has a decision with a reason, and every allowed option exists`, () => {
      const names = new Set(pgOptionTable(tool).map((option) => option.long));
      for (const decision of pgOptionDecisions(tool)) {
        assert.notEqual(
          decision.why,
          "not in the allowed list",
          `${tool} --${decision.name} has no decision`,
        );
      }
      for (const name of allowedPgOptions(tool)) assert.ok(names.has(name), `${tool} --${name}`);
      const shorts = pgOptionTable(tool).flatMap((option) => (option.short ? [option.short] : []));
      assert.equal(new Set(shorts).size, shorts.length, "one option per letter");
    });
  }

  test("nothing that picks the output, format, connection or scope is allowed", () => {
    for (const name of [
      "file",
      "format",
      "jobs",
      "compress",
      "dbname",
      "host",
      "port",
      "username",
      "snapshot",
      "schema",
      "table",
      "data-only",
      "schema-only",
      "section",
      "filter",
    ]) {
      assert.ok(!allowedPgOptions("pg_dump").includes(name), `pg_dump --${name}`);
    }
    for (const name of [
      "file",
      "dbname",
      "create",
      "clean",
      "list",
      "use-list",
      "jobs",
      "host",
      "schema",
      "table",
      "section",
      "exit-on-error",
      "single-transaction",
    ]) {
      assert.ok(!allowedPgOptions("pg_restore").includes(name), `pg_restore --${name}`);
    }
  });
});

describe("property: nothing outside the allow-list gets through", () => {
  for (const tool of ["pg_dump", "pg_restore"] as const) {
    const options = pgOptionTable(tool);
    const allowed = new Set(allowedPgOptions(tool));
    // Words built from the tool's real vocabulary: prefixes of long names, clusters of short
    // letters, values that look like options, and plain junk.
    const longWord = fc
      .tuple(
        fc.constantFrom(...options.map((o) => o.long)),
        fc.nat(),
        fc.option(fc.constantFrom("", "x", "/tmp/x", "-", "p", "app"), { nil: undefined }),
      )
      .map(
        ([name, cut, value]) =>
          `--${name.slice(0, 1 + (cut % name.length))}${value === undefined ? "" : `=${value}`}`,
      );
    const letters = [...options.flatMap((o) => (o.short ? [o.short] : [])), "o", "X", "V", "?", "1"];
    const shortWord = fc
      .array(fc.constantFrom(...letters), { minLength: 1, maxLength: 4 })
      .chain((cluster) =>
        fc.constantFrom("", "foo", "/path", "-").map((tail) => `-${cluster.join("")}${tail}`),
      );
    const junk = fc.constantFrom("", "-", "--", "db", "/tmp/x", "--=", "x", "30s", "app");
    const word = fc.oneof(longWord, shortWord, junk, fc.string({ maxLength: 6 }));

    test(`${tool}: what is accepted is canonical, allowed, and reads back as itself`, () => {
      fc.assert(
        fc.property(fc.array(word, { maxLength: 6 }), (argv) => {
          let out: string[];
          try {
            out = parsePgArgs(tool, argv, "x");
          } catch (error) {
            assert.ok(error instanceof InputError);
            return;
          }
          const reread = tokenizePgArgs(out, options, tool);
          assert.equal(reread.length, out.length, "one word per option, none eaten as a value");
          for (const [index, option] of reread.entries()) {
            assert.ok(allowed.has(option.name), `--${option.name} got through from ${JSON.stringify(argv)}`);
            assert.match(out[index]!, new RegExp(`^--${option.name}(=|$)`), "exact long name");
          }
          // getopt sees every original word as an option or its value: none survives as a
          // positional (a database name or an input file).
          const original = tokenizePgArgs(argv, options, tool);
          assert.ok(original.every((option) => allowed.has(option.name)));
        }),
        { numRuns: 3000 },
      );
    });

    test(`${tool}: a disallowed option anywhere among allowed ones is refused`, () => {
      const refused = pgOptionDecisions(tool)
        .filter((d) => !d.allowed)
        .map((d) => d.name);
      const okWords = allowedPgOptions(tool)
        .filter((name) => !options.find((o) => o.long === name)?.takesValue)
        .map((name) => `--${name}`);
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom(...okWords), { maxLength: 4 }),
          fc.constantFrom(...refused),
          fc.nat(),
          (before, name, at) => {
            const option = options.find((o) => o.long === name)!;
            const words = [...before];
            words.splice(at % (words.length + 1), 0, option.takesValue ? `--${name}=v` : `--${name}`);
            assert.throws(() => parsePgArgs(tool, words, "x"), InputError);
          },
        ),
        { numRuns: 500 },
      );
    });
  }
});

// The real pg_dump and pg_restore of this machine's PostgreSQL are the reference for the
// getopt_long rules: for each word, does glibc complain (ambiguous, unknown, no value allowed,
// value missing) exactly when the tokenizer does, given that major's table?
const bin = [18, 17, 16, 15]
  .map((major) => `/usr/lib/postgresql/${major}/bin`)
  .find((dir) => existsSync(join(dir, "pg_dump")) && existsSync(join(dir, "pg_restore")));
const major = bin
  ? Number(
      /\(PostgreSQL\) (\d+)/.exec(
        spawnSync(join(bin, "pg_dump"), ["--version"], { encoding: "utf8" }).stdout,
      )?.[1],
    )
  : undefined;

/** The tool's table for this machine's major; --restrict-key only from the 2025-08 minor releases on. */
function localTable(tool: PgArgsTool) {
  const help = spawnSync(join(bin!, tool), ["--help"], { encoding: "utf8" }).stdout;
  return pgOptionTable(tool, major).filter(
    (option) => option.long !== "restrict-key" || help.includes("--restrict-key"),
  );
}

describe(
  `agrees with the real getopt_long of PostgreSQL ${major ?? "(none here)"}`,
  { skip: bin && major ? false : "no PostgreSQL client under /usr/lib/postgresql" },
  () => {
    const cwd = mkdtempSync(join(tmpdir(), "lifeboat-pg-args-"));
    const complaint =
      /: (option '.*' is ambiguous|unrecognized option|option '.*' doesn't allow an argument|option '.*' requires an argument|option requires an argument|invalid option)/;

    async function realComplains(tool: PgArgsTool, word: string): Promise<boolean> {
      const args =
        tool === "pg_dump"
          ? ["-h", join(cwd, "no-socket"), "-p", "1", word]
          : [join(cwd, "missing.dump"), word];
      const running = execFileAsync(join(bin!, tool), args, {
        cwd,
        timeout: 10_000,
        env: { PATH: process.env.PATH ?? "", LANG: "C" },
      });
      // -W/--password reads the password from standard input when there is no terminal.
      running.child.stdin?.end();
      const result = await running.catch((error: { stderr?: string }) => ({ stderr: error.stderr ?? "" }));
      return complaint.test(result.stderr);
    }

    /**
     * The words where getopt's answer can change: the prefixes of each name where the number of
     * options it could mean changes (down to the first unique one, with and without a value),
     * the whole name; each short letter alone.
     */
    function interestingWords(tool: PgArgsTool): string[] {
      const table = localTable(tool);
      const targets = (prefix: string) =>
        new Set(table.filter((o) => o.long.startsWith(prefix)).map((o) => o.aliasOf ?? o.long)).size;
      const words = new Set<string>();
      for (const { long } of pgOptionTable(tool)) {
        let before = Infinity;
        for (let n = 1; n <= long.length; n++) {
          const prefix = long.slice(0, n);
          const now = targets(prefix);
          if (now <= 1) {
            words.add(`--${prefix}`);
            words.add(`--${prefix}=x`);
            if (n > 1) words.add(`--${long.slice(0, n - 1)}`);
            break;
          }
          if (now !== before) words.add(`--${prefix}`);
          before = now;
        }
        words.add(`--${long}`);
      }
      for (const letter of [...new Set(table.flatMap((o) => (o.short ? [o.short] : [])))].concat([
        "o",
        "X",
        "i",
      ])) {
        words.add(`-${letter}`);
      }
      return [...words];
    }

    for (const tool of ["pg_dump", "pg_restore"] as const) {
      test(`${tool}: prefixes, values and short letters`, async () => {
        const table = localTable(tool);
        const words = interestingWords(tool);
        const verdicts = new Map<string, boolean>();
        // Four at a time: the machine is shared.
        for (let i = 0; i < words.length; i += 4) {
          const batch = words.slice(i, i + 4);
          const answers = await Promise.all(batch.map((word) => realComplains(tool, word)));
          batch.forEach((word, index) => verdicts.set(word, answers[index]!));
        }
        const disagreements: string[] = [];
        for (const word of words) {
          // A value option left bare would take the next word; the word is last, so it has none.
          let ours = false;
          try {
            tokenizePgArgs([word], table, tool);
          } catch {
            ours = true;
          }
          // "--format=x" and the like make the tool complain in its own words, not getopt's.
          if (ours !== verdicts.get(word))
            disagreements.push(`${word}: ours ${ours ? "refuses" : "reads it"}`);
        }
        assert.deepEqual(disagreements, []);
      });
    }

    after(() => rmSync(cwd, { recursive: true, force: true }));
  },
);
