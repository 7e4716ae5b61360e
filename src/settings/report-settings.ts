/**
 * Where an action reports besides the job summary: the pull request comment, Slack, and (for
 * restore-test) the report artifact. Parsed before the command runs, like every other input: a bad
 * value is an InputError that names the input (exit 2), and nothing runs.
 */
import { readOptions } from "./read-option.js";
import { OPTIONS } from "./spec.js";
import type { RawOptions, ReportSettings } from "./types.js";

export type { NotifyOn, ReportSettings } from "./types.js";

const REPORT = {
  commentOnPr: OPTIONS.commentOnPr,
  githubToken: OPTIONS.githubToken,
  slackWebhookUrl: OPTIONS.slackWebhookUrl,
  notifyOn: OPTIONS.notifyOn,
  reportArtifact: OPTIONS.reportArtifact,
};

export function parseReportSettings(raw: RawOptions): ReportSettings {
  return readOptions(raw, REPORT);
}
