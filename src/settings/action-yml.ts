/**
 * Renders an action's metadata (action.yml) from the option table, so the actions and the CLI can
 * never disagree about a name, a default or a description.
 */
import { describeOption, type CommandSpec } from "./spec.js";

const quote = (text: string) => JSON.stringify(text);

export function renderActionYml(spec: CommandSpec, options: { name: string; main: string }): string {
  const lines = [
    "# Generated from src/settings/spec.ts by `npm run build`; edit the table there, not this file.",
    `name: ${quote(options.name)}`,
    `description: ${quote(spec.summary)}`,
    "author: Lifeboat",
    "branding:",
    "  icon: life-buoy",
    "  color: blue",
    "inputs:",
  ];
  for (const option of spec.options) {
    if (option.cliOnly) continue;
    lines.push(`  ${option.name}:`);
    lines.push(
      `    description: ${quote(describeOption(option) + (option.secret ? " Masked in logs." : ""))}`,
    );
    const fallback = option.actionDefault ?? option.default;
    const required = option.required && !option.requiredUnless && fallback === undefined;
    lines.push(`    required: ${required ? "true" : "false"}`);
    if (fallback !== undefined) lines.push(`    default: ${quote(fallback)}`);
  }
  lines.push("outputs:");
  for (const output of spec.outputs) {
    lines.push(`  ${output.name}:`);
    lines.push(`    description: ${quote(output.description)}`);
  }
  lines.push("runs:", "  using: node24", `  main: ${quote(options.main)}`, "");
  return lines.join("\n");
}

/** Every action.yml the option table produces: path -> content. */
export function renderAllActionYmls(specs: readonly CommandSpec[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of specs) {
    if (!spec.action) continue;
    files.set(
      `actions/${spec.action}/action.yml`,
      renderActionYml(spec, { name: `Lifeboat ${spec.action}`, main: `../../dist/${spec.action}/index.js` }),
    );
    if (spec.action === "backup-db") {
      // The root action is backup-db, the common case: `uses: owner/lifeboat@v1`.
      files.set(
        "action.yml",
        renderActionYml(spec, { name: "Lifeboat backup-db", main: "dist/backup-db/index.js" }),
      );
    }
  }
  return files;
}
