/**
 * Runs an action's bundle the way the runner does: INPUT_<NAME> variables, the GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, `node dist/<action>/index.js`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** stdout without the ::add-mask:: lines (what would be visible after masking). */
  visible: string;
  masked: string[];
}

export function runAction(
  action: string,
  inputs: Record<string, string>,
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ActionRun {
  const files = mkdtempSync(join(tmpdir(), "lifeboat-runner-"));
  try {
    const output = join(files, "output");
    const summary = join(files, "summary");
    writeFileSync(output, "");
    writeFileSync(summary, "");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_WORKSPACE: options.cwd,
      ...options.env,
    };
    for (const [key, value] of Object.entries(inputs)) env[`INPUT_${key.toUpperCase()}`] = value;
    // LIFEBOAT_DIST_ROOT: run bundles built elsewhere (`node scripts/build.mjs --out DIR`).
    const bundle = resolve(process.env.LIFEBOAT_DIST_ROOT ?? ".", "dist", action, "index.js");
    const result = spawnSync(process.execPath, [bundle], {
      env,
      encoding: "utf8",
      cwd: options.cwd,
    });
    const outputs: Record<string, string> = {};
    // name<<delimiter \n value \n delimiter
    for (const match of readFileSync(output, "utf8").matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
      outputs[match[1]!] = match[3]!;
    }
    const lines = result.stdout.split("\n");
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      outputs,
      summary: readFileSync(summary, "utf8"),
      visible: lines.filter((line) => !line.startsWith("::add-mask::")).join("\n"),
      masked: lines
        .filter((line) => line.startsWith("::add-mask::"))
        .map((line) => line.slice("::add-mask::".length)),
    };
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
}
