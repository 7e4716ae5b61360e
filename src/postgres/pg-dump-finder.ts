/**
 * Finds a pg_dump that can dump a server of a given major: pg_dump dumps servers of its own major
 * and older, and refuses newer ones ("aborting because of server version mismatch"). The same for
 * pg_restore and the archives of a pg_dump major. When nothing on the machine fits and
 * install-pg-client is auto, postgresql-client-<major> is fetched into the tool directory
 * (pg-install.ts) and its binaries are used by their versioned path.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { InputError, OperationError } from "../domain/errors.js";
import type { Logger } from "../commands/logger.js";
import { ensurePgClient, installBlocker, type InstalledClient, type ToolCache } from "./pg-install.js";

/** Declared with the other settings; re-exported for the adapters that take it. */
import type { PgClientSettings } from "../settings/types.js";

export type { PgClientSettings } from "../settings/types.js";

const run = promisify(execFile);

export interface PgTool {
  path: string;
  binDir: string;
  version: string;
  major: number;
  /** What the tool needs in its environment (LD_LIBRARY_PATH for a client in the tool directory). */
  env?: Record<string, string>;
}

/** A tool to spawn: its path, and what it needs in its environment. */
export type ToolRef = string | Pick<PgTool, "path" | "env">;

/** The path and environment to spawn a tool with: `base` plus what the tool needs. */
export function toolSpawn(tool: ToolRef, base: NodeJS.ProcessEnv): { path: string; env: NodeJS.ProcessEnv } {
  if (typeof tool === "string") return { path: tool, env: base };
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [name, value] of Object.entries(tool.env ?? {})) {
    // Our libraries first; whatever the environment had stays after them.
    env[name] = name === "LD_LIBRARY_PATH" && base[name] ? `${value}${delimiter}${base[name]}` : value;
  }
  return { path: tool.path, env };
}

/** Where Debian and PGDG put each major's binaries; LIFEBOAT_PG_VERSIONED_ROOT overrides it (tests). */
export const VERSIONED_ROOT_ENV = "LIFEBOAT_PG_VERSIONED_ROOT";

export function parsePgToolVersion(text: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.\d+)?/.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  const version = match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`;
  return { version, major };
}

/** The directories to look in, in order: versioned Debian/PGDG ones (newest first), then PATH. */
export function candidateBinDirs(
  env: NodeJS.ProcessEnv,
  versionedRoot = env[VERSIONED_ROOT_ENV] || "/usr/lib/postgresql",
): string[] {
  const dirs: string[] = [];
  if (existsSync(versionedRoot)) {
    const majors = readdirSync(versionedRoot)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => b - a);
    for (const major of majors) dirs.push(join(versionedRoot, String(major), "bin"));
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) dirs.push(dir);
  return [...new Set(dirs)];
}

export async function probeTool(
  binDir: string,
  name: string,
  toolEnv?: Record<string, string>,
): Promise<PgTool | undefined> {
  const path = join(binDir, name);
  if (!existsSync(path)) return undefined;
  try {
    const spawnWith = toolSpawn({ path, env: toolEnv }, process.env);
    const { stdout } = await run(path, ["--version"], { timeout: 10_000, env: spawnWith.env });
    const parsed = parsePgToolVersion(stdout);
    return parsed ? { path, binDir, ...parsed, ...(toolEnv ? { env: toolEnv } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Picks the tool for a server major (or an archive's pg_dump major). auto: the same major when
 * there is one (its archives are readable by the most pg_restore versions), else the oldest newer
 * one. A pinned major: exactly that one.
 */
export function chooseTool(
  tools: PgTool[],
  serverMajor: number,
  pgVersion: "auto" | number = "auto",
): PgTool | undefined {
  if (pgVersion !== "auto")
    return pgVersion >= serverMajor ? tools.find((tool) => tool.major === pgVersion) : undefined;
  const able = tools.filter((tool) => tool.major >= serverMajor).sort((a, b) => a.major - b.major);
  return able[0];
}

/** The major to install when nothing on the machine fits: the pinned one, else the server's. */
export function wantedMajor(serverMajor: number, pgVersion: "auto" | number): number {
  return pgVersion === "auto" ? serverMajor : pgVersion;
}

export interface FindPgToolOptions {
  name: "pg_dump" | "pg_restore" | "pg_dumpall";
  serverMajor: number;
  serverVersion: string;
  /** What the tool must handle, for messages; default "dump PostgreSQL <serverVersion>". */
  target?: string;
  pgBinDir: string | undefined;
  /** Default auto. */
  pgVersion?: "auto" | number;
  /** Default never: only what is installed. */
  installPgClient?: "auto" | "never";
  env: NodeJS.ProcessEnv;
  /** The CI cache for installed clients (actions/cache in Actions); none on the CLI. */
  cache?: ToolCache | undefined;
  log?: Logger;
  /** The installer (tests inject one); default: ensurePgClient into the tool directory. */
  install?: (major: number) => Promise<InstalledClient>;
}

export async function findPgTool(options: FindPgToolOptions): Promise<PgTool> {
  const { name, serverMajor } = options;
  const pgVersion = options.pgVersion ?? "auto";
  const log = options.log ?? { info: () => undefined, warn: () => undefined };
  const job = options.target ?? `dump PostgreSQL ${options.serverVersion}`;
  if (pgVersion !== "auto" && pgVersion < serverMajor) {
    throw new InputError(
      `--pg-version "${pgVersion}": ${name} ${pgVersion} cannot ${job}; use auto, or ${serverMajor} or newer`,
      { input: "pg-version" },
    );
  }
  if (options.pgBinDir) {
    const tool = await probeTool(options.pgBinDir, name);
    if (!tool) {
      throw new InputError(`--pg-bin-dir "${options.pgBinDir}": no working ${name} in that directory`, {
        input: "pg-bin-dir",
      });
    }
    if (tool.major < serverMajor) {
      throw new InputError(
        `--pg-bin-dir "${options.pgBinDir}": ${name} ${tool.version} cannot ${job}; ${installHint(serverMajor)}`,
        { input: "pg-bin-dir" },
      );
    }
    if (pgVersion !== "auto" && tool.major !== pgVersion) {
      throw new InputError(
        `--pg-version "${pgVersion}": the ${name} in --pg-bin-dir "${options.pgBinDir}" is ${tool.version}; drop one of the two or make them agree`,
        { input: "pg-version" },
      );
    }
    return tool;
  }
  const found: PgTool[] = [];
  // chooseTool takes the lowest major that can do the job, the first found among equals: a tool
  // of exactly the wanted major ends the search. Each probe runs `--version`, and on Debian the
  // PATH entries are the perl pg_wrapper (~0.2 s each), so stopping early is most of a second.
  const exact = pgVersion === "auto" ? serverMajor : pgVersion;
  for (const dir of candidateBinDirs(options.env)) {
    const tool = await probeTool(dir, name);
    if (tool && !found.some((other) => other.path === tool.path)) found.push(tool);
    if (tool?.major === exact) break;
  }
  const chosen = chooseTool(found, serverMajor, pgVersion);
  if (chosen) return chosen;

  const major = wantedMajor(serverMajor, pgVersion);
  const seen = found.length
    ? `found ${found.map((tool) => `${name} ${tool.version} (${tool.path})`).join(", ")}`
    : `found no ${name}`;
  const need =
    pgVersion === "auto"
      ? `--pg-bin-dir: ${options.target ? `to ${options.target}, lifeboat` : `the server runs PostgreSQL ${options.serverVersion} and`} needs ${name} ${serverMajor} or newer`
      : `--pg-version "${pgVersion}": needs ${name} ${pgVersion}`;
  const input = pgVersion === "auto" ? "pg-bin-dir" : "pg-version";
  if (options.installPgClient === "auto") {
    const blocker = installBlocker(options.env);
    if (blocker) {
      throw new InputError(
        `${need}; ${seen}; install-pg-client auto cannot download it: ${blocker}; ${installHint(major, false)}`,
        { input },
      );
    }
    log.info(`No suitable ${name} on this machine (${seen}): getting postgresql-client-${major}`);
    const installed = await (
      options.install ??
      ((wanted) => ensurePgClient({ major: wanted, env: options.env, log, cache: options.cache }))
    )(major);
    const tool = await probeTool(installed.binDir, name, installed.env);
    if (!tool) {
      throw new OperationError(
        `--install-pg-client auto: postgresql-client-${major} in ${installed.dir} has no working ${name}`,
      );
    }
    return tool;
  }
  throw new InputError(`${need}; ${seen}; ${installHint(major, true)}`, { input });
}

function installHint(major: number, suggestAuto = true): string {
  const manual = `install postgresql-client-${major} (on GitHub runners: sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && sudo apt-get install -y postgresql-client-${major}) and pass --pg-bin-dir /usr/lib/postgresql/${major}/bin`;
  return suggestAuto
    ? `${manual}, or let lifeboat download it into its tool directory with --install-pg-client auto (action input install-pg-client: auto)`
    : manual;
}

/**
 * The pg_dump that backs up this server, chosen by the client settings backup and doctor share:
 * the one place both look, so the doctor's verdict is the backup's.
 */
export function findPgDumpFor(
  server: { major: number; version: string },
  settings: PgClientSettings,
  deps: { env: NodeJS.ProcessEnv; cache?: ToolCache | undefined; log?: Logger | undefined },
): Promise<PgTool> {
  return findPgTool({
    name: "pg_dump",
    serverMajor: server.major,
    serverVersion: server.version,
    pgBinDir: settings.pgBinDir,
    pgVersion: settings.pgVersion,
    installPgClient: settings.installPgClient,
    env: deps.env,
    ...(deps.cache ? { cache: deps.cache } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
