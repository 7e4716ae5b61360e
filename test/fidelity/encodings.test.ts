/**
 * Fidelity of databases a default scratch database would betray: SQL_ASCII and LATIN1 sources
 * restore into a scratch database of the same encoding (bytes intact), and a table in a
 * tablespace the scratch server lacks restores into its default tablespace. Each with zero
 * catalog losses; and a lost constraint named.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";
import { addTablespace, createEncodedDatabase } from "../helpers/real-schemas.js";
import {
  assertFailed,
  assertFaithful,
  backup,
  loseFromBackup,
  makeStore,
  restoreTest,
  type Store,
} from "./fidelity-helpers.js";

let source: Cluster;
let scratch: Cluster;
let store: Store;

before(async () => {
  [source, scratch] = await Promise.all([startCluster(), startCluster()]);
  await createEncodedDatabase(source, "ascii", "SQL_ASCII");
  await createEncodedDatabase(source, "latin", "LATIN1");
  await source.createDatabase("spaced");
  await addTablespace(source, "spaced");
  store = makeStore("encodings");
});

after(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  store?.cleanup();
});

/** Prints the scratch database's encoding, then the hex bytes of one value, as the --run command. */
function probe(table: string): string {
  return `psql -v ON_ERROR_STOP=1 -Atc "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()" -c "SELECT encode(convert_to(v, pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database()))), 'hex') FROM public.${table} WHERE id = 1"`;
}

describe("encodings and tablespaces", () => {
  const cases: [string, string, string, RegExp][] = [
    ["ascii", "raw_bytes", "SQL_ASCII", /^636166e9$/m],
    ["latin", "latin", "LATIN1", /^636166e9$/m],
  ];
  for (const [database, table, encoding, bytes] of cases) {
    test(`a ${encoding} source restores into a ${encoding} scratch database, bytes and catalog intact`, async () => {
      const made = await backup(store, source.url(database), database);
      assert.equal(made.manifest.catalog!.database.encoding, encoding);
      const run = await restoreTest(store, database, scratch.url("postgres"), ["--run", probe(table)]);
      assertFaithful(run);
      const output = (run.json.run as { output: string }).output;
      assert.match(output, new RegExp(`^${encoding}$`, "m"));
      assert.match(output, bytes);

      const label = `${database}-lost`;
      loseFromBackup(store, made, label, `ADD CONSTRAINT ${table}_pkey`, () => "");
      const failures = assertFailed(await restoreTest(store, label, scratch.url("postgres")));
      assert.ok(
        failures.includes(`catalog: constraint p ${table}_pkey on public.${table}: missing`),
        failures.join("\n"),
      );
    });
  }

  test("a table in a tablespace the scratch server lacks restores into its default tablespace", async () => {
    const made = await backup(store, source.url("spaced"), "spaced");
    const run = await restoreTest(store, "spaced", scratch.url("postgres"), [
      "--run",
      `psql -v ON_ERROR_STOP=1 -Atc "SELECT coalesce(reltablespace, 0) FROM pg_class WHERE relname = 'hot_rows'"`,
    ]);
    assertFaithful(run);
    assert.deepEqual(run.json.toleratedErrors, []);
    assert.match((run.json.run as { output: string }).output, /^0$/m);

    loseFromBackup(store, made, "spaced-lost", "ADD CONSTRAINT hot_rows_pkey", () => "");
    const failures = assertFailed(await restoreTest(store, "spaced-lost", scratch.url("postgres")));
    assert.ok(
      failures.includes("catalog: constraint p hot_rows_pkey on public.hot_rows: missing"),
      failures.join("\n"),
    );
  });
});
