/**
 * The oldest Node.js the CLI runs on. zlib's zstd (the default compression) arrived in 22.15 and
 * 23.8; the actions themselves run on the runner's node24. Kept free of imports so the CLI can
 * check it before loading anything else.
 */
export const MINIMUM_NODE = "22.15.0";

/** Why `version` (as in process.versions.node) is too old, or undefined when it will do. */
export function nodeTooOld(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10));
  const supported = major > 23 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15);
  if (supported) return undefined;
  return `Node.js ${MINIMUM_NODE} or later is required, and this is Node.js ${version}`;
}
