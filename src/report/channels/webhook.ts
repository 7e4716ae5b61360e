/**
 * A generic JSON webhook: a documented, versioned event (docs/reports.md) for any receiver. With a
 * secret, each request is signed like GitHub's own webhooks: `X-Lifeboat-Signature: sha256=<hex
 * HMAC-SHA256 of the body>`. The body carries its own `timestamp`, equal to the
 * `X-Lifeboat-Timestamp` header, so the signature covers it and a receiver can refuse an old
 * request played again.
 */
import { createHmac, randomUUID } from "node:crypto";
import { InputError } from "../../domain/errors.js";
import type { Report } from "../report.js";
import { optionText, readUrl, type ChannelDefinition } from "./channel.js";
import { scrubPayload, urlSecrets } from "./scrub.js";
import { postWebhook } from "./webhook-poster.js";

export const WEBHOOK_EVENT_VERSION = 1;
export const SIGNATURE_HEADER = "x-lifeboat-signature";
export const TIMESTAMP_HEADER = "x-lifeboat-timestamp";

export interface WebhookEvent {
  version: typeof WEBHOOK_EVENT_VERSION;
  event: "run.finished";
  /** Unique per event; the same on every retry of it, so a receiver can drop duplicates. */
  id: string;
  /** Unix seconds when the event was made; equal to the X-Lifeboat-Timestamp header. */
  timestamp: number;
  command: Report["action"];
  label: string;
  outcome: Report["verdict"];
  title: string;
  headline: string;
  backupId: string | null;
  figures: { label: string; value: string }[];
  failures: string[];
  warnings: string[];
  history: {
    newestAgeSeconds: number | null;
    newestBackupId: string | null;
    attempts: number;
    succeeded: number;
    successRate: number | null;
    restoreTested: number;
  } | null;
  runUrl: string | null;
}

export function renderWebhookEvent(report: Report, meta: { id: string; now: Date }): WebhookEvent {
  const stats = report.history?.stats;
  return {
    version: WEBHOOK_EVENT_VERSION,
    event: "run.finished",
    id: meta.id,
    timestamp: Math.floor(meta.now.getTime() / 1000),
    command: report.action,
    label: report.label,
    outcome: report.verdict,
    title: report.title,
    headline: report.headline,
    backupId: report.backupId,
    figures: report.facts.map((fact) => ({ label: fact.label, value: fact.value })),
    failures: report.failures.slice(0, 100),
    warnings: report.warnings.slice(0, 100),
    history: stats
      ? {
          newestAgeSeconds: stats.newestAgeSeconds,
          newestBackupId: stats.newestBackupId,
          attempts: stats.attempts,
          succeeded: stats.succeeded,
          successRate: stats.successRate,
          restoreTested: stats.restoreTested,
        }
      : null,
    runUrl: report.runUrl,
  };
}

/** The signature header's value for a body: what a receiver recomputes and compares. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

export const webhookChannel: ChannelDefinition = {
  name: "webhook",
  options: [
    {
      name: "webhook-url",
      description:
        "URL (from a secret) that receives every report as a JSON event (format in docs/reports.md); empty for none.",
      type: "string",
      env: "LIFEBOAT_WEBHOOK_URL",
      secret: true,
      value: "URL",
    },
    {
      name: "webhook-secret",
      description:
        "Secret that signs each webhook request: X-Lifeboat-Signature: sha256=<HMAC-SHA256 of the body, hex>; empty for no signature.",
      type: "string",
      env: "LIFEBOAT_WEBHOOK_SECRET",
      secret: true,
      value: "SECRET",
    },
  ],
  configure(raw) {
    const url = readUrl(raw, "webhook-url", "an http(s) URL that accepts a JSON POST");
    const secret = optionText(raw, "webhook-secret");
    if (!url) {
      if (secret !== undefined) {
        throw new InputError("--webhook-secret: set without --webhook-url; expected both or neither", {
          input: "webhook-secret",
        });
      }
      return undefined;
    }
    return {
      name: "webhook",
      noun: "webhook event",
      followsNotifyOn: true,
      secrets: [...urlSecrets(url), ...(secret ? [secret] : [])],
      send: (report, context) => {
        const event = scrubPayload(
          renderWebhookEvent(report, { id: randomUUID(), now: context.now() }),
          context.scrub,
        );
        const body = JSON.stringify(event);
        return postWebhook(
          {
            service: "the webhook",
            url,
            body,
            headers: {
              "x-lifeboat-event": event.event,
              "x-lifeboat-delivery": event.id,
              [TIMESTAMP_HEADER]: String(event.timestamp),
              ...(secret ? { [SIGNATURE_HEADER]: signBody(secret, body) } : {}),
            },
          },
          context.poster,
        );
      },
    };
  },
};
