import assert from "node:assert/strict";
import { test } from "node:test";
import { compareStorageObjects } from "../../src/files/storage-consistency.js";

const rows = [
  { bucket: "avatars", name: "u1/a.png" },
  { bucket: "avatars", name: "u2/b.png" },
  { bucket: "photos", name: "trip/😀.jpg" },
  { bucket: "photos", name: "other/x.jpg" },
];

test("s3://*: rows without a file and files without a row, across buckets", () => {
  const result = compareStorageObjects(
    rows,
    ["avatars", "avatars/u1/a.png", "photos/trip/😀.jpg", "photos/stray.jpg"],
    {
      bucket: "*",
      prefix: "",
    },
  );
  assert.equal(result.matched, 2);
  assert.deepEqual(result.missingFiles, [
    { bucket: "avatars", name: "u2/b.png" },
    { bucket: "photos", name: "other/x.jpg" },
  ]);
  assert.deepEqual(result.filesWithoutRow, [{ bucket: "photos", name: "stray.jpg" }]);
});

test("one bucket and prefix: only rows in scope count, paths are relative to the prefix", () => {
  const result = compareStorageObjects(rows, ["😀.jpg"], { bucket: "photos", prefix: "trip" });
  assert.deepEqual(result, { matched: 1, missingFiles: [], filesWithoutRow: [] });
  const whole = compareStorageObjects(rows, ["trip/😀.jpg"], { bucket: "photos", prefix: "" });
  assert.deepEqual(whole.missingFiles, [{ bucket: "photos", name: "other/x.jpg" }]);
});
