/**
 * The GitHub edge of reporting: one report per action run, delivered to the job summary (always),
 * warnings as annotations, a sticky pull request comment, the notification channels
 * (src/report/channels/: Slack, Discord, Teams, a webhook, heartbeat pings), and for restore-test
 * a workflow artifact. Delivery never changes the step's result: every channel that fails says so with a
 * warning (or a notice) and the next one still runs. The step's result is the command's.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as core from "@actions/core";
import type { Logger } from "../commands/logger.js";
import type { ReportArtifact } from "../commands/command.js";
import { describeError } from "../domain/errors.js";
import { provenanceFromEnv } from "../domain/provenance.js";
import { loadHistory } from "../report/history.js";
import { renderMarkdown } from "../report/markdown.js";
import { channelSecrets, deliverToChannels, pingStart } from "../report/channels/deliver.js";
import { scrubber } from "../report/channels/scrub.js";
import type { PosterOptions } from "../report/channels/webhook-poster.js";
import { buildErrorReport, reportMarker, type Report, type ReportAction } from "../report/report.js";
import { parseReportSettings, type ReportSettings } from "../settings/report-settings.js";
import { givenText } from "../settings/read-option.js";
import { OPTIONS } from "../settings/spec.js";
import type { RawOptions } from "../settings/types.js";
import type { CommandSpec } from "../settings/spec.js";
import type { Store } from "../storage/store.js";
import { secretValues } from "./inputs.js";

const PR_EVENTS = new Set(["pull_request", "pull_request_target"]);
/** The whole pull request comment exchange (listing every page, then one write). */
const GITHUB_TIMEOUT_MS = 60_000;

export interface Delivery {
  /** The store the command used, for the history; absent when it never opened. */
  store?: Store;
  /** Files to upload as a workflow artifact beside the report (restore-test's logs). */
  artifact?: ReportArtifact;
}

export interface Reporter {
  action: ReportAction;
  label: string;
  settings: ReportSettings;
  runUrl: string | null;
  /** The command's logger: warnings become annotations at once, and are kept for the report. */
  log: Logger;
  loggedWarnings: string[];
  /** The report of a command that threw before it had a result. */
  errorReport(error: unknown): Report;
  /** Before the command runs: the channels' start hooks (a heartbeat's /start). Never throws. */
  start(): Promise<void>;
  deliver(report: Report, delivery?: Delivery): Promise<void>;
}

export interface ReporterOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Retry limits and test seams of the channels' poster. */
  webhook?: PosterOptions;
}

/**
 * Reads the reporting inputs (a bad one throws InputError before the command runs) and returns
 * the reporter the action's run() uses around its command.
 */
export function createReporter(
  action: ReportAction,
  spec: CommandSpec,
  raw: RawOptions,
  options: ReporterOptions = {},
): Reporter {
  const settings = parseReportSettings(raw);
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const secrets = [...secretValues(spec), ...(settings.githubToken ? [settings.githubToken] : [])];
  // The parts of webhook URLs that give access (a path, a `sig`) are masked like the whole URLs.
  for (const secret of channelSecrets(settings)) core.setSecret(secret);
  const scrub = scrubber([...secrets, ...channelSecrets(settings)]);
  const label = givenText(raw, OPTIONS.label) ?? OPTIONS.label.default;
  const runUrl = provenanceFromEnv(env)?.runUrl ?? null;
  const title = `Lifeboat ${action}`;
  const channelLog = {
    info: (message: string) => core.info(message),
    warn: (message: string) => core.warning(message, { title: "Lifeboat report" }),
  };
  const channelOptions = { log: channelLog, secrets, poster: options.webhook, now };
  const emitted = new Set<string>();
  const loggedWarnings: string[] = [];
  const annotate = (message: string) => {
    if (emitted.has(message)) return;
    emitted.add(message);
    core.warning(scrub(message), { title });
  };
  const reporter: Reporter = {
    action,
    label,
    settings,
    runUrl,
    loggedWarnings,
    log: {
      info: (message) => core.info(message),
      warn: (message) => {
        loggedWarnings.push(message);
        annotate(message);
      },
    },
    errorReport: (error) => buildErrorReport(action, error, { label, runUrl, loggedWarnings }),
    start: async () => {
      await pingStart(settings, { action, label }, channelOptions);
    },
    deliver: async (report, delivery = {}) => {
      await step("history", async () => {
        if (!delivery.store) return;
        report.history = await loadHistory(delivery.store, report.label, { now: now() });
      });
      for (const warning of report.warnings) annotate(warning);
      await step("job summary", async () => {
        await core.summary.addRaw(scrub(renderMarkdown(report, "summary"))).write();
      });
      await step("pull request comment", () => commentOnPullRequest(report, settings, env, scrub));
      await step("notifications", async () => {
        await deliverToChannels(report, settings, channelOptions);
      });
      const artifact = delivery.artifact;
      if (artifact) await step("report artifact", () => uploadReportArtifact(artifact, settings, env, scrub));
    },
  };
  return reporter;
}

/** One channel: whatever it throws becomes a warning, never the step's failure. */
async function step(name: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    core.warning(`Lifeboat could not write the ${name}: ${describeError(error)}`, {
      title: "Lifeboat report",
    });
  }
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

async function pullRequestNumber(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as {
    pull_request?: { number?: unknown };
    number?: unknown;
  };
  const number = event.pull_request?.number ?? event.number;
  return typeof number === "number" ? number : undefined;
}

/**
 * One comment per label and action on the pull request, found again by its hidden marker (across
 * every page of comments) and updated in place. 401/403/404 (no `pull-requests: write`, a read-only
 * token on a pull request from a fork) end in a warning.
 */
async function commentOnPullRequest(
  report: Report,
  settings: ReportSettings,
  env: NodeJS.ProcessEnv,
  scrub: (text: string) => string,
): Promise<void> {
  if (settings.commentOnPr === "never" || !PR_EVENTS.has(env.GITHUB_EVENT_NAME ?? "")) return;
  const number = await pullRequestNumber(env);
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  if (!number || !owner || !repo) {
    core.warning("Lifeboat found no pull request number or repository in the event: no comment written.", {
      title: "Lifeboat report",
    });
    return;
  }
  if (!settings.githubToken) {
    core.warning("github-token is empty: the pull request comment is skipped.", { title: "Lifeboat report" });
    return;
  }
  const marker = reportMarker(report);
  const body = scrub(renderMarkdown(report, "comment"));
  const github = await import("@actions/github");
  const octokit = github.getOctokit(settings.githubToken);
  const where = { owner, repo, issue_number: number };
  // Octokit sets no timeout of its own: a GitHub that hangs must not hold the step.
  const request = { signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) };
  try {
    let existing: number | undefined;
    for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
      ...where,
      per_page: 100,
      request,
    })) {
      const found = page.data.find((comment) => comment.body?.includes(marker));
      if (found) {
        existing = found.id;
        break;
      }
    }
    if (existing !== undefined) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing, body, request });
      core.info(`Updated the Lifeboat comment on pull request #${number}.`);
    } else {
      await octokit.rest.issues.createComment({ ...where, body, request });
      core.info(`Commented on pull request #${number}.`);
    }
  } catch (error) {
    const status = httpStatus(error);
    if (status === 401 || status === 403 || status === 404) {
      core.warning(
        `Lifeboat could not comment on pull request #${number}: GitHub answered ${status}. ` +
          "The job needs `permissions: pull-requests: write`; on a pull request from a fork the token is read-only, " +
          "so the report is in the job summary only.",
        { title: "Lifeboat report" },
      );
      return;
    }
    throw new Error(
      `GitHub answered ${status ?? "nothing"} on pull request #${number}: ${scrub(describeError(error))}`,
      { cause: error },
    );
  }
}

async function uploadReportArtifact(
  artifact: ReportArtifact,
  settings: ReportSettings,
  env: NodeJS.ProcessEnv,
  scrub: (text: string) => string,
): Promise<void> {
  if (settings.reportArtifact === "never") return;
  if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
    core.notice(
      `The ${artifact.title} artifact was skipped: the artifact service is not available here (no ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL).`,
      { title: "Lifeboat report" },
    );
    return;
  }
  const dir = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), "lifeboat-report-"));
  try {
    const files = artifact.files;
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), scrub(content));
    const name = [artifact.name, env.GITHUB_JOB, env.GITHUB_RUN_ATTEMPT]
      .filter(Boolean)
      .join("-")
      .replace(/[^A-Za-z0-9._-]/g, "_");
    const { DefaultArtifactClient } = await import("@actions/artifact");
    const uploaded = await new DefaultArtifactClient().uploadArtifact(
      name,
      Object.keys(files).map((file) => join(dir, file)),
      dir,
    );
    core.info(
      `Uploaded the ${artifact.title} as artifact ${name}${uploaded.id ? ` (id ${uploaded.id})` : ""}.`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
