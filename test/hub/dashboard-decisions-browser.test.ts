// Decisions given from the dashboard, in real headless Chromium against a hub on real PostgreSQL
// (hosts and their deficiencies written as the push path leaves them: fleet-fixtures.ts): each
// role sees on a host's page the deficiencies and decisions it reaches, and exactly the forms the
// rules let it send; a form sent from the browser (no script: a plain POST with the session's
// CSRF token) gives the decision, which the page then lists, with its entry in the hub's audit
// log; a decision waiting is not offered twice, and a stale second form is refused as a page
// saying why; a withdrawn decision says so; a revoked host offers no form.
// COVENANT_DASHBOARD_SHOTS=DIR saves a screenshot of an operator's view of a host's deficiencies there.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { RunningHub } from "../../src/hub/serve.js";
import { createUser } from "../../src/hub/auth/users.js";
import { closeBrowserHub, DASHBOARD_PASSWORD as PASSWORD, signedInContext, startBrowserHub, type BrowserHub } from "./helpers/browser-hub.js";
import { fixtureDeficiencyId, insertHost, setOwner, type FixtureHost } from "./helpers/fleet-fixtures.js";

const SEC = "CTL-SEC-1";
const FIN = "CTL-FIN-1";
const SCRIPTED = "CHG-77 <script>document.title='owned'</script>";

let b: BrowserHub;
let hub: RunningHub;
let pay: FixtureHost;
let web: FixtureHost;
let gone: FixtureHost;

beforeAll(async () => {
  b = await startBrowserHub();
  hub = b.hub;
  await setOwner(hub.pool, SEC, "security");
  await setOwner(hub.pool, FIN, "finance");
  pay = await insertHost(hub.pool, "pay-01", "payments", [SEC, FIN]);
  web = await insertHost(hub.pool, "web-01", "web", [SEC]);
  gone = await insertHost(hub.pool, "old-01", "payments", [SEC]);
  await hub.pool.query("UPDATE hub_hosts SET revoked_at = now(), revoked_reason = 'decommissioned' WHERE id = $1", [gone.id]);
  const users: [string, { role: string; scope?: string }][] = [
    ["ada", { role: "administrator" }],
    ["audrey", { role: "auditor" }],
    ["anna", { role: "approver" }],
    ["sam", { role: "owner", scope: "owner:security" }],
    ["oscar", { role: "operations", scope: "group:payments" }],
  ];
  for (const [name, grant] of users) await createUser(hub.pool, { name, password: PASSWORD, grants: [grant] }, "test");
}, 120_000);

afterAll(() => closeBrowserHub(b));

const signedIn = (user: string) => signedInContext(b, user);

async function open(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const response = await page.goto(path);
  expect(response?.status()).toBe(200);
  return page;
}

const row = (page: Page, text: string) => page.locator("#deficiencies tbody tr", { hasText: text });

async function decisionsOf(host: string): Promise<{ id: number; kind: string; control: string; state: string; given_by: string; reason: string; subject: Record<string, unknown> }[]> {
  return (await hub.pool.query("SELECT id::int AS id, kind, control, state, given_by, reason, subject FROM hub_decisions WHERE host_id = $1 ORDER BY id", [host])).rows;
}

async function audited(action: string, actor: string): Promise<number> {
  return Number((await hub.pool.query<{ n: string }>("SELECT count(*) AS n FROM hub_audit WHERE action = $1 AND actor = $2", [action, actor])).rows[0]!.n);
}

describe("giving decisions from the dashboard", () => {
  it("lets an operator acknowledge a deficiency of its group's host from the page, then withdraw it; a stale second form is refused as a page", async () => {
    const context = await signedIn("oscar");
    const page = await open(context, `/ui/hosts/${pay.id}`);
    // both controls' deficiencies (the whole host), an acknowledgement form on each, no approval or waiver form (not an operator's)
    expect(await page.locator("#deficiencies tbody tr").count()).toBe(2);
    expect(await page.locator("#deficiencies button", { hasText: "Acknowledge" }).count()).toBe(2);
    expect(await page.locator("button", { hasText: "Approve this state" }).count()).toBe(0);
    expect(await page.locator("details.waive").count()).toBe(0);
    if (process.env["COVENANT_DASHBOARD_SHOTS"]) await page.locator("#deficiencies").screenshot({ path: join(process.env["COVENANT_DASHBOARD_SHOTS"], "hub-host-deficiencies.png") });
    // the same page in a second tab: its form is stale once the first is sent
    const stale = await open(context, `/ui/hosts/${pay.id}`);
    const fin = fixtureDeficiencyId(pay.id, FIN);
    await row(page, fin).locator("input[name=reason]").fill(SCRIPTED);
    await Promise.all([page.waitForURL(new RegExp(`/ui/hosts/${pay.id}#decisions$`)), row(page, fin).locator("button", { hasText: "Acknowledge" }).click()]);
    const given = (await decisionsOf(pay.id)).filter((d) => d.kind === "ack");
    expect(given).toEqual([expect.objectContaining({ control: FIN, state: "pending", given_by: "oscar", reason: SCRIPTED, subject: expect.objectContaining({ deficiency: fin }) })]);
    expect(await audited("decision.ack", "oscar")).toBe(1);
    // listed, the reason as text; the acknowledged deficiency offers no second form
    const listed = page.locator("#decisions tbody tr", { hasText: `deficiency ${fin}` });
    expect(await listed.innerText()).toContain(SCRIPTED);
    expect(await page.title()).not.toContain("owned");
    expect(await row(page, fin).locator("button").count()).toBe(0);
    // the stale tab's form: refused, as a page saying why, nothing given
    await row(stale, fin).locator("input[name=reason]").fill("again");
    const [refused] = await Promise.all([stale.waitForResponse((r) => r.request().method() === "POST"), row(stale, fin).locator("button", { hasText: "Acknowledge" }).click()]);
    expect(refused.status()).toBe(409);
    expect(await stale.locator("main").innerText()).toContain("already waits for the host");
    expect((await decisionsOf(pay.id)).filter((d) => d.kind === "ack")).toHaveLength(1);
    // withdrawn from the list (its own, not yet carried by a push reply)
    await Promise.all([page.waitForURL(/#decisions$/), listed.locator("button", { hasText: "Withdraw" }).click()]);
    expect((await decisionsOf(pay.id)).find((d) => d.id === given[0]!.id)!.state).toBe("withdrawn");
    expect(await page.locator("#decisions tbody tr", { hasText: `deficiency ${fin}` }).innerText()).toContain("withdrawn by oscar");
    // another group's host is not theirs at all
    const other = await context.newPage();
    expect((await other.goto(`/ui/hosts/${web.id}`))?.status()).toBe(404);
    await context.close();
  }, 90_000);

  it("lets a control owner approve an integrity change and waive its own control on one host, and shows it nothing of other owners' controls", async () => {
    const context = await signedIn("sam");
    const page = await open(context, `/ui/hosts/${pay.id}`);
    const sec = fixtureDeficiencyId(pay.id, SEC);
    expect(await page.locator("#deficiencies tbody tr").count()).toBe(1);
    expect(await page.locator("#deficiencies").innerText()).not.toContain(FIN);
    await row(page, sec).locator("form", { hasText: "Approve this state" }).locator("input[name=reason]").fill("CHG-78 the new mode is the approved one");
    await Promise.all([page.waitForURL(/#decisions$/), row(page, sec).locator("button", { hasText: "Approve this state" }).click()]);
    const approval = (await decisionsOf(pay.id)).find((d) => d.kind === "integrity-approval");
    expect(approval).toEqual(expect.objectContaining({ control: SEC, state: "pending", given_by: "sam", subject: expect.objectContaining({ key: `${SEC}/file/srv-1`, record: 1 }) }));
    expect(await row(page, sec).locator("button", { hasText: "Approve this state" }).count()).toBe(0);
    // the waiver form under its control's block on the host's page
    const block = page.locator("#controls section.control", { hasText: SEC });
    await block.locator("details.waive summary").click();
    await block.locator("input[name=until]").fill("2099-06-30");
    await block.locator("details.waive input[name=reason]").fill("RISK-9 accepted until the migration");
    await Promise.all([page.waitForURL(/#decisions$/), block.locator("button", { hasText: "Waive" }).click()]);
    const waiver = (await decisionsOf(pay.id)).find((d) => d.kind === "waiver");
    expect(waiver).toEqual(expect.objectContaining({ control: SEC, state: "pending", given_by: "sam", subject: expect.objectContaining({ until: "2099-06-30", from: null }) }));
    expect(await page.locator("#decisions").innerText()).toContain("until 2099-06-30");
    expect(await audited("decision.waive", "sam")).toBe(1);
    expect(await audited("decision.approve-change", "sam")).toBe(1);
    await context.close();
  }, 90_000);

  it("lets an approver waive a control on a host group from the control's page", async () => {
    const context = await signedIn("anna");
    const page = await open(context, `/ui/controls/${FIN}`);
    const form = page.locator("#waivers form.waive");
    expect(await form.locator("select[name=group] option").allInnerTexts()).toEqual(["payments", "web"]);
    await form.locator("select[name=group]").selectOption("payments");
    await form.locator("input[name=from]").fill("2099-01-01");
    await form.locator("input[name=until]").fill("2099-01-31");
    await form.locator("input[name=reason]").fill("RISK-10 the quarter's freeze");
    await Promise.all([page.waitForURL(new RegExp(`/ui/controls/${FIN}#waivers$`)), form.locator("button", { hasText: "Waive" }).click()]);
    // one per host of the group not revoked: pay-01 only (old-01 is revoked)
    const rows = (await hub.pool.query<{ host_id: string }>("SELECT host_id FROM hub_decisions WHERE kind = 'waiver' AND control = $1", [FIN])).rows;
    expect(rows.map((r) => r.host_id)).toEqual([pay.id]);
    expect(await page.locator("#hub-waivers").innerText()).toContain("pay-01");
    await context.close();
  }, 60_000);

  it("shows an auditor the deficiencies and decisions and no form; offers no form on a revoked host", async () => {
    const context = await signedIn("audrey");
    const page = await open(context, `/ui/hosts/${pay.id}`);
    expect(await page.locator("#deficiencies tbody tr").count()).toBe(2);
    expect(await page.locator("#decisions tbody tr").count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator("main form[method=post]").count()).toBe(0);
    const control = await open(context, `/ui/controls/${FIN}`);
    expect(await control.locator("form.waive").count()).toBe(0);
    await context.close();
    const admin = await signedIn("ada");
    const live = await open(admin, `/ui/hosts/${web.id}`);
    expect(await live.locator("#deficiencies button", { hasText: "Acknowledge" }).count()).toBe(1);
    expect(await live.locator("#deficiencies button", { hasText: "Approve this state" }).count()).toBe(1);
    const revoked = await open(admin, `/ui/hosts/${gone.id}`);
    expect(await revoked.locator("#deficiencies tbody tr").count()).toBe(1);
    expect(await revoked.locator("main form[method=post]").count()).toBe(0);
    await admin.close();
  }, 60_000);
});
