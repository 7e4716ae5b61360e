import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../../src/domain/errors.js";
import { parsePercent, parseSize } from "../../src/domain/size.js";
import { missingTableData } from "../../src/postgres/pg-restore-list.js";

test("sizes take decimal and binary units", () => {
  assert.equal(parseSize("1048576", "min-size"), 1048576);
  assert.equal(parseSize("1MB", "min-size"), 1_000_000);
  assert.equal(parseSize("1.5 GiB", "min-size"), 1.5 * 1024 ** 3);
  assert.throws(
    () => parseSize("big", "min-size"),
    (error: unknown) => error instanceof InputError && error.input === "min-size",
  );
});

test("percentages become fractions", () => {
  assert.equal(parsePercent("50%", "max-size-change"), 0.5);
  assert.equal(parsePercent("12.5", "max-size-change"), 0.125);
  assert.throws(() => parsePercent("-3%", "max-size-change"), InputError);
});

test("missingTableData finds tables whose names hold spaces, quotes and line breaks, and reports the absent ones", () => {
  const listing = [
    ";     Format: CUSTOM",
    '3392; 0 16430 TABLE DATA Mixed Case Odd "Name" postgres',
    "3388; 0 16396 TABLE DATA shop customers postgres",
    "3389; 1259 16397 TABLE shop orders postgres",
    "3390; 0 16398 TABLE DATA shop line break postgres",
  ].join("\n");
  assert.deepEqual(
    missingTableData(listing, [
      { schema: "Mixed Case", table: 'Odd "Name"' },
      { schema: "shop", table: "customers" },
      { schema: "shop", table: "orders" },
      { schema: "shop", table: "custom" },
      { schema: "shop", table: "line\nbreak" },
      { schema: "shop", table: "line\r\nbreak" },
    ]),
    ["shop.orders", "shop.custom", "shop.line\r\nbreak"],
  );
});
