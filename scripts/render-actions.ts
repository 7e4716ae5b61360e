// Prints every generated action.yml as one JSON object (path -> content), for scripts/build.mjs.
import { renderAllActionYmls } from "../src/settings/action-yml.js";
import { COMMANDS } from "../src/settings/spec.js";

process.stdout.write(JSON.stringify(Object.fromEntries(renderAllActionYmls(COMMANDS))));
