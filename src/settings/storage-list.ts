/**
 * Storage URLs with their own options (issue 15, docs/offsite.md). The s3-* options apply to every
 * s3:// URL; one URL can override them after `?` with the same names less the `s3-` prefix
 * (`s3://offsite/db?endpoint=https://...&region=eu-central-003&force-path-style=true`), which is
 * the Go CDK's blob URL form, and name a second account with `credentials=PREFIX` (read from
 * PREFIX_AWS_ACCESS_KEY_ID and PREFIX_AWS_SECRET_ACCESS_KEY when the store is opened). A query
 * never holds a secret: an unknown key is refused, so a pasted access key fails instead of being
 * logged. A local directory takes no options and its text is kept whole.
 */
import { InputError } from "../domain/errors.js";
import type { OptionSpec } from "./option-spec.js";
import { readOption } from "./read-option.js";
import { OPTIONS } from "./spec.js";
import type { Destination, S3Settings } from "./types.js";

/** Query keys and the options they override. */
const QUERY_OPTIONS: Record<string, OptionSpec> = {
  endpoint: OPTIONS.s3Endpoint,
  region: OPTIONS.s3Region,
  "force-path-style": OPTIONS.s3ForcePathStyle,
  checksums: OPTIONS.s3Checksums,
  sse: OPTIONS.s3Sse,
  "sse-kms-key-id": OPTIONS.s3SseKmsKeyId,
};

const QUERY_FIELDS: Record<string, keyof S3Settings> = {
  endpoint: "endpoint",
  region: "region",
  "force-path-style": "forcePathStyle",
  checksums: "checksums",
  sse: "sse",
  "sse-kms-key-id": "sseKmsKeyId",
};

const CREDENTIALS_KEY = "credentials";
/** An environment variable prefix: what a shell and a workflow's `env:` both accept. */
const ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One storage URL: the URL without its query, and the S3 settings `base` with the query's
 * overrides. `input` names the option in errors (storage, from, to).
 */
export function parseDestination(text: string, base: S3Settings, input: string): Destination {
  const trimmed = text.trim();
  const mark = trimmed.indexOf("?");
  if (!/^s3:/i.test(trimmed) || mark < 0) return { storage: trimmed, s3: { ...base } };
  const storage = trimmed.slice(0, mark);
  const fail = (why: string): never => {
    throw new InputError(`--${input} "${storage}": ${why}`, { input });
  };
  const s3: S3Settings = { ...base };
  const seen = new Set<string>();
  for (const pair of trimmed.slice(mark + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const key = decodeURIComponent(equals < 0 ? pair : pair.slice(0, equals)).toLowerCase();
    const value = equals < 0 ? "" : decodeURIComponent(pair.slice(equals + 1));
    if (seen.has(key)) fail(`option ${key} given twice`);
    seen.add(key);
    if (key === CREDENTIALS_KEY) {
      if (!ENV_PREFIX.test(value)) {
        fail(
          `credentials=${value}: expected an environment variable prefix such as OFFSITE (for OFFSITE_AWS_ACCESS_KEY_ID and OFFSITE_AWS_SECRET_ACCESS_KEY); the keys themselves never go in the URL`,
        );
      }
      s3.credentialsEnv = { prefix: value, optional: false };
      continue;
    }
    const option = QUERY_OPTIONS[key];
    const field = QUERY_FIELDS[key];
    if (!option || !field) {
      fail(
        `unknown option "${key}" after ?: expected ${[...Object.keys(QUERY_OPTIONS), CREDENTIALS_KEY].join(", ")} (credentials name an environment variable prefix, never the keys)`,
      );
      continue;
    }
    let parsed: unknown;
    try {
      // A bare flag (`?force-path-style`) means true, as on the command line.
      parsed = readOption(
        { [option.name]: value === "" && option.type === "boolean" ? "true" : value },
        option,
      );
    } catch (error) {
      fail(`${key}: ${(error as Error).message}`);
    }
    if (parsed === undefined) fail(`${key}: a value is required`);
    (s3 as unknown as Record<string, unknown>)[field] = parsed;
  }
  if (s3.sseKmsKeyId !== undefined && s3.sse !== "aws:kms")
    fail("sse-kms-key-id is only used with sse=aws:kms");
  return { storage, s3 };
}

/** The URLs of a repeatable storage option, in order; the same store twice is refused. */
export function parseDestinations(texts: readonly string[], base: S3Settings, input: string): Destination[] {
  if (texts.length === 0) {
    throw new InputError(
      `--${input}: required; expected s3://bucket/prefix, file:///absolute/path or a directory path`,
      { input },
    );
  }
  const destinations = texts.map((text) => parseDestination(text, base, input));
  const seen = new Set<string>();
  for (const destination of destinations) {
    const key = sameStoreKey(destination);
    if (seen.has(key)) {
      throw new InputError(`--${input} "${destination.storage}": given twice; each destination once`, {
        input,
      });
    }
    seen.add(key);
  }
  return destinations;
}

/** What makes two destinations the same store: the URL, and for S3 the endpoint it is on. */
export function sameStoreKey(destination: Destination): string {
  const url = destination.storage.replace(/\/+$/, "");
  return url.startsWith("s3:") ? `${url} at ${destination.s3.endpoint ?? "AWS"}` : url;
}
