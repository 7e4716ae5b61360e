import { backupCommand } from "../../commands/backup/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(backupCommand).catch(fail);
