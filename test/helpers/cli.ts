/** Runs the CLI in-process, as a user would type it, and keeps what it printed. */
import { main } from "../../src/cli/main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json: Record<string, unknown>;
}

export async function runCli(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main({
    argv,
    env: options.env ?? { PATH: process.env.PATH },
    cwd: options.cwd ?? process.cwd(),
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    signal: options.signal,
  });
  const stdout = out.join("\n");
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    // not a --json run
  }
  return { code, stdout, stderr: err.join("\n"), json };
}
