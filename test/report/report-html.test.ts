// The evidence report's HTML as text: self-contained (one inline style and one inline script, each
// allowed by the CSP's hash, nothing fetched), every outside string escaped, the chart's columns
// drawn from the timeline, and the words for times, durations and shares. What a person sees in
// a real browser, and the printed PDF: report-html-browser.test.ts.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { complianceChart } from "../../src/report/report-html-chart.ts";
import type { EvidenceReport } from "../../src/report/report-model.ts";
import { duration, percent, preText, text, time } from "../../src/report/report-html-text.ts";
import { renderReportHtml, reportHtmlPieces } from "../../src/report/report-html.ts";
import { LONG_PATH, RLO, SCRIPT, busyReport, listedReport, tamperedReport, weekReport } from "../fixtures/report/evidence-report.ts";

const html = renderReportHtml(weekReport());
const hash = (s: string) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
const between = (s: string, open: RegExp, close: string): string[] => {
  const out: string[] = [];
  for (const m of s.matchAll(open)) out.push(s.slice(m.index + m[0].length, s.indexOf(close, m.index)));
  return out;
};

describe("the report's page is self-contained", () => {
  it("has one style and one script, each allowed by its hash and nothing else", () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toBeDefined();
    const scripts = between(html, /<script>/g, "</script>");
    const styles = between(html, /<style>/g, "</style>");
    expect([scripts.length, styles.length]).toEqual([1, 1]);
    expect(csp).toBe(`default-src 'none'; script-src ${hash(scripts[0]!)}; style-src ${hash(styles[0]!)}; img-src data:; form-action 'none'; base-uri 'none'`);
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it("names nothing outside itself: no URL but the SVG namespace, links only to its own anchors", () => {
    const urls = [...html.matchAll(/\b(?:https?|ftp|file):\/\/[^\s"'<>]*/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg"]));
    const hrefs = [...html.matchAll(/\bhref="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThan(5);
    for (const h of hrefs) expect(h).toMatch(/^#[a-z0-9-]+$/);
    const ids = new Set([...html.matchAll(/\bid="([^"]*)"/g)].map((m) => m[1]));
    for (const h of hrefs) expect(ids.has(h.slice(1))).toBe(true);
    expect(html).not.toMatch(/\bsrc=|@import|url\(|@font-face/);
  });

  it("gives each id once", () => {
    const ids = [...html.matchAll(/\bid="([^"]*)"/g)].map((m) => m[1]);
    expect(ids.length).toBe(new Set(ids).size);
  });
});

describe("outside text in the page", () => {
  it("writes no hostile string as markup: every <script> shown is escaped text", () => {
    const body = html.slice(html.indexOf("<body>"));
    expect(body).not.toContain(SCRIPT);
    expect(body.split("&lt;script&gt;alert(1)&lt;/script&gt;").length - 1).toBeGreaterThan(20);
    expect(body).not.toContain("<b>bold</b>");
    expect(body).toContain("&lt;b&gt;bold&lt;/b&gt;");
  });

  it("keeps quotes from closing an attribute and shows bidirectional overrides as escapes", () => {
    expect(html).not.toContain('" onmouseover="');
    expect(html).toContain("X&quot; onmouseover=&quot;alert(1)");
    expect(html).not.toContain(RLO);
    expect(html).toContain("\\u202etxt.exe");
  });

  it("shows a very long path whole", () => {
    expect(html).toContain(text(LONG_PATH));
    expect(text(LONG_PATH)).toContain("very-long-directory-name/".repeat(12));
  });

  it("keeps the promise text's lines and tabs in its <pre>, and escapes the rest", () => {
    expect(preText('a {\n\tmode = "0600"\r\n}\u202e')).toBe("a {\n\tmode = &quot;0600&quot;\\r\n}\\u202e");
    expect(html).toContain('<pre>file &quot;/etc/ssh/sshd_config&quot; {\n\tmode = &quot;0600&quot;');
  });

  it("escapes markup and controls for text and attributes alike", () => {
    expect(text(`<a href='x'>&\n`)).toBe("&lt;a href=&#39;x&#39;&gt;&amp;\\n");
  });
});

describe("the report's sections", () => {
  it("has the summary, a page per control, the sample, the clock and the integrity page, in that order", () => {
    const sections = [...html.matchAll(/<section class="page ([a-z]+)" id="([a-z0-9-]+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(sections).toEqual(["summary:summary", "control:control-1", "control:control-2", "control:control-3", "sample:sample", "clock:clock", "integrity:integrity"]);
  });

  it("leaves the sample out when there is none, and says so plainly when the chain is broken", () => {
    const tampered = renderReportHtml(tamperedReport());
    expect(tampered).not.toContain('id="sample"');
    expect(tampered).toContain('<p class="verdict tampered" id="integrity-verdict"><strong>Tampered.</strong>');
    expect(tampered).toContain("record 1777&#39;s MAC does not match its content &lt;script&gt;");
    expect(html).toContain('<p class="verdict intact" id="integrity-verdict"><strong>Intact.</strong>');
  });

  it("lists every episode of a busy control", () => {
    const busy = renderReportHtml(busyReport(40));
    expect(busy.match(/<tr class="episode"/g)).toHaveLength(40);
  });
});

describe("the compliance chart", () => {
  const timeline = weekReport().controls[0]!.timeline;
  const svg = complianceChart("c", "T", timeline);

  it("draws a column per day, a bar per non-zero part, scaled to the busiest day", () => {
    expect(svg.match(/<g class="day"/g)).toHaveLength(7);
    const bars = (kind: string) => [...svg.matchAll(new RegExp(`<rect class="bar-${kind}" x="[\\d.]+" y="[\\d.]+" width="[\\d.]+" height="([\\d.]+)"`, "g"))].map((m) => Number(m[1]));
    expect(bars("kept")).toHaveLength(7);
    expect(bars("deficient")).toHaveLength(3);
    expect(bars("other")).toHaveLength(1);
    expect(svg.match(/<rect class="mark-deficient"/g)).toHaveLength(3);
    // the plot is 146 units high and the busiest day has 288 evaluations
    expect(bars("kept")[0]).toBeCloseTo((258 / 288) * 146, 1);
    expect(bars("deficient")[0]).toBeCloseTo((30 / 288) * 146, 1);
    expect(bars("kept")[3]).toBeCloseTo((216 / 288) * 146, 1);
  });

  it("marks a day without evaluations rather than leaving it blank, and describes itself", () => {
    const learned = complianceChart("l", "T", weekReport().controls[2]!.timeline);
    expect(learned.match(/<g class="day none" data-day="2026-11-03"><title>2026-11-03: no evaluation<\/title><rect class="bar-none"/g)).toHaveLength(1);
    expect(learned).toContain('role="img" aria-labelledby="l-title l-desc"');
    expect(learned).toContain("7 days from 2026-11-01 to 2026-11-07: 144 evaluations, 100% kept; 0 days with deficient evaluations; 1 day without any evaluation.");
  });

  it("draws a year as 365 columns, each still wider than nothing", () => {
    const year = Array.from({ length: 365 }, (_, i) => ({ day: new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10), evaluations: 288, kept: 287, deficient: i % 30 === 0 ? 1 : 0, other: 0 }));
    const chart = complianceChart("y", "T", year);
    expect(chart.match(/<g class="day"/g)).toHaveLength(365);
    const widths = [...chart.matchAll(/<rect class="bar-kept" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.min(...widths)).toBeGreaterThan(1);
    expect(chart.match(/<rect class="mark-deficient"/g)).toHaveLength(13);
    expect(chart).toContain("365 days from 2026-01-01 to 2026-12-31: 105,120 evaluations, 99.6% kept; 13 days with deficient evaluations;");
  });

  it("says so when there is no day to chart", () => {
    expect(complianceChart("e", "T", [])).toBe('<p class="none">No day of the period to chart.</p>');
  });
});

describe("times, durations and shares in words", () => {
  it("shows a time as the host's clock wrote it, never converted", () => {
    expect(time("2026-11-02T09:15:00.000Z")).toBe('<time datetime="2026-11-02T09:15:00.000Z"><span class="nw">2026-11-02</span> <span class="nw">09:15:00 UTC</span></time>');
    expect(time("not <a> time")).toBe("not &lt;a&gt; time");
  });

  it("says durations in the largest two units", () => {
    expect([45_000, 60_000, 150 * 60_000, 86_400_000, 90_061_000, 3_600_000 * 49].map(duration)).toEqual(["45 s", "1 min", "2 h 30 min", "1 d", "1 d 1 h", "2 d 1 h"]);
    expect(duration(-150_000)).toBe("−2 min 30 s");
  });

  it("never rounds a share up to 100%", () => {
    expect([1, 0.99995, 0.976, 0, null].map(percent)).toEqual(["100%", "99.9%", "97.6%", "0.0%", "n/a"]);
  });
});

describe("the example in docs (docs/report.png is its screenshot)", () => {
  const example = JSON.parse(readFileSync("docs/report-example.json", "utf8")) as EvidenceReport;

  it("adds up as a report does: the summary's figures are its controls' own", () => {
    const controls = example.controls;
    expect(example.summary.controls).toBe(controls.length);
    expect(example.summary.keyControls).toBe(controls.filter((c) => c.design.key).length);
    expect(example.summary.evaluations).toBe(controls.reduce((a, c) => a + c.operation.evaluations, 0));
    expect(example.summary.keptShare).toBeCloseTo(controls.reduce((a, c) => a + c.operation.kept, 0) / example.summary.evaluations, 12);
    expect(example.summary.episodes).toBe(controls.reduce((a, c) => a + c.operation.episodes.length, 0));
    expect(example.summary.gaps).toBe(controls.reduce((a, c) => a + c.operation.gaps.length, 0));
    for (const c of controls) expect(c.timeline.reduce((a, d) => a + d.evaluations, 0)).toBe(c.operation.evaluations);
  });

  it("renders a page per control", () => {
    expect(renderReportHtml(example).match(/<section class="page control"/g)).toHaveLength(12);
  });
});

describe("a report with little in it", () => {
  const r = weekReport();
  r.period.timeZone = null;
  r.summary = { ...r.summary, evaluations: 0, keptShare: null, remediation: { resolved: 0, medianMs: null, worstMs: null } };
  r.integrity = { ...r.integrity, head: null, records: 0, firstRecord: null, lastRecord: null };
  r.policyVersions = [];
  const quiet = r.controls[1]!;
  quiet.operation = { ...quiet.operation, evaluations: 0, kept: 0, keptShare: null, verdicts: {}, expected: { everyMs: null, source: "unknown", count: null } };
  quiet.timeline = quiet.timeline.map((d) => ({ ...d, evaluations: 0, kept: 0, deficient: 0, other: 0 }));
  const page = renderReportHtml(r);

  it("says what it cannot tell instead of a figure it does not have", () => {
    expect(page).toContain("both days included, in the host's time zone (from");
    expect(page).toContain('<dd data-figure="kept-share">n/a</dd>');
    expect(page).toContain('<dd data-figure="remediation">none <span class="detail">no episode resolved in the period</span></dd>');
    expect(page).toContain("the report vouches for the head: no record in the period.");
    expect(page).toContain("<p class=\"none\">No run in the period: no policy version was in force.</p>");
    expect(page).toContain('<td data-col="evaluations">0 (expected: unknown)</td>');
    expect(page).toContain('<dd data-field="kept">n/a (0 of 0)</dd>');
  });

  it("draws a chart of days without evaluations as such", () => {
    const chart = page.slice(page.indexOf('id="control-2"'), page.indexOf('id="control-3"'));
    expect(chart.match(/<g class="day none"/g)).toHaveLength(7);
    expect(chart).toContain("7 days without any evaluation.");
  });
});

describe("a control with more episodes and repairs than are listed", () => {
  const page = renderReportHtml(listedReport());
  const start = page.search(/<section class="page control"[^>]*data-control="ITGC-AC-01"/);
  const section = page.slice(start, page.indexOf("</section>", start));

  it("says how many of how many it lists, which, and where every one is", () => {
    expect(section).toContain(`<p class="listed" data-listed="episodes">100 of 2,120 episodes listed: those still open at the period's end, then the longest, then the most recent. The figures above are over every one; the CSV and JSON reports list every one.</p>`);
    expect(section).toContain(`<p class="listed" data-listed="repairs">100 of 1,500 repairs listed: the most recent. The CSV and JSON reports list every one.</p>`);
    expect(section.match(/<tr class="episode/g)).toHaveLength(100);
    expect(section.match(/<tr class="repair"/g)).toHaveLength(100);
  });

  it("counts every episode in the controls table, listed or not", () => {
    const row = page.slice(page.indexOf('<tr class="has-exceptions" data-control="ITGC-AC-01"'));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain('<td class="num" data-col="exceptions">2,121</td><td class="num" data-col="open">1</td>');
  });

  it("says nothing of a listing when every one is listed", () => {
    expect(html).not.toContain('class="listed"');
  });

  it("is the same page whole or in pieces", () => {
    expect([...reportHtmlPieces(listedReport())].join("")).toBe(page);
  });
});
