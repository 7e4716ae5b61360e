import { verifyCommand } from "../../commands/verify/definition.js";
import { fail } from "../inputs.js";
import { runAction } from "../run-action.js";

runAction(verifyCommand).catch(fail);
