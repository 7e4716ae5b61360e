import { restoreTestCommand } from "../../commands/restore-test/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(restoreTestCommand).catch(fail);
