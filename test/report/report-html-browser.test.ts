// The evidence report's HTML in real headless Chromium (Debian's, driven by playwright-core), the
// network refused: what a person sees (the summary's figures, a control's exceptions and episodes,
// the charts drawn), that the page asks for nothing and breaks no rule of its own CSP, that it
// reads whole with scripts off, and that it prints to a PDF whose pages are what its content
// implies, each control starting a page.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvidenceReport } from "../../src/report/report-model.ts";
import { renderReportHtml } from "../../src/report/report-html.ts";
import { RLO, SCRIPT, busyReport, tamperedReport, weekReport } from "../fixtures/report/evidence-report.ts";
import { launchChromium, openFile, type WatchedPage } from "../helpers/browser.ts";
import { readPdfPages } from "../helpers/pdf-pages.ts";

let work: string;
let browser: Browser;
let context: BrowserContext;
const opened: WatchedPage[] = [];
const dialogs: string[] = [];

function write(name: string, html: string): string {
  const file = join(work, `${name}.html`);
  writeFileSync(file, html);
  return file;
}

async function open(name: string, report: EvidenceReport): Promise<Page> {
  const watched = await openFile(context, write(name, renderReportHtml(report)));
  watched.page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  opened.push(watched);
  return watched.page;
}

const texts = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => (e.textContent ?? "").replace(/\s+/g, " ").trim()));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "covenant-report-html-"));
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the evidence report in headless Chromium", () => {
  it("shows the summary's figures, the host and period as written, and the integrity verdict", { timeout: 20_000 }, async () => {
    const page = await open("week", weekReport());
    const figure = (id: string) => page.locator(`[data-figure="${id}"]`).textContent();
    await expect(figure("evaluations")).resolves.toBe("4,104");
    await expect(figure("kept-share")).resolves.toBe("97.9%");
    await expect(figure("episodes")).resolves.toBe("2");
    await expect(figure("gaps")).resolves.toBe("2");
    await expect(figure("open-at-end")).resolves.toBe("1");
    await expect(figure("controls-with-exceptions")).resolves.toBe("2");
    await expect(figure("controls")).resolves.toBe("3 2 key");
    await expect(figure("runs")).resolves.toBe("2,016 37 by the watcher; not counted as operation: 4 dry, 2 sandbox");
    await expect(figure("remediation")).resolves.toBe("2 h 30 min median 2 h 30 min, worst 2 h 30 min (1 resolved episode)");
    await expect(page.locator("#host").textContent()).resolves.toBe(`ledger-db-01 ${SCRIPT}`);
    await expect(page.locator("#period").textContent()).resolves.toBe(
      "2026-11-01 to 2026-11-07, both days included, in time zone Europe/Berlin (from 2026-10-31 23:00:00 UTC to before 2026-11-07 23:00:00 UTC)",
    );
    await expect(page.locator("#integrity-verdict").textContent()).resolves.toMatch(/^Intact\. .* record 2,412, MAC 5d41402abc4b\.$/);
    const rows = await page.locator("#controls-table tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[4], r[6], r[7]])).toEqual([
      ["ITGC-AC-01", "95.6%", "3", "1"],
      ["ITGC-CM-02", "100%", "0", "0"],
      ["OPS-BK-03", "100%", "1", "0"],
    ]);
    expect(rows[2]![5]).toBe("144 of 168 expected (every 1 h, learned from the history)");
  });

  it("shows hostile text as text: no element, script or dialog comes of it, and an override is shown, not obeyed", { timeout: 20_000 }, async () => {
    const page = await open("week-hostile", weekReport());
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.locator("main b, main img").count()).toBe(0);
    await expect(page.locator("#control-1-title").textContent()).resolves.toBe(`ITGC-AC-01: Ledger files <b>bold</b> & "quoted" ${SCRIPT} \\u202etxt.exe`);
    const body = await page.locator("body").textContent();
    expect(body).not.toContain(RLO);
    await expect(page.title()).resolves.toBe(`Covenant evidence report: ledger-db-01 ${SCRIPT}, 2026-11-01 to 2026-11-07`);
    expect(dialogs).toEqual([]);
  });

  it("shows a control's exceptions: the gap in words, each episode with who was told and who acknowledged", { timeout: 20_000 }, async () => {
    const page = await open("week-control", weekReport());
    await expect(texts(page, "#control-1 tr.gap td:first-child")).resolves.toEqual(["control not operating from 2026-11-04 06:00 to 2026-11-04 12:00"]);
    await expect(texts(page, "#control-3 tr.gap td:first-child")).resolves.toEqual(["control not operating from 2026-11-03 00:00 to 2026-11-04 00:00"]);
    expect(await page.locator("#control-2 tr.gap").count()).toBe(0);
    const episodes = await page.locator("#control-1 tr.episode").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td.textContent ?? "").replace(/\s+/g, " ").trim())));
    expect(episodes).toHaveLength(2);
    const [told, stillOpen] = episodes as [string[], string[]];
    expect(told.slice(1, 6)).toEqual(["2026-11-02 09:15:00 UTC #1,204", "2026-11-02 11:45:00 UTC (repaired) #1,236", "2 h 30 min", "drift", "yes"]);
    expect(told[6]).toBe(`security <sec@example.org> ${SCRIPT} by mail at 2026-11-02 09:15:30 UTC #1,205dba_oncall by sms at 2026-11-02 09:16:00 UTC (given up: not delivered) #1,206`);
    expect(told[7]).toBe(`by alice "the auditor" \\u202enimda at 2026-11-02 10:02:00 UTC: change ticket CHG-${SCRIPT} #1,220`);
    expect(stillOpen.slice(2, 8)).toEqual(["open", "still open", "failed", "no", "nobody", "not acknowledged"]);
    await expect(page.locator("#control-1 [data-field=evaluations]").textContent()).resolves.toBe("1,944 of 2,016 expected (every 5 min, configured)");
    await expect(page.locator("#control-1 [data-field=kept]").textContent()).resolves.toBe("95.6% (1,860 of 1,944)");
    await expect(page.locator("#control-1 [data-field=remediation]").textContent()).resolves.toBe("median 2 h 30 min, worst 2 h 30 min (1 resolved episode)");
    await expect(texts(page, "#control-1 tr.unapproved td:nth-child(5)")).resolves.toEqual(["content, mode"]);
    await expect(texts(page, "#control-1 table.waivers.in-force td:first-child")).resolves.toEqual([`vendor fix pending ${SCRIPT}`]);
    await expect(texts(page, "#control-1 table.waivers.expired td:first-child")).resolves.toEqual(["migration window"]);
    await expect(page.locator("#control-2 .episodes, #control-2 table.repairs").count()).resolves.toBe(0);
  });

  it("draws each control's chart: a column per day, bars sized by the day's evaluations, with a title for readers", { timeout: 20_000 }, async () => {
    const page = await open("week-chart", weekReport());
    const charts = page.locator("svg.compliance");
    expect(await charts.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      const box = await charts.nth(i).boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      expect(box!.height).toBeGreaterThan(100);
    }
    const chart = page.locator("#control-1 svg.compliance");
    await expect(chart.getAttribute("aria-label")).resolves.toBe(`Compliance over time: ITGC-AC-01: Ledger files <b>bold</b> & "quoted" ${SCRIPT} \\u202etxt.exe`);
    expect(await chart.locator("g.day").count()).toBe(7);
    expect([await chart.locator("rect.bar-kept").count(), await chart.locator("rect.bar-deficient").count(), await chart.locator("rect.bar-other").count()]).toEqual([7, 3, 1]);
    // the days with deficient evaluations are marked under the axis: the 1st, 2nd and 7th
    await expect(chart.locator("g.day:has(rect.mark-deficient)").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-day")))).resolves.toEqual(["2026-11-01", "2026-11-02", "2026-11-07"]);
    // the 4th had 216 evaluations against 288 on the busiest days: three quarters the height
    const full = (await chart.locator("g.day").nth(2).locator("rect").boundingBox())!;
    const short = (await chart.locator("g.day").nth(3).locator("rect").boundingBox())!;
    expect(full.width).toBeGreaterThan(20);
    expect(short.height / full.height).toBeCloseTo(0.75, 2);
    const deficient = (await chart.locator("g.day").nth(0).locator("rect.bar-deficient").boundingBox())!;
    expect(deficient.height / full.height).toBeCloseTo(30 / 288, 2);
    expect(deficient.y + deficient.height).toBeCloseTo(full.y + full.height - (258 / 288) * full.height, 0);
    const silent = page.locator('#control-3 svg.compliance g.day.none[data-day="2026-11-03"] rect.bar-none');
    expect((await silent.boundingBox())!.height).toBeGreaterThan(0);
  });

  it("filters the controls table with its script, and shows the filter only when the script runs", { timeout: 20_000 }, async () => {
    const page = await open("week-filter", weekReport());
    await expect(page.locator("#control-filter").isVisible()).resolves.toBe(true);
    await expect(page.locator("#filter-shown").textContent()).resolves.toBe("Showing 3 of 3 controls.");
    await page.check("#filter-exceptions");
    await expect(page.locator("#controls-table tbody tr:visible").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-control")))).resolves.toEqual(["ITGC-AC-01", "OPS-BK-03"]);
    await page.fill("#filter-text", "backups");
    await expect(page.locator("#controls-table tbody tr:visible").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-control")))).resolves.toEqual(["OPS-BK-03"]);
    await expect(page.locator("#filter-shown").textContent()).resolves.toBe("Showing 1 of 3 controls.");
    await page.uncheck("#filter-exceptions");
    await page.fill("#filter-text", "high");
    await expect(page.locator("#controls-table tbody tr:visible").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-control")))).resolves.toEqual(["ITGC-CM-02"]);
  });

  it("reads whole with scripts off: every figure, control and chart, and no filter that cannot work", { timeout: 20_000 }, async () => {
    const quiet = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await quiet.newPage();
      await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
      await page.goto(pathToFileURL(join(work, "week.html")).href);
      await expect(page.locator('[data-figure="evaluations"]').textContent()).resolves.toBe("4,104");
      expect(await page.locator("#controls-table tbody tr:visible").count()).toBe(3);
      expect(await page.locator("section.page.control").count()).toBe(3);
      expect(await page.locator("svg.compliance g.day").count()).toBe(21);
      await expect(page.locator("#control-filter").isVisible()).resolves.toBe(false);
    } finally {
      await quiet.close();
    }
  });

  it("says plainly when the chain was tampered with, and what an intact one proves", { timeout: 20_000 }, async () => {
    const page = await open("tampered", tamperedReport());
    await expect(page.locator("#integrity-verdict").textContent()).resolves.toBe(
      `Tampered. The history over this period does not verify: record 1777's MAC does not match its content ${SCRIPT} (mac at record 1,777). Its records cannot be relied on as evidence.`,
    );
    await expect(page.locator("#integrity [data-field=verdict]").textContent()).resolves.toBe("tampered");
    expect(await page.locator("#sample").count()).toBe(0);
    await expect(page.locator("#what-it-proves").textContent()).resolves.toMatch(/exactly what the host recorded.*a host whose root was compromised could record a lie.*independent copy.*hub/);
    await expect(page.locator("#clock p").first().textContent()).resolves.toMatch(/^Every time in this report is the host's own clock/);
    await expect(texts(page, "#clock table.clock-steps td:last-child")).resolves.toEqual(["back 2 min 30 s"]);
    await expect(texts(page, "#clock table.clock-jumps td:last-child")).resolves.toEqual(["ahead 6 h"]);
  });

  it("lists the auditor's sample: each pick's policy version, verdict, proof and its promises' records", { timeout: 20_000 }, async () => {
    const page = await open("sample", weekReport());
    await expect(page.locator("#sample-seed").textContent()).resolves.toBe(`q3-audit ${SCRIPT}`);
    await expect(texts(page, "#sample .pick h4")).resolves.toEqual(["1. Run 455, 2026-11-02 09:15:00 UTC to 2026-11-02 09:15:02 UTC", "2. Watcher run 1,603, 2026-11-05 14:00:00 UTC to 2026-11-05 14:00:00 UTC"]);
    await expect(texts(page, "#sample .pick [data-field=proven]")).resolves.toEqual([
      "proven: the promises' outcomes hash to the summary's digest; summary record 1,207, roster record 90",
      `not proven: the roster record 1988 fails its check ${SCRIPT}; summary record 1,990`,
    ]);
    await expect(texts(page, '#sample .pick[data-run="455"] tbody tr td:last-child')).resolves.toEqual(["1,204", "80"]);
  });

  it("reports every CSP violation it would have missed: a planted external image, inline style and script are refused and seen", { timeout: 20_000 }, async () => {
    const html = renderReportHtml(weekReport()).replace("<main>", '<main><img src="https://example.invalid/pixel.png"><p style="color:red">x</p><script>document.title = "ran"</script>');
    const planted = await openFile(context, write("planted", html));
    const violations = await planted.cspViolations();
    expect(violations.some((v) => v.startsWith("img-src https://example.invalid/pixel.png"))).toBe(true);
    expect(violations.some((v) => v.startsWith("style-src-attr"))).toBe(true);
    expect(violations.some((v) => v.startsWith("script-src-elem"))).toBe(true);
    await expect(planted.page.title()).resolves.not.toBe("ran");
    // the browser asked for the image, the CSP refused it, and so would the route: the watchers see what a page tries
    expect(planted.requests).toContain("https://example.invalid/pixel.png");
    expect(planted.errors.some((e) => e.includes("Content Security Policy"))).toBe(true);
  });
});

/** Each section's printed pages against its height on a printed page, read in print media at the page's width. */
async function printedSections(page: Page) {
  const pdf = readPdfPages(await page.pdf({ format: "A4", preferCSSPageSize: true }));
  await page.emulateMedia({ media: "print" });
  // A4 less the 14 mm margins on each side, in CSS pixels
  const mm = 96 / 25.4;
  await page.setViewportSize({ width: Math.floor((210 - 28) * mm), height: Math.floor((297 - 28) * mm) });
  const measured = (await page.evaluate(`[...document.querySelectorAll("section.page")].map((s) => ({
    id: s.id,
    height: s.getBoundingClientRect().height,
    tallest: Math.max(0, ...[...s.querySelectorAll("tr, figure, .promise, .pick dl, .figure, .verdict, .proves")].map((e) => e.getBoundingClientRect().height)),
    rowsKept: [...s.querySelectorAll("tr")].every((tr) => getComputedStyle(tr).breakInside === "avoid"),
    startsPage: getComputedStyle(s).breakBefore,
  }))`)) as { id: string; height: number; tallest: number; rowsKept: boolean; startsPage: string }[];
  await page.emulateMedia({ media: "screen" });
  return { pdf, measured, pageHeight: (297 - 28) * mm };
}

describe("the evidence report printed to PDF", () => {
  const example = JSON.parse(readFileSync("docs/report-example.json", "utf8")) as EvidenceReport;
  for (const [name, report, controls] of [
    ["week", weekReport(), 3],
    ["busy", busyReport(40), 3],
    ["example", example, 12],
  ] as const) {
    it(`prints ${name}: each section from the top of its own page, as many pages as its content needs`, { timeout: 30_000 }, async () => {
      const page = await open(`print-${name}`, report);
      const { pdf, measured, pageHeight } = await printedSections(page);
      const top = pdf.heights[0]!;
      expect(measured.map((m) => m.id)).toEqual(["summary", ...Array.from({ length: controls }, (_, i) => `control-${i + 1}`), ...(report.sample ? ["sample"] : []), "clock", "integrity"]);
      const starts = measured.map((m) => pdf.destinations.get(m.id));
      for (const [i, start] of starts.entries()) {
        expect(start, measured[i]!.id).toBeDefined();
        // the summary opens the document; every other section starts a page, at its very top
        if (i > 0) expect(start!.y, measured[i]!.id).toBeCloseTo(top, 0);
        if (i > 0) expect(measured[i]!.startsPage).toBe("page");
        expect(measured[i]!.rowsKept).toBe(true);
      }
      expect(starts[0]!.page).toBe(0);
      // the printed contents line and controls table: a link from the summary to every other section's page
      const linked = new Set(pdf.links.filter((l) => l.page < starts[1]!.page).map((l) => l.to));
      for (const m of measured.slice(1)) expect(linked.has(m.id), m.id).toBe(true);
      // each section's pages run up to the next section's first page, the last to the end: no blank page, nothing lost
      const spans = starts.map((s, i) => (i + 1 < starts.length ? starts[i + 1]!.page : pdf.pages.length) - s!.page);
      for (const [i, m] of measured.entries()) {
        // at least the pages its height fills; at most as many as pages that each lose to a break no more than its tallest unbreakable block and a repeated heading
        expect(spans[i], m.id).toBeGreaterThanOrEqual(Math.ceil(m.height / pageHeight));
        expect(spans[i], m.id).toBeLessThanOrEqual(Math.ceil(m.height / (pageHeight - m.tallest - 60)));
      }
      if (name === "busy") expect(spans[1]).toBeGreaterThan(5);
      if (name === "week") expect(spans.filter((_, i) => measured[i]!.id !== "control-1").every((s) => s === 1)).toBe(true);
      // a control with nothing to list takes one page
      for (const [i, c] of report.controls.entries()) {
        const o = c.operation;
        const quiet = o.episodes.length + o.gaps.length + o.repairs.length + o.integrity.approved.length + o.integrity.unapproved.length + o.waivers.length === 0;
        if (quiet) expect(spans[1 + i], c.id).toBe(1);
      }
      expect(pdf.pages.length).toBe(spans.reduce((a, b) => a + b, 0));
    });
  }
});

describe("every page opened above, the printed ones included", () => {
  it("logged no console error or warning, broke no CSP rule, and asked for nothing but its own file", async () => {
    expect(opened.length).toBeGreaterThan(5);
    for (const w of opened) {
      await expect(w.cspViolations()).resolves.toEqual([]);
      expect(w.errors).toEqual([]);
      expect(w.requests).toEqual([w.page.url()]);
      expect(w.requests[0]).toMatch(/^file:/);
    }
  });
});
