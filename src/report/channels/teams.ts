/**
 * Microsoft Teams, through a Workflows webhook ("Post to a channel when a webhook request is
 * received"): a message whose one attachment is an Adaptive Card (1.4, full width) with the verdict
 * as a coloured heading, the headline, the figures as a FactSet, the failures and warnings, the
 * history line and a button to the run. The retired Office 365 connector card (MessageCard) is not
 * used: Workflows only accept Adaptive Cards.
 */
import { historyLine, VERDICT_EMOJI, VERDICT_WORD, type Report, type Verdict } from "../report.js";
import { cut, readUrl, type ChannelDefinition } from "./channel.js";
import { urlSecrets } from "./scrub.js";
import { postJson } from "./webhook-poster.js";

export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
export const ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";

const COLOUR: Record<Verdict, "Good" | "Warning" | "Attention"> = {
  pass: "Good",
  warn: "Warning",
  fail: "Attention",
};

export interface TeamsPayload {
  type: "message";
  attachments: {
    contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
    contentUrl: null;
    content: {
      $schema: string;
      type: "AdaptiveCard";
      version: string;
      msteams: { width: "Full" };
      body: Record<string, unknown>[];
      actions: Record<string, unknown>[];
    };
  }[];
}

function listBlock(title: string, items: string[], colour: string, max = 10): Record<string, unknown>[] {
  if (items.length === 0) return [];
  const lines = items.slice(0, max).map((item) => `- ${cut(item.replace(/\s+/g, " "), 500)}`);
  if (items.length > max) lines.push(`- ... and ${items.length - max} more`);
  return [
    { type: "TextBlock", text: title, weight: "Bolder", color: colour, wrap: true, spacing: "Medium" },
    { type: "TextBlock", text: lines.join("\n"), wrap: true, spacing: "Small" },
  ];
}

export function renderTeams(report: Report): TeamsPayload {
  const body: Record<string, unknown>[] = [
    {
      type: "TextBlock",
      text: cut(`${VERDICT_EMOJI[report.verdict]} ${report.title}`, 300),
      size: "Large",
      weight: "Bolder",
      style: "heading",
      color: COLOUR[report.verdict],
      wrap: true,
    },
    {
      type: "TextBlock",
      text: cut(`**${VERDICT_WORD[report.verdict]}**: ${report.headline}`, 3000),
      wrap: true,
    },
  ];
  const facts = report.facts.slice(0, 12);
  if (facts.length > 0) {
    body.push({
      type: "FactSet",
      facts: facts.map((fact) => ({ title: cut(fact.label, 100), value: cut(fact.value, 1000) })),
    });
  }
  body.push(...listBlock("Failures", report.failures, "Attention"));
  body.push(...listBlock("Warnings", report.warnings, "Warning"));
  const context = [
    ...(report.history ? [historyLine(report.history)] : []),
    `label ${report.label} · ${report.action}`,
  ];
  body.push({ type: "TextBlock", text: context.join("\n\n"), isSubtle: true, size: "Small", wrap: true });
  const actions =
    report.runUrl && /^https?:\/\//.test(report.runUrl)
      ? [{ type: "Action.OpenUrl", title: "Open the workflow run", url: report.runUrl }]
      : [];
  return {
    type: "message",
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: ADAPTIVE_CARD_SCHEMA,
          type: "AdaptiveCard",
          version: "1.4",
          msteams: { width: "Full" },
          body,
          actions,
        },
      },
    ],
  };
}

export const teamsChannel: ChannelDefinition = {
  name: "teams",
  options: [
    {
      name: "teams-webhook-url",
      description:
        "Microsoft Teams Workflows webhook URL (from a secret; a workflow made from the template Post to a channel when a webhook request is received) to report to; empty for no Teams message.",
      type: "string",
      env: "LIFEBOAT_TEAMS_WEBHOOK_URL",
      secret: true,
      value: "URL",
    },
  ],
  configure(raw) {
    const url = readUrl(
      raw,
      "teams-webhook-url",
      "the HTTP POST URL of a Teams Workflows webhook (https://...logic.azure.com/... or https://...powerplatform.com/...)",
    );
    if (!url) return undefined;
    return {
      name: "teams",
      noun: "Teams message",
      followsNotifyOn: true,
      secrets: urlSecrets(url),
      send: (report, context) =>
        postJson("Microsoft Teams", url, renderTeams(report), context.scrub, context.poster),
    };
  },
};
