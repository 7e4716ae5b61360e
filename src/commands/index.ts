/**
 * Every command, in the order `lifeboat --help` lists them. A new command is a folder with a
 * definition.ts and one entry here (plus an entry under src/actions/ if it has an action).
 */
import { auditCommand } from "./audit/definition.js";
import { backupCommand } from "./backup/definition.js";
import type { AnyCommand } from "./command.js";
import { copyCommand } from "./copy/definition.js";
import { doctorCommand } from "./doctor/definition.js";
import { keygenCommand } from "./keygen/definition.js";
import { listCommand } from "./list/definition.js";
import { pruneCommand } from "./prune/definition.js";
import { rekeyCommand } from "./rekey/definition.js";
import { restoreTestCommand } from "./restore-test/definition.js";
import { restoreCommand } from "./restore/definition.js";
import { statusCommand } from "./status/definition.js";
import { restoreFilesCommand } from "./restore-files/definition.js";
import { verifyCommand } from "./verify/definition.js";

export const COMMAND_DEFINITIONS: readonly AnyCommand[] = [
  backupCommand,
  listCommand,
  pruneCommand,
  verifyCommand,
  restoreTestCommand,
  statusCommand,
  restoreCommand,
  copyCommand,
  restoreFilesCommand,
  doctorCommand,
  rekeyCommand,
  auditCommand,
  keygenCommand,
];
