/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The status page as a person sees it, in headless Chromium (Debian's package, driven by
 * playwright-core): loaded from disk with every request recorded and anything but the file itself
 * refused. The page and its screenshots stay in test-output/status/ (ignored by git).
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { buildStatus, type StatusModel } from "../../src/report/status/model.js";
import { escapeHtml, renderStatusHtml } from "../../src/report/status/html.js";
import { renderPrometheus } from "../../src/report/status/prometheus.js";
import { renderStatusJson } from "../../src/report/status/model.js";
import { chromiumSkipReason, launchChromium, type Browsing } from "../helpers/browser.js";
import { DAY, NOW, SECRET, SECRET_URL, TOKEN, label, mixedStore } from "./status-fixtures.js";

export const OUTPUT_DIR = resolve("test-output/status");
const HOSTILE = '<script>alert("x")</script>&amp;';

const skip = chromiumSkipReason();

let model: StatusModel;
let html: string;
let pageUrl: string;
let browsing: Browsing | undefined;

before(async () => {
  model = buildStatus(mixedStore(), {
    now: NOW,
    storage: `s3://AKIAEXAMPLE:${SECRET}@backups/pg?X-Amz-Credential=${TOKEN}`,
    thresholds: { maxRestoreAgeSeconds: 8 * DAY },
    secrets: [TOKEN, SECRET],
  });
  html = renderStatusHtml(model);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = join(OUTPUT_DIR, "status.html");
  writeFileSync(file, html);
  pageUrl = pathToFileURL(file).href;
  if (!skip) browsing = await launchChromium();
});

after(async () => {
  await browsing?.close();
});

test("the page holds no secret and escapes untrusted text in its source", () => {
  for (const output of [html, renderPrometheus(model), renderStatusJson(model)]) {
    assert.ok(!output.includes(SECRET), "no password");
    assert.ok(!output.includes(TOKEN), "no token");
    assert.ok(!output.includes(SECRET_URL));
  }
  assert.ok(!html.includes("<script"), "no script element, not even the hostile label's");
  assert.ok(!html.includes("<img"), "no img element from a failure line");
  assert.ok(html.includes(escapeHtml(HOSTILE)));
  assert.ok(!/\b(?:src|href)="(?:https?:)?\/\//.test(html), "nothing to fetch");
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  );
});

test(
  "in Chromium: a row per label, red shown red, charts drawn, text escaped, nothing fetched",
  { skip },
  async () => {
    const page = await browsing!.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(pageUrl, { waitUntil: "load" });

    const rows = await page.$$eval("table.labels tbody tr", (trs) =>
      trs.map((tr) => ({
        label: tr.querySelector("th")!.textContent,
        verdict: tr.querySelector(".badge")!.textContent,
        visible: (tr as HTMLElement).offsetHeight > 0,
      })),
    );
    assert.deepEqual(
      rows.map((row) => [row.label, row.verdict, row.visible]),
      [
        [HOSTILE, "AMBER", true],
        ["empty", "RED", true],
        ["production", "GREEN", true],
        ["staging", "RED", true],
        ["unreadable", "RED", true],
      ],
    );

    const colours = await page.$$eval("table.labels tbody tr", (trs) =>
      trs.map((tr) => ({
        badge: getComputedStyle(tr.querySelector(".badge")!).backgroundColor,
        edge: getComputedStyle(tr).borderLeftColor,
      })),
    );
    const rgb = (css: string) => css.match(/\d+/g)!.slice(0, 3).map(Number) as [number, number, number];
    const reddish = ([r, g, b]: [number, number, number]) => r > 150 && r > g + 80 && r > b + 80;
    const greenish = ([r, g, b]: [number, number, number]) => g > r + 40 && g > b + 40;
    for (const index of [1, 3, 4]) {
      assert.ok(reddish(rgb(colours[index]!.badge)), `red badge ${colours[index]!.badge}`);
      assert.ok(reddish(rgb(colours[index]!.edge)), `red edge ${colours[index]!.edge}`);
    }
    assert.ok(greenish(rgb(colours[2]!.badge)), `green badge ${colours[2]!.badge}`);
    assert.ok(!reddish(rgb(colours[0]!.badge)), `amber badge ${colours[0]!.badge} is not red`);

    const staging = await page.locator("table.labels tbody tr", { hasText: "staging" }).innerText();
    assert.match(staging, /newest good backup is \d+d\d+h old \(max-age 1d2h\)/);
    assert.match(staging, /sha256 mismatch reading postgres:\/\/admin:\*\*\*@db\.example\.com/);

    // Charts: per label three figures; drawn lines and points where there is data.
    const charts = await page.$$eval("section.label", (sections) =>
      sections.map((section) => ({
        label: section.querySelector("h2 span")!.textContent,
        figures: section.querySelectorAll("figure").length,
        paths: [...section.querySelectorAll("svg.chart path.series")].map((path) => ({
          d: path.getAttribute("d")!,
          length: (path as SVGPathElement).getTotalLength(),
        })),
        points: section.querySelectorAll("svg.chart circle.point").length,
        widths: [...section.querySelectorAll("svg.chart")].map((svg) => svg.getBoundingClientRect().width),
      })),
    );
    const production = charts.find((chart) => chart.label === "production")!;
    assert.equal(production.figures, 3);
    assert.equal(production.paths.length, 3, "size, duration and restore time");
    for (const path of production.paths) assert.ok(path.length > 100, `a drawn line: ${path.d.slice(0, 40)}`);
    // 20 sizes + 20 durations + 7 restore times (every third night).
    assert.equal(production.points, 47);
    for (const width of production.widths) assert.ok(width > 200, `chart width ${width}`);
    const empty = charts.find((chart) => chart.label === "empty")!;
    assert.equal(empty.points, 0);
    assert.equal(await page.locator("#label-1 .empty").first().innerText(), "no data yet");

    // The latest checks, newest first, for the production label.
    const checks = await page.$$eval("section#label-2 table.checks tbody tr", (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
    );
    assert.equal(checks.length, 5);
    assert.deepEqual(checks[0]!.slice(1, 3), ["restore-test", "pass"]);
    assert.match(checks[0]![4]!, /^restored in \d+s$/);

    // The hostile label and failure line are text, not markup; nothing ran.
    assert.equal(await page.locator("script").count(), 0);
    assert.equal(await page.locator("img").count(), 0);
    assert.deepEqual(dialogs, []);
    assert.match(
      await page.locator("#label-0").innerText(),
      /<img src="https:\/\/evil\.example\/x\.png"> row count mismatch/,
    );

    const text = await page.locator("body").innerText();
    assert.ok(!text.includes(SECRET) && !text.includes(TOKEN));

    await page.screenshot({ path: join(OUTPUT_DIR, "status-desktop.png"), fullPage: true });
    assert.deepEqual(browsing!.blocked, []);
    assert.deepEqual(
      browsing!.requests.filter((url) => !url.startsWith("file://")),
      [],
      "no request left the page's file",
    );
    await page.close();
  },
);

test(
  "in Chromium: on a 360 px phone nothing overflows sideways, and print keeps the verdicts",
  { skip },
  async () => {
    const page = await browsing!.context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(pageUrl, { waitUntil: "load" });
    const overflow = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      wide: [...document.querySelectorAll("body *")]
        .filter(
          (element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5,
        )
        .map((element) => `${element.tagName}.${element.className}`)
        .slice(0, 5),
    }));
    assert.equal(overflow.client, 360);
    assert.ok(
      overflow.scroll <= overflow.client,
      `scrollWidth ${overflow.scroll}: ${overflow.wide.join(", ")}`,
    );
    assert.deepEqual(overflow.wide, []);
    // The table became cards: each cell says what it is.
    const before = await page.$eval(
      "table.labels tbody tr td[data-title='Newest backup']",
      (td) => getComputedStyle(td, "::before").content,
    );
    assert.equal(before, '"Newest backup: "');
    await page.screenshot({ path: join(OUTPUT_DIR, "status-360.png"), fullPage: true });

    // The longest label Lifeboat accepts, and a reason with a long unbroken URL, still fit.
    const long = "a".repeat(40) + "-" + "b".repeat(23);
    const narrowFile = join(OUTPUT_DIR, "status-long.html");
    writeFileSync(
      narrowFile,
      renderStatusHtml(
        buildStatus(
          [
            label(long, [
              {
                ago: 3 * DAY,
                checks: [
                  {
                    kind: "verify",
                    passed: false,
                    ago: DAY,
                    failures: [`https://x.example/${"p".repeat(120)}`],
                  },
                ],
              },
            ]),
          ],
          { now: NOW },
        ),
      ),
    );
    const narrow = await browsing!.context.newPage();
    await narrow.setViewportSize({ width: 360, height: 740 });
    await narrow.goto(pathToFileURL(narrowFile).href, { waitUntil: "load" });
    assert.ok(
      await narrow.evaluate(
        () => document.documentElement.scrollWidth <= document.documentElement.clientWidth,
      ),
      "a 64-character label and a long URL do not overflow",
    );
    assert.equal(await narrow.locator("table.labels tbody th").innerText(), long);
    await narrow.close();

    await page.emulateMedia({ media: "print" });
    const printed = await page.$$eval("table.labels tbody tr .badge", (badges) =>
      badges.map((badge) => [badge.textContent, getComputedStyle(badge).backgroundColor]),
    );
    assert.equal(printed[1]![0], "RED");
    assert.notEqual(printed[1]![1], "rgba(0, 0, 0, 0)");
    const pdf = await page.pdf({ format: "A4" });
    assert.ok(pdf.subarray(0, 5).toString() === "%PDF-" && pdf.length > 10_000, "a printable page");
    writeFileSync(join(OUTPUT_DIR, "status.pdf"), pdf);
    assert.deepEqual(browsing!.blocked, []);
    await page.close();
  },
);
