/** pg_restore's errors tied to their archive entries and classified against the catalog's losses. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CatalogDifference } from "../../src/domain/catalog-diff.js";
import {
  classifyRestoreErrors,
  entryConcerns,
  entryOfStatement,
  readRestoreErrors,
  restoreErrorFailures,
  toleratedErrorLines,
} from "../../src/domain/restore-errors.js";

// The shape pg_restore 15 prints: each error with its detail lines and the statement that failed,
// which may span lines and ends with blank lines.
const LOG = `pg_restore: error: could not execute query: ERROR:  role "ghost" does not exist
Command was: GRANT SELECT ON TABLE reports.daily TO ghost;
GRANT SELECT ON TABLE reports.daily TO reporting;


pg_restore: error: could not execute query: ERROR:  schema "graphql" does not exist
Command was: CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA graphql;


pg_restore: error: could not execute query: ERROR:  extension "pg_trgm" does not exist
Command was: COMMENT ON EXTENSION pg_trgm IS 'text similarity';


pg_restore: error: could not execute query: ERROR:  function lifeboat_lost() does not exist
HINT:  No function matches the given name and argument types.
Command was: CREATE POLICY "Everyone may insert" ON public.notes FOR INSERT WITH CHECK (lifeboat_lost());


pg_restore: warning: errors ignored on restore: 4
`;

const lostGrant: CatalogDifference = {
  severity: "failure",
  object: "table reports.daily",
  problem: "grant reporting=r missing",
};
const lostPolicy: CatalogDifference = {
  severity: "failure",
  object: 'policy "Everyone may insert" on public.notes',
  problem: "missing (permissive INSERT TO PUBLIC)",
};

describe("restore errors", () => {
  test("each error comes with the entry its failed statement belongs to, detail lines attached", () => {
    const errors = readRestoreErrors(LOG);
    assert.equal(errors.length, 4);
    assert.deepEqual(errors[0]!.entry, { desc: "ACL", tag: "TABLE reports.daily" });
    assert.equal(
      errors[0]!.text,
      'could not execute query: ERROR:  role "ghost" does not exist Command was: GRANT SELECT ON TABLE reports.daily TO ghost;',
    );
    assert.deepEqual(errors[2]!.entry, { desc: "COMMENT", tag: "EXTENSION pg_trgm" });
    assert.deepEqual(errors[3]!.entry, { desc: "POLICY", tag: 'public.notes "Everyone may insert"' });
    assert.match(errors[3]!.text, /HINT: {2}No function matches/);
  });

  test("two -j workers' lines interleaved: each error keeps a statement, the first its own", () => {
    const errors = readRestoreErrors(
      [
        'pg_restore: error: could not execute query: ERROR:  permission denied to create event trigger "a_trigger"',
        'pg_restore: error: could not execute query: ERROR:  permission denied to create event trigger "log_ddl"',
        "HINT:  Must be superuser to create an event trigger.",
        "Command was: CREATE EVENT TRIGGER log_ddl ON ddl_command_end",
        "   EXECUTE FUNCTION public.log_ddl();",
        "HINT:  Must be superuser to create an event trigger.",
        "Command was: CREATE EVENT TRIGGER a_trigger ON sql_drop",
        "   EXECUTE FUNCTION public.quiet();",
        "",
      ].join("\n"),
    );
    assert.equal(errors.length, 2);
    assert.deepEqual(errors[1]!.entry, { desc: "EVENT TRIGGER", tag: "log_ddl" });
    assert.deepEqual(errors[0]!.entry, { desc: "EVENT TRIGGER", tag: "a_trigger" });
    assert.match(errors[1]!.command ?? "", /^CREATE EVENT TRIGGER log_ddl .*\n.*public\.log_ddl/s);
  });

  test("a verbose pg_restore names the entry itself", () => {
    const errors = readRestoreErrors(
      "pg_restore: from TOC entry 3390; 0 0 ACL TABLE daily postgres\npg_restore: error: boom\nCommand was: SELECT 1;\n",
    );
    assert.deepEqual(errors[0]!.entry, { desc: "ACL", tag: "TABLE daily" });
  });

  test("statements pg_dump writes map to their objects", () => {
    const cases: [string, string, string][] = [
      [
        "ALTER TABLE ONLY sales.orders\n    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);",
        "CONSTRAINT",
        "sales.orders orders_pkey",
      ],
      ["GRANT ALL ON FUNCTION reports.rollup() TO reporting;", "ACL", "FUNCTION reports.rollup"],
      [
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA reports GRANT SELECT ON TABLES TO reporting;",
        "DEFAULT ACL",
        "app_owner reports TABLES",
      ],
      [
        "CREATE USER MAPPING FOR reporting SERVER loopback OPTIONS (",
        "USER MAPPING",
        "USER MAPPING reporting SERVER loopback",
      ],
      ["ALTER PUBLICATION pub_messages ADD TABLE ONLY public.messages;", "PUBLICATION TABLE", "pub_messages"],
      [
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON sales.orders FOR EACH ROW EXECUTE FUNCTION sales.touch();",
        "TRIGGER",
        "sales.orders orders_touch",
      ],
      ["CREATE TABLE public.hot_rows (", "TABLE", "public.hot_rows"],
      ["SELECT pg_catalog.lo_create('424242');", "BLOB", "424242"],
    ];
    for (const [sql, desc, tag] of cases) assert.deepEqual(entryOfStatement(sql), { desc, tag }, sql);
    assert.equal(entryOfStatement("SET search_path = '';"), undefined);
  });

  test("entries match the comparison's object labels by kind and name", () => {
    assert.ok(entryConcerns({ desc: "ACL", tag: "TABLE daily" }, lostGrant));
    assert.ok(!entryConcerns({ desc: "ACL", tag: "SCHEMA daily" }, lostGrant));
    assert.ok(!entryConcerns({ desc: "ACL", tag: "TABLE weekly" }, lostGrant));
    assert.ok(entryConcerns({ desc: "POLICY", tag: "notes Everyone may insert" }, lostPolicy));
    const mapping = {
      severity: "failure",
      object: "user mapping reporting@loopback",
      problem: "missing",
    } as const;
    assert.ok(
      entryConcerns({ desc: "USER MAPPING", tag: "USER MAPPING reporting SERVER loopback" }, mapping),
    );
    const fn = {
      severity: "failure",
      object: "function reports.rollup()",
      problem: "grant reporting=X missing",
    } as const;
    assert.ok(entryConcerns({ desc: "ACL", tag: "FUNCTION rollup()" }, fn));
    const cast = { severity: "failure", object: "cast public.mood AS int4", problem: "missing" } as const;
    assert.ok(entryConcerns({ desc: "CAST", tag: "CAST (public.mood AS integer)" }, cast));
    const blob = {
      severity: "failure",
      object: "large object 424242",
      problem: "grant reporting=r missing",
    } as const;
    assert.ok(entryConcerns({ desc: "ACL", tag: "LARGE OBJECT 424242" }, blob));
  });

  test("an error whose object is lost fails and names it, even when a --tolerate pattern matches it", () => {
    const classified = classifyRestoreErrors(readRestoreErrors(LOG), {
      tolerate: [/role .* does not exist/, /lifeboat_lost/],
      preset: "supabase",
      differences: [lostGrant, lostPolicy],
    });
    assert.deepEqual(
      classified.map((e) => e.verdict),
      ["lost", "expected", "expected", "lost"],
    );
    const failures = restoreErrorFailures(classified, 1, LOG);
    assert.equal(failures.length, 2);
    assert.match(
      failures[0]!,
      /^table reports\.daily: grant reporting=r missing: pg_restore failed on ACL TABLE reports\.daily: /,
    );
    assert.match(failures[1]!, /^policy "Everyone may insert" on public\.notes: missing/);
    const tolerated = toleratedErrorLines(classified);
    assert.equal(tolerated.length, 2);
    assert.match(
      tolerated[0]!,
      /schema "graphql" does not exist .*\[EXTENSION pg_trgm; an extension the Supabase platform installs \(in schema graphql\)/,
    );
    assert.match(
      tolerated[1]!,
      /\[COMMENT EXTENSION pg_trgm; the comment on the platform's extension pg_trgm\]$/,
    );
  });

  test("without losses a tolerated error is listed with its pattern; an unexplained one fails", () => {
    const classified = classifyRestoreErrors(readRestoreErrors(LOG), {
      tolerate: [/role .* does not exist/],
      preset: "none",
      differences: [],
    });
    assert.deepEqual(
      classified.map((e) => e.verdict),
      ["tolerated", "unexplained", "unexplained", "unexplained"],
    );
    assert.match(
      toleratedErrorLines(classified)[0]!,
      /\[ACL TABLE reports\.daily; matches --tolerate \/role \.\* does not exist\/\]$/,
    );
    assert.deepEqual(restoreErrorFailures(classified, 1, LOG), [
      `pg_restore reported 3 error(s): ${classified[1]!.text}`,
    ]);
  });

  test("an error the comparison explains with a warning is expected, with the warning's reason", () => {
    const log = `pg_restore: error: could not execute query: ERROR:  permission denied to create event trigger "log_ddl"
HINT:  Must be superuser to create an event trigger.
Command was: CREATE EVENT TRIGGER log_ddl ON ddl_command_end
         EXECUTE FUNCTION public.log_ddl();


pg_restore: error: could not execute query: ERROR:  must be member of role "postgres"
Command was: ALTER FUNCTION public.log_ddl() OWNER TO postgres;


`;
    const classified = classifyRestoreErrors(readRestoreErrors(log), {
      tolerate: [],
      preset: "none",
      differences: [
        {
          severity: "warning",
          object: "event trigger log_ddl",
          problem: "missing",
          reason: "creating an event trigger needs superuser",
        },
        {
          severity: "warning",
          object: "objects owned by postgres in the source",
          problem: "owned by restorer",
          reason: "a restorer that is not a superuser cannot give objects to other roles",
        },
      ],
    });
    assert.deepEqual(
      classified.map((e) => [e.verdict, e.reason]),
      [
        ["expected", "event trigger log_ddl: creating an event trigger needs superuser"],
        [
          "expected",
          "objects owned by postgres in the source: a restorer that is not a superuser cannot give objects to other roles",
        ],
      ],
    );
  });

  test("schema public created again in a new database is expected", () => {
    const log = `pg_restore: error: could not execute query: ERROR:  schema "public" already exists
Command was: CREATE SCHEMA public;


`;
    const [classified] = classifyRestoreErrors(readRestoreErrors(log), {
      tolerate: [],
      preset: "none",
      differences: [],
    });
    assert.equal(classified!.verdict, "expected");
    assert.equal(classified!.reason, "a new database has schema public already");
  });

  test("a server that ran out of disk leads the failures, before the losses it caused", () => {
    const log = `pg_restore: error: COPY failed for table "orders_2024": ERROR:  could not extend file "pg_tblspc/32768/PG_15_202209061/32912/32988": No space left on device
HINT:  Check free disk space.
CONTEXT:  COPY orders_2024, line 120311
pg_restore: error: could not execute query: ERROR:  insert or update on table "order_items" violates foreign key constraint "order_items_order_id_placed_fkey"
DETAIL:  Key (order_id, placed)=(2, 2024-01-03) is not present in table "orders".
Command was: ALTER TABLE ONLY sales.order_items
    ADD CONSTRAINT order_items_order_id_placed_fkey FOREIGN KEY (order_id, placed) REFERENCES sales.orders(id, placed);


pg_restore: warning: errors ignored on restore: 2
`;
    const lostConstraint: CatalogDifference = {
      severity: "failure",
      object: "constraint f order_items_order_id_placed_fkey on sales.order_items",
      problem: "missing",
    };
    const classified = classifyRestoreErrors(readRestoreErrors(log), {
      tolerate: [],
      preset: "none",
      differences: [lostConstraint],
    });
    assert.deepEqual(
      classified.map((e) => e.verdict),
      ["unexplained", "lost"],
    );
    const failures = restoreErrorFailures(classified, 1, log);
    assert.match(
      failures[0]!,
      /^the server ran out of resources during pg_restore: COPY failed for table "orders_2024": .*No space left on device/,
    );
    assert.match(
      failures[1]!,
      /^constraint f order_items_order_id_placed_fkey on sales\.order_items: missing: /,
    );
    // Tolerated by the user's own pattern, it is no longer a failure of its own.
    const tolerated = classifyRestoreErrors(readRestoreErrors(log), {
      tolerate: [/No space left/],
      preset: "none",
      differences: [lostConstraint],
    });
    assert.doesNotMatch(restoreErrorFailures(tolerated, 1, log)[0]!, /ran out of resources/);
  });

  test("a pg_restore that failed without an error line fails", () => {
    assert.deepEqual(restoreErrorFailures([], 1, "pg_restore: fatal thing\n"), [
      "pg_restore exited with status 1: pg_restore: fatal thing",
    ]);
    assert.deepEqual(restoreErrorFailures([], 0, ""), []);
  });
});
