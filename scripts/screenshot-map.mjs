// The screenshot of the knowledge map in docs/map.png: the map of policies/sox-itgc (run
// `node scripts/build.mjs` first), drawn by Debian's chromium through playwright-core, with the
// framework filter on COBIT DSS05 and the first control shown. Nothing is fetched: every request
// that is not the file itself is aborted.
//   node scripts/screenshot-map.mjs [out.png]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "..");
const out = resolve(process.argv[2] ?? join(root, "docs", "map.png"));
const work = mkdtempSync(join(tmpdir(), "covenant-map-shot-"));
try {
  const html = join(work, "map.html");
  execFileSync(join(root, "bin", "covenant"), ["map", "--out", html, "--no-state", join(root, "policies", "sox-itgc")], { stdio: ["ignore", "inherit", "inherit"] });
  // a fresh profile, removed with the rest of the work directory
  const browser = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await browser.newPage();
    await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(html).href);
    await page.selectOption("#filter-ref", "objective:DSS05");
    await page.locator("li.control:not([hidden]) button").first().click();
    await page.screenshot({ path: out, fullPage: false });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
