/**
 * A real S3 server for tests: Ceph's radosgw (Debian's packages) on a throwaway single-node
 * cluster, one monitor and one memstore OSD (data in RAM, capped) and no manager, all under a
 * temporary directory, on free loopback ports, without systemd. Unlike the in-process mock
 * (s3-server.ts) it checks Content-MD5, and has multipart abort and listings, object lock,
 * versioning and lifecycle rules.
 *
 * `startRgwServer` returns the same fields as the mock's `startS3Server` (endpoint, bucket,
 * credentials, env, stop) so that one test body runs against either; `useRgwServer` is the
 * describe-block fixture, as `useS3Server` is for the mock. One cluster per test file: Node's test
 * runner runs each file in its own process.
 *
 * Configuration that matters (measured; see FIELD-NOTES.md): the cluster runs with auth "none",
 * which radosgw's forced "secure" mon-client mode cannot use, so it gets `ms_mon_client_mode = crc`
 * (without it radosgw waits 300 s and fails); short paxos intervals, or the pool creations of
 * radosgw's first start take ~20 s; pools of one replica.
 *
 * The daemons run in the foreground as children of this process (so their pids are ours) and are
 * killed on stop(), at process exit, and by a watchdog shell if this process dies without either
 * (SIGKILL, a runner's timeout): a test run never leaves Ceph daemons behind or hangs on them.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./postgres-cluster.js";
import { setEnv } from "./s3-server.js";

const BINARIES = ["ceph", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool"] as const;
type Binary = (typeof BINARIES)[number];

const INSTALL_HINT =
  "apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common (.ci/run does it)";

const REGION = "us-east-1";
const MIB = 1024 * 1024;

/** Thrown when the Ceph binaries are not installed. */
export class RgwUnavailableError extends Error {
  override name = "RgwUnavailableError";
}

/** Thrown when the cluster does not come up: the message ends with the relevant log's tail. */
export class RgwStartError extends Error {
  override name = "RgwStartError";
}

export interface RgwServerOptions {
  /** The bucket created at start, as the mock creates one. Default "lifeboat-test". */
  bucket?: string;
  /** The memstore OSD's capacity, held in RAM. Default 1 GiB. */
  memstoreBytes?: number;
  /**
   * Lifecycle treats one "day" as this many seconds and runs continuously
   * (`rgw_lc_debug_interval`), so that rules such as AbortIncompleteMultipartUpload act in a test.
   * Default: off (real days).
   */
  lcDebugIntervalSeconds?: number;
  /** The whole start, binaries to first bucket. Default 180 s (the machine may be busy). */
  timeoutMs?: number;
}

export interface RgwServer {
  /** `http://127.0.0.1:<port>`: use with path-style requests. */
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The cluster's directory (config, logs, pid files); removed by stop(). */
  directory: string;
  /** Credentials and region for the SDK's default chain, e.g. for a child process's environment. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  /** How long the start took, binaries to first bucket. */
  startMs: number;
  /** `rgw_lc_debug_interval`, or undefined when lifecycle days are real days. */
  lcDebugIntervalSeconds: number | undefined;
  /** A path-style S3 client with the user's credentials, for checks outside the code under test. */
  client(): S3Client;
  /** Creates a bucket; with `objectLock` it has Object Lock (and so versioning) enabled. */
  createBucket(name: string, options?: { objectLock?: boolean }): Promise<void>;
  /** The last lines of each daemon's log, for a failure message. */
  logTail(lines?: number): string;
  /** Kills every daemon and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Absolute paths of the Ceph binaries, or the names of the missing ones. */
function findBinaries(): { found: Partial<Record<Binary, string>>; missing: Binary[] } {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"];
  const found: Partial<Record<Binary, string>> = {};
  const missing: Binary[] = [];
  for (const name of BINARIES) {
    const path = dirs
      .filter(Boolean)
      .map((dir) => join(dir, name))
      .find((candidate) => existsSync(candidate));
    if (path) found[name] = path;
    else missing.push(name);
  }
  return { found, missing };
}

/** Why rgw cannot run here (a sentence), or undefined when the binaries are installed. */
export function rgwUnavailableReason(): string | undefined {
  const { missing } = findBinaries();
  if (missing.length === 0) return undefined;
  return `Ceph radosgw is not installed (missing ${missing.join(", ")}): ${INSTALL_HINT}`;
}

/**
 * For `describe(name, { skip: rgwSkip() }, ...)`: the reason to skip when rgw is not installed,
 * locally only. In CI (CI=true) a missing rgw is not a skip: the start then fails, naming what to
 * install, so a CI image without Ceph can never pass these tests by skipping them.
 */
export function rgwSkip(): string | false {
  const reason = rgwUnavailableReason();
  if (!reason || process.env.CI === "true") return false;
  return `${reason}; set CI=true to make this a failure`;
}

function tail(path: string, lines: number): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function cephConf(options: {
  directory: string;
  fsid: string;
  monPort: number;
  rgwPort: number;
  memstoreBytes: number;
  lcDebugIntervalSeconds: number;
}): string {
  const { directory: dir, fsid, monPort, rgwPort } = options;
  return `# a throwaway single-node test cluster (test/helpers/rgw-server.ts)
[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${monPort}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = ${dir}/keyring
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
log_file = ${dir}/log/$name.log
log_to_stderr = false
err_to_stderr = true
crash_dir = ${dir}/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_delete = true
# the CPU is shared: few threads
ms_async_op_threads = 1
[mon]
mon_data = ${dir}/mon.$id
mon_cluster_log_file = ${dir}/log/cluster.log
mon_data_avail_warn = 2
mon_data_avail_crit = 1
# radosgw's first start creates ~10 pools, each waiting one propose interval (default 1 s)
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[osd]
osd_data = ${dir}/osd.$id
osd_objectstore = memstore
memstore_device_bytes = ${options.memstoreBytes}
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
osd_memory_target = 1073741824
[client]
admin_socket = ${dir}/run/$name.$pid.asok
[client.rgw.a]
# radosgw forces the "secure" mon-client mode, which auth "none" cannot provide
ms_mon_client_mode = crc
client_mount_timeout = 60
admin_socket = ${dir}/run/$name.asok
rgw_data = ${dir}/rgw.$id
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw_thread_pool_size = 32
rgw_crypt_require_ssl = false
rgw_enable_usage_log = false
rgw_lc_debug_interval = ${options.lcDebugIntervalSeconds}
# aborted uploads and deleted objects leave garbage that memstore holds in RAM: collect it soon
rgw_gc_obj_min_wait = 30
rgw_gc_processor_period = 15
`;
}

/** Every Ceph process of a cluster directory: its command line names the directory's ceph.conf. */
const WATCHDOG = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
for p in /proc/[0-9]*; do
  if grep -qa -- "$dir/ceph.conf" "$p/cmdline" 2>/dev/null; then kill -9 "\${p#/proc/}" 2>/dev/null; fi
done
sleep 1
rm -rf -- "$dir"
`;

export async function startRgwServer(options: RgwServerOptions = {}): Promise<RgwServer> {
  const started = Date.now();
  const { found, missing } = findBinaries();
  if (missing.length > 0) {
    throw new RgwUnavailableError(
      `Ceph radosgw is not installed (missing ${missing.join(", ")}): ${INSTALL_HINT}`,
    );
  }
  const bin = found as Record<Binary, string>;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = started + timeoutMs;
  const bucket = options.bucket ?? "lifeboat-test";
  const memstoreBytes = options.memstoreBytes ?? 1024 * MIB;
  const lcDebugIntervalSeconds = options.lcDebugIntervalSeconds;

  const directory = mkdtempSync(join(tmpdir(), "lifeboat-rgw-"));
  for (const sub of ["run", "log", "mon.a", "osd.0", "rgw.a", "crash"]) mkdirSync(join(directory, sub));
  const conf = join(directory, "ceph.conf");
  const log = (name: string) => join(directory, "log", name);
  const monPort = await freePort();
  let rgwPort = await freePort();
  while (rgwPort === monPort) rgwPort = await freePort();
  const fsid = randomUUID();
  writeFileSync(
    conf,
    cephConf({
      directory,
      fsid,
      monPort,
      rgwPort,
      memstoreBytes,
      lcDebugIntervalSeconds: lcDebugIntervalSeconds ?? -1,
    }),
  );
  const childEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: directory, LANG: "C.UTF-8" };

  const daemons = new Map<string, ChildProcess>();
  const exits = new Map<string, string>();
  const killAll = (): void => {
    for (const child of daemons.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  const onExit = (): void => {
    killAll();
    rmSync(directory, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  // Outlives a SIGKILL of this process; stop() removes the directory, which also ends it.
  const watchdog = spawn("sh", ["-c", WATCHDOG, "rgw-watchdog", String(process.pid), directory], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();

  const logTail = (lines = 15): string =>
    [
      ["mon.a", "mon.a.log"],
      ["osd.0", "osd.0.log"],
      ["radosgw", "client.rgw.a.log"],
    ]
      .map(([name, file]) => `--- ${name} log ---\n${tail(log(file!), lines)}`)
      .join("\n");

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const exited = [...daemons.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else child.once("exit", () => resolve());
          }),
      );
      // Everything is thrown away, so no orderly shutdown (SIGTERM can leave radosgw waiting 30 s
      // for a monitor that is already gone).
      killAll();
      const giveUp = new AbortController();
      await Promise.race([
        Promise.all(exited),
        sleep(10_000, undefined, { signal: giveUp.signal }).catch(() => undefined),
      ]);
      giveUp.abort();
      process.removeListener("exit", onExit);
      rmSync(directory, { recursive: true, force: true });
      if (watchdog.pid !== undefined && watchdog.exitCode === null) {
        try {
          process.kill(watchdog.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    })();
    return stopping;
  };

  const fail = (what: string, detail = ""): RgwStartError =>
    new RgwStartError(
      `radosgw test server: ${what}${detail ? `: ${detail}` : ""} (after ${Date.now() - started} ms)\n${logTail()}`,
    );

  /** Runs a short Ceph command to completion, within the start's deadline. */
  const run = (name: Binary, args: string[], limitMs = 60_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timeout = Math.max(1000, Math.min(limitMs, deadline - Date.now()));
      execFile(
        bin[name],
        args,
        { env: childEnv, timeout, killSignal: "SIGKILL" },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`${name} ${args.join(" ")}: ${stderr.trim() || error.message}`));
          else resolve(stdout);
        },
      );
    });

  const daemon = (name: string, binary: Binary, args: string[]): void => {
    const errors = openSync(log(`${name}.stderr`), "a");
    // stdio goes to a file, never a pipe: a pipe held open by a daemon would keep us waiting.
    const child = spawn(bin[binary], ["-f", "-c", conf, ...args], {
      env: childEnv,
      stdio: ["ignore", errors, errors],
    });
    closeSync(errors);
    child.unref();
    child.once("exit", (code, signal) => exits.set(name, signal ?? `exit code ${code}`));
    daemons.set(name, child);
  };

  /** Polls `probe` until it returns true; fails at the deadline or when a daemon exits. */
  const waitFor = async (what: string, probe: () => Promise<boolean>): Promise<void> => {
    let last = "";
    for (;;) {
      for (const [name, how] of exits) throw fail(`${name} exited (${how}) while waiting for ${what}`);
      try {
        if (await probe()) return;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) throw fail(`timed out after ${timeoutMs} ms waiting for ${what}`, last);
      await sleep(200);
    }
  };

  const accessKeyId = `LB${randomBytes(9).toString("hex").toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString("base64url");
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const client = (): S3Client =>
    new S3Client({
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  const createBucket = async (name: string, bucketOptions: { objectLock?: boolean } = {}): Promise<void> => {
    const s3 = client();
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: name,
          ...(bucketOptions.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
        }),
      );
    } finally {
      s3.destroy();
    }
  };

  try {
    try {
      await run("monmaptool", [
        "--create",
        "--fsid",
        fsid,
        "--addv",
        "a",
        `[v2:127.0.0.1:${monPort}]`,
        join(directory, "monmap"),
      ]);
      await run("ceph-mon", ["-c", conf, "--mkfs", "-i", "a", "--monmap", join(directory, "monmap")]);
    } catch (error) {
      throw fail("creating the monitor failed", error instanceof Error ? error.message : String(error));
    }
    daemon("mon.a", "ceph-mon", ["-i", "a"]);

    // `osd new` also waits for the monitor to form its quorum (up to --connect-timeout).
    const osdUuid = randomUUID();
    let osdId = "";
    await waitFor("the monitor", async () => {
      osdId = (
        await run("ceph", ["-c", conf, "--connect-timeout", "20", "osd", "new", osdUuid], 30_000)
      ).trim();
      return true;
    });
    if (osdId !== "0") throw fail(`expected OSD id 0, got "${osdId}"`);
    try {
      await run("ceph-osd", ["-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
    } catch (error) {
      throw fail("creating the OSD failed", error instanceof Error ? error.message : String(error));
    }
    daemon("osd.0", "ceph-osd", ["-i", "0"]);
    // radosgw creates its pools through the monitor and waits for the OSD by itself.
    daemon("radosgw", "radosgw", ["-n", "client.rgw.a"]);

    await waitFor(`radosgw on ${endpoint}`, async () => {
      const response = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      return true;
    });
    try {
      await run("radosgw-admin", [
        "-c",
        conf,
        "user",
        "create",
        "--uid",
        "lifeboat-test",
        "--display-name",
        "lifeboat tests",
        "--access-key",
        accessKeyId,
        "--secret-key",
        secretAccessKey,
      ]);
    } catch (error) {
      throw fail("creating the S3 user failed", error instanceof Error ? error.message : String(error));
    }
    // The user may take a moment to be visible to radosgw's cache.
    await waitFor(`bucket "${bucket}"`, async () => {
      await createBucket(bucket);
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    endpoint,
    port: rgwPort,
    bucket,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    directory,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: REGION },
    startMs: Date.now() - started,
    lcDebugIntervalSeconds,
    client,
    createBucket,
    logTail,
    stop,
  };
}

/**
 * For a describe block (skipped with `rgwSkip()`): radosgw started before its tests and stopped
 * after them, with its credentials in the environment (the SDK's default chain) meanwhile, as
 * `useS3Server` does for the mock. Returns a getter, since the server exists only once the hook
 * ran, and the CLI flags that point at it.
 */
export function useRgwServer(
  register: {
    before: (fn: () => Promise<void>, options?: { timeout?: number }) => void;
    after: (fn: () => Promise<void>) => void;
  },
  options: RgwServerOptions = {},
): { server: () => RgwServer; flags: () => string[] } {
  let server: RgwServer | undefined;
  let restoreEnv: (() => void) | undefined;
  register.before(
    async () => {
      server = await startRgwServer(options);
      restoreEnv = setEnv({
        ...server.env,
        AWS_PROFILE: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_ENDPOINT_URL: undefined,
      });
    },
    { timeout: (options.timeoutMs ?? 180_000) + 15_000 },
  );
  register.after(async () => {
    restoreEnv?.();
    await server?.stop();
  });
  const get = (): RgwServer => {
    if (!server) throw new Error("the radosgw test server is not running");
    return server;
  };
  return { server: get, flags: () => ["--s3-endpoint", get().endpoint, "--s3-force-path-style"] };
}
