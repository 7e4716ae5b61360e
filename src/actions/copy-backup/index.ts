import { copyCommand } from "../../commands/copy/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(copyCommand).catch(fail);
