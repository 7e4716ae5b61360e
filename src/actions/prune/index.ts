import { pruneCommand } from "../../commands/prune/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(pruneCommand).catch(fail);
