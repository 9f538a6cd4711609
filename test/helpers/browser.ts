// Debian's headless Chromium driven by playwright-core, as test/cli/map.test.ts drives it, for
// pages Covenant writes as files: a fresh profile (playwright's own, removed when the browser
// closes; a context per test, with or without scripts), the network refused (only file: URLs load, and
// every request is counted), and what went wrong gathered per page: console errors and warnings,
// uncaught errors, and Content-Security-Policy violations (a listener put in before the page's
// own content runs, so a violation anywhere in the page is seen).
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ensureDebianTool } from "./debian-package.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Headless Chromium; installs Debian's chromium first when it is missing. */
export async function launchChromium(): Promise<Browser> {
  const missing = ensureDebianTool(CHROMIUM, "chromium");
  if (missing) throw new Error(missing);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    timeout: 20_000,
  });
}

export interface WatchedPage {
  page: Page;
  /** console errors and warnings, and uncaught errors */
  errors: string[];
  /** every URL the page asked for, its own file included */
  requests: string[];
  /** the CSP directives the page violated, as the browser reported them */
  cspViolations(): Promise<string[]>;
}

/** Opens a file in a new page of `context` with the network refused and its troubles gathered. */
export async function openFile(context: BrowserContext, file: string): Promise<WatchedPage> {
  const page = await context.newPage();
  page.setDefaultTimeout(5_000);
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => requests.push(r.url()));
  await page.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
  // the page's own CSP does not apply to a script the browser is given this way
  await page.addInitScript(`window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.effectiveDirective + " " + e.blockedURI));`);
  await page.goto(pathToFileURL(file).href);
  const cspViolations = async () => (await page.evaluate("window.cspViolations.slice()")) as string[];
  return { page, errors, requests, cspViolations };
}
