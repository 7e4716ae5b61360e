/**
 * Where a run reports besides the job summary: the pull request comment and (for restore-test) the
 * report artifact in the actions, and the notification channels (src/report/channels/) on both
 * edges. Parsed before the command runs, like every other input: a bad value is an InputError that
 * names the input (exit 2), and nothing runs.
 */
import { InputError } from "../domain/errors.js";
import type { ChannelSettings, NotifyOn } from "../report/channels/channel.js";
import { readChannelSettings } from "../report/channels/index.js";
import { text, type RawOptions } from "./settings.js";

export type { ChannelSettings, NotifyOn };

export interface ReportSettings extends ChannelSettings {
  commentOnPr: "auto" | "never";
  githubToken: string | undefined;
  reportArtifact: "auto" | "never";
}

function choice<T extends string>(raw: RawOptions, name: string, choices: readonly T[], fallback: T): T {
  const value = (text(raw, name) ?? fallback).toLowerCase();
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(`--${name} "${text(raw, name)}": expected ${choices.join(", ")}`, { input: name });
  }
  return value as T;
}

/** notify-on and the channels: all that the CLI reports with. */
export function parseChannelSettings(raw: RawOptions): ChannelSettings {
  return readChannelSettings(raw);
}

export function parseReportSettings(raw: RawOptions): ReportSettings {
  return {
    commentOnPr: choice(raw, "comment-on-pr", ["auto", "never"], "auto"),
    githubToken: text(raw, "github-token"),
    ...parseChannelSettings(raw),
    reportArtifact: choice(raw, "report-artifact", ["auto", "never"], "auto"),
  };
}
