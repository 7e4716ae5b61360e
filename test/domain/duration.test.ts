import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatDuration, parseDuration, parseDurationOption } from "../../src/domain/duration.js";
import { InputError } from "../../src/domain/errors.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const W = 7 * D;

describe("parseDuration", () => {
  test("reads the documented forms", () => {
    assert.equal(parseDuration("36h"), 36 * H);
    assert.equal(parseDuration("7d"), 7 * D);
    assert.equal(parseDuration("2w"), 2 * W);
    assert.equal(parseDuration("1d12h"), D + 12 * H);
    assert.equal(parseDuration("90m"), 90 * M);
    assert.equal(parseDuration("45s"), 45 * S);
    assert.equal(parseDuration("1w2d3h4m5s"), W + 2 * D + 3 * H + 4 * M + 5 * S);
    assert.equal(parseDuration("0s"), 0);
    assert.equal(parseDuration("0h"), 0);
    assert.equal(parseDuration("007d"), 7 * D);
    assert.equal(parseDuration(" 24h "), 24 * H, "surrounding spaces, as action inputs may carry");
  });

  test("refuses what is not a duration", () => {
    for (const text of [
      "",
      " ",
      "7",
      "d",
      "7 d",
      "7days",
      "1.5h",
      "-1h",
      "+1h",
      "1h1d",
      "1h2h",
      "1d 12h",
      "7D",
      "1y",
      "1mo",
      "1ms",
      "P7D",
      "h7",
      "7dx",
      "99999999999999999999w",
    ]) {
      assert.equal(parseDuration(text), undefined, JSON.stringify(text));
    }
  });

  test("parseDurationOption names the input in a one-line InputError", () => {
    assert.equal(parseDurationOption("2w", "keep-within"), 2 * W);
    assert.throws(
      () => parseDurationOption("7 days", "keep-within"),
      (error: unknown) =>
        error instanceof InputError &&
        error.input === "keep-within" &&
        error.exitCode === 2 &&
        error.message ===
          '--keep-within "7 days": expected a duration such as 36h, 7d, 2w, 1d12h or 90m (units w, d, h, m, s)',
    );
  });
});

describe("formatDuration", () => {
  test("writes the shortest form", () => {
    assert.equal(formatDuration(0), "0s");
    assert.equal(formatDuration(90 * M), "1h30m");
    assert.equal(formatDuration(36 * H), "1d12h");
    assert.equal(formatDuration(14 * D), "2w");
    assert.equal(formatDuration(W + 5 * S), "1w5s");
    assert.equal(formatDuration(1500), "1s", "whole seconds, rounded down");
  });

  test("parseDuration reads back what formatDuration writes (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: (10_000 * W) / S }), (seconds) => {
        assert.equal(parseDuration(formatDuration(seconds * S)), seconds * S);
      }),
      { numRuns: 5000 },
    );
  });

  test("any well-formed sequence of parts parses to the sum of its parts (property)", () => {
    const units = [
      ["w", W],
      ["d", D],
      ["h", H],
      ["m", M],
      ["s", S],
    ] as const;
    fc.assert(
      fc.property(
        fc
          .subarray([0, 1, 2, 3, 4], { minLength: 1 })
          .chain((chosen) =>
            fc.tuple(
              fc.constant(chosen),
              fc.array(fc.nat(100_000), { minLength: chosen.length, maxLength: chosen.length }),
            ),
          ),
        ([chosen, counts]) => {
          const text = chosen.map((unit, i) => `${counts[i]}${units[unit]![0]}`).join("");
          const expected = chosen.reduce((sum, unit, i) => sum + counts[i]! * units[unit]![1], 0);
          assert.equal(parseDuration(text), expected, text);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
