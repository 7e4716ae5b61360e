import { fail } from "../inputs.js";
import { run } from "./run.js";

run().catch(fail);
