// Screenshots of the dashboard's main pages for docs/ (hub-overview.png, hub-hosts.png,
// hub-incidents.png, hub-policies.png, hub-login.png), taken in real headless Chromium from a
// real hub on the dashboard tests' seeded fleet. Skipped unless COVENANT_SCREENSHOTS=1:
//   COVENANT_SCREENSHOTS=1 npx vitest run test/hub/dashboard-screenshots.test.ts
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/hub/auth/users.js";
import { closeBrowserHub, DASHBOARD_PASSWORD as PASSWORD, startBrowserHub, type BrowserHub } from "./helpers/browser-hub.js";
import { seedDashboardFleet } from "./helpers/dashboard-fleet.js";

const ON = process.env["COVENANT_SCREENSHOTS"] === "1";
let b: BrowserHub;

describe.skipIf(!ON)("dashboard screenshots for docs/", () => {
  beforeAll(async () => {
    b = await startBrowserHub();
    const hub = b.hub;
    await createUser(hub.pool, { name: "audra", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
    await createUser(hub.pool, { name: "ada", password: PASSWORD, grants: [{ role: "administrator" }, { role: "approver" }] }, "test");
    await seedDashboardFleet(hub.pool, "ada");
  }, 120_000);

  afterAll(() => closeBrowserHub(b));

  it("takes them", async () => {
    const hub = b.hub;
    const context = await b.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
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
