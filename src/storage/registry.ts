/**
 * Store drivers, registered by URL scheme (restic's location registry, pgBackRest's storage helper
 * list). A driver parses its own URLs, formats them back without credentials, names the options it
 * takes, and opens a Store. Adding a store kind is one driver module plus one line in STORE_DRIVERS
 * (and its location in the StoreLocation union).
 */
import { resolve } from "node:path";
import { InputError } from "../domain/errors.js";
import { fileDriver, type FileLocation } from "./file-driver.js";
import { s3Driver, type S3Location } from "./s3-driver.js";
import type { S3Options } from "./s3-store.js";
import type { StoreDriver } from "./driver.js";
import type { Store } from "./store.js";

/** Every location a driver parses; `kind` says which driver. */
export type StoreLocation = FileLocation | S3Location;

/** Options for every driver, each under its driver's kind; a driver reads only its own. */
export interface StoreOptions {
  s3?: S3Options;
}

type AnyDriver = {
  [K in StoreLocation["kind"]]: StoreDriver<Extract<StoreLocation, { kind: K }>, StoreOptions>;
}[StoreLocation["kind"]];

/** The registered drivers. A text without a scheme is a directory path (the file driver). */
export const STORE_DRIVERS: readonly AnyDriver[] = [s3Driver, fileDriver];

/** A scheme of two or more characters, so a Windows drive letter ("C:") is not one. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;

function expected(): string {
  const forms = STORE_DRIVERS.flatMap((driver) => driver.forms);
  return `expected ${forms.slice(0, -1).join(", ")} or ${forms.at(-1)}`;
}

export function parseLocation(text: string, options: { cwd: string; input?: string }): StoreLocation {
  const input = options.input ?? "storage";
  const fail = (why?: string): never => {
    const detail = why ? `${why}; ${expected()}` : expected();
    throw new InputError(`--${input} ${JSON.stringify(text)}: ${detail}`, { input });
  };
  const value = text.trim();
  if (value === "") return fail("empty");
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "file", path: resolve(options.cwd, value) };
  const driver = STORE_DRIVERS.find((candidate) => candidate.schemes.includes(scheme));
  if (!driver) return fail();
  return driver.parse(value, { cwd: options.cwd, fail });
}

function driverOf<L extends StoreLocation>(location: L): StoreDriver<L, StoreOptions> {
  const driver = STORE_DRIVERS.find((candidate) => candidate.kind === location.kind);
  if (!driver) throw new Error(`no store driver for ${location.kind}`);
  return driver as unknown as StoreDriver<L, StoreOptions>;
}

export function formatLocation(location: StoreLocation): string {
  return driverOf(location).format(location);
}

export function openLocation(location: StoreLocation, options: StoreOptions = {}): Promise<Store> {
  return driverOf(location).open(location, options);
}

export type { ParseContext, StoreDriver } from "./driver.js";
