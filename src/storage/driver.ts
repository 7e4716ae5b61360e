/** What a store driver is (registry.ts lists them). Types only: drivers and the registry import it. */
import type { Store } from "./store.js";

export interface ParseContext {
  /** The directory a relative path is resolved against. */
  cwd: string;
  /** Throws the InputError for this URL, with `why` before the list of accepted forms. */
  fail(why?: string): never;
}

/**
 * A store kind: parses its own URLs, formats them back without credentials, names the options it
 * takes, and opens a Store. `O` is the registry's options object, of which it reads its own part.
 */
export interface StoreDriver<L extends { kind: string }, O> {
  kind: L["kind"];
  /** URL schemes it claims, lower case, without ":". */
  schemes: readonly string[];
  /** The forms it accepts, for error messages, e.g. "s3://bucket/prefix". */
  forms: readonly string[];
  /** The options (input names) that configure it, e.g. s3-endpoint. */
  options: readonly string[];
  /** Parses a URL of one of its schemes (the whole text, scheme included); fails with context.fail. */
  parse(text: string, context: ParseContext): L;
  /** The canonical URL, without credentials. */
  format(location: L): string;
  /** Opens the store; may load the driver's heavy modules lazily (the AWS SDK). */
  open(location: L, options: O): Promise<Store>;
}
