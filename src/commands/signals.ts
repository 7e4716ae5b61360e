/**
 * Cancellation by signal, shared by both edges. Free of imports, so the CLI can install it before
 * it loads anything heavy.
 */

/** The signals that cancel a run, with the conventional exit code (128 + the signal's number). */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type CancellingSignal = keyof typeof EXIT_CODES;

/** Synchronous last-chance cleanups, run when a second signal exits the process at once. */
const forcedExitCleanups = new Set<() => void>();

/**
 * Registers `cleanup` (synchronous: removing a decrypted file) to run if a second SIGINT or
 * SIGTERM exits the process before the command's own cleanup finished. Returns the unregister
 * function, to call once the thing to clean up is gone.
 */
export function onForcedExit(cleanup: () => void): () => void {
  forcedExitCleanups.add(cleanup);
  return () => forcedExitCleanups.delete(cleanup);
}

/**
 * The first SIGINT, SIGTERM or SIGHUP aborts the returned signal (children stop, uploads abort,
 * nothing is committed); a second one runs the registered forced-exit cleanups and exits at once
 * with the signal's conventional code (130, 143 or 129). SIGHUP is a closed terminal or a dropped
 * SSH session: left to Node's default it would kill the process outright, leaving the decrypted
 * archive on disk, the scratch database and an orphaned pg_restore.
 */
export function cancelOnSignals(process: NodeJS.Process): AbortSignal {
  const controller = new AbortController();
  for (const name of Object.keys(EXIT_CODES) as CancellingSignal[]) {
    process.on(name, () => {
      if (controller.signal.aborted) {
        for (const cleanup of forcedExitCleanups) {
          try {
            cleanup();
          } catch {
            // Best effort: the exit must not wait on, or fail for, a cleanup.
          }
        }
        process.exit(EXIT_CODES[name]);
      }
      controller.abort(new CancelledError(name));
    });
  }
  return controller.signal;
}

/** The run was stopped by a signal; the edge exits with the signal's conventional code. */
export class CancelledError extends Error {
  readonly exitCode: number;
  constructor(readonly signalName: CancellingSignal) {
    super(`received ${signalName}`);
    this.name = "CancelledError";
    this.exitCode = EXIT_CODES[signalName];
  }
}
