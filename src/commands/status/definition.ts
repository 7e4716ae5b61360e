/** status: every label of a store at a glance, with a verdict per label (docs/status.md). */
import { renderStatusText } from "../../report/status/text.js";
import { parseStatusSettings } from "../../settings/settings.js";
import { commandSpec } from "../../settings/spec.js";
import type { StatusSettings } from "../../settings/types.js";
import type { CommandDefinition } from "../command.js";
import { runStatus, type StatusResult } from "./run.js";

export const statusCommand: CommandDefinition<StatusSettings, StatusResult> = {
  spec: commandSpec("status"),
  parse: parseStatusSettings,
  // status reads the whole store; the label is not used to open it.
  storage: (settings) => ({ storage: settings.storage, label: "", s3: settings.s3 }),
  run: (settings, deps) => runStatus(settings, deps),
  failure: ({ model }) => {
    if (model.labels.length === 0) return "no labels: nothing is backed up in this storage location";
    const red = model.labels.filter((label) => label.verdict === "red").map((label) => label.label);
    return red.length > 0 ? `red: ${red.join(", ")}` : undefined;
  },
  text: ({ model }) => renderStatusText(model).replace(/\n+$/, ""),
  json: ({ model }) => ({ ...model }),
};
