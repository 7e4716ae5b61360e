/**
 * The option table is the one place an option's default and accepted values are written: the
 * parsers read options only through it, every default reads cleanly, and no list of accepted
 * values is written twice.
 */
import assert from "node:assert/strict";
import { CHANNEL_OPTIONS } from "../../src/report/channels/index.js";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import ts from "typescript";
import { readOption } from "../../src/settings/read-option.js";
import { COMMANDS, GLOBAL_CLI_OPTIONS, OPTIONS, type OptionSpec } from "../../src/settings/spec.js";

/** The files that turn raw values into settings. */
const PARSERS = ["src/settings/settings.ts", "src/settings/report-settings.ts"];
const NAMES = new Set<string>(Object.values(OPTIONS).map((option) => option.name));

function sourceOf(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, each: (node: ts.Node) => void): void {
  each(node);
  node.forEachChild((child) => visit(child, each));
}

const where = (node: ts.Node) => {
  const source = node.getSourceFile();
  return `${source.fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
};

describe("the parsers read options only through the table", () => {
  test("no option is read by a name written in the parser (a call argument or an index)", () => {
    const found: string[] = [];
    for (const path of PARSERS) {
      visit(sourceOf(path), (node) => {
        if (!ts.isStringLiteralLike(node) || !NAMES.has(node.text)) return;
        const parent = node.parent;
        const read =
          (ts.isCallExpression(parent) && parent.arguments.includes(node as ts.Expression)) ||
          (ts.isElementAccessExpression(parent) && parent.argumentExpression === node);
        if (read) found.push(`${where(node)} "${node.text}"`);
      });
    }
    assert.deepEqual(found, [], "read these through OPTIONS instead");
  });

  test('no default is written beside the table (a `?? "text"` fallback)', () => {
    const found: string[] = [];
    for (const path of PARSERS) {
      visit(sourceOf(path), (node) => {
        if (
          ts.isBinaryExpression(node) &&
          node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken &&
          ts.isStringLiteralLike(node.right) &&
          /^(v|values|read)\.|^(text|givenText|readOption)\(/.test(node.left.getText())
        ) {
          found.push(`${where(node)} ${node.getText()}`);
        }
      });
    }
    assert.deepEqual(found, [], "put the default in the table");
  });
});

describe("the table", () => {
  test("each option is declared once; a command may reword it or say what makes it unneeded, nothing else", () => {
    // The table's own entries, and the channels' (each declared in its channel's module).
    const declared = [...new Set<OptionSpec>([...Object.values(OPTIONS), ...CHANNEL_OPTIONS])];
    const byName = new Map<string, OptionSpec>(declared.map((option) => [option.name, option]));
    assert.equal(byName.size, declared.length, "two declared options share a name");
    for (const command of COMMANDS) {
      const seen = new Set<string>();
      for (const option of command.options) {
        assert.ok(!seen.has(option.name), `${command.command} lists --${option.name} twice`);
        seen.add(option.name);
        const entry = byName.get(option.name);
        assert.ok(entry, `${command.command} --${option.name} is not in OPTIONS or a channel`);
        // requiredUnless names another option of the same command, so only a command can say it.
        assert.deepEqual(
          { ...option, description: "", requiredUnless: undefined },
          { ...entry, description: "", requiredUnless: undefined },
          option.name,
        );
        if (option.requiredUnless !== undefined) {
          const other = command.options.find((o) => o.name === option.requiredUnless);
          assert.ok(other?.type === "boolean", `${command.command} --${option.name}: requiredUnless`);
          assert.ok(option.required, `${command.command} --${option.name}: requiredUnless on an optional`);
        }
      }
    }
    for (const option of GLOBAL_CLI_OPTIONS) assert.ok(!byName.has(option.name), option.name);
  });

  test("every default reads cleanly by its own option's rules", () => {
    for (const option of Object.values(OPTIONS) as OptionSpec[]) {
      for (const fallback of [option.default, option.cliDefault]) {
        if (fallback === undefined) continue;
        assert.doesNotThrow(
          () => readOption({ [option.name]: fallback }, option),
          `--${option.name} "${fallback}"`,
        );
      }
      if (option.type === "choice") assert.ok(option.choices?.length, `--${option.name} has no choices`);
    }
  });

  test("no list of accepted values is written twice in the table", () => {
    const lists: string[] = [];
    visit(sourceOf("src/settings/spec.ts"), (node) => {
      if (
        ts.isArrayLiteralExpression(node) &&
        node.elements.length > 1 &&
        node.elements.every(ts.isStringLiteral)
      ) {
        lists.push(node.elements.map((element) => (element as ts.StringLiteral).text).join("|"));
      }
    });
    const twice = lists.filter((list, index) => lists.indexOf(list) !== index);
    assert.deepEqual(twice, [], "declare the list once and share it");
  });

  test("choices are read the same way everywhere: case-insensitively, as the table spells them", () => {
    for (const option of Object.values(OPTIONS) as OptionSpec[]) {
      if (option.type !== "choice") continue;
      for (const choice of option.choices!) {
        assert.equal(readOption({ [option.name]: choice.toUpperCase() }, option), choice);
        assert.equal(readOption({ [option.name]: choice.toLowerCase() }, option), choice);
      }
    }
  });
});

test("an input another one makes unneeded is not required in action.yml and says when it is", () => {
  const yml = readFileSync("actions/backup-db/action.yml", "utf8");
  const input = /\n {2}database-url:\n {4}description: (.*)\n {4}required: (\w+)\n/.exec(yml);
  assert.ok(input, "backup-db has a database-url input");
  assert.match(input[1]!, /Required unless no-database is true\./);
  assert.equal(input[2], "false");
  assert.match(yml, /\n {2}no-database:\n/);
  // Where nothing makes it unneeded it stays required: doctor's is CLI only, storage is everywhere.
  assert.match(yml, /\n {2}storage:\n {4}description: .*\n {4}required: true\n/);
  assert.equal(readFileSync("action.yml", "utf8"), yml.replace("../../dist/backup-db/", "dist/backup-db/"));
});
