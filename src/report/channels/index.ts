/**
 * The notification channels, in the order they are listed and sent.
 *
 * Adding a channel is one file plus one entry here: write src/report/channels/<name>.ts exporting
 * a ChannelDefinition (its options, how it reads them, what it renders from the report, how it
 * sends it, and optionally an onStart hook), then add it to CHANNELS. Its options then reach the
 * option table (the CLI's flags and environment variables, the actions' inputs and action.yml),
 * the settings of both edges and delivery; nothing else changes. Document it in docs/reports.md.
 */
import { readOption } from "../../settings/read-option.js";
import type { RawOptions } from "../../settings/types.js";
import type { ChannelDefinition, ChannelOption, ChannelSettings, NotifyOn } from "./channel.js";
import { discordChannel } from "./discord.js";
import { pingChannel } from "./ping.js";
import { slackChannel } from "./slack.js";
import { teamsChannel } from "./teams.js";
import { webhookChannel } from "./webhook.js";

export const CHANNELS: readonly ChannelDefinition[] = [
  slackChannel,
  discordChannel,
  teamsChannel,
  webhookChannel,
  pingChannel,
];

export const NOTIFY_ON_OPTION = {
  name: "notify-on",
  description:
    "When to send a message (Slack, Discord, Teams, webhook): failure (default), success, always or never. Heartbeat pings go on every run.",
  type: "choice",
  choices: ["failure", "success", "always", "never"],
  default: "failure",
  env: "LIFEBOAT_NOTIFY_ON",
  value: "WHEN",
} as const satisfies ChannelOption;

/** Every channel's options and notify-on: the option table's share of reporting. */
export const CHANNEL_OPTIONS: ChannelOption[] = [
  ...CHANNELS.flatMap((channel) => channel.options),
  NOTIFY_ON_OPTION,
];

/** Reads notify-on and every channel's options; a bad value is an InputError naming its option. */
export function readChannelSettings(raw: RawOptions): ChannelSettings {
  const notifyOn: NotifyOn = readOption(raw, NOTIFY_ON_OPTION);
  const channels = CHANNELS.flatMap((channel) => channel.configure(raw) ?? []);
  return { notifyOn, channels };
}
