import type { Provenance } from "./manifest.js";

/** Where a backup came from, when it was made in GitHub Actions; null elsewhere. */
export function provenanceFromEnv(env: Record<string, string | undefined>): Provenance | null {
  if (env.GITHUB_ACTIONS !== "true") return null;
  const value = (name: string) => env[name] || null;
  const server = env.GITHUB_SERVER_URL || "https://github.com";
  const runUrl =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${
          env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ""
        }`
      : null;
  return {
    repository: value("GITHUB_REPOSITORY"),
    commit: value("GITHUB_SHA"),
    ref: value("GITHUB_REF"),
    workflow: value("GITHUB_WORKFLOW"),
    runId: value("GITHUB_RUN_ID"),
    runAttempt: value("GITHUB_RUN_ATTEMPT"),
    runUrl,
    actor: value("GITHUB_ACTOR"),
    event: value("GITHUB_EVENT_NAME"),
  };
}
