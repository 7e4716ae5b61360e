/**
 * The layering rules of docs/architecture.md, checked on the sources: no import cycle in src/
 * (type-only imports included), only src/actions/ imports @actions/*, and src/domain/ imports
 * nothing but itself.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve("src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic, types included. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gms,
    /^\s*import\s+["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function localTarget(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
}

const files = sourceFiles(SRC);
const graph = new Map(
  files.map((file) => [
    file,
    specifiers(file)
      .map((specifier) => localTarget(file, specifier))
      .filter((target): target is string => target !== undefined),
  ]),
);
const rel = (file: string) => relative(SRC, file);

test("every relative import in src/ names a file that exists", () => {
  const missing = [...graph].flatMap(([file, targets]) =>
    targets.filter((target) => !graph.has(target)).map((target) => `${rel(file)} -> ${rel(target)}`),
  );
  assert.deepEqual(missing, []);
});

test("src/ has no import cycle, type-only imports included", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === "open") {
        cycles.push([...path.slice(path.indexOf(target)), target].map(rel).join(" -> "));
      } else if (!state.has(target) && graph.has(target)) {
        visit(target);
      }
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test("only src/actions/ imports @actions/*", () => {
  const offenders = files
    .filter((file) => !rel(file).startsWith("actions/"))
    .filter((file) => specifiers(file).some((specifier) => specifier.startsWith("@actions/")))
    .map(rel);
  assert.deepEqual(offenders, []);
});

test("src/domain/ imports only src/domain/ and node built-ins", () => {
  const offenders = files
    .filter((file) => rel(file).startsWith("domain/"))
    .flatMap((file) =>
      specifiers(file)
        .filter((specifier) => {
          const target = localTarget(file, specifier);
          if (target) return !rel(target).startsWith("domain/");
          return !specifier.startsWith("node:");
        })
        .map((specifier) => `${rel(file)} imports ${specifier}`),
    );
  assert.deepEqual(offenders, []);
});
