/**
 * Finds a pg_dump that can dump a server of a given major: pg_dump dumps servers of its own major
 * and older, and refuses newer ones ("aborting because of server version mismatch").
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { InputError } from "../domain/errors.js";

const run = promisify(execFile);

export interface PgTool {
  path: string;
  binDir: string;
  version: string;
  major: number;
}

export function parsePgToolVersion(text: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.\d+)?/.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  const version = match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`;
  return { version, major };
}

/** The directories to look in, in order: explicit, versioned Debian/PGDG ones (newest first), PATH. */
export function candidateBinDirs(env: NodeJS.ProcessEnv, versionedRoot = "/usr/lib/postgresql"): string[] {
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

export async function probeTool(binDir: string, name: string): Promise<PgTool | undefined> {
  const path = join(binDir, name);
  if (!existsSync(path)) return undefined;
  try {
    const { stdout } = await run(path, ["--version"], { timeout: 10_000 });
    const parsed = parsePgToolVersion(stdout);
    return parsed ? { path, binDir, ...parsed } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Picks the tool for a server major: the same major when there is one (its archives are readable
 * by the most pg_restore versions), else the oldest newer one. With `pgBinDir` only that
 * directory counts.
 */
export function chooseTool(tools: PgTool[], serverMajor: number): PgTool | undefined {
  const able = tools.filter((tool) => tool.major >= serverMajor).sort((a, b) => a.major - b.major);
  return able[0];
}

export async function findPgTool(options: {
  name: "pg_dump" | "pg_restore";
  serverMajor: number;
  serverVersion: string;
  /** What the tool must handle, for messages; default "PostgreSQL <serverVersion>" (a server to dump). */
  target?: string;
  pgBinDir: string | undefined;
  env: NodeJS.ProcessEnv;
}): Promise<PgTool> {
  const { name, serverMajor } = options;
  if (options.pgBinDir) {
    const tool = await probeTool(options.pgBinDir, name);
    if (!tool) {
      throw new InputError(`--pg-bin-dir "${options.pgBinDir}": no working ${name} in that directory`, {
        input: "pg-bin-dir",
      });
    }
    if (tool.major < serverMajor) {
      throw new InputError(
        `--pg-bin-dir "${options.pgBinDir}": ${name} ${tool.version} cannot ${options.target ?? `dump PostgreSQL ${options.serverVersion}`}; ${installHint(serverMajor)}`,
        { input: "pg-bin-dir" },
      );
    }
    return tool;
  }
  const found: PgTool[] = [];
  for (const dir of candidateBinDirs(options.env)) {
    const tool = await probeTool(dir, name);
    if (tool && !found.some((other) => other.path === tool.path)) found.push(tool);
  }
  const chosen = chooseTool(found, serverMajor);
  if (chosen) return chosen;
  const seen = found.length
    ? `found ${found.map((tool) => `${name} ${tool.version} (${tool.path})`).join(", ")}`
    : `found no ${name}`;
  throw new InputError(
    `--pg-bin-dir: ${options.target ? `to ${options.target}, lifeboat` : `the server runs PostgreSQL ${options.serverVersion} and`} needs ${name} ${serverMajor} or newer; ${seen}; ${installHint(serverMajor)}`,
    { input: "pg-bin-dir" },
  );
}

function installHint(major: number): string {
  return `install postgresql-client-${major} (on GitHub runners: sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && sudo apt-get install -y postgresql-client-${major}) and pass --pg-bin-dir /usr/lib/postgresql/${major}/bin`;
}
