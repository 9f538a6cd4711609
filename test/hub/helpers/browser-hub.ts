// A hub on real PostgreSQL (a database of its own) with real HTTPS (the test CA's certificate)
// and Debian's headless Chromium, for the dashboard's browser tests; and a browser context signed
// in as a user (the login posted through the context, so the session cookie is the browser's).
import { expect } from "vitest";
import type { Browser, BrowserContext } from "playwright-core";
import { launchChromium } from "../../helpers/browser.js";
import { startHub, type RunningHub } from "../../../src/hub/serve.js";
import { testHubConfig } from "./config.js";
import { testCertificate, type TestCert } from "./certs.js";
import { freshDatabase, type TestDatabase } from "./pg.js";

export const DASHBOARD_PASSWORD = "correct horse battery staple";

export interface BrowserHub {
  cert: TestCert;
  db: TestDatabase;
  hub: RunningHub;
  browser: Browser;
}

/** The hub and the browser; `close` them in afterAll. */
export async function startBrowserHub(): Promise<BrowserHub> {
  const cert = await testCertificate();
  const db = await freshDatabase();
  const hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  return { cert, db, hub, browser: await launchChromium() };
}

export async function closeBrowserHub(b: Partial<BrowserHub> | undefined): Promise<void> {
  await b?.browser?.close();
  await b?.hub?.close();
  await b?.db?.drop();
}

/** A context of its own signed in as `user` (the test's CA signs the hub's certificate: the browser is told to take it). */
export async function signedInContext(b: BrowserHub, user: string, password = DASHBOARD_PASSWORD, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const context = await b.browser.newContext({ ignoreHTTPSErrors: true, baseURL: b.hub.url, ...options });
  const r = await context.request.post("/api/login", { data: { user, password } });
  expect(r.status()).toBe(200);
  return context;
}
