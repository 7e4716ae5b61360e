/**
 * The shape of the option table (src/settings/spec.ts): a leaf module, so that option readers and
 * the modules that declare options of their own (the channels) need not import the table itself.
 */
/**
 * How a value is given and read. On the edges: `boolean` is a bare CLI flag (`--clean`), `list`
 * is repeatable (one per line in an action), everything else takes a value.
 */
export type OptionType =
  /** Free text. */
  | "string"
  /** A file or directory on this machine. */
  | "path"
  /** An http:// or https:// URL. */
  | "url"
  /** A PostgreSQL connection URL (parsed into a DatabaseUrl). */
  | "database-url"
  /** A bare flag in the CLI; true or false (yes/no, 1/0, on/off) in an action. */
  | "boolean"
  /** A boolean given as a value (`--safety-backup false`), plus the keywords in `choices`. */
  | "true-false"
  /** Repeated flags, or one per line in an action; commas separate too; # starts a comment. */
  | "list"
  /** One of `choices`: matched case-insensitively, read as the spelling in the table. */
  | "choice"
  /** A whole number from `min` to `max`, or one of the keywords in `choices`. */
  | "integer"
  /** A duration such as 36h or 1d12h, read in milliseconds; at least `atLeast` when given. */
  | "duration"
  /** A byte size such as 500MB, read in bytes. */
  | "size"
  /** A percentage such as 50%, read as a fraction. */
  | "percent";

export interface OptionSpec {
  name: string;
  description: string;
  type: OptionType;
  /** choice: the accepted values; true-false and integer: keywords accepted besides. */
  choices?: readonly string[];
  /** integer: the smallest and largest accepted values. */
  min?: number;
  max?: number;
  /** duration: the shortest accepted value, as a user would type it, and why. */
  atLeast?: string;
  atLeastWhy?: string;
  /** Default for both edges, as the text a user would type; read by the same rules as a value. */
  default?: string;
  /** Where the edges differ: the CLI's default (e.g. a local directory to try things out). */
  cliDefault?: string;
  /** Where the edges differ: the action's default, e.g. an expression GitHub evaluates. */
  actionDefault?: string;
  /** Environment variable the CLI falls back to; an empty one counts as unset. */
  env?: string;
  /** Masked in the action before anything is logged; never echoed by the CLI or in an error. */
  secret?: boolean;
  required?: boolean;
  /**
   * The name of a boolean option of the same command that, when true, makes this required one
   * unneeded (it is then not read at all): the action marks the input not required, and the
   * description says when it is.
   */
  requiredUnless?: string;
  cliOnly?: boolean;
  actionOnly?: boolean;
  /** Placeholder in --help, e.g. URL. */
  value?: string;
  /** What a valid value looks like, in errors, where the type's own wording says too little. */
  expected?: string;
  /** list: items are separated by new lines only, since a value may hold commas (a path, a URL). */
  linesOnly?: boolean;
}

export interface OutputSpec {
  name: string;
  description: string;
}

export interface CommandSpec {
  /** CLI subcommand. */
  command: string;
  /** Action folder under actions/, when the command has an action. */
  action?: string;
  summary: string;
  options: OptionSpec[];
  outputs: OutputSpec[];
}
