/**
 * The notification channels, in the order they are listed and sent.
 *
 * Adding a channel is one file plus one entry here: write src/report/channels/<name>.ts exporting
 * a ChannelDefinition (its options, how it reads them, what it renders from the report, how it
 * sends it, and optionally an onStart hook), then add it to CHANNELS. Its options then reach the
 * option table (the CLI's flags and environment variables, the actions' inputs and action.yml),
 * the settings of both edges and delivery; nothing else changes. Document it in docs/reports.md.
 */
import { InputError } from "../../domain/errors.js";
import { text, type RawOptions } from "../../settings/settings.js";
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

const NOTIFY_ON: readonly NotifyOn[] = ["failure", "success", "always", "never"];

export const NOTIFY_ON_OPTION: ChannelOption = {
  name: "notify-on",
  description:
    "When to send a message (Slack, Discord, Teams, webhook): failure (default), success, always or never. Heartbeat pings go on every run.",
  type: "string",
  default: "failure",
  env: "LIFEBOAT_NOTIFY_ON",
  value: "WHEN",
};

/** Every channel's options and notify-on: the option table's share of reporting. */
export const CHANNEL_OPTIONS: ChannelOption[] = [
  ...CHANNELS.flatMap((channel) => channel.options),
  NOTIFY_ON_OPTION,
];

/** Reads notify-on and every channel's options; a bad value is an InputError naming its option. */
export function readChannelSettings(raw: RawOptions): ChannelSettings {
  const given = text(raw, "notify-on");
  const notifyOn = (given ?? "failure").toLowerCase() as NotifyOn;
  if (!NOTIFY_ON.includes(notifyOn)) {
    throw new InputError(`--notify-on "${given}": expected ${NOTIFY_ON.join(", ")}`, { input: "notify-on" });
  }
  const channels = CHANNELS.flatMap((channel) => channel.configure(raw) ?? []);
  return { notifyOn, channels };
}
