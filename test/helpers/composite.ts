/**
 * Runs a composite action the way the runner does, for the parts our composite uses: inputs with
 * their defaults, `run` steps under bash with `env`, `${{ inputs.* }}` and `${{ steps.*.outputs.* }}`
 * expressions, GITHUB_ACTION_PATH, GITHUB_OUTPUT per step, one GITHUB_STEP_SUMMARY, and the first
 * failing step ending the action. Any other expression is an error, so the test notices when the
 * action starts to rely on something this runner does not model.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

export interface CompositeStep {
  name?: string;
  id?: string;
  shell?: string;
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
}

export interface CompositeAction {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: CompositeStep[] };
}

export function readComposite(path: string): CompositeAction {
  return parse(readFileSync(path, "utf8")) as CompositeAction;
}

export interface CompositeRun {
  /** 0 when every step succeeded, else the failing step's exit status. */
  status: number;
  outputs: Record<string, string>;
  steps: { id: string; status: number; stdout: string; stderr: string; outputs: Record<string, string> }[];
  summary: string;
}

const EXPRESSION = /\$\{\{\s*([^}]*?)\s*\}\}/g;

export function runComposite(
  path: string,
  inputs: Record<string, string>,
  options: { actionPath: string; cwd: string; env?: NodeJS.ProcessEnv },
): CompositeRun {
  const action = readComposite(path);
  const context = {
    inputs: {} as Record<string, string>,
    steps: {} as Record<string, { outputs: Record<string, string> }>,
  };
  for (const name of Object.keys(inputs)) {
    if (!(name in action.inputs)) throw new Error(`input ${name} is not declared`);
  }
  for (const [name, spec] of Object.entries(action.inputs)) {
    const given = inputs[name];
    if (given === undefined && spec.required) throw new Error(`input ${name} is required`);
    context.inputs[name] = given ?? evaluate(spec.default ?? "", context, options.env);
  }
  const files = mkdtempSync(join(tmpdir(), "lifeboat-composite-"));
  const summary = join(files, "summary");
  writeFileSync(summary, "");
  const run: CompositeRun = { status: 0, outputs: {}, steps: [], summary: "" };
  try {
    for (const [index, step] of action.runs.steps.entries()) {
      if (step.uses || step.if || step.shell !== "bash" || !step.run) {
        throw new Error(`step ${index}: only unconditional bash run steps are modelled`);
      }
      const id = step.id ?? `step-${index}`;
      const output = join(files, `output-${index}`);
      writeFileSync(output, "");
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        ...options.env,
        GITHUB_ACTION_PATH: options.actionPath,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_WORKSPACE: options.cwd,
      };
      for (const [key, value] of Object.entries(step.env ?? {}))
        env[key] = evaluate(value, context, options.env);
      const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
        cwd: options.cwd,
        env,
        encoding: "utf8",
      });
      const outputs: Record<string, string> = {};
      for (const match of readFileSync(output, "utf8").matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
        outputs[match[1]!] = match[3]!;
      }
      context.steps[id] = { outputs };
      const status = result.status ?? 1;
      run.steps.push({ id, status, stdout: result.stdout, stderr: result.stderr, outputs });
      if (status !== 0) {
        run.status = status;
        break;
      }
    }
    for (const [name, spec] of Object.entries(action.outputs)) {
      run.outputs[name] = evaluate(spec.value, context, options.env);
    }
    run.summary = readFileSync(summary, "utf8");
    return run;
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
}

function evaluate(
  text: string,
  context: { inputs: Record<string, string>; steps: Record<string, { outputs: Record<string, string> }> },
  env: NodeJS.ProcessEnv | undefined,
): string {
  return String(text).replace(EXPRESSION, (_, expression: string) => {
    let match = /^inputs\.([\w-]+)$/.exec(expression);
    if (match) {
      if (!(match[1]! in context.inputs)) throw new Error(`\${{ ${expression} }}: no such input`);
      return context.inputs[match[1]!]!;
    }
    match = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expression);
    if (match) return context.steps[match[1]!]?.outputs[match[2]!] ?? "";
    if (expression === "github.token") return env?.GITHUB_TOKEN ?? "";
    throw new Error(`\${{ ${expression} }} is not modelled by this runner`);
  });
}
