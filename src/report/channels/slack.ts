/**
 * Slack, through an incoming webhook: the report as Block Kit, with a plain `text` fallback for
 * notifications and clients that show no blocks. Slack's limits are kept: a header of 150
 * characters, section text of 3,000, ten fields of 2,000 each, at most 50 blocks.
 */
import { historyLine, VERDICT_EMOJI, VERDICT_WORD, type Report } from "../report.js";
import { cut, readUrl, type ChannelDefinition } from "./channel.js";
import { urlSecrets } from "./scrub.js";
import { postJson, type PostOutcome, type PosterOptions } from "./webhook-poster.js";

export interface SlackPayload {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Slack mrkdwn: only &, < and > are control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function listText(title: string, items: string[], max = 10): string {
  const lines = items.slice(0, max).map((item) => `• ${escapeMrkdwn(cut(item, 500))}`);
  if (items.length > max) lines.push(`• ... and ${items.length - max} more`);
  return cut(`*${title}*\n${lines.join("\n")}`, 3000);
}

export function renderSlack(report: Report): SlackPayload {
  const emoji = VERDICT_EMOJI[report.verdict];
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: cut(`${emoji} ${report.title}`, 150), emoji: true } },
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: cut(`*${VERDICT_WORD[report.verdict]}*: ${escapeMrkdwn(report.headline)}`, 3000),
      },
    },
  ];
  const facts = report.facts.slice(0, 10);
  if (facts.length > 0) {
    blocks.push({
      type: "section",
      fields: facts.map((fact) => ({
        type: "mrkdwn",
        text: cut(`*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`, 2000),
      })),
    });
  }
  if (report.failures.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: listText("Failures", report.failures) } });
  }
  if (report.warnings.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: listText("Warnings", report.warnings) } });
  }
  const context: string[] = [];
  if (report.history) context.push(escapeMrkdwn(historyLine(report.history)));
  context.push(`label \`${escapeMrkdwn(report.label)}\` · ${report.action}`);
  blocks.push({
    type: "context",
    elements: context.map((text) => ({ type: "mrkdwn", text: cut(text, 3000) })),
  });
  if (report.runUrl) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open the workflow run" },
          url: report.runUrl,
          ...(report.verdict === "fail" ? { style: "danger" } : {}),
        },
      ],
    });
  }
  const text = cut(
    `${emoji} ${report.title}: ${report.headline}${report.runUrl ? ` (${report.runUrl})` : ""}`,
    3000,
  );
  return { text, blocks: blocks.slice(0, 50) };
}

/** POSTs a Slack payload (already scrubbed by the caller, or holding no secret). */
export function postSlackWebhook(
  url: string,
  payload: unknown,
  options?: PosterOptions,
): Promise<PostOutcome> {
  return postJson("Slack", url, payload, (text) => text, options);
}

export const slackChannel: ChannelDefinition = {
  name: "slack",
  options: [
    {
      name: "slack-webhook-url",
      description:
        "Slack incoming webhook URL (from a secret) to report to; empty for no Slack message. A Slack outage never fails the step.",
      type: "string",
      env: "LIFEBOAT_SLACK_WEBHOOK_URL",
      secret: true,
      value: "URL",
    },
  ],
  configure(raw) {
    const url = readUrl(
      raw,
      "slack-webhook-url",
      "a Slack incoming webhook URL such as https://hooks.slack.com/services/...",
    );
    if (!url) return undefined;
    return {
      name: "slack",
      noun: "Slack message",
      followsNotifyOn: true,
      secrets: urlSecrets(url),
      send: (report, context) => postJson("Slack", url, renderSlack(report), context.scrub, context.poster),
    };
  },
};
