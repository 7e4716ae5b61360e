/**
 * Discord, through a channel's incoming webhook: one embed (verdict colour, title linking to the
 * run, the headline with the failures and warnings, the figures as inline fields, label and
 * command in the footer). Discord's limits are kept: title 256, description 4,096, 25 fields of
 * 256/1,024, footer 2,048, 6,000 characters across the embed, content 2,000. Mentions are turned
 * off, so no report text can ping @everyone.
 */
import { historyLine, VERDICT_EMOJI, VERDICT_WORD, type Report, type Verdict } from "../report.js";
import { cut, readUrl, type ChannelDefinition } from "./channel.js";
import { urlSecrets } from "./scrub.js";
import { postJson } from "./webhook-poster.js";

export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedTotal: 6000,
} as const;

const COLOUR: Record<Verdict, number> = { pass: 0x2eb67d, warn: 0xecb22e, fail: 0xe01e5a };

export interface DiscordEmbed {
  title: string;
  description: string;
  color: number;
  url?: string;
  fields: { name: string; value: string; inline: boolean }[];
  footer: { text: string };
}

export interface DiscordPayload {
  username: string;
  content: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: never[] };
}

function list(title: string, items: string[], max = 10): string {
  if (items.length === 0) return "";
  const lines = items.slice(0, max).map((item) => `- ${cut(item, 300)}`);
  if (items.length > max) lines.push(`- ... and ${items.length - max} more`);
  return `\n\n**${title}**\n${lines.join("\n")}`;
}

/** The characters Discord counts against an embed's 6,000. */
export function embedLength(embed: DiscordEmbed): number {
  return (
    embed.title.length +
    embed.description.length +
    embed.footer.text.length +
    embed.fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0)
  );
}

export function renderDiscord(report: Report): DiscordPayload {
  const history = report.history ? `\n\n${historyLine(report.history)}` : "";
  const description =
    `**${VERDICT_WORD[report.verdict]}**: ${report.headline}` +
    list("Failures", report.failures) +
    list("Warnings", report.warnings) +
    history;
  const embed: DiscordEmbed = {
    title: cut(report.title, DISCORD_LIMITS.title),
    description: cut(description, DISCORD_LIMITS.description),
    color: COLOUR[report.verdict],
    ...(report.runUrl && /^https?:\/\//.test(report.runUrl) ? { url: report.runUrl } : {}),
    fields: report.facts.slice(0, DISCORD_LIMITS.fields).map((fact) => ({
      name: cut(fact.label, DISCORD_LIMITS.fieldName) || "-",
      value: cut(fact.value, DISCORD_LIMITS.fieldValue) || "-",
      inline: true,
    })),
    footer: { text: cut(`label ${report.label} · ${report.action}`, DISCORD_LIMITS.footer) },
  };
  // Over the total, the description gives way first (down to a few lines), then the last fields.
  const over = embedLength(embed) - DISCORD_LIMITS.embedTotal;
  if (over > 0) embed.description = cut(embed.description, Math.max(500, embed.description.length - over));
  while (embedLength(embed) > DISCORD_LIMITS.embedTotal && embed.fields.length > 0) embed.fields.pop();
  return {
    username: "Lifeboat",
    content: cut(`${VERDICT_EMOJI[report.verdict]} ${report.title}`, DISCORD_LIMITS.content),
    embeds: [embed],
    allowed_mentions: { parse: [] },
  };
}

export const discordChannel: ChannelDefinition = {
  name: "discord",
  options: [
    {
      name: "discord-webhook-url",
      description:
        "Discord webhook URL (from a secret; channel settings > Integrations > Webhooks) to report to; empty for no Discord message.",
      type: "string",
      env: "LIFEBOAT_DISCORD_WEBHOOK_URL",
      secret: true,
      value: "URL",
    },
  ],
  configure(raw) {
    const url = readUrl(
      raw,
      "discord-webhook-url",
      "a Discord webhook URL such as https://discord.com/api/webhooks/...",
    );
    if (!url) return undefined;
    return {
      name: "discord",
      noun: "Discord message",
      followsNotifyOn: true,
      secrets: urlSecrets(url),
      send: (report, context) =>
        postJson("Discord", url, renderDiscord(report), context.scrub, context.poster),
    };
  },
};
