/**
 * Masking the scratch copy (issue 18): the rules file, its check against the database, the
 * filters and free SQL, the masker of the dump's archive with its verification, and the coverage
 * report. docs/masking.md.
 */
import { readFile } from "node:fs/promises";
import { describeError, InputError } from "../domain/errors.js";
import { parseMaskingRules, type MaskingRules } from "./rules.js";

export {
  parseMaskingRules,
  splitQualifiedName,
  type MaskingRules,
  type Strategy,
  type TableRule,
} from "./rules.js";
export { checkRulesAgainstCatalog, type MaskingPlan } from "./catalog-check.js";
export { planArchiveMasking, prepareScratch, type PreparedScratch, type TableOutcome } from "./apply.js";
export {
  ArchiveMasker,
  MaskingVerificationError,
  type ArchiveMaskPlan,
  type ArchiveMaskResult,
} from "./archive-mask.js";
export { ConstraintProbe } from "./constraint-probe.js";
export { defaultWorkers } from "./fake-pool.js";
export { coverageFailure, coverageReport, formatCoverageWarning, type CoverageWarning } from "./coverage.js";
export { maskingKey, type MaskingKey } from "./fakes.js";

/** Reads and parses the rules file named by `--mask`. */
export async function loadMaskingRules(path: string, input = "mask"): Promise<MaskingRules> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`${input}: cannot read ${path}: ${describeError(error)}`, { input, cause: error });
  }
  return parseMaskingRules(text, path);
}
