/**
 * The scratch database in the source's encoding and locale: exact when the scratch server has the
 * locale, the same encoding with the C locale when it lacks it, and a notice saying so.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { createScratchDatabase } from "../../src/postgres/scratch.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;
let client: pg.Client;

before(async () => {
  cluster = await startCluster();
  client = new pg.Client({ connectionString: cluster.url("postgres") });
  await client.connect();
});

after(async () => {
  await client?.end();
  await cluster?.stop();
});

async function encodingOf(name: string) {
  const rows = await cluster.sql<{ encoding: string; collate: string; ctype: string }>(
    "postgres",
    `SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_database WHERE datname = $1`,
    [name],
  );
  return rows[0];
}

test("a SQL_ASCII source with the C locale: created exactly so, no notice", async () => {
  const notice = await createScratchDatabase(client, "rt_ascii", "scratch-database-url", {
    encoding: "SQL_ASCII",
    collate: "C",
    ctype: "C",
  });
  assert.equal(notice, undefined);
  assert.deepEqual(await encodingOf("rt_ascii"), { encoding: "SQL_ASCII", collate: "C", ctype: "C" });
});

test("a locale the scratch server lacks: the source's encoding with the C locale, and a notice naming the locale", async () => {
  const notice = await createScratchDatabase(client, "rt_latin1", "scratch-database-url", {
    encoding: "LATIN1",
    collate: "xx_NOWHERE.ISO-8859-1",
    ctype: "xx_NOWHERE.ISO-8859-1",
  });
  assert.match(
    notice ?? "",
    /no locale xx_NOWHERE\.ISO-8859-1\/xx_NOWHERE\.ISO-8859-1: created with encoding LATIN1 and the C locale/,
  );
  assert.deepEqual(await encodingOf("rt_latin1"), { encoding: "LATIN1", collate: "C", ctype: "C" });
});

async function providerOf(name: string) {
  const rows = await cluster.sql<{ provider: string; icu: string | null }>(
    "postgres",
    "SELECT datlocprovider AS provider, daticulocale AS icu FROM pg_database WHERE datname = $1",
    [name],
  );
  return rows[0];
}

test("an ICU source: created with its ICU locale, no notice", async () => {
  const notice = await createScratchDatabase(client, "rt_icu", "scratch-database-url", {
    encoding: "UTF8",
    collate: "C.UTF-8",
    ctype: "C.UTF-8",
    icuLocale: "de-DE",
  });
  assert.equal(notice, undefined);
  assert.deepEqual(await providerOf("rt_icu"), { provider: "i", icu: "de-DE" });
});

test("a libc source the fingerprint says is libc: created with libc's provider", async () => {
  const notice = await createScratchDatabase(client, "rt_libc", "scratch-database-url", {
    encoding: "UTF8",
    collate: "C.UTF-8",
    ctype: "C.UTF-8",
    icuLocale: null,
  });
  assert.equal(notice, undefined);
  assert.deepEqual(await providerOf("rt_libc"), { provider: "c", icu: null });
});

test("an ICU source whose libc locale the scratch server lacks: its ICU locale kept, with the C locale, and a notice", async () => {
  const notice = await createScratchDatabase(client, "rt_icu_c", "scratch-database-url", {
    encoding: "UTF8",
    collate: "xx_NOWHERE.UTF-8",
    ctype: "xx_NOWHERE.UTF-8",
    icuLocale: "de-DE",
  });
  assert.match(
    notice ?? "",
    /no locale xx_NOWHERE\.UTF-8\/xx_NOWHERE\.UTF-8: created with encoding UTF8, ICU locale de-DE and the C locale/,
  );
  assert.deepEqual(await providerOf("rt_icu_c"), { provider: "i", icu: "de-DE" });
});
