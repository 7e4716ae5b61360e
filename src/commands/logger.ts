/** Progress lines for people; the CLI writes them to stderr, the actions to the job log. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined };
