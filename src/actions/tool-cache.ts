/**
 * The Actions cache for installed PostgreSQL clients (src/postgres/pg-install.ts). @actions/cache
 * is loaded only when a client has to be fetched. A cache that is not there (no results service,
 * a run outside Actions) or fails is a miss and a log line, never a failure: the install simply
 * downloads.
 */
import type * as ActionsCache from "@actions/cache";
import type { Logger } from "../commands/logger.js";
import { describeError } from "../domain/errors.js";
import type { ToolCache } from "../postgres/pg-install.js";
import { actionLogger } from "./inputs.js";

type CacheModule = typeof ActionsCache;

export function actionsToolCache(
  log: Logger = actionLogger,
  load: () => Promise<CacheModule> = () => import("@actions/cache"),
): ToolCache {
  let loaded: Promise<CacheModule | undefined> | undefined;
  const available = async (doing: string): Promise<CacheModule | undefined> => {
    loaded ??= load().catch((error: unknown) => {
      log.info(
        `The Actions cache cannot be loaded (${describeError(error)}); installed clients are not cached`,
      );
      return undefined;
    });
    const cache = await loaded;
    if (!cache) return undefined;
    if (!cache.isFeatureAvailable()) {
      log.info(`The Actions cache service is not available here; ${doing}`);
      return undefined;
    }
    return cache;
  };
  return {
    async restore(paths, key) {
      try {
        const cache = await available("downloading instead of restoring");
        if (!cache) return false;
        const hit = await cache.restoreCache(paths, key);
        if (!hit) log.info(`No cache entry ${key}`);
        return hit !== undefined;
      } catch (error) {
        log.info(`Restoring cache entry ${key} failed (${describeError(error)}); downloading instead`);
        return false;
      }
    },
    async save(paths, key) {
      try {
        const cache = await available("the installed client is not saved for the next run");
        if (!cache) return;
        // saveCache reports most failures itself (a warning) and returns -1 instead of throwing.
        const id = await cache.saveCache(paths, key);
        if (id === -1) log.info(`Cache entry ${key} was not saved; the next run downloads again`);
        else log.info(`Saved ${paths.join(", ")} to the Actions cache as ${key}`);
      } catch (error) {
        // Another job saving the same key first (ReserveCacheError) lands here too: harmless.
        log.info(`Saving cache entry ${key} failed (${describeError(error)}); the next run downloads again`);
      }
    },
  };
}
