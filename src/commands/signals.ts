/**
 * Cancellation by signal, shared by both edges. Free of imports, so the CLI can install it before
 * it loads anything heavy.
 */

/**
 * The first SIGINT or SIGTERM aborts the returned signal (children stop, uploads abort, nothing is
 * committed); a second one exits at once with the signal's conventional code (130 or 143).
 */
export function cancelOnSignals(process: NodeJS.Process): AbortSignal {
  const controller = new AbortController();
  for (const [name, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(name, () => {
      if (controller.signal.aborted) process.exit(code);
      controller.abort(new CancelledError(name));
    });
  }
  return controller.signal;
}

/** The run was stopped by a signal; the edge exits with the signal's conventional code. */
export class CancelledError extends Error {
  readonly exitCode: number;
  constructor(readonly signalName: "SIGINT" | "SIGTERM") {
    super(`received ${signalName}`);
    this.name = "CancelledError";
    this.exitCode = signalName === "SIGINT" ? 130 : 143;
  }
}
