/**
 * restore-test's `--run` command (a migration tool, the application's test suite) against the
 * restored scratch copy. It is often a pull request's own code: it gets a working shell, the
 * scratch database, and only the variables the user names with `--run-env` (child-env.ts). It runs
 * in a process group of its own, so that a cancelled run stops it and whatever it started.
 */
import { spawn } from "node:child_process";
import type { DatabaseUrl } from "../../domain/database-url.js";
import { createRedactor, databaseUrlSecrets } from "../../domain/redact.js";
import { userCommandEnv } from "../../postgres/child-env.js";

const OUTPUT_KEEP = 32 * 1024;
const KILL_AFTER_MS = 5_000;

export interface UserCommandResult {
  command: string;
  exitCode: number | null;
  /** The tail of what it printed, the scratch database's password in every spelling masked. */
  output: string;
}

export async function runUserCommand(
  command: string,
  target: DatabaseUrl,
  env: NodeJS.ProcessEnv,
  options: { passThrough?: readonly string[]; signal?: AbortSignal | undefined } = {},
): Promise<UserCommandResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const child = spawn("sh", ["-c", command], {
    env: userCommandEnv(env, { databaseUrl: target, passThrough: options.passThrough ?? [] }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_KEEP));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = () => {
    if (!running() || child.pid === undefined) return;
    signalGroup(child.pid, "SIGTERM");
    setTimeout(() => running() && signalGroup(child.pid!, "SIGKILL"), KILL_AFTER_MS).unref();
  };
  signal?.addEventListener("abort", stop, { once: true });
  try {
    const exitCode = await new Promise<number | null>((resolve) => {
      child.on("error", (error) => {
        output += `\n${error.message}`;
        resolve(127);
      });
      child.on("close", (code) => resolve(code));
    });
    signal?.throwIfAborted();
    // The command may print its DATABASE_URL: the password percent-encoded, not as written.
    const redact = createRedactor(databaseUrlSecrets(target));
    // The redactor leaves secrets too short to tell from words alone; a password is still masked.
    const raw = target.password ? output.replaceAll(target.password, "***") : output;
    return { command, exitCode, output: redact(raw) };
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

function signalGroup(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pid, name);
  } catch {
    // Already gone.
  }
}
