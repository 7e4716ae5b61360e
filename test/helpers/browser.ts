/**
 * Headless Chromium from Debian's `chromium` package, driven by playwright-core (which downloads
 * no browser). Each launch gets a new empty profile and the flags that keep Chromium from talking
 * to Google on its own; every request the page makes is recorded and anything that is not the
 * page's own file is refused, so a test can assert that a page fetched nothing.
 *
 * Without Chromium: under CI=true the test fails (the CI script installs it); elsewhere it is
 * skipped with the reason.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/**
 * Debian's package first; then the names Ubuntu and GitHub's runner images use (they ship Chrome,
 * and Ubuntu's `chromium` package is only a snap shim). LIFEBOAT_CHROMIUM overrides.
 */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export const CHROMIUM_PATH =
  process.env.LIFEBOAT_CHROMIUM ?? CANDIDATES.find((path) => existsSync(path)) ?? CANDIDATES[0]!;

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A reason to skip, or undefined when Chromium is there. Throws under CI=true when it is not. */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install -y --no-install-recommends chromium)`;
  if (process.env.CI === "true") throw new Error(`CI=true and ${reason}`);
  return reason;
}

export interface Browsing {
  context: BrowserContext;
  /** Every URL the pages asked for, in order. */
  requests: string[];
  /** Requests refused because they left the page's own file. */
  blocked: string[];
  close(): Promise<void>;
}

export async function launchChromium(options: { allow?: (url: string) => boolean } = {}): Promise<Browsing> {
  const profile = mkdtempSync(join(tmpdir(), "lifeboat-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    offline: true,
    serviceWorkers: "block",
  });
  const requests: string[] = [];
  const blocked: string[] = [];
  const allow = options.allow ?? ((url: string) => url.startsWith("file://"));
  context.on("request", (request) => requests.push(request.url()));
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    if (allow(url)) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return {
    context,
    requests,
    blocked,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
