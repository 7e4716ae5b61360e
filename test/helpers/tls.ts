/** Self-signed certificates for TLS tests, and turning TLS on in a running test cluster. */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "./postgres-cluster.js";

/** Writes `<name>.crt` and `<name>.key` into `dir`: a self-signed certificate for `host`. */
export function makeSelfSigned(dir: string, name: string, host = "localhost"): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "pipe" },
  );
  return { cert, key };
}

/** Installs a certificate as server.crt/server.key in the cluster's data directory and turns ssl on. */
export async function enableTls(cluster: Cluster, files: { cert: string; key: string }): Promise<void> {
  const cert = join(cluster.dataDir, "server.crt");
  const key = join(cluster.dataDir, "server.key");
  copyFileSync(files.cert, cert);
  copyFileSync(files.key, key);
  chmodSync(key, 0o600);
  if (typeof process.getuid === "function" && process.getuid() === 0) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(cert, uid, gid);
    chownSync(key, uid, gid);
  }
  await cluster.sql("postgres", "ALTER SYSTEM SET ssl = on");
  await cluster.sql("postgres", "SELECT pg_catalog.pg_reload_conf()");
  // The reload is asynchronous: wait until new sessions see it.
  for (let i = 0; i < 50; i++) {
    const [row] = await cluster.sql<{ ssl: string }>("postgres", "SHOW ssl");
    if (row?.ssl === "on") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("ssl did not turn on");
}
