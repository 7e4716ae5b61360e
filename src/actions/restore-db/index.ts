import { restoreCommand } from "../../commands/restore/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(restoreCommand).catch(fail);
