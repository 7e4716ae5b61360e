import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  createRedactor,
  MIN_SECRET_LENGTH,
  redactDeep,
  redactUrl,
  secretForms,
} from "../../src/domain/redact.js";

const NASTY = 'p@ss:w/rd "q"\\ é😀%+#?&=';

function userinfo(secret: string): string {
  const url = new URL("postgresql://scratch.example:5432/postgres");
  url.username = "lifeboat";
  url.password = secret;
  return url.href;
}

describe("secretForms", () => {
  test("holds the raw secret and the forms URL serializers and JSON give it", () => {
    const forms = secretForms(NASTY);
    for (const form of [
      NASTY,
      encodeURIComponent(NASTY),
      encodeURIComponent(NASTY).toLowerCase(),
      encodeURIComponent(NASTY).replaceAll("%20", "+"),
      new URL(userinfo(NASTY)).password,
      new URLSearchParams({ p: NASTY }).toString().slice(2),
      JSON.stringify(NASTY).slice(1, -1),
    ]) {
      assert.ok(forms.includes(form), form);
    }
  });

  test("every form is one line and long enough to mask; an identity file gives its lines", () => {
    const identity = "# created: 2026-11-29T00:00:00Z\n# public key: age1qqqq\nAGE-SECRET-KEY-1ABCDEFGHJ\n";
    const forms = secretForms(identity);
    assert.ok(forms.includes("AGE-SECRET-KEY-1ABCDEFGHJ"));
    assert.ok(!forms.some((form) => /[\r\n]/.test(form)));
    assert.ok(forms.every((form) => form.length >= MIN_SECRET_LENGTH));
    assert.deepEqual(secretForms("abc"), [], "too short to mask without mangling every message");
  });

  test("a secret connection URL gives its password (decoded too) and password parameters", () => {
    const forms = secretForms(
      "postgresql://app:s3cr%40t-pw@db.example/shop?sslpassword=key-pass&sslmode=require",
    );
    for (const form of ["s3cr%40t-pw", "s3cr@t-pw", "key-pass"]) assert.ok(forms.includes(form), form);
    assert.ok(!forms.includes("require"));
    const redact = createRedactor(["postgresql://app:s3cr%40t-pw@db.example/shop"]);
    assert.equal(redact('password "s3cr@t-pw" rejected'), 'password "***" rejected');
  });

  test("base64 cores cover the secret at any byte alignment (Basic auth, say)", () => {
    const secret = "hunter2-hunter2-hunter2";
    const redact = createRedactor([secret]);
    for (const user of ["", "a", "ab", "abc"]) {
      const header = `Authorization: Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
      const out = redact(header);
      const visible = Buffer.from(out.replace(/^.*Basic /, "").replaceAll("***", ""), "base64").toString(
        "latin1",
      );
      assert.ok(!visible.includes("hunter2-hunter2"), `${user}: ${out}`);
    }
  });
});

describe("createRedactor", () => {
  const redact = createRedactor([NASTY, "AGE-SECRET-KEY-1XYZXYZXYZ"]);

  const cases: [string, string][] = [
    ["raw", `error: ${NASTY}`],
    ["new URL() userinfo", `could not connect to ${userinfo(NASTY)}`],
    ["encodeURIComponent in a URL", `postgresql://u:${encodeURIComponent(NASTY)}@h/db`],
    ["lowercase hex", `postgresql://u:${encodeURIComponent(NASTY).toLowerCase()}@h/db`],
    ["+ for a space", `?password=${encodeURIComponent(NASTY).replaceAll("%20", "+")}`],
    ["URLSearchParams", new URLSearchParams({ sslpassword: NASTY }).toString()],
    ["JSON", JSON.stringify({ error: `failed: ${NASTY}` })],
    ["JSON of JSON", JSON.stringify(JSON.stringify({ error: `failed: ${NASTY}` }))],
    ["JSON of a URL", JSON.stringify({ url: userinfo(NASTY) })],
    [
      "\\u escapes",
      `{"p":"${NASTY.split("")
        .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
        .join("")}"}`,
    ],
    ["identity line in a log", "age: error: AGE-SECRET-KEY-1XYZXYZXYZ is not valid"],
  ];
  for (const [name, text] of cases) {
    test(`redacts the ${name} form`, () => {
      const out = redact(text);
      assert.ok(out.includes("***"), out);
      for (const form of secretForms(NASTY)) assert.ok(!out.includes(form), `${form} in ${out}`);
      assert.ok(!out.includes("AGE-SECRET-KEY-1XYZ"), out);
    });
  }

  test("masks any URL's password and password-like parameters by shape, whatever the value", () => {
    const none = createRedactor([]);
    assert.equal(none("at s3://AKIA:abc@bucket/x"), "at s3://AKIA:***@bucket/x");
    assert.equal(none("postgresql://u:ab@h/db"), "postgresql://u:***@h/db", "a short password too");
    assert.equal(
      none("postgresql://u:p@ss@h/db x@y"),
      "postgresql://u:***@h/db x@y",
      "a raw @ in the password",
    );
    assert.equal(
      none("host=db password='a b' sslpassword=k1 user=x"),
      "host=db password=*** sslpassword=*** user=x",
    );
    assert.equal(none("https://h/p?X-Amz-Signature=abcd&x=1"), "https://h/p?X-Amz-Signature=***&x=1");
    assert.equal(none("nothing secret here: sslmode=require"), "nothing secret here: sslmode=require");
  });

  test("leaves text without secrets alone, and keeps the text around a secret", () => {
    assert.equal(redact("restored 12 tables in 3.4 s"), "restored 12 tables in 3.4 s");
    assert.equal(redact(`a ${NASTY} b`), "a *** b");
  });

  test("is fast enough for a pg_restore log", () => {
    const many = createRedactor(["x".repeat(40), NASTY, "AGE-SECRET-KEY-1" + "Q".repeat(58)]);
    const log = "pg_restore: processing data for table public.t\n".repeat(20_000);
    const started = performance.now();
    assert.equal(many(log), log);
    assert.ok(performance.now() - started < 5_000);
  });
});

describe("redactUrl", () => {
  test("drops the user info and masks secret parameters, keeps the rest", () => {
    assert.equal(
      redactUrl(
        `postgresql://app:${encodeURIComponent(NASTY)}@db.example:5432/prod?sslmode=require&sslpassword=k`,
      ),
      "postgresql://db.example:5432/prod?sslmode=require&sslpassword=***",
    );
    assert.equal(
      redactUrl("https://hooks.slack.com/services/T/B/x"),
      "https://hooks.slack.com/services/T/B/x",
    );
    assert.equal(redactUrl("not a url, user:pw@host"), "not a url, user:pw@host");
    assert.equal(redactUrl("see postgres://u:pw@h/db"), "see postgres://u:***@h/db");
  });
});

describe("redactDeep", () => {
  test("redacts every string, key and error message, and leaves the input alone", () => {
    const redact = createRedactor([NASTY]);
    const input = {
      ok: false,
      error: `connecting to ${userinfo(NASTY)} failed`,
      nested: [{ [NASTY]: 1, when: new Date(0), cause: new Error(`bad ${NASTY}`) }],
      count: 3,
    };
    const out = redactDeep(input, redact);
    const text = JSON.stringify(out);
    for (const form of secretForms(NASTY)) assert.ok(!text.includes(form), form);
    assert.equal(out.count, 3);
    assert.equal((out.nested[0] as Record<string, unknown>).when, "1970-01-01T00:00:00.000Z");
    assert.match(text, /"message":"bad \*\*\*"/);
    assert.ok(input.error.includes(encodeURIComponent("@")), "input untouched");
  });

  test("survives cycles", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    assert.deepEqual(
      redactDeep(a, (text) => text),
      { name: "a", self: "[Circular]" },
    );
  });
});

// Characters that URL serializers, JSON and shells treat specially, plus any Unicode; no `*`, so
// that the mask itself cannot spell a secret.
const special = fc.constantFrom(..."@:/?#[]!$&'()+,;=% \"\\<>^`{|}~\t-._é😀中\u0000\u001f");
const secretArb = fc
  .array(fc.oneof(special, fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 })), {
    minLength: MIN_SECRET_LENGTH,
    maxLength: 24,
  })
  .map((parts) => parts.join(""))
  .filter(
    (secret) =>
      !secret.includes("*") && !/[\r\n]/.test(secret) && [...secret.trim()].length >= MIN_SECRET_LENGTH,
  );

function renderings(secret: string): string[] {
  const inUrl = userinfo(secret);
  const asUser = new URL("postgresql://h/db");
  asUser.username = secret;
  const fromString = new URL(`postgresql://lifeboat:${encodeURIComponent(secret)}@h:5432/db?sslmode=require`)
    .href;
  const record = { passed: false, failures: [`could not connect to ${inUrl}`], scratchServer: fromString };
  return [
    secret,
    `lifeboat: error: restore-test failed: ${secret}`,
    inUrl,
    asUser.href,
    fromString,
    `pg_dump: error: connection to server at "h" (10.0.0.1), port 5432 failed: invalid percent-encoded token: "${encodeURIComponent(secret)}"`,
    `error: password authentication failed for user "${secret}"`,
    `Error: connect ECONNREFUSED ${inUrl}`,
    JSON.stringify(record),
    JSON.stringify(record, null, 2),
    JSON.stringify({ ok: false, error: JSON.stringify(record) }),
    new URLSearchParams({ password: secret, sslmode: "require" }).toString(),
    `?password=${encodeURIComponent(secret).toLowerCase()}`,
    encodeURIComponent(secret).replaceAll("%20", "+"),
    `::error::${JSON.stringify(secret).slice(1, -1)}`,
  ];
}

describe("property: no form of a secret survives any rendering", () => {
  test("single-line secrets with URL-special characters, quotes and Unicode", () => {
    fc.assert(
      fc.property(secretArb, (secret) => {
        const redact = createRedactor([secret]);
        const forms = secretForms(secret);
        for (const text of renderings(secret)) {
          const out = redact(text);
          for (const form of forms) {
            assert.ok(!out.includes(form), `${JSON.stringify(form)} survives in ${JSON.stringify(out)}`);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test("multi-line secrets: no line survives, raw or inside JSON", () => {
    fc.assert(
      fc.property(fc.array(secretArb, { minLength: 2, maxLength: 4 }), (lines) => {
        const secret = lines.join("\n") + "\n";
        const redact = createRedactor([secret]);
        for (const text of [secret, JSON.stringify({ identity: secret }), `age: ${lines.at(-1)}`]) {
          const out = redact(text);
          for (const line of lines) {
            for (const form of secretForms(line)) assert.ok(!out.includes(form), `${form} in ${out}`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  test("several secrets at once, one containing another", () => {
    fc.assert(
      fc.property(secretArb, secretArb, (a, b) => {
        const redact = createRedactor([a, a + b, b]);
        const out = redact(JSON.stringify({ x: `${a}|${a + b}|${userinfo(b)}` }));
        for (const form of [...secretForms(a), ...secretForms(b)]) assert.ok(!out.includes(form), form);
      }),
      { numRuns: 200 },
    );
  });
});
