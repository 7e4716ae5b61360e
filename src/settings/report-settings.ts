/**
 * Where a run reports besides the job summary: the pull request comment and (for restore-test) the
 * report artifact in the actions, and the notification channels (src/report/channels/) on both
 * edges. Parsed before the command runs, like every other input: a bad value is an InputError that
 * names the input (exit 2), and nothing runs.
 */
import type { ChannelSettings } from "../report/channels/channel.js";
import { readChannelSettings } from "../report/channels/index.js";
import { readOptions } from "./read-option.js";
import { OPTIONS } from "./spec.js";
import type { RawOptions } from "./types.js";

export type { ChannelSettings, NotifyOn } from "../report/channels/channel.js";

/** Where an action reports besides the job summary, and the channels both edges report to. */
export interface ReportSettings extends ChannelSettings {
  commentOnPr: "auto" | "never";
  githubToken: string | undefined;
  reportArtifact: "auto" | "never";
}

const REPORT = {
  commentOnPr: OPTIONS.commentOnPr,
  githubToken: OPTIONS.githubToken,
  reportArtifact: OPTIONS.reportArtifact,
};

/** notify-on and the channels: all that the CLI reports with. */
export function parseChannelSettings(raw: RawOptions): ChannelSettings {
  return readChannelSettings(raw);
}

export function parseReportSettings(raw: RawOptions): ReportSettings {
  return { ...readOptions(raw, REPORT), ...parseChannelSettings(raw) };
}
