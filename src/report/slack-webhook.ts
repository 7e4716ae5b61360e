/**
 * Our own small Slack incoming-webhook client: POST the JSON, retry on 429 (honouring Retry-After,
 * capped) and on 5xx or network errors with exponential backoff, within a total time cap. It never
 * throws: the caller gets an outcome, and no text in it holds the webhook URL (a secret).
 */
import { describeError } from "../domain/errors.js";

export interface WebhookOptions {
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

export interface WebhookOutcome {
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

function scrub(text: string, url: string): string {
  let out = text.split(url).join("<webhook>");
  try {
    const parsed = new URL(url);
    if (parsed.pathname.length > 1) out = out.split(parsed.pathname).join("<webhook path>");
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

export async function postSlackWebhook(
  url: string,
  payload: unknown,
  options: WebhookOptions = {},
): Promise<WebhookOutcome> {
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? globalThis.fetch;
  const deadline = now() + (options.totalTimeoutMs ?? 60_000);
  const body = JSON.stringify(payload);
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
        headers: { "content-type": "application/json; charset=utf-8" },
        body,
        signal: AbortSignal.timeout(Math.max(1, Math.min(options.requestTimeoutMs ?? 15_000, remaining))),
      });
      status = response.status;
      const text = (await response.text().catch(() => "")).trim().slice(0, 200);
      if (response.ok) return { ok: true, attempts, status };
      error = `Slack answered ${response.status}${text ? ` (${text.replace(/\s+/g, " ")})` : ""}`;
      if (response.status === 429) {
        wait = retryAfterMs(response.headers.get("retry-after"), now());
      } else if (response.status < 500) {
        // 400 invalid_payload, 403 or 404 (a revoked or mistyped webhook), 410 (archived channel): final.
        return { ok: false, attempts, status, error: scrub(error, url) };
      }
    } catch (thrown) {
      const cause = (thrown as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === "string" ? ` (${cause.code})` : "";
      error =
        thrown instanceof Error && (thrown.name === "TimeoutError" || thrown.name === "AbortError")
          ? "the request to Slack timed out"
          : `the request to Slack failed: ${describeError(thrown)}${code}`;
    }
    if (attempts >= maxAttempts) break;
    const delay = Math.min(maxDelay, wait ?? baseDelay * 2 ** (attempts - 1));
    if (now() + delay >= deadline) {
      error = `${error}; gave up: the next try would pass the time limit`;
      break;
    }
    await sleep(delay);
  }
  return { ok: false, attempts, ...(status === undefined ? {} : { status }), error: scrub(error, url) };
}
