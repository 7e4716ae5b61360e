/**
 * Raw option values (from CLI flags and the environment, or from action inputs) parsed once into
 * typed settings. Every error names the option and what was expected, and is raised before
 * anything is read from or written to a database or a store.
 */
import { readFileSync } from "node:fs";
import { parseDatabaseUrl, type DatabaseUrl } from "../domain/database-url.js";
import { InputError } from "../domain/errors.js";
import { emptyScope, validateExtraArgs, validateScope } from "../domain/dump-plan.js";
import { validateLabel } from "../domain/layout.js";
import type { DumpScope } from "../domain/manifest.js";

export type RawValue = string | string[] | boolean | undefined;
export type RawOptions = Record<string, RawValue>;

export interface S3Settings {
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
  checksums: "when-required" | "when-supported";
  sse: "AES256" | "aws:kms" | undefined;
  sseKmsKeyId: string | undefined;
}

export interface StorageSettings {
  storage: string;
  label: string;
  s3: S3Settings;
}

export type EncryptionSettings =
  | { kind: "recipients"; recipients: string[] }
  | { kind: "passphrase"; passphrase: string }
  | { kind: "none" };

export interface BackupSettings extends StorageSettings {
  databaseUrl: DatabaseUrl;
  encryption: EncryptionSettings;
  compression: string;
  scope: DumpScope;
  extraArgs: string[];
  pgBinDir: string | undefined;
}

export function text(raw: RawOptions, name: string): string | undefined {
  const value = raw[name];
  if (Array.isArray(value)) return value.at(-1)?.trim() || undefined;
  if (typeof value === "boolean") return String(value);
  return value?.trim() || undefined;
}

export function required(raw: RawOptions, name: string, expected: string): string {
  const value = text(raw, name);
  if (value === undefined) throw new InputError(`--${name}: required; expected ${expected}`, { input: name });
  return value;
}

/** A list option: repeated flags, and each value split on new lines (action inputs) and commas. */
export function list(raw: RawOptions, name: string): string[] {
  const value = raw[name];
  const values = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return values
    .flatMap((item) => item.split(/[\n,]/))
    .map((item) => item.trim())
    .filter((item) => item !== "" && !item.startsWith("#"));
}

export function flag(raw: RawOptions, name: string): boolean {
  const value = raw[name];
  if (value === undefined || value === "") return false;
  if (typeof value === "boolean") return value;
  const normalized = String(Array.isArray(value) ? value.at(-1) : value)
    .trim()
    .toLowerCase();
  if (["true", "yes", "1", "on"].includes(normalized)) return true;
  if (["false", "no", "0", "off", ""].includes(normalized)) return false;
  throw new InputError(`--${name} "${String(value)}": expected true or false`, { input: name });
}

function oneOf<T extends string>(raw: RawOptions, name: string, choices: readonly T[], fallback: T): T {
  const value = text(raw, name) ?? fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(`--${name} "${value}": expected ${choices.join(" or ")}`, { input: name });
  }
  return value as T;
}

export function parseStorageSettings(raw: RawOptions): StorageSettings {
  const sse = text(raw, "s3-sse");
  if (sse !== undefined && sse !== "AES256" && sse !== "aws:kms") {
    throw new InputError(`--s3-sse "${sse}": expected AES256 or aws:kms`, { input: "s3-sse" });
  }
  const sseKmsKeyId = text(raw, "s3-sse-kms-key-id");
  if (sseKmsKeyId !== undefined && sse !== "aws:kms") {
    throw new InputError(`--s3-sse-kms-key-id: only used with --s3-sse aws:kms`, {
      input: "s3-sse-kms-key-id",
    });
  }
  const endpoint = text(raw, "s3-endpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new InputError(`--s3-endpoint "${endpoint}": expected an http:// or https:// URL`, {
      input: "s3-endpoint",
    });
  }
  return {
    storage: required(raw, "storage", "s3://bucket/prefix, file:///absolute/path or a directory path"),
    label: validateLabel(text(raw, "label") ?? "default"),
    s3: {
      endpoint,
      region: text(raw, "s3-region"),
      forcePathStyle: flag(raw, "s3-force-path-style"),
      checksums: oneOf(raw, "s3-checksums", ["when-required", "when-supported"] as const, "when-required"),
      sse,
      sseKmsKeyId,
    },
  };
}

/**
 * Encryption: public recipients, or one passphrase, or an explicit `none`. Neither is a bad input:
 * an unencrypted backup is never made by accident.
 */
export function parseEncryptionSettings(raw: RawOptions): EncryptionSettings {
  const mode = flag(raw, "no-encryption")
    ? "none"
    : oneOf(raw, "encryption", ["age", "none"] as const, "age");
  const recipients = list(raw, "recipient");
  const passphraseFile = text(raw, "passphrase-file");
  let passphrase = text(raw, "passphrase");
  if (passphraseFile !== undefined) {
    try {
      passphrase = readFileSync(passphraseFile, "utf8").split(/\r?\n/)[0];
    } catch (error) {
      throw new InputError(
        `--passphrase-file "${passphraseFile}": cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        { input: "passphrase-file" },
      );
    }
    if (!passphrase) {
      throw new InputError(`--passphrase-file "${passphraseFile}": the first line is empty`, {
        input: "passphrase-file",
      });
    }
  }
  if (mode === "none") {
    if (recipients.length > 0 || passphrase !== undefined) {
      throw new InputError(
        "--encryption none: remove --recipient and the passphrase, or drop --encryption none",
        {
          input: "encryption",
        },
      );
    }
    return { kind: "none" };
  }
  if (recipients.length > 0 && passphrase !== undefined) {
    throw new InputError(
      "--recipient and a passphrase: choose one (age allows a passphrase only on its own)",
      {
        input: "recipient",
      },
    );
  }
  if (passphrase !== undefined) return { kind: "passphrase", passphrase };
  if (recipients.length === 0) {
    throw new InputError(
      "--recipient: required; expected an age public key (age1...), or a passphrase (--passphrase-file / LIFEBOAT_PASSPHRASE), or --encryption none to opt out of encryption",
      { input: "recipient" },
    );
  }
  return { kind: "recipients", recipients };
}

export function parseBackupSettings(raw: RawOptions): BackupSettings {
  const databaseUrl = parseDatabaseUrl(
    required(raw, "database-url", "postgresql://user:password@host:port/database"),
  );
  const storage = parseStorageSettings(raw);
  const scope = validateScope({
    ...emptyScope(),
    schemaOnly: flag(raw, "schema-only"),
    dataOnly: flag(raw, "data-only"),
    includeSchemas: list(raw, "include-schema"),
    excludeSchemas: list(raw, "exclude-schema"),
    includeTables: list(raw, "include-table"),
    excludeTables: list(raw, "exclude-table"),
    excludeTableData: list(raw, "exclude-table-data"),
  });
  const extraArgs = validateExtraArgs((text(raw, "pg-dump-args") ?? "").split(/\s+/).filter(Boolean));
  return {
    ...storage,
    databaseUrl,
    encryption: parseEncryptionSettings(raw),
    compression: text(raw, "compression") ?? "auto",
    scope,
    extraArgs,
    pgBinDir: text(raw, "pg-bin-dir"),
  };
}
