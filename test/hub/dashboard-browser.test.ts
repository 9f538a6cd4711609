// The dashboard in real headless Chromium (Debian's, driven by playwright-core) against a real hub
// over HTTPS on real PostgreSQL: each role signs in through the sign-in page and is checked for
// what a person sees and can do: the navigation's sections, the overview's figures against the
// seeded fleet (worked out from its spec here, not read back), what lies out of reach absent, the
// forms a role may not use absent and the action refused when forged anyway, no console error, no
// CSP violation, the page's headers, and a host named like markup or with a bidi mark shown as text.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pool } from "pg";
import { startHub, type RunningHub } from "../../src/hub/serve.js";
import { createUser } from "../../src/hub/auth/users.js";
import type { Role } from "../../src/hub/auth/rules.js";
import { launchChromium } from "../helpers/browser.js";
import { join } from "node:path";
import { FleetPackChecker } from "../../src/evidence/fleet-verify.js";
import { readPackInto } from "../../src/evidence/read.js";
import { hubSigningKey } from "../../src/hub/signing.js";
import { tempDir } from "../store/helpers.js";
import { freshDatabase, type TestDatabase } from "./helpers/pg.js";
import { testCertificate, type TestCert } from "./helpers/certs.js";
import { testHubConfig } from "./helpers/config.js";
import { BIDI_HOST, CONTROLS, HOSTS, SCRIPT_HOST, expectedCounts, seedDashboardFleet, type SeededFleet } from "./helpers/dashboard-fleet.js";

const PASSWORD = "correct horse battery staple";
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const USERS: Record<Role, { name: string; grants: { role: string; scope?: string }[] }> = {
  administrator: { name: "ada", grants: [{ role: "administrator" }] },
  author: { name: "aubrey", grants: [{ role: "author" }] },
  approver: { name: "april", grants: [{ role: "approver" }] },
  owner: { name: "olive", grants: [{ role: "owner", scope: "owner:security" }] },
  operations: { name: "otto", grants: [{ role: "operations", scope: "group:payments" }] },
  auditor: { name: "audra", grants: [{ role: "auditor" }] },
};

let cert: TestCert;
let db: TestDatabase;
let hub: RunningHub;
let pool: Pool;
let browser: Browser;
let fleet: SeededFleet;

interface Visit {
  context: BrowserContext;
  page: Page;
  errors: string[];
  violations(): Promise<string[]>;
}

/** A fresh browser for a role, signed in through the sign-in page the overview redirects to. */
async function signedIn(role: Role): Promise<Visit> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.addInitScript(`window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.effectiveDirective + " " + e.blockedURI));`);
  const first = await page.goto(`${hub.url}/ui`);
  expect(new URL(page.url()).pathname).toBe("/ui/login");
  expect(first!.headers()["content-security-policy"]).toBe(CSP);
  await page.fill("input[name=user]", USERS[role].name);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== "/ui/login"), page.click("button[type=submit]")]);
  return { context, page, errors, violations: async () => (await page.evaluate("window.cspViolations.slice()")) as string[] };
}

const texts = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => (e.textContent ?? "").replace(/\s+/g, " ").trim()));

/** The overview's row for a control: its cells' texts. */
async function controlRow(page: Page, control: string): Promise<string[] | undefined> {
  const rows = await page.locator("#controls tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim())));
  return rows.find((r) => r[0]!.startsWith(control));
}

/** The counts a row shows, in outcome order, after its first five cells (control, title, owner, severity, chart). */
const countsOf = (row: string[]) => row.slice(5, 12).map((c) => Number(c.replace(/,/g, "")));
const ORDER = ["skipped", "kept", "repaired", "waived", "drift", "failed", "error"] as const;
const inOrder = (c: Record<string, number>) => ORDER.map((o) => c[o]);

beforeAll(async () => {
  cert = await testCertificate();
  db = await freshDatabase();
  hub = await startHub(testHubConfig(cert, db.url), () => undefined);
  pool = hub.pool;
  for (const u of Object.values(USERS)) await createUser(pool, { name: u.name, password: PASSWORD, grants: u.grants }, "test");
  fleet = await seedDashboardFleet(pool, USERS.approver.name);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await db?.drop();
});

const NAV: Record<Role, string[]> = {
  administrator: ["Overview", "Controls", "Hosts", "Incidents", "Policies", "Audit log", "Evidence"],
  author: ["Controls", "Policies"],
  approver: ["Controls", "Policies"],
  owner: ["Overview", "Controls", "Hosts"],
  operations: ["Overview", "Hosts", "Incidents"],
  auditor: ["Overview", "Controls", "Hosts", "Incidents", "Policies", "Audit log", "Evidence"],
};

describe("the fleet's evidence page", () => {
  it("lets an auditor download the period's evidence pack, which verifies with the hub's public key alone; the export is audited; operations have no such page", async () => {
    const v = await signedIn("auditor");
    const res = await v.page.goto(`${hub.url}/ui/evidence`);
    expect(res!.status()).toBe(200);
    expect(await v.page.locator("#evidence-form select[name=group] option").allTextContents()).toEqual(["every host", ...[...new Set(HOSTS.map((h) => h.group).filter((g): g is string => g !== null))].sort()]);
    const today = new Date().toISOString().slice(0, 10);
    await v.page.fill("input[name=from]", today);
    await v.page.fill("input[name=to]", today);
    await v.page.selectOption("select[name=group]", "payments");
    const [download] = await Promise.all([v.page.waitForEvent("download"), v.page.click("#evidence-form button[type=submit]")]);
    const path = join(tempDir("evidence-download"), "fleet.tar.gz");
    await download.saveAs(path);
    const { createPublicKey } = await import("node:crypto");
    const key = hubSigningKey(join(cert.dir, "hub-signing.key"), false);
    const checker = new FleetPackChecker(createPublicKey(key.publicKey.export({ type: "spki", format: "pem" }).toString()));
    await readPackInto(path, (name) => checker.file(name));
    const verdict = checker.verdict();
    expect(verdict.problems).toEqual([]);
    expect(verdict.intact).toBe(true);
    const audited = await pool.query("SELECT actor, object FROM hub_audit WHERE action = 'evidence.export'");
    expect(audited.rows).toEqual([{ actor: USERS.auditor.name, object: "group:payments" }]);
    expect(v.errors).toEqual([]);
    expect(await v.violations()).toEqual([]);
    await v.context.close();
    const ops = await signedIn("operations");
    expect((await ops.page.goto(`${hub.url}/ui/evidence`))!.status()).toBe(403);
    await ops.context.close();
  }, 60_000);
});

describe("the dashboard in Chromium, role by role", () => {
  it("shows each role only its sections, with who is signed in, and no console error or CSP violation", async () => {
    for (const role of Object.keys(USERS) as Role[]) {
      const v = await signedIn(role);
      expect(await texts(v.page, "nav a"), role).toEqual(NAV[role]);
      expect(await v.page.locator(".who strong").textContent()).toBe(USERS[role].name);
      expect(new URL(v.page.url()).pathname, role).toBe(NAV[role].includes("Overview") ? "/ui" : "/ui/controls");
      expect(v.errors, role).toEqual([]);
      expect(await v.violations(), role).toEqual([]);
      await v.context.close();
    }
  }, 120_000);

  it("gives an auditor the whole fleet's figures, drawn and written", async () => {
    const v = await signedIn("auditor");
    const all = expectedCounts(() => true, () => true);
    const cards = await texts(v.page, ".card .figure");
    expect(cards).toEqual([String(HOSTS.length), String(all.drift + all.failed + all.error), "3", "1", "1"]);
    for (const c of CONTROLS) expect(countsOf((await controlRow(v.page, c.control))!), c.control).toEqual(inOrder(expectedCounts(() => true, (x) => x.control === c.control)));
    // the controls with deficient verdicts come first
    expect((await texts(v.page, "#controls tbody tr td:first-child")).map((t) => t.replace(" ★", ""))).toEqual(["CTL-AC-01", "CTL-CM-02", "CTL-OP-03"]);
    expect(await v.page.locator("#controls svg rect").count()).toBeGreaterThan(3);
    expect(await texts(v.page, "#groups tbody tr td:first-child")).toEqual(["payments", "web"]);
    const deficiencies = await texts(v.page, "#deficiencies tbody tr");
    expect(deficiencies[0]).toContain("pay-db-2");
    expect(deficiencies[0]).toContain("1 d 2 h");
    expect(deficiencies[0]).toContain("security/mail/alice@example.com");
    expect(deficiencies[0]).toContain("oncall/sms/bob");
    expect(await texts(v.page, "#silent tbody tr td:first-child")).toEqual(["web-1"]);
    expect(await texts(v.page, "#doubt tbody tr td:first-child")).toEqual(["pay-db-2"]);
    expect(await v.page.locator("#doubt a").first().getAttribute("href")).toBe(`/ui/hosts/${fleet.hosts.get("pay-db-2")}`);
    expect(await v.page.locator("#controls a").first().getAttribute("href")).toBe("/ui/controls/CTL-AC-01");
    // filtered with the GET form: the web group only
    await v.page.selectOption("select[name=group]", "web");
    await Promise.all([v.page.waitForURL(/group=web/), v.page.click("form.filters button")]);
    expect(countsOf((await controlRow(v.page, "CTL-AC-01"))!)).toEqual(inOrder(expectedCounts((h) => h.group === "web", (c) => c.control === "CTL-AC-01")));
    expect(await texts(v.page, "#groups tbody tr td:first-child")).toEqual(["web"]);
    // read-only: no form to act with anywhere, and a forged one refused
    await v.page.goto(`${hub.url}/ui/incidents`);
    expect(await v.page.locator("form[action$='/resolve']").count()).toBe(0);
    await v.page.goto(`${hub.url}/ui/policies`);
    expect(await v.page.locator("form[action$='/approve']").count()).toBe(0);
    const csrf = await v.page.locator("input[name=_csrf]").first().getAttribute("value");
    const forged = await v.context.request.post(`${hub.url}/ui/incidents/${fleet.incident}/resolve`, { form: { _csrf: csrf!, reason: "forged" } });
    expect(forged.status()).toBe(403);
    expect(v.errors).toEqual([]);
    expect(await v.violations()).toEqual([]);
    await v.context.close();
  }, 60_000);

  it("shows a host named like markup, or with a bidi mark, as text", async () => {
    const v = await signedIn("administrator");
    const r = await v.page.goto(`${hub.url}/ui/hosts`);
    expect(r!.headers()["content-security-policy"]).toBe(CSP);
    expect(r!.headers()["x-frame-options"]).toBe("DENY");
    const names = await texts(v.page, "#hosts tbody tr td:first-child");
    expect(names).toContain(SCRIPT_HOST);
    expect(names).toContain("invoice\\u202efdp.exe");
    expect(names.join(" ")).not.toContain(BIDI_HOST);
    expect(await v.page.title()).toBe("Hosts · Covenant hub");
    expect(await v.page.locator("#hosts script").count()).toBe(0);
    expect(v.errors).toEqual([]);
    expect(await v.violations()).toEqual([]);
    await v.context.close();
  }, 60_000);

  it("holds operations to their group: its hosts' figures only, no other group's host anywhere", async () => {
    const v = await signedIn("operations");
    const mine = expectedCounts((h) => h.group === "payments", () => true);
    expect((await texts(v.page, ".card .figure")).slice(0, 2)).toEqual(["3", String(mine.drift + mine.failed + mine.error)]);
    expect(await texts(v.page, "#groups tbody tr td:first-child")).toEqual(["payments"]);
    for (const path of ["/ui", "/ui/hosts", "/ui/incidents"]) {
      await v.page.goto(`${hub.url}${path}`);
      const body = (await v.page.locator("main").textContent()) ?? "";
      expect(body, path).not.toContain("web-1");
      expect(body, path).not.toContain("document.title");
    }
    // the group select offers only their group
    await v.page.goto(`${hub.url}/ui/hosts`);
    expect(await texts(v.page, "select[name=group] option")).toEqual(["any", "payments"]);
    // no resolve form (administrators resolve), and a forged one refused
    expect(await v.page.locator("form[action$='/resolve']").count()).toBe(0);
    const csrf = await v.page.locator("input[name=_csrf]").first().getAttribute("value");
    expect((await v.context.request.post(`${hub.url}/ui/incidents/${fleet.incident}/resolve`, { form: { _csrf: csrf!, reason: "forged" } })).status()).toBe(403);
    // a page they may not see is an HTML page saying so
    const audit = await v.page.goto(`${hub.url}/ui/audit`);
    expect(audit!.status()).toBe(403);
    expect(await v.page.locator("h1").textContent()).toBe("Not allowed");
    expect(v.errors.filter((e) => !e.includes("403"))).toEqual([]);
    await v.context.close();
  }, 60_000);

  it("holds a control owner to their controls' data on every host", async () => {
    const v = await signedIn("owner");
    expect((await texts(v.page, "#controls tbody tr td:first-child")).map((t) => t.replace(" ★", ""))).toEqual(["CTL-AC-01"]);
    expect(countsOf((await controlRow(v.page, "CTL-AC-01"))!)).toEqual(inOrder(expectedCounts(() => true, (c) => c.owner === "security")));
    expect(await texts(v.page, "#groups tbody tr td:first-child")).toEqual(["payments", "web"]);
    const main = (await v.page.locator("main").textContent()) ?? "";
    expect(main).not.toContain("CTL-CM-02");
    expect(main).not.toContain("CTL-OP-03");
    await v.context.close();
  }, 60_000);

  it("lets an administrator resolve an incident with the form, audited", async () => {
    const v = await signedIn("administrator");
    await v.page.goto(`${hub.url}/ui/incidents`);
    await v.page.fill(`form[action='/ui/incidents/${fleet.incident}/resolve'] input[name=reason]`, "restored from backup, checked");
    await Promise.all([v.page.waitForURL(`${hub.url}/ui/incidents`), v.page.click(`form[action='/ui/incidents/${fleet.incident}/resolve'] button`)]);
    expect((await texts(v.page, "#incidents tbody tr"))[0]).toContain("resolved by ada");
    const a = await pool.query("SELECT actor, detail FROM hub_audit WHERE action = 'incident.resolve'");
    expect(a.rows).toEqual([{ actor: "ada", detail: { reason: "restored from backup, checked" } }]);
    await v.page.goto(`${hub.url}/ui/audit`);
    expect((await texts(v.page, "#audit tbody tr"))[0]).toContain("incident.resolve");
    expect(v.errors).toEqual([]);
    await v.context.close();
  }, 60_000);

  it("lets an approver approve another's version, never their own; an author approves nothing", async () => {
    const v = await signedIn("approver");
    await v.page.goto(`${hub.url}/ui/policies`);
    expect(await v.page.locator(`form[action='/ui/policies/${fleet.pendingPolicy.byOther}/approve']`).count()).toBe(1);
    expect(await v.page.locator(`form[action='/ui/policies/${fleet.pendingPolicy.byApprover}/approve']`).count()).toBe(0);
    expect(await v.page.locator("#policies").textContent()).toContain("yours: another approver decides");
    const csrf = await v.page.locator("input[name=_csrf]").first().getAttribute("value");
    const own = await v.context.request.post(`${hub.url}/ui/policies/${fleet.pendingPolicy.byApprover}/approve`, { form: { _csrf: csrf! } });
    expect(own.status()).toBe(409);
    await v.page.fill(`form[action='/ui/policies/${fleet.pendingPolicy.byOther}/reject'] input[name=reason]`, "no ticket attached");
    await Promise.all([v.page.waitForURL(`${hub.url}/ui/policies`), v.page.click(`form[action='/ui/policies/${fleet.pendingPolicy.byOther}/reject'] button`)]);
    expect(await v.page.locator("#policies").textContent()).toContain("rejected by april");
    await v.context.close();
    const author = await signedIn("author");
    expect(await author.page.locator("form[action$='/approve']").count()).toBe(0);
    const acsrf = await author.page.locator("input[name=_csrf]").first().getAttribute("value");
    expect((await author.context.request.post(`${hub.url}/ui/policies/${fleet.pendingPolicy.byApprover}/approve`, { form: { _csrf: acsrf! } })).status()).toBe(403);
    expect((await author.page.goto(`${hub.url}/ui`))!.status()).toBe(403);
    await author.context.close();
  }, 60_000);

  it("signs out with the frame's form, back to the sign-in page, the session gone", async () => {
    const v = await signedIn("auditor");
    await Promise.all([v.page.waitForURL(/\/ui\/login$/), v.page.click(".who button")]);
    await v.page.goto(`${hub.url}/ui/hosts`);
    expect(new URL(v.page.url()).pathname).toBe("/ui/login");
    expect(new URL(v.page.url()).searchParams.get("next")).toBe("/ui/hosts");
    await v.context.close();
  }, 60_000);
});
