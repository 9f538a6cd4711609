// Screenshots of the dashboard's main pages for docs/ (hub-overview.png, hub-hosts.png,
// hub-incidents.png, hub-policies.png, hub-login.png), taken in real headless Chromium from a
// real hub on the dashboard tests' seeded fleet. Skipped unless COVENANT_SCREENSHOTS=1:
//   COVENANT_SCREENSHOTS=1 npx vitest run test/hub/dashboard-screenshots.test.ts
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { createUser } from "../../src/hub/auth/users.js";
import { launchChromium } from "../helpers/browser.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testCertificate } from "./helpers/certs.js";
import { testHubConfig } from "./helpers/config.js";
import { seedDashboardFleet } from "./helpers/dashboard-fleet.js";

const ON = process.env["COVENANT_SCREENSHOTS"] === "1";
const PASSWORD = "correct horse battery staple";
let db: TestDatabase;
let hub: RunningHub;
let browser: Browser;

describe.skipIf(!ON)("dashboard screenshots for docs/", () => {
  beforeAll(async () => {
    const cert = await testCertificate();
    db = await freshDatabase();
    hub = await startHub(testHubConfig(cert, db.url), () => undefined);
    await createUser(hub.pool, { name: "audra", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
    await createUser(hub.pool, { name: "ada", password: PASSWORD, grants: [{ role: "administrator" }, { role: "approver" }] }, "test");
    await seedDashboardFleet(hub.pool, "ada");
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await db?.drop();
  });

  it("takes them", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${hub.url}/ui/login`);
    await page.screenshot({ path: "docs/hub-login.png" });
    await page.fill("input[name=user]", "ada");
    await page.fill("input[name=password]", PASSWORD);
    await Promise.all([page.waitForURL(`${hub.url}/ui`), page.click("button[type=submit]")]);
    await page.screenshot({ path: "docs/hub-overview.png", fullPage: true });
    for (const name of ["hosts", "incidents", "policies"]) {
      await page.goto(`${hub.url}/ui/${name}`);
      await page.screenshot({ path: `docs/hub-${name}.png`, fullPage: true });
    }
    expect(await page.title()).toContain("Covenant hub");
    await context.close();
  }, 120_000);
});
