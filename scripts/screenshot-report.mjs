// The screenshot of the evidence report's summary page in docs/report.png: the HTML of
// docs/report-example.json (a month of examples/sox on one host, shaped as `covenant report`
// builds it), rendered by src/report/report-html.ts, or any report's HTML given with --html (as
// `covenant report --format html` writes it), drawn by Debian's chromium through playwright-core.
// Nothing is fetched: every request that is not the file itself is aborted.
//   node scripts/screenshot-report.mjs [--html FILE] [out.png]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { tsImport } from "tsx/esm/api";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const htmlAt = args.indexOf("--html");
const given = htmlAt >= 0 ? args.splice(htmlAt, 2)[1] : undefined;
if (htmlAt >= 0 && given === undefined) {
  console.error("--html needs a file");
  process.exit(2);
}
const out = resolve(args[0] ?? join(root, "docs", "report.png"));
const work = mkdtempSync(join(tmpdir(), "covenant-report-shot-"));
try {
  let html = given === undefined ? undefined : resolve(given);
  if (html === undefined) {
    const { renderReportHtml } = await tsImport(join(root, "src", "report", "report-html.ts"), import.meta.url);
    html = join(work, "report.html");
    writeFileSync(html, renderReportHtml(JSON.parse(readFileSync(join(root, "docs", "report-example.json"), "utf8"))), { flag: "wx", mode: 0o600 });
  }
  // a fresh profile, removed with the rest of the work directory
  const browser = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 1100 },
  });
  try {
    const page = await browser.newPage();
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(html).href);
    await page.screenshot({ path: out, fullPage: false });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
