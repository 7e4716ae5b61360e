/**
 * One HTTP POST to a webhook, for every channel: retry on 429 (honouring Retry-After, capped) and on
 * 5xx or network errors with exponential backoff, within a total time cap; other 4xx are final (a
 * revoked or mistyped webhook). It never throws and never logs: the caller gets an outcome, and no
 * text in it holds the URL or any part of it that gives access.
 */
import { describeError } from "../../domain/errors.js";
import { LIFEBOAT_VERSION } from "../../version.js";
import { scrubPayload, urlSecrets } from "./scrub.js";

export interface PosterOptions {
  /** Attempts in all, the first included (default 4). */
  maxAttempts?: number;
  /** First backoff; doubles on every retry (default 0.5 s: 0.5, 1, 2 s). */
  baseDelayMs?: number;
  /** Cap of one wait, Retry-After included (default 30 s). */
  maxDelayMs?: number;
  /** Cap of the whole exchange, waits included (default 60 s). */
  totalTimeoutMs?: number;
  /** Cap of one request (default 15 s). */
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface PostRequest {
  /** Who answers, for messages: "Slack", "Discord". */
  service: string;
  url: string;
  /** Sent as is: a signature covers exactly these bytes. */
  body: string;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface PostOutcome {
  ok: boolean;
  attempts: number;
  /** The last HTTP status, when there was an answer. */
  status?: number;
  /** Why it was not sent, without the URL. */
  error?: string;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After in milliseconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function hideUrl(message: string, url: string): string {
  let out = message;
  for (const part of urlSecrets(url).sort((a, b) => b.length - a.length)) {
    out = out.split(part).join("<webhook>");
  }
  return out;
}

export async function postWebhook(request: PostRequest, options: PosterOptions = {}): Promise<PostOutcome> {
  const { service, url } = request;
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? globalThis.fetch;
  const deadline = now() + (options.totalTimeoutMs ?? 60_000);
  const headers = {
    "content-type": request.contentType ?? "application/json; charset=utf-8",
    "user-agent": `lifeboat/${LIFEBOAT_VERSION}`,
    ...request.headers,
  };
  let attempts = 0;
  let status: number | undefined;
  let error = "not attempted";
  while (attempts < maxAttempts) {
    attempts++;
    let wait: number | undefined;
    try {
      const remaining = deadline - now();
      const response = await doFetch(url, {
        method: "POST",
        headers,
        body: request.body,
        signal: AbortSignal.timeout(Math.max(1, Math.min(options.requestTimeoutMs ?? 15_000, remaining))),
      });
      status = response.status;
      const answer = (await response.text().catch(() => "")).trim().slice(0, 200);
      if (response.ok) return { ok: true, attempts, status };
      error = `${service} answered ${response.status}${answer ? ` (${answer.replace(/\s+/g, " ")})` : ""}`;
      if (response.status === 429) {
        wait = retryAfterMs(response.headers.get("retry-after"), now());
      } else if (response.status < 500) {
        return { ok: false, attempts, status, error: hideUrl(error, url) };
      }
    } catch (thrown) {
      const cause = (thrown as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === "string" ? ` (${cause.code})` : "";
      error =
        thrown instanceof Error && (thrown.name === "TimeoutError" || thrown.name === "AbortError")
          ? `the request to ${service} timed out`
          : `the request to ${service} failed: ${describeError(thrown)}${code}`;
    }
    if (attempts >= maxAttempts) break;
    const delay = Math.min(maxDelay, wait ?? baseDelay * 2 ** (attempts - 1));
    if (now() + delay >= deadline) {
      error = `${error}; gave up: the next try would pass the time limit`;
      break;
    }
    await sleep(delay);
  }
  return { ok: false, attempts, ...(status === undefined ? {} : { status }), error: hideUrl(error, url) };
}

/** A JSON payload, every string of it scrubbed before it is encoded, posted with postWebhook. */
export function postJson(
  service: string,
  url: string,
  payload: unknown,
  scrub: (text: string) => string,
  options: PosterOptions = {},
  headers: Record<string, string> = {},
): Promise<PostOutcome> {
  return postWebhook({ service, url, body: JSON.stringify(scrubPayload(payload, scrub)), headers }, options);
}
