/**
 * What a notification channel is: its options, how it reads them, what it renders from the neutral
 * report, how it sends that, and (for heartbeat services) what it does before the command runs.
 * Channels know nothing about GitHub or the CLI: both edges deliver through src/report/channels/deliver.ts.
 */
import { InputError } from "../../domain/errors.js";
import type { OptionSpec } from "../../settings/option-spec.js";
import { givenText } from "../../settings/read-option.js";
import type { RawOptions } from "../../settings/types.js";
import type { Report, ReportAction } from "../report.js";
import type { PostOutcome, PosterOptions } from "./webhook-poster.js";

export type NotifyOn = "failure" | "success" | "always" | "never";

/** One option of a channel: an entry of the option table, declared beside the channel that reads it. */
export type ChannelOption = OptionSpec;

/** The text a channel's option was given, by the option's name; undefined when absent or empty. */
export function optionText(raw: RawOptions, name: string): string | undefined {
  return givenText(raw, { name });
}

/** What a channel's start hook knows: the command is about to run. */
export interface RunStart {
  action: ReportAction;
  label: string;
}

/** What the edge lends a channel to send with. */
export interface SendContext {
  /** Test seams and limits of the poster (fetch, sleep, clock, attempts, time caps). */
  poster?: PosterOptions;
  /** Replaces every secret in a text; applied to every string of a payload before it is encoded. */
  scrub: (text: string) => string;
  now: () => Date;
}

/** A channel with its settings read: ready to send. */
export interface ConfiguredChannel {
  /** The definition's name, e.g. "discord". */
  name: string;
  /** What one delivery is called in log lines, e.g. "Discord message". */
  noun: string;
  /** Messages follow notify-on; a heartbeat is sent on every run (its silence is the alarm). */
  followsNotifyOn: boolean;
  /** Values to scrub from everything reported (webhook URLs and the secret parts of them). */
  secrets: string[];
  /** Sends the report; null when this channel has nothing to send for it (a ping with no URL for the outcome). */
  send(report: Report, context: SendContext): Promise<PostOutcome | null>;
  /** Called before the command runs; only channels that track a run's start have it. */
  onStart?(start: RunStart, context: SendContext): Promise<PostOutcome>;
}

export interface ChannelDefinition {
  /** Short name, e.g. "discord". */
  name: string;
  options: ChannelOption[];
  /** Reads the channel's options: undefined when it is not configured; a bad value throws InputError. */
  configure(raw: RawOptions): ConfiguredChannel | undefined;
}

/**
 * An http(s) URL option; the message names the option and the expected form, never the value
 * (a webhook URL is a secret).
 */
export function readUrl(raw: RawOptions, name: string, expected: string): string | undefined {
  const value = optionText(raw, name);
  if (value === undefined) return undefined;
  let protocol = "";
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below
  }
  if (protocol !== "https:" && protocol !== "http:") {
    throw new InputError(`--${name}: expected ${expected} (the value is not shown: it is a secret)`, {
      input: name,
    });
  }
  return value;
}

/** Cuts a text to a length, marking the cut. */
export function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - 3))}...` : value;
}

/** The channels a run reports to, with the rule for messages. */
export interface ChannelSettings {
  notifyOn: NotifyOn;
  channels: ConfiguredChannel[];
}
