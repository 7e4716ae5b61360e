/**
 * Delivery to the configured channels, for both edges (no @actions/* here): every channel is sent
 * to at once, each failure is one warning, and nothing thrown escapes: reporting never turns a
 * good run red. Every text that leaves is scrubbed of the channels' own secrets and of the secrets
 * the edge names.
 */
import type { Logger } from "../../commands/logger.js";
import { describeError } from "../../domain/errors.js";
import { shouldNotify, type Report } from "../report.js";
import type { ChannelSettings, ConfiguredChannel, RunStart, SendContext } from "./channel.js";
import { scrubber } from "./scrub.js";
import type { PostOutcome, PosterOptions } from "./webhook-poster.js";

export interface DeliveryOptions {
  /** info for what was sent, warn for what could not be. */
  log: Logger;
  /** Secret values the edge knows (database URLs, identity, token); the channels add their own. */
  secrets?: string[];
  fetch?: typeof fetch;
  /** Retry limits and test seams of the poster. */
  poster?: PosterOptions;
  now?: () => Date;
}

export interface ChannelResult {
  channel: string;
  /** sent, failed (after retries), skipped (notify-on, or nothing to send for this outcome). */
  status: "sent" | "failed" | "skipped";
  attempts: number;
}

/** Every secret the configured channels hold, for the edge's masking and scrubbing. */
export function channelSecrets(settings: ChannelSettings): string[] {
  return settings.channels.flatMap((channel) => channel.secrets);
}

function contextOf(settings: ChannelSettings, options: DeliveryOptions): SendContext {
  return {
    scrub: scrubber([...channelSecrets(settings), ...(options.secrets ?? [])]),
    poster: { ...options.poster, ...(options.fetch ? { fetch: options.fetch } : {}) },
    now: options.now ?? (() => new Date()),
  };
}

async function attempt(
  channel: ConfiguredChannel,
  noun: string,
  work: () => Promise<PostOutcome | null>,
  context: SendContext,
  log: Logger,
): Promise<ChannelResult> {
  let outcome: PostOutcome | null;
  try {
    outcome = await work();
  } catch (error) {
    outcome = { ok: false, attempts: 0, error: describeError(error) };
  }
  if (outcome === null) return { channel: channel.name, status: "skipped", attempts: 0 };
  if (outcome.ok) {
    log.info(`${noun} sent${outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : ""}.`);
    return { channel: channel.name, status: "sent", attempts: outcome.attempts };
  }
  log.warn(
    context.scrub(
      `Lifeboat could not send the ${noun} (${outcome.attempts} attempt(s)): ${outcome.error ?? "unknown error"}`,
    ),
  );
  return { channel: channel.name, status: "failed", attempts: outcome.attempts };
}

/**
 * Sends the report to every configured channel: messages when notify-on asks for this verdict,
 * heartbeats always. Resolves when all are done; never rejects.
 */
export async function deliverToChannels(
  report: Report,
  settings: ChannelSettings,
  options: DeliveryOptions,
): Promise<ChannelResult[]> {
  const context = contextOf(settings, options);
  return Promise.all(
    settings.channels.map((channel) => {
      if (channel.followsNotifyOn && !shouldNotify(settings.notifyOn, report.verdict)) {
        return { channel: channel.name, status: "skipped" as const, attempts: 0 };
      }
      return attempt(channel, channel.noun, () => channel.send(report, context), context, options.log);
    }),
  );
}

/** The start hooks (heartbeat /start), before the command runs. Never rejects. */
export async function pingStart(
  settings: ChannelSettings,
  start: RunStart,
  options: DeliveryOptions,
): Promise<ChannelResult[]> {
  const context = contextOf(settings, options);
  return Promise.all(
    settings.channels
      .filter((channel) => channel.onStart)
      .map((channel) =>
        attempt(
          channel,
          `${channel.noun} (start)`,
          () => channel.onStart!(start, context),
          context,
          options.log,
        ),
      ),
  );
}
