/**
 * Where an action reports besides the job summary: the pull request comment, Slack, and (for
 * restore-test) the report artifact. Parsed before the command runs, like every other input: a bad
 * value is an InputError that names the input (exit 2), and nothing runs.
 */
import { InputError } from "../domain/errors.js";
import { text, type RawOptions } from "./settings.js";

export type NotifyOn = "failure" | "success" | "always" | "never";

export interface ReportSettings {
  commentOnPr: "auto" | "never";
  githubToken: string | undefined;
  slackWebhookUrl: string | undefined;
  notifyOn: NotifyOn;
  reportArtifact: "auto" | "never";
}

function choice<T extends string>(raw: RawOptions, name: string, choices: readonly T[], fallback: T): T {
  const value = (text(raw, name) ?? fallback).toLowerCase();
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(`--${name} "${text(raw, name)}": expected ${choices.join(", ")}`, { input: name });
  }
  return value as T;
}

export function parseReportSettings(raw: RawOptions): ReportSettings {
  const slackWebhookUrl = text(raw, "slack-webhook-url");
  if (slackWebhookUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(slackWebhookUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "https:" && protocol !== "http:") {
      // The value is a secret: the message names the input, never the value.
      throw new InputError(
        "--slack-webhook-url: expected a Slack incoming webhook URL such as https://hooks.slack.com/services/... (the value is not shown: it is a secret)",
        { input: "slack-webhook-url" },
      );
    }
  }
  return {
    commentOnPr: choice(raw, "comment-on-pr", ["auto", "never"], "auto"),
    githubToken: text(raw, "github-token"),
    slackWebhookUrl,
    notifyOn: choice(raw, "notify-on", ["failure", "success", "always", "never"], "failure"),
    reportArtifact: choice(raw, "report-artifact", ["auto", "never"], "auto"),
  };
}
