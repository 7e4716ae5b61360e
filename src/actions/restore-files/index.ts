import { restoreFilesCommand } from "../../commands/restore-files/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(restoreFilesCommand).catch(fail);
