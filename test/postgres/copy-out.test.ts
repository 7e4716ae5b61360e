/**
 * The COPY OUT reader (copyOutDigest): it reads the rows off the pg connection's socket itself, so
 * its framing is tested where framing breaks: reads split inside headers and payloads (a socket
 * whose reads arrive in pieces of 1 to 7 bytes), rows bigger than a read, an empty table, escaped
 * newlines, tabs and backslashes, a LATIN1 database; and a COPY that fails mid-way, a session that
 * dies mid-way, and bytes that do not frame, each an error, never a digest. The reference is psql's
 * `COPY ... TO STDOUT` output and count(*). Also over TLS (SCRAM inside it), through the product's
 * own connect().
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { TLSSocket } from "node:tls";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { parseDatabaseUrl } from "../../src/domain/database-url.js";
import { connect } from "../../src/postgres/connect.js";
import { copyOutDigest, CopyProtocolError } from "../../src/postgres/copy-out.js";
import { copyOut, sha256 } from "../helpers/pg-archive.js";
import { startCluster, type Cluster } from "../helpers/postgres-cluster.js";

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("src");
  await cluster.sql(
    "src",
    `CREATE TABLE tricky (id int, body text, raw bytea);
     INSERT INTO tricky SELECT i, E'line one\\nline two\\ttab\\\\backslash\\r' || i, decode(lpad(to_hex(i), 8, '0'), 'hex')
       FROM generate_series(1, 3000) i;
     INSERT INTO tricky VALUES (0, NULL, NULL), (-1, '', '\\x'), (-2, E'\\\\N', NULL);
     CREATE TABLE wide (id int, body text);
     INSERT INTO wide SELECT i, repeat(md5(i::text), 20000 * i) FROM generate_series(1, 3) i;
     CREATE TABLE empty (id int);`,
  );
  await cluster.sql(
    "postgres",
    "CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
  );
  await cluster.sql(
    "latin",
    `CREATE TABLE words (v text); INSERT INTO words SELECT 'caf' || chr(233) || i FROM generate_series(1, 2000) i;`,
  );
});

after(async () => {
  await cluster?.stop();
});

/** A real socket whose reads reach its listeners cut into pieces of the given sizes, in turn. */
class PiecewiseSocket extends Socket {
  received = 0;
  /** Bytes delivered once, ahead of the next read. */
  inject: Buffer | undefined;
  private next = 0;
  constructor(private readonly sizes: number[]) {
    super();
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== "data") return super.emit(event, ...args);
    const chunk = args[0] as Buffer;
    if (this.inject) {
      const bytes = this.inject;
      this.inject = undefined;
      super.emit("data", bytes);
    }
    this.received += chunk.length;
    for (let at = 0; at < chunk.length;) {
      const size = this.sizes[this.next++ % this.sizes.length]!;
      super.emit("data", chunk.subarray(at, at + size));
      at += size;
    }
    return true;
  }
}

async function client(
  database: string,
  sizes?: number[],
): Promise<{ client: pg.Client; socket?: PiecewiseSocket }> {
  const socket = sizes ? new PiecewiseSocket(sizes) : undefined;
  const made = new pg.Client({
    connectionString: cluster.url(database),
    ...(socket ? { stream: () => socket } : {}),
  });
  made.on("error", () => undefined);
  await made.connect();
  return { client: made, socket };
}

async function reference(database: string, table: string): Promise<{ sha256: string; rows: number }> {
  const text = await copyOut(cluster, database, table);
  const [count] = await cluster.sql<{ n: string }>(database, `SELECT count(*) AS n FROM ${table}`);
  return { sha256: sha256(text), rows: Number(count!.n) };
}

describe("copyOutDigest", () => {
  test("the sha256 and rows of psql's COPY text, read whole or in pieces of 1 to 7 bytes, and the session goes on", async () => {
    const expected = {
      tricky: await reference("src", "tricky"),
      wide: await reference("src", "wide"),
      empty: await reference("src", "empty"),
    };
    assert.equal(expected.tricky.rows, 3003);
    assert.equal(expected.empty.rows, 0);
    for (const sizes of [undefined, [1, 2, 3, 4, 5, 6, 7], [5], [4, 65536, 3]]) {
      const { client: session } = await client("src", sizes);
      try {
        for (const table of ["tricky", "wide", "empty"] as const) {
          for (const raw of [true, false]) {
            const out = await copyOutDigest(session, `COPY ${table} TO STDOUT`, { raw });
            assert.deepEqual(
              out,
              expected[table],
              `${table}, reads ${sizes?.join(",") ?? "whole"}, raw ${raw}`,
            );
          }
        }
        const after = await session.query<{ n: number }>("SELECT 41 + 1 AS n");
        assert.equal(after.rows[0]!.n, 42);
      } finally {
        await session.end();
      }
    }
  });

  test("a LATIN1 database's bytes, read in its own encoding", async () => {
    const expected = await reference("latin", "words");
    const { client: session } = await client("latin", [3, 1, 8]);
    try {
      await session.query("SET client_encoding = 'LATIN1'");
      assert.deepEqual(await copyOutDigest(session, "COPY words TO STDOUT"), expected);
    } finally {
      await session.end();
    }
  });

  test("a server error before or in the middle of the rows is an error and the session stays usable", async () => {
    const { client: session, socket } = await client("src", [7, 3, 4096]);
    try {
      await assert.rejects(copyOutDigest(session, "COPY no_such_table TO STDOUT"), { code: "42P01" });
      await session.query("SET statement_timeout = '1s'");
      const before = socket!.received;
      await assert.rejects(
        copyOutDigest(
          session,
          `COPY (SELECT g, repeat('x', 500), CASE WHEN g = 20000 THEN (SELECT 1 FROM pg_sleep(5)) END
                   FROM generate_series(1, 20001) g) TO STDOUT`,
        ),
        { code: "57014" },
      );
      assert.ok(socket!.received - before > 1_000_000, "rows arrived before the timeout");
      await session.query("RESET statement_timeout");
      assert.deepEqual(await copyOutDigest(session, "COPY empty TO STDOUT"), await reference("src", "empty"));
    } finally {
      await session.end();
    }
  });

  test("not a COPY TO STDOUT: an error, and the session stays usable", async () => {
    const { client: session } = await client("src");
    try {
      await assert.rejects(copyOutDigest(session, "SELECT 1"), CopyProtocolError);
      await assert.rejects(copyOutDigest(session, "COPY empty FROM STDIN"), CopyProtocolError);
      assert.equal((await session.query("SELECT count(*)::int AS n FROM empty")).rows[0].n, 0);
    } finally {
      await session.end();
    }
  });

  test("a session ended mid-COPY is an error", async () => {
    const { client: session, socket } = await client("src", [4096, 5]);
    const pid = (await session.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const copying = copyOutDigest(
      session,
      `COPY (SELECT g, repeat('x', 500), CASE WHEN g = 20000 THEN (SELECT 1 FROM pg_sleep(30)) END
               FROM generate_series(1, 20001) g) TO STDOUT`,
    );
    // Settled as soon as the session ends, while this test still waits for its terminate query.
    const outcome = copying.then(
      () => "a digest",
      (error: unknown) => error,
    );
    while (socket!.received < 1_000_000) await new Promise((resolve) => setTimeout(resolve, 20));
    await cluster.sql("postgres", "SELECT pg_terminate_backend($1)", [pid]);
    assert.equal(((await outcome) as { code?: string }).code, "57P01");
    await assert.rejects(session.query("SELECT 1"));
    await session.end().catch(() => undefined);
  });

  test("bytes that do not frame as protocol messages close the session: an error, not a digest", async () => {
    for (const garbage of [Buffer.from([0x7a, 0, 0, 0, 4]), Buffer.from([0x64, 0, 0, 0, 6, 0x31, 0x0a])]) {
      const { client: session, socket } = await client("src", [65536]);
      socket!.inject = garbage;
      await assert.rejects(copyOutDigest(session, "COPY tricky TO STDOUT"), CopyProtocolError);
      await assert.rejects(session.query("SELECT 1"));
      await session.end().catch(() => undefined);
    }
  });
});

describe("copyOutDigest over TLS", () => {
  let tls: Cluster;
  let certs: string;

  before(async () => {
    certs = mkdtempSync(join(tmpdir(), "lifeboat-copy-tls-"));
    const [crt, key] = [join(certs, "server.crt"), join(certs, "server.key")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"].concat([
        "-days",
        "1",
        "-keyout",
        key,
        "-out",
        crt,
      ]),
      { stdio: "ignore" },
    );
    if (process.getuid?.() === 0) {
      // The server runs as the postgres user there, and wants its key to itself.
      const [uid, gid] = ["-u", "-g"].map((flag) =>
        Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" })),
      );
      for (const file of [certs, crt, key]) chownSync(file, uid!, gid!);
    }
    tls = await startCluster({
      settings: ["-c ssl=on", `-c ssl_cert_file=${crt}`, `-c ssl_key_file=${key}`],
    });
    await tls.createDatabase("src");
    await tls.sql(
      "src",
      "CREATE TABLE t (id int, v text); INSERT INTO t SELECT i, repeat(E'a\\tb\\n', i % 50) FROM generate_series(1, 50000) i",
    );
  });

  after(async () => {
    await tls?.stop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  test("a session from connect() with sslmode=require: the same digest as psql's, and the session goes on", async () => {
    const text = await copyOut(tls, "src", "t");
    const session = await connect(parseDatabaseUrl(`${tls.url("src")}?sslmode=require`));
    try {
      const encrypted = await session.query<{ ssl: boolean }>(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      );
      assert.equal(encrypted.rows[0]!.ssl, true);
      // pg's parser alone listens on the TLS socket: the reader takes it over rather than falling back.
      const { stream } = (session as unknown as { connection: { stream: TLSSocket } }).connection;
      assert.ok(stream instanceof TLSSocket);
      assert.equal(stream.listeners("data").length, 1);
      assert.deepEqual(await copyOutDigest(session, "COPY t TO STDOUT"), {
        sha256: sha256(text),
        rows: 50000,
      });
      assert.equal((await session.query("SELECT 1 AS one")).rows[0].one, 1);
    } finally {
      await session.end();
    }
  });
});
