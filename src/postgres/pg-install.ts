/**
 * postgresql-client-<major> fetched into a tool directory of our own, without root and without
 * touching the system: `apt-get update` and `apt-get download` run with a private apt
 * configuration (its own sources list, lists, cache and state under a temporary directory), then
 * `dpkg-deb -x` unpacks postgresql-client-<major> and libpq5 into
 * `<tool root>/postgresql-client/<major>/<arch>`. The binaries are called by their versioned path,
 * with LD_LIBRARY_PATH pointing at the unpacked libpq.
 *
 * A directory counts as installed only when its marker (written last) is there and every file it
 * lists is present with its size: a half-extracted or half-restored directory is never used.
 */
import { execFile } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
} from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { basename, delimiter, dirname, join, relative } from "node:path";
import { describeError, InputError, OperationError } from "../domain/errors.js";
import type { Logger } from "../commands/logger.js";
import { PGDG_KEY_ASC } from "./pgdg-key.js";

/** The CI cache (actions/cache in Actions). Implementations never throw: a failure is a miss. */
export interface ToolCache {
  /** Restores the paths saved under `key`; true on a hit. */
  restore(paths: string[], key: string): Promise<boolean>;
  save(paths: string[], key: string): Promise<void>;
}

/** Overrides the tool root (tests, or a machine that wants the clients elsewhere). */
export const TOOL_DIR_ENV = "LIFEBOAT_TOOL_DIR";
/** Overrides the apt source: one `deb ...` line, or `system` for this machine's own sources. */
export const APT_SOURCE_ENV = "LIFEBOAT_PG_APT_SOURCE";

const MARKER = ".lifeboat-complete.json";
const PGDG_URL = "https://apt.postgresql.org/pub/repos/apt";
const PGDG_KEY = "/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc";
const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export interface InstalledClient {
  major: number;
  /** The package version, e.g. 17.6-1.pgdg24.04+1. */
  packageVersion: string;
  dir: string;
  binDir: string;
  /** What the binaries need in their environment. */
  env: Record<string, string>;
}

/** RUNNER_TOOL_CACHE in Actions, else $XDG_CACHE_HOME/lifeboat or ~/.cache/lifeboat. */
export function toolRoot(env: NodeJS.ProcessEnv): string {
  if (env[TOOL_DIR_ENV]) return env[TOOL_DIR_ENV];
  if (env.RUNNER_TOOL_CACHE) return env.RUNNER_TOOL_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "lifeboat");
  return join(env.HOME || homedir(), ".cache", "lifeboat");
}

export function clientDir(root: string, major: number, arch: string = process.arch): string {
  return join(root, "postgresql-client", String(major), arch);
}

export interface OsRelease {
  id: string;
  versionId: string;
  codename: string | undefined;
}

export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) fields.set(match[1]!, match[2]!.replace(/^(["'])(.*)\1$/, "$2"));
  }
  return {
    id: fields.get("ID") ?? "linux",
    versionId: fields.get("VERSION_ID") ?? "",
    codename: fields.get("VERSION_CODENAME") || fields.get("UBUNTU_CODENAME") || undefined,
  };
}

export function readOsRelease(path = "/etc/os-release"): OsRelease {
  try {
    return parseOsRelease(readFileSync(path, "utf8"));
  } catch {
    return { id: "linux", versionId: "", codename: undefined };
  }
}

/** One cache entry per major, OS release and architecture: the binaries link against the OS's libraries. */
export function cacheKey(
  major: number,
  os: Pick<OsRelease, "id" | "versionId">,
  arch: string = process.arch,
): string {
  return `lifeboat-pg-client-${major}-${os.id}${os.versionId}-${arch}-v1`;
}

/** Where an executable is: PATH first, then the usual system directories. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why installing cannot work on this machine, or undefined when it can be tried. */
export function installBlocker(
  env: NodeJS.ProcessEnv,
  platform: string = process.platform,
): string | undefined {
  if (platform !== "linux") return `this machine runs ${platform}, not Linux with apt`;
  for (const tool of ["apt-get", "dpkg-deb"]) {
    if (!findExecutable(tool, env)) return `this machine has no ${tool} (not a Debian or Ubuntu system)`;
  }
  return undefined;
}

/** The repository the packages come from, rendered into a private sources list at install time. */
export type AptSource =
  | { kind: "pgdg"; codename: string; description: string }
  | {
      kind: "custom";
      description: string;
      /** One-line entries for the private sources.list. */
      list: string;
      /** deb822 or one-line files for the private sources.list.d, by file name. */
      parts: Record<string, string>;
    };

export function pgdgSource(os: OsRelease): AptSource {
  if (!os.codename) {
    throw new InputError(
      "--install-pg-client auto: /etc/os-release names no distribution codename, so the PostgreSQL apt repository cannot be chosen; install postgresql-client yourself and pass --pg-bin-dir",
      { input: "install-pg-client" },
    );
  }
  return { kind: "pgdg", codename: os.codename, description: `${PGDG_URL} ${os.codename}-pgdg` };
}

/** This machine's own apt sources (/etc/apt/sources.list and sources.list.d), copied as they are. */
export function systemSources(etcApt = "/etc/apt"): AptSource {
  const listPath = join(etcApt, "sources.list");
  const list = existsSync(listPath) ? readFileSync(listPath, "utf8") : "";
  const parts: Record<string, string> = {};
  const partsDir = join(etcApt, "sources.list.d");
  if (existsSync(partsDir)) {
    for (const name of readdirSync(partsDir).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources")) {
        parts[name] = readFileSync(join(partsDir, name), "utf8");
      }
    }
  }
  return { kind: "custom", description: `this machine's apt sources (${etcApt})`, list, parts };
}

/** PGDG unless LIFEBOAT_PG_APT_SOURCE names another source. */
export function resolveAptSource(env: NodeJS.ProcessEnv, os: OsRelease = readOsRelease()): AptSource {
  const override = env[APT_SOURCE_ENV]?.trim();
  if (override === "system") return systemSources();
  if (override) {
    if (!/^deb\s/.test(override)) {
      throw new InputError(`${APT_SOURCE_ENV} "${override}": expected system or one "deb ..." sources line`);
    }
    const description = override.replace(/^deb\s+(\[[^\]]*\]\s+)?/, "");
    return { kind: "custom", description, list: `${override}\n`, parts: {} };
  }
  return pgdgSource(os);
}

/** Writes the private sources list (and the PGDG key when the system has none) into `work`. */
async function writeSources(source: AptSource, work: string): Promise<void> {
  const partsDir = join(work, "sources.list.d");
  await mkdir(partsDir, { recursive: true });
  if (source.kind === "custom") {
    await writeFile(join(work, "sources.list"), source.list);
    for (const [name, content] of Object.entries(source.parts))
      await writeFile(join(partsDir, name), content);
    return;
  }
  let key = PGDG_KEY;
  if (!existsSync(key)) {
    key = join(work, "pgdg.asc");
    await writeFile(key, `${PGDG_KEY_ASC}\n`);
  }
  await writeFile(
    join(work, "sources.list"),
    `deb [signed-by=${key}] ${PGDG_URL} ${source.codename}-pgdg main\n`,
  );
}

interface Marker {
  major: number;
  packageVersion: string;
  libDir: string;
  /** Every file and link below the directory: size (files) or target (links). */
  entries: Record<string, number | string>;
}

/** The installed client in `dir`, when its marker is there and everything it lists is intact. */
export function readInstalled(dir: string, major: number): InstalledClient | undefined {
  let marker: Marker;
  try {
    marker = JSON.parse(readFileSync(join(dir, MARKER), "utf8")) as Marker;
  } catch {
    return undefined;
  }
  if (marker.major !== major || typeof marker.entries !== "object") return undefined;
  for (const [path, expected] of Object.entries(marker.entries)) {
    try {
      const stat = lstatSync(join(dir, path));
      const actual = stat.isSymbolicLink() ? readlinkSync(join(dir, path)) : stat.size;
      if (actual !== expected) return undefined;
    } catch {
      return undefined;
    }
  }
  return describeInstalled(dir, major, marker.packageVersion, marker.libDir);
}

function describeInstalled(
  dir: string,
  major: number,
  packageVersion: string,
  libDir: string,
): InstalledClient {
  return {
    major,
    packageVersion,
    dir,
    binDir: join(dir, "usr", "lib", "postgresql", String(major), "bin"),
    env: { LD_LIBRARY_PATH: join(dir, libDir) },
  };
}

function listEntries(root: string): Record<string, number | string> {
  const entries: Record<string, number | string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const key = relative(root, path);
      if (entry.isSymbolicLink()) entries[key] = readlinkSync(path);
      else if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) entries[key] = lstatSync(path).size;
    }
  };
  walk(root);
  return entries;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr: stderr || (error && code === null ? error.message : "") });
      },
    );
  });
}

/** apt's own verdict: its first "E:" line, else its first failed fetch, else its last line. */
function aptError(result: RunResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((line) => line.trim().replace(/\s+/g, " "))
    .filter(Boolean);
  const error =
    lines.find((line) => line.startsWith("E:")) ??
    lines.find((line) => /^W: (Failed to fetch|The repository|GPG error)/.test(line)) ??
    lines.at(-1);
  return (error ?? `exit status ${result.code}`).replace(/^[EW]:\s*/, "");
}

/**
 * Downloads and unpacks postgresql-client-<major> and libpq5 into `dir`. The files land in a
 * sibling directory first and are renamed into place once complete (marker written last), so a
 * concurrent or interrupted install never leaves a directory that looks installed.
 */
export async function installPgClient(options: {
  major: number;
  dir: string;
  source: AptSource;
  env: NodeJS.ProcessEnv;
  log: Logger;
}): Promise<InstalledClient> {
  const { major, dir, source, log } = options;
  const pkg = `postgresql-client-${major}`;
  const tried = `${pkg} and libpq5 from ${source.description}`;
  const blocker = installBlocker(options.env);
  if (blocker) {
    throw new InputError(`--install-pg-client auto: cannot get ${tried}: ${blocker}`, {
      input: "install-pg-client",
    });
  }
  const aptGet = findExecutable("apt-get", options.env)!;
  const dpkgDeb = findExecutable("dpkg-deb", options.env)!;
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    PATH: [options.env.PATH, ...SYSTEM_DIRS].filter(Boolean).join(delimiter),
    LC_ALL: "C",
    DEBIAN_FRONTEND: "noninteractive",
  };
  const work = await mkdtemp(join(tmpdir(), "lifeboat-apt-"));
  let staging: string | undefined;
  try {
    await mkdir(dirname(dir), { recursive: true });
    staging = await mkdtemp(join(dirname(dir), `.${basename(dir)}.partial-`));
    const debs = join(work, "debs");
    for (const path of [
      debs,
      join(work, "state", "lists", "partial"),
      join(work, "cache", "archives", "partial"),
    ]) {
      await mkdir(path, { recursive: true });
    }
    await writeSources(source, work);
    const aptOptions = [
      `Dir::Etc::SourceList=${join(work, "sources.list")}`,
      `Dir::Etc::SourceParts=${join(work, "sources.list.d")}`,
      `Dir::State=${join(work, "state")}`,
      `Dir::Cache=${join(work, "cache")}`,
      "Acquire::Retries=3",
      "Acquire::http::Timeout=30",
      "Acquire::https::Timeout=30",
      // As root apt drops to the _apt user for downloads, which cannot write into our 0700 dirs.
      ...(process.getuid?.() === 0 ? ["APT::Sandbox::User=root"] : []),
    ].flatMap((option) => ["-o", option]);

    log.info(`Downloading ${tried} (install-pg-client auto)`);
    const update = await run(aptGet, [...aptOptions, "-q", "update"], { env, timeoutMs: 300_000 });
    // apt-get update exits 0 even when a source failed; "W:"/"E:" lines then say which.
    const failedFetch = /^(E|W): (Failed to fetch|Some index files failed|The repository|GPG error)/m.exec(
      `${update.stderr}\n${update.stdout}`,
    );
    if (update.code !== 0 || failedFetch) {
      throw new OperationError(
        `--install-pg-client auto: could not get ${tried}: apt-get update failed: ${aptError(update)}; without access to it, install ${pkg} yourself and pass --pg-bin-dir`,
      );
    }
    const download = await run(aptGet, [...aptOptions, "-q", "download", pkg, "libpq5"], {
      cwd: debs,
      env,
      timeoutMs: 300_000,
    });
    if (download.code !== 0) {
      const reason = aptError(download);
      if (/Unable to locate package|has no installation candidate|Can't select/.test(reason)) {
        throw new InputError(
          `--install-pg-client auto: ${source.description} has no ${pkg} for this system (${reason}); choose another --pg-version, or install it yourself and pass --pg-bin-dir`,
          { input: "install-pg-client" },
        );
      }
      throw new OperationError(`--install-pg-client auto: could not download ${tried}: ${reason}`);
    }
    const files = (await readdir(debs)).filter((name) => name.endsWith(".deb"));
    const clientDeb = files.find((name) => name.startsWith(`${pkg}_`));
    if (!clientDeb || !files.some((name) => name.startsWith("libpq5_"))) {
      throw new OperationError(
        `--install-pg-client auto: apt-get download of ${tried} left only ${files.join(", ") || "nothing"}`,
      );
    }
    for (const name of files) {
      const extracted = await run(dpkgDeb, ["-x", join(debs, name), staging], { env, timeoutMs: 120_000 });
      if (extracted.code !== 0) {
        throw new OperationError(
          `--install-pg-client auto: dpkg-deb -x ${name} failed: ${aptError(extracted)}`,
        );
      }
    }
    const packageVersion = decodeURIComponent(clientDeb.split("_")[1] ?? "");
    const libDir = findLibDir(staging);
    if (!libDir) {
      throw new OperationError(
        `--install-pg-client auto: libpq5 from ${source.description} holds no libpq.so.5`,
      );
    }
    const installed = describeInstalled(staging, major, packageVersion, libDir);
    // A binary that cannot start here (a library the OS lacks) is found now, not mid-backup.
    const probe = await run(join(installed.binDir, "pg_dump"), ["--version"], {
      env: { ...env, ...installed.env },
      timeoutMs: 10_000,
    });
    if (probe.code !== 0) {
      throw new OperationError(
        `--install-pg-client auto: the downloaded pg_dump ${major} does not run on this machine: ${aptError(probe)}`,
      );
    }
    const marker: Marker = { major, packageVersion, libDir, entries: listEntries(staging) };
    await writeFile(join(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    if (readInstalled(dir, major)) {
      // Another run finished first: its copy is as good as ours.
      await rm(staging, { recursive: true, force: true });
    } else {
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    }
    const result = readInstalled(dir, major);
    if (!result) throw new OperationError(`--install-pg-client auto: ${dir} is incomplete after the install`);
    log.info(`Installed ${pkg} ${result.packageVersion} into ${dir}`);
    return result;
  } catch (error) {
    if (staging) await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof InputError || error instanceof OperationError) throw error;
    throw new OperationError(
      `--install-pg-client auto: could not install ${tried}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The multiarch directory holding libpq.so.5, relative to `root` (usr/lib/x86_64-linux-gnu). */
function findLibDir(root: string): string | undefined {
  const lib = join(root, "usr", "lib");
  if (!existsSync(lib)) return undefined;
  for (const name of readdirSync(lib)) {
    if (existsSync(join(lib, name, "libpq.so.5"))) return join("usr", "lib", name);
  }
  return existsSync(join(lib, "libpq.so.5")) ? join("usr", "lib") : undefined;
}

/**
 * postgresql-client-<major> in the tool directory: already there, else restored from the cache,
 * else downloaded (and saved to the cache for the next run).
 */
export async function ensurePgClient(options: {
  major: number;
  env: NodeJS.ProcessEnv;
  log: Logger;
  cache?: ToolCache | undefined;
  /** Injected by tests; default: LIFEBOAT_PG_APT_SOURCE, else PGDG for this OS release. */
  source?: AptSource;
}): Promise<InstalledClient> {
  const { major, env, log, cache } = options;
  const dir = clientDir(toolRoot(env), major);
  const present = readInstalled(dir, major);
  if (present) {
    log.info(`Using postgresql-client-${major} ${present.packageVersion} from ${dir}`);
    return present;
  }
  const os = readOsRelease();
  const key = cacheKey(major, os);
  if (cache && (await cache.restore([dir], key))) {
    const restored = readInstalled(dir, major);
    if (restored) {
      log.info(
        `Restored postgresql-client-${major} ${restored.packageVersion} from the cache (${key}) into ${dir}`,
      );
      return restored;
    }
    log.warn(`the cache entry ${key} restored an incomplete ${dir}; downloading instead`);
  }
  const installed = await installPgClient({
    major,
    dir,
    source: options.source ?? resolveAptSource(env, os),
    env,
    log,
  });
  if (cache) await cache.save([dir], key);
  return installed;
}
