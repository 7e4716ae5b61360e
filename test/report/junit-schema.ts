/**
 * A structural validator for JUnit XML as common CI test reporters read it (the Jenkins/Surefire
 * "JUnit" schema that GitLab, Jenkins, Azure DevOps and the GitHub test-report actions accept):
 * well-formed XML first (one root, tags nested and closed, attributes quoted and unique, only the
 * five predefined entities or character references, no character XML 1.0 forbids), then the
 * elements, their required attributes and value types, their order, and counts that add up.
 * No network and no XSD engine: the rules are written out here.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class JUnitSchemaError extends Error {}

const NAME = /^[A-Za-z_][\w.-]*$/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function decode(text: string, where: string): string {
  return text.replace(/&([^;]*);/g, (_, entity: string) => {
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    if (entity in named) return named[entity]!;
    const numeric = /^#(?:x([0-9A-Fa-f]+)|(\d+))$/.exec(entity);
    if (numeric) return String.fromCodePoint(parseInt(numeric[1] ?? numeric[2]!, numeric[1] ? 16 : 10));
    throw new JUnitSchemaError(`${where}: unknown entity &${entity};`);
  });
}

/** Parses a well-formed XML document (no DTD, no CDATA needed) into elements. */
export function parseXml(xml: string): XmlElement {
  if (FORBIDDEN.test(xml)) throw new JUnitSchemaError("a character XML 1.0 forbids");
  const declaration = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n?/.exec(xml);
  if (!declaration) throw new JUnitSchemaError('no <?xml version="1.0" encoding="UTF-8"?> declaration');
  let at = declaration[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (at < xml.length) {
    const lt = xml.indexOf("<", at);
    const text = lt < 0 ? xml.slice(at) : xml.slice(at, lt);
    if (text.includes(">")) throw new JUnitSchemaError(`a bare > in text at ${at}`);
    if (stack.length > 0) stack.at(-1)!.text += decode(text, `text at ${at}`);
    else if (text.trim() !== "") throw new JUnitSchemaError(`text outside the root at ${at}`);
    if (lt < 0) break;
    const gt = xml.indexOf(">", lt);
    if (gt < 0) throw new JUnitSchemaError(`an unclosed tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    at = gt + 1;
    if (tag.startsWith("/")) {
      const open = stack.pop();
      if (!open || open.name !== tag.slice(1))
        throw new JUnitSchemaError(`</${tag.slice(1)}> closes ${open?.name}`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = /^([^\s/>]+)/.exec(body);
    if (!nameMatch || !NAME.test(nameMatch[1]!)) throw new JUnitSchemaError(`a bad tag <${tag}>`);
    const element: XmlElement = { name: nameMatch[1]!, attributes: {}, children: [], text: "" };
    let rest = body.slice(nameMatch[1]!.length);
    const attribute = /^\s+([A-Za-z_][\w.-]*)="([^"<]*)"/;
    for (let match = attribute.exec(rest); match; match = attribute.exec(rest)) {
      if (match[1]! in element.attributes) throw new JUnitSchemaError(`${element.name}: ${match[1]} twice`);
      element.attributes[match[1]!] = decode(match[2]!, `${element.name}@${match[1]}`);
      rest = rest.slice(match[0].length);
    }
    if (rest.trim() !== "") throw new JUnitSchemaError(`<${element.name}>: cannot read "${rest.trim()}"`);
    if (stack.length > 0) stack.at(-1)!.children.push(element);
    else if (root) throw new JUnitSchemaError("a second root element");
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new JUnitSchemaError(`<${stack.at(-1)!.name}> is not closed`);
  if (!root) throw new JUnitSchemaError("no root element");
  return root;
}

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;
/** xs:dateTime without a zone, as the schema's ISO8601_DATETIME_PATTERN asks. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

function require(element: XmlElement, name: string, pattern?: RegExp): string {
  const value = element.attributes[name];
  if (value === undefined) throw new JUnitSchemaError(`<${element.name}> has no ${name}`);
  if (pattern && !pattern.test(value)) throw new JUnitSchemaError(`<${element.name} ${name}="${value}">`);
  return value;
}

function order(element: XmlElement, allowed: string[]): void {
  let last = -1;
  for (const child of element.children) {
    const index = allowed.indexOf(child.name);
    if (index < 0) throw new JUnitSchemaError(`<${child.name}> inside <${element.name}>`);
    if (index < last) throw new JUnitSchemaError(`<${child.name}> out of order inside <${element.name}>`);
    last = index;
  }
}

export interface ValidatedSuite {
  name: string;
  cases: {
    classname: string;
    name: string;
    outcome: "passed" | "failure" | "skipped";
    message: string | null;
  }[];
}

/** Validates a JUnit document; returns its suites and cases for the test's own assertions. */
export function validateJUnit(xml: string): ValidatedSuite[] {
  const root = parseXml(xml);
  const suites = root.name === "testsuites" ? root.children : root.name === "testsuite" ? [root] : undefined;
  if (!suites) throw new JUnitSchemaError(`root <${root.name}>`);
  if (root.name === "testsuites") order(root, ["testsuite"]);
  const result: ValidatedSuite[] = [];
  let total = { tests: 0, failures: 0, skipped: 0 };
  for (const suite of suites) {
    require(suite, "name");
    const tests = Number(require(suite, "tests", INTEGER));
    const failures = Number(require(suite, "failures", INTEGER));
    const errors = Number(require(suite, "errors", INTEGER));
    const skipped = Number(suite.attributes.skipped ?? "0");
    require(suite, "time", DECIMAL);
    require(suite, "timestamp", TIMESTAMP);
    require(suite, "hostname");
    order(suite, ["properties", "testcase", "system-out", "system-err"]);
    for (const properties of suite.children.filter((child) => child.name === "properties")) {
      order(properties, ["property"]);
      for (const property of properties.children) {
        require(property, "name");
        require(property, "value");
      }
    }
    const cases = suite.children.filter((child) => child.name === "testcase");
    const validated: ValidatedSuite["cases"] = [];
    for (const testCase of cases) {
      const name = require(testCase, "name");
      const classname = require(testCase, "classname");
      require(testCase, "time", DECIMAL);
      order(testCase, ["skipped", "error", "failure", "system-out", "system-err"]);
      const outcomes = testCase.children.filter((child) =>
        ["skipped", "error", "failure"].includes(child.name),
      );
      if (outcomes.length > 1) throw new JUnitSchemaError(`testcase ${name}: ${outcomes.length} outcomes`);
      const outcome = outcomes[0];
      if (outcome?.name === "failure") require(outcome, "type");
      if (outcome && outcome.name !== "skipped") require(outcome, "message");
      validated.push({
        classname,
        name,
        outcome: outcome ? (outcome.name === "skipped" ? "skipped" : "failure") : "passed",
        message: outcome?.attributes.message ?? null,
      });
    }
    const count = (outcome: string) => validated.filter((c) => c.outcome === outcome).length;
    if (tests !== cases.length) throw new JUnitSchemaError(`tests="${tests}" but ${cases.length} testcases`);
    if (failures !== count("failure") || errors !== 0 || skipped !== count("skipped")) {
      throw new JUnitSchemaError(`counts: failures ${failures}, skipped ${skipped}`);
    }
    total = {
      tests: total.tests + tests,
      failures: total.failures + failures,
      skipped: total.skipped + skipped,
    };
    result.push({ name: suite.attributes.name!, cases: validated });
  }
  if (root.name === "testsuites") {
    if (Number(root.attributes.tests ?? total.tests) !== total.tests)
      throw new JUnitSchemaError("testsuites tests");
    if (Number(root.attributes.failures ?? total.failures) !== total.failures) {
      throw new JUnitSchemaError("testsuites failures");
    }
  }
  return result;
}
