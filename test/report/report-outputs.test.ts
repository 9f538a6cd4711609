// The report's outputs: JSON valid against the published schema (docs/report.schema.json), CSV as
// RFC 4180 with formula-looking cells made inert, and Markdown that reads as a document and keeps
// host text from becoming Markdown.
import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { periodOf } from "../../src/facts/period.ts";
import { buildReport } from "../../src/report/report-build.ts";
import { csvCell, csvOf, renderReportCsv } from "../../src/report/report-csv.ts";
import { reportJsonPieces } from "../../src/report/report-json.ts";
import { md, renderReportMarkdown } from "../../src/report/report-markdown.ts";
import type { EvidenceReport } from "../../src/report/report-model.ts";
import { StateStore } from "../../src/store/store.ts";
import { removeTempDirs, tempDir } from "../store/helpers.ts";
import { at, B, C, kept, recordRun, result } from "./report-helpers.ts";
import { listedReport, weekReport } from "../fixtures/report/evidence-report.ts";

afterAll(() => {
  shared?.close();
  removeTempDirs();
});

const schema = JSON.parse(readFileSync(new URL("../../docs/report.schema.json", import.meta.url), "utf8")) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

let shared: StateStore | undefined;

/** Two days of hourly runs, watcher runs among them, B drifting (with a reason that looks like a formula and Markdown) and C failing at the end. */
function filled(): StateStore {
  if (shared) return shared;
  const store = StateStore.open(tempDir("report-out"));
  for (let h = 0; h < 48; h++) {
    const results = kept();
    if (h >= 5 && h < 8) results[1] = result(B, "drift", "=HYPERLINK(\"http://evil\") | *bold* <b>");
    if (h === 8) results[1] = result(B, "repaired");
    if (h >= 40) results[2] = result(C, "failed");
    recordRun(store, { at: at(h * 60), results, ...(h % 10 === 3 ? { kind: "watch" as const } : {}) });
  }
  shared = store;
  return store;
}

function report(sample?: { size: number; seed: string }): EvidenceReport {
  return buildReport(filled(), { period: periodOf("2026-03-01", "2026-03-02", "Europe/Paris"), generator: "test", now: new Date("2026-04-01T00:00:00Z"), ...(sample ? { sample } : {}) });
}

describe("the JSON report", () => {
  it("is valid against the published JSON Schema, with and without a sample", () => {
    for (const r of [report(), report({ size: 3, seed: "s" })]) {
      const ok = validate(JSON.parse(JSON.stringify(r)));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it("is written in pieces that join to exactly the report as JSON", () => {
    for (const r of [report({ size: 2, seed: "s" }), { ...report(), controls: [] }, weekReport(), listedReport()]) expect([...reportJsonPieces(r)].join("")).toBe(`${JSON.stringify(r, null, 2)}\n`);
  });

  it("the schema is not a rubber stamp: a wrong report fails it", () => {
    const r = JSON.parse(JSON.stringify(report())) as { controls: { operation: { gaps: unknown[] } }[]; integrity: { verdict: string } };
    r.integrity.verdict = "probably fine";
    expect(validate(r)).toBe(false);
    const r2 = JSON.parse(JSON.stringify(report())) as Record<string, unknown>;
    delete r2["summary"];
    expect(validate(r2)).toBe(false);
  });
});

describe("the CSV report", () => {
  it("quotes as RFC 4180 and makes formula-looking text inert", () => {
    expect(csvCell('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvCell("line\nbreak")).toBe('"line\nbreak"');
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("+33 1")).toBe("'+33 1");
    expect(csvCell("-cmd")).toBe("'-cmd");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell('=A1,"x"')).toBe(`"'=A1,""x"""`);
    expect(csvCell(-5)).toBe("-5");
    // attack regressions: a formula after leading blanks, a full-width one, and one after a `;`
    // (the list separator of spreadsheets in many locales) are inert too
    expect(csvCell(" =HYPERLINK(\"http://x\")")).toBe(`"' =HYPERLINK(""http://x"")"`);
    expect(csvCell("\uFF1Dcmd|' /C calc'!A0")).toBe("'\uFF1Dcmd|' /C calc'!A0");
    expect(csvCell("mode 0644;=cmd|' /C calc'!A0")).toBe(`"mode 0644;=cmd|' /C calc'!A0"`);
    expect(csvCell(null)).toBe("");
    expect(csvOf(["a", "b"], [[1, "x"]])).toBe("a,b\r\n1,x\r\n");
  });

  it("writes one table per file: controls, episodes, gaps, and the sample when taken", () => {
    const files = renderReportCsv(report({ size: 2, seed: "s" }));
    expect([...files.keys()]).toEqual(["controls.csv", "episodes.csv", "gaps.csv", "sample.csv"]);
    const controls = files.get("controls.csv")!.split("\r\n");
    expect(controls[0]).toMatch(/^control,title,owner,severity,key,refs,evaluations,/);
    expect(controls[1]).toMatch(/^C-1,Ledger files are private,ops,high,true,SOX 404 COBIT DSS05.04,47,/);
    const episodes = files.get("episodes.csv")!;
    expect(episodes).toContain(`"'=HYPERLINK(""http://evil"") | *bold* <b>"`);
    expect(episodes).not.toMatch(/,=HYPERLINK/);
    expect(renderReportCsv(report()).has("sample.csv")).toBe(false);
  });
});

describe("the Markdown report", () => {
  const text = renderReportMarkdown(report({ size: 2, seed: "s" }));

  it("reads as a document: summary, integrity, clock, versions, each control, the sample", () => {
    for (const h of ["## Summary", "## Integrity", "## Clock", "## Policy versions in force", "## C-1: Ledger files are private", "## C-2: Other files", "### Design", "#### Episodes", "#### Gaps", "#### Waivers", "## Auditor's sample"]) expect(text).toContain(h);
    expect(text).toContain("| operational runs (of them, watcher runs) | 47 (5) |");
    expect(text).toContain("Verdict: **intact**");
    expect(text).toContain('file "/srv/a"');
    expect(text).toContain("Europe/Paris");
  });

  it("says how many episodes and repairs of how many it lists, when not every one", () => {
    const listed = renderReportMarkdown(listedReport());
    expect(listed).toContain("100 of 2120 episodes listed: those still open at the period's end, then the longest, then the most recent. The figures are over every one; the CSV and JSON reports list every one.");
    expect(listed).toContain("100 of 1500 repairs listed: the most recent.");
    expect(text).not.toContain(" listed: ");
  });

  it("keeps host text from becoming Markdown or driving a terminal", () => {
    expect(md("a | b *c* [x](y) <b>\x1b[31m")).toBe("a \\| b \\*c\\* \\[x\\]\\(y\\) \\<b\\>\\\\x1b\\[31m");
    expect(text).toContain('=HYPERLINK\\("http://evil"\\) \\| \\*bold\\* \\<b\\>');
    expect(text).not.toContain("| *bold* <b>");
  });
});
