/**
 * restore-test --mask end to end on databases that are not UTF-8: LATIN1 and EUC_JP with non-ASCII
 * personal values, and SQL_ASCII holding bytes that are no UTF-8 at all. The masked copy is
 * dumped in UTF-8 (SQL_ASCII: as the bytes are), so staging's restore-test must read the restored
 * rows in the archive's encoding to match the manifest's digests; it must pass, and no source
 * value may appear in any output.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

const RULES = `version: 1
tables:
  public.people:
    columns:
      email: email
      full_name: name
      note: text
`;

const CASES: { encoding: string; insert: string; secrets: string[] }[] = [
  {
    encoding: "LATIN1",
    insert: `INSERT INTO people SELECT i, 'josé' || i || '@société.fr', 'Renée Müller' || i, 'Garçon à ' || i, 'Köln'
               FROM generate_series(1, 60) AS i`,
    secrets: ["josé", "société", "Müller", "Garçon"],
  },
  {
    encoding: "EUC_JP",
    insert: `INSERT INTO people SELECT i, '山田' || i || '@例え.jp', '山田太郎' || i, '東京都の住所 ' || i, 'ヤマダ'
               FROM generate_series(1, 60) AS i`,
    secrets: ["山田", "東京都"],
  },
  {
    // Bytes in no encoding (LATIN1's é, a 0xff) beside UTF-8 ones, as SQL_ASCII databases hold them;
    // unique emails that differ in such a byte alone (read as UTF-8, both would be one value).
    encoding: "SQL_ASCII",
    insert: `INSERT INTO people SELECT i,
                    'asciiperson' || convert_from(CASE WHEN i % 2 = 0 THEN '\\xfc'::bytea ELSE '\\xf6'::bytea END, 'SQL_ASCII')
                      || (i / 2) || '@corp.example',
                    convert_from('\\x52656ee965'::bytea, 'SQL_ASCII') || ' Asciiname' || i, 'Garçon ' || i,
                    convert_from('\\xff41e9'::bytea, 'SQL_ASCII')
               FROM generate_series(1, 60) AS i`,
    secrets: ["asciiperson", "Asciiname", "Garçon"],
  },
];

let cluster: Cluster;
let work: string;
let prodKey: string;
let stagingKey: string;
before(async () => {
  cluster = await startCluster();
  work = mkdtempSync(join(tmpdir(), "lifeboat-masked-encodings-"));
  prodKey = join(work, "prod.key");
  stagingKey = join(work, "staging.key");
  execFileSync("age-keygen", ["-o", prodKey], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", stagingKey], { stdio: "pipe" });
  writeFileSync(join(work, "mask.yml"), RULES);
  writeFileSync(join(work, "masking.key"), "masking-key-for-the-encodings-test\n");
});
after(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const { encoding, insert, secrets } of CASES) {
  test(`a ${encoding} database: the masked copy is written, and staging's restore-test of it passes`, async () => {
    const database = `prod_${encoding.toLowerCase()}`;
    await cluster.sql(
      "postgres",
      `CREATE DATABASE ${database} TEMPLATE template0 ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
    await cluster.sql(
      database,
      `CREATE TABLE people (id int PRIMARY KEY, email text UNIQUE, full_name varchar(24), note text, city text);
       ${insert}`,
    );
    const storage = join(work, encoding);
    const recipient = (key: string) => execFileSync("age-keygen", ["-y", key], { encoding: "utf8" }).trim();
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: cluster.url(database),
      LIFEBOAT_SCRATCH_DATABASE_URL: cluster.url(),
    };
    const runs = [
      await runCli(["backup", "--storage", storage, "--label", "prod", "--recipient", recipient(prodKey)], {
        env,
      }),
    ];
    runs.push(
      await runCli(
        [
          "restore-test",
          ...["--storage", storage, "--label", "prod", "--identity-file", prodKey],
          ...["--mask", join(work, "mask.yml"), "--masking-key-file", join(work, "masking.key")],
          ...["--masked-label", "staging", "--masked-recipient", recipient(stagingKey)],
        ],
        { env },
      ),
    );
    runs.push(
      await runCli(
        ["restore-test", "--storage", storage, "--label", "staging", "--identity-file", stagingKey],
        { env },
      ),
    );
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const output = runs.map((run) => run.stdout + run.stderr).join("\n");
    for (const secret of secrets) assert.ok(!output.includes(secret), `no source value in the output`);
  });
}
