// The pieces every dashboard page shares (page-parts.ts): one pager, one time, one outcome for
// the overview's, the fleet's and the control and host pages alike, in the stylesheet's classes.
import { describe, expect, it } from "vitest";
import { controlLink, duration, hostLink, outcome, pager, tableOr, when } from "../../src/hub/dashboard/page-parts.js";
import { html } from "../../src/hub/dashboard/html.js";
import { STYLESHEET as dashboardStyle } from "../../src/hub/dashboard/style.js";

describe("the pages' shared pieces", () => {
  it("page with a known total: previous and next kept to the filters, nothing when one page holds all", () => {
    const mid = pager("/ui/controls", { owner: "sec ops", page: "2" }, { page: 2, size: 10, total: 35 }).markup;
    expect(mid).toContain('<nav class="pager" aria-label="pages">');
    expect(mid).toContain('href="/ui/controls?owner=sec+ops&amp;page=1" rel="prev"');
    expect(mid).toContain('href="/ui/controls?owner=sec+ops&amp;page=3" rel="next"');
    expect(mid).toContain("page 2 of 4");
    expect(pager("/ui/controls", {}, { page: 4, size: 10, total: 35 }).markup).not.toContain('rel="next"');
    expect(pager("/ui/controls", {}, { page: 1, size: 10, total: 10 }).markup).toBe("");
  });

  it("page without a total: whether there is more", () => {
    const first = pager("/ui/hosts", { group: "web", chain: undefined }, { page: 1, more: true }).markup;
    expect(first).toContain('href="/ui/hosts?group=web&amp;page=2" rel="next"');
    expect(first).not.toContain('rel="prev"');
    expect(first).not.toContain(" of ");
    expect(pager("/ui/hosts", {}, { page: 3, more: false }).markup).not.toContain('rel="next"');
  });

  it("writes times as the evidence report does, and what stands for none", () => {
    expect(when("2026-11-03T14:05:07.123Z").markup).toContain('datetime="2026-11-03T14:05:07.123Z"');
    expect(when(new Date("2026-11-03T14:05:07Z")).markup).toContain("14:05:07 UTC");
    expect(when(null).markup).toBe('<span class="muted">—</span>');
    expect(when(null, "never").markup).toBe('<span class="muted">never</span>');
    expect(duration(null).markup).toContain("still open");
    expect(duration(90_000).markup).not.toContain("still open");
  });

  it("colours an outcome with a class the stylesheet has, and escapes what hosts and people wrote", () => {
    expect(outcome("drift").markup).toContain('class="outcome o-drift"');
    for (const o of ["kept", "repaired", "waived", "skipped", "drift", "failed", "error"]) expect(dashboardStyle).toContain(`.o-${o} {`);
    expect(dashboardStyle).toContain(".muted {");
    expect(hostLink("a/b", "<b>x</b>").markup).toBe('<a href="/ui/hosts/a%2Fb">&lt;b&gt;x&lt;/b&gt;</a>');
    expect(hostLink(null, null).markup).toContain("—");
    expect(controlLink("C&1").markup).toBe('<a href="/ui/controls/C%261"><code>C&amp;1</code></a>');
    expect(tableOr(html`class="t"`, ["a"], [], "none here").markup).toBe('<p class="muted">none here</p>');
  });
});
