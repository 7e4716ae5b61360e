/**
 * The two kinds of failure a user sees, and the exit code each maps to.
 *
 * InputError: the input or configuration is wrong (exit 2). Raised before anything is written or
 * deleted, with a message that names the input and what was expected.
 * OperationError: the operation ran and failed (exit 1): pg_dump died, the store went away, a
 * verification did not pass.
 */
export class LifeboatError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InputError extends LifeboatError {
  override readonly exitCode = 2;
  /** The input (flag / action input name, without dashes) that was wrong, when there is one. */
  readonly input: string | undefined;
  constructor(message: string, options?: { input?: string; cause?: unknown }) {
    super(message, options);
    this.input = options?.input;
  }
}

export class OperationError extends LifeboatError {
  override readonly exitCode = 1;
}

/** The object or key asked for does not exist. */
export class NotFoundError extends LifeboatError {}

/** One line of text from any thrown value, for messages that quote a lower layer's error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const line = firstLine(error.message || error.name, error.name);
    return line + serverAdvice(error, line);
  }
  return String(error);
}

function firstLine(text: string, otherwise: string): string {
  return text.split("\n").find((candidate) => candidate.trim() !== "") ?? otherwise;
}

/**
 * The error's first line without PostgreSQL's DETAIL, which can quote a row ("Failing row contains
 * (...)", "Key (email)=(...) already exists"), and without the value a data error quotes
 * (`invalid input syntax for type integer: "..."`, `value "..." is out of range for type
 * integer`): for errors of statements that read personal data (masking), whose messages must name
 * tables, columns and constraints but never values.
 */
export function describeErrorWithoutValues(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // A quoted value may hold a newline: it is cut from the whole message before the first line is taken.
  const text = (error.message || error.name).replace(/: ".*"$/s, ': "..."');
  return firstLine(text, error.name)
    .replace(/: ".*"$/, ': "..."')
    .replace(/\bvalue ".*" is out of range/, 'value "..." is out of range');
}

/**
 * PostgreSQL's DETAIL and HINT (node-postgres puts them on the error), which often say what to do
 * ("You might need to increase max_locks_per_transaction"), on the same line.
 */
function serverAdvice(error: Error, line: string): string {
  let out = "";
  for (const [field, label] of [
    ["detail", "DETAIL"],
    ["hint", "HINT"],
  ] as const) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (typeof value !== "string" || value.trim() === "") continue;
    const text = value.replace(/\s+/g, " ").trim();
    if (!line.includes(text)) out += ` ${label}: ${text}`;
  }
  return out;
}
