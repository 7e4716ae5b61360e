/**
 * Heartbeat pings for dead-man's-switch services (healthchecks.io, Cronitor, Better Stack): a
 * start ping before the command runs, then a success or a failure ping. The service alerts when a
 * failure ping comes, and when no success ping comes in time: the case no message can cover (a
 * schedule that stopped, a runner that died).
 *
 * `ping-url` follows healthchecks.io's pinging API: `<url>/start`, `<url>`, `<url>/fail`. The three
 * explicit URLs replace (or stand in for) those, for services that spell them otherwise (Cronitor's
 * `?state=run|complete|fail`, Better Stack's heartbeat without a start). A heartbeat is sent on
 * every run: notify-on is for messages, and a heartbeat that stopped on success would raise the
 * alarm it exists to raise.
 */
import { VERDICT_WORD, type Report } from "../report.js";
import { cut, readUrl, type ChannelDefinition, type RunStart } from "./channel.js";
import { urlSecrets } from "./scrub.js";
import { postWebhook } from "./webhook-poster.js";

/** healthchecks.io keeps 100 kB of a ping's body; the summary needs far less. */
export const PING_BODY_LIMIT = 10_000;
/** A start ping holds the command up: it gets less time than a report does. */
const START_TIMEOUT_MS = 15_000;

export interface PingUrls {
  start?: string;
  success?: string;
  failure?: string;
}

/** `<url>` with a path suffix added before its query, as healthchecks.io's /start and /fail. */
export function withSuffix(url: string, suffix: string): string {
  const parsed = new URL(url);
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, "")}/${suffix}`;
  return parsed.toString();
}

export function pingUrls(base: string | undefined, explicit: PingUrls): PingUrls {
  const derived: PingUrls = base
    ? { start: withSuffix(base, "start"), success: base, failure: withSuffix(base, "fail") }
    : {};
  return { ...derived, ...Object.fromEntries(Object.entries(explicit).filter(([, url]) => url)) };
}

/** The body of a finishing ping: a plain-text summary the service shows in its log of pings. */
export function renderPingBody(report: Report): string {
  const lines = [
    `${report.title}: ${VERDICT_WORD[report.verdict]}`,
    report.headline,
    ...report.facts.map((fact) => `${fact.label}: ${fact.value}`),
    ...report.failures.slice(0, 20).map((failure) => `failure: ${failure}`),
    ...report.warnings.slice(0, 20).map((warning) => `warning: ${warning}`),
    ...(report.runUrl ? [`run: ${report.runUrl}`] : []),
  ];
  return cut(lines.join("\n"), PING_BODY_LIMIT);
}

export function renderStartBody(start: RunStart): string {
  return `Lifeboat ${start.action} started (label ${start.label})`;
}

const urlOption = (name: string, env: string, description: string) => ({
  name,
  description,
  type: "string" as const,
  env,
  secret: true,
  value: "URL",
});

export const pingChannel: ChannelDefinition = {
  name: "ping",
  options: [
    urlOption(
      "ping-url",
      "LIFEBOAT_PING_URL",
      "Heartbeat URL in healthchecks.io's form (from a secret): <url>/start before the run, <url> on success, <url>/fail on failure. Sent on every run, whatever notify-on says.",
    ),
    urlOption(
      "ping-start-url",
      "LIFEBOAT_PING_START_URL",
      "URL pinged before the run, instead of <ping-url>/start (e.g. Cronitor's ...?state=run).",
    ),
    urlOption(
      "ping-success-url",
      "LIFEBOAT_PING_SUCCESS_URL",
      "URL pinged when the run passed (with or without warnings), instead of <ping-url>.",
    ),
    urlOption(
      "ping-failure-url",
      "LIFEBOAT_PING_FAILURE_URL",
      "URL pinged when the run failed, instead of <ping-url>/fail (e.g. Better Stack's <heartbeat>/fail).",
    ),
  ],
  configure(raw) {
    const expected = "an http(s) heartbeat URL such as https://hc-ping.com/<uuid>";
    const urls = pingUrls(readUrl(raw, "ping-url", expected), {
      start: readUrl(raw, "ping-start-url", expected),
      success: readUrl(raw, "ping-success-url", expected),
      failure: readUrl(raw, "ping-failure-url", expected),
    });
    if (!urls.start && !urls.success && !urls.failure) return undefined;
    const secrets = [urls.start, urls.success, urls.failure].flatMap((url) => (url ? urlSecrets(url) : []));
    const ping = (url: string, body: string, poster = {}) =>
      postWebhook(
        { service: "the heartbeat service", url, body, contentType: "text/plain; charset=utf-8" },
        poster,
      );
    return {
      name: "ping",
      noun: "heartbeat ping",
      followsNotifyOn: false,
      secrets,
      send: async (report, context) => {
        const url = report.verdict === "fail" ? urls.failure : urls.success;
        if (!url) return null;
        return ping(url, context.scrub(renderPingBody(report)), context.poster);
      },
      ...(urls.start
        ? {
            onStart: (start: RunStart, context) =>
              ping(urls.start!, context.scrub(renderStartBody(start)), {
                ...context.poster,
                totalTimeoutMs: Math.min(
                  context.poster?.totalTimeoutMs ?? START_TIMEOUT_MS,
                  START_TIMEOUT_MS,
                ),
              }),
          }
        : {}),
    };
  },
};
