// The dashboard's control, controls and host pages in real headless Chromium, against a hub on
// real PostgreSQL with records pushed by synthetic hosts over HTTPS: signed in (POST /api/login
// through the browser context, so the session cookie is the browser's) as an auditor, a control
// owner scoped to one owner's controls and an operator scoped to one host group, each page checked
// for what that person sees: the design, the chart drawn (one column per day), the episodes, a
// control or host out of scope not found, outside text (a control title and a reason with
// `<script>` and a bidi mark) shown as text, no script in the page and no console error.
// COVENANT_DASHBOARD_SHOTS=DIR saves screenshots of the control's and the host's pages there.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { makeEnrollToken } from "../../src/hub/admin.js";
import type { RunningHub } from "../../src/hub/serve.js";
import { publishVersion } from "../../src/hub/policy/versions.js";
import { policyBody } from "../../src/store/policies.js";
import { createUser } from "../../src/hub/auth/users.js";
import type { TestCert } from "./helpers/certs.js";
import { closeBrowserHub, DASHBOARD_PASSWORD as PASSWORD, signedInContext, startBrowserHub, type BrowserHub } from "./helpers/browser-hub.js";
import { SyntheticHost } from "./helpers/synthetic-host.js";

const XSS_TITLE = "Nothing runs <script>document.title='owned'</script> here";
const XSS = { path: "xss.promise", text: `control "WEB-XSS-1" {\n  title    = "${XSS_TITLE}"\n  owner    = security\n  severity = low\n  refs     = ["SOX 404"]\n\n  file "/etc/motd" {\n    mode = 0644\n  }\n}\n` };
const files = [...readdirSync("examples/sox").filter((f) => f.endsWith(".promise")).map((f) => ({ path: f, text: readFileSync(join("examples/sox", f), "utf8") })), XSS];
const AC = "ITGC-AC-01";
const CM = "ITGC-CM-02";
const AC_KEY = `${AC}/connections:[5432,1433,1521]`;
const CM_KEY = `${CM}/file:/srv/ledger/*.dat`;
const REASON = "peer 10.9.9.9 \u202Eexe.gnp <script>document.title='owned'</script>";
const PERIOD = "from=2026-11-01&to=2026-11-07";

let b: BrowserHub;
let cert: TestCert;
let hub: RunningHub;
let alpha: SyntheticHost;
let beta: SyntheticHost;

const mac = (n: number) => n.toString(16).padStart(64, "0");
function rec(host: SyntheticHost, kind: string, time: string, body: unknown): void {
  const seq = host.lines.length + 1;
  host.lines.push(JSON.stringify({ seq, kind, run: seq, time, body, mac: mac(seq) }));
}
const change = (key: string, control: string, from: string | null, to: string, reason: string) => ({ key, control, type: key.split("/")[1]!.split(":")[0], promiser: key.split(":").slice(1).join(":"), from, to, reason, differences: [], changes: [] });

async function enrolled(name: string, group: string): Promise<SyntheticHost> {
  const host = new SyntheticHost(name);
  const { token } = await makeEnrollToken(hub.pool, { validForMs: 60_000, group, actor: "test" });
  expect((await host.enroll(hub.url, cert.certPem, token)).status).toBe(201);
  return host;
}

beforeAll(async () => {
  b = await startBrowserHub();
  ({ cert, hub } = b);
  const published = await publishVersion(hub.pool, hub.key, { files, message: "CHG-1", author: "alice", approvalRequired: false });
  expect(published).toHaveProperty("version");
  alpha = await enrolled("alpha-01", "payments");
  beta = await enrolled("beta-02", "web");
  const policy = policyBody(files, "2026-11-01T09:00:00Z");
  rec(alpha, "policy", "2026-11-01T09:00:00.000Z", policy);
  rec(alpha, "change", "2026-11-01T10:00:00.000Z", change(AC_KEY, AC, null, "kept", "as promised"));
  rec(alpha, "run", "2026-11-01T10:00:05.000Z", { run: 1, kind: "run", host: "alpha-01", started: "2026-11-01T10:00:00.000Z", finished: "2026-11-01T10:00:05.000Z", policy: policy.hash, policyRecord: 1, dryRun: false, promises: 2, counts: { kept: 2 }, outcomes: "ab".repeat(32), changed: 1 });
  rec(alpha, "change", "2026-11-03T12:00:00.000Z", change(AC_KEY, AC, "kept", "drift", REASON));
  rec(alpha, "change", "2026-11-05T08:00:00.000Z", change(AC_KEY, AC, "drift", "kept", "as promised"));
  rec(alpha, "change", "2026-11-05T08:00:00.000Z", change("WEB-XSS-1/file:/etc/motd", "WEB-XSS-1", null, "kept", "as promised"));
  rec(beta, "change", "2026-11-04T00:00:00.000Z", change(AC_KEY, AC, null, "drift", "peer 10.1.1.1"));
  rec(beta, "change", "2026-11-04T01:00:00.000Z", change(CM_KEY, CM, null, "drift", "content changed"));
  for (const h of [alpha, beta]) expect((await h.push(hub.url, cert.certPem, 0, h.lines.length)).status).toBe(200);
  await createUser(hub.pool, { name: "audrey", password: PASSWORD, grants: [{ role: "auditor" }] }, "test");
  await createUser(hub.pool, { name: "sam", password: PASSWORD, grants: [{ role: "owner", scope: "owner:security" }] }, "test");
  await createUser(hub.pool, { name: "oscar", password: PASSWORD, grants: [{ role: "operations", scope: "group:payments" }] }, "test");
}, 120_000);

afterAll(() => closeBrowserHub(b));

/** A browser context signed in as `user`: the login posted through the context, its cookie kept by the browser. */
const signedIn = (user: string): Promise<BrowserContext> => signedInContext(b, user);

interface Visit {
  page: Page;
  status: number;
  errors: string[];
}

async function visit(context: BrowserContext, path: string): Promise<Visit> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  const failed: string[] = [];
  page.on("response", (r) => {
    if (r.status() >= 400) failed.push(new URL(r.url()).pathname);
  });
  const response = await page.goto(path);
  await page.waitForLoadState("load");
  // Chromium asks for /favicon.ico on its own (the page names none): its 404 is the browser's, not the page's
  const own = failed.filter((p) => p !== "/favicon.ico");
  const kept = own.length === failed.length ? errors : errors.filter((e) => !e.startsWith("Failed to load resource"));
  return { page, status: response?.status() ?? 0, errors: [...kept, ...own.filter((p) => p !== new URL(page.url()).pathname).map((p) => `failed: ${p}`)] };
}

async function scriptsIn(page: Page): Promise<number> {
  return (await page.evaluate("document.querySelectorAll('script').length")) as number;
}

describe("the dashboard's pages in Chromium", () => {
  it("shows an auditor a control's design, the chart with one column per day, the episodes, and outside text as text", async () => {
    const context = await signedIn("audrey");
    const v = await visit(context, `/ui/controls/${AC}?${PERIOD}`);
    expect(v.status).toBe(200);
    const page = v.page;
    await expect(page.locator("#design").innerText()).resolves.toContain("Only approved application servers reach the general-ledger database");
    const written = await page.locator("#design pre").first().innerText();
    expect(written).toContain("max_per_source = 40");
    // the text as written, on its lines
    expect(written.split("\n").length).toBeGreaterThan(3);
    expect(written).not.toContain("\\n");
    expect(await page.locator("svg.compliance").count()).toBe(1);
    expect(await page.locator("svg.compliance g.day").count()).toBe(7);
    expect(await page.locator("svg.compliance g.day").nth(4).locator("title").textContent()).toBe("2026-11-05: 2 hosts, 0 kept, 2 deficient, 0 other");
    expect(await page.locator("tr.episode").count()).toBe(2);
    expect(await page.locator("tr.episode.open").innerText()).toContain("beta-02");
    const episodes = await page.locator("#episodes").innerText();
    expect(episodes).toContain("<script>document.title='owned'</script>");
    expect(episodes).toContain("\\u202e");
    expect(episodes).not.toContain("\u202E");
    expect(await page.locator("#versions").innerText()).toContain("alpha-01");
    expect(await page.locator("#waivers").innerText()).toContain("CHG-1182");
    expect(await scriptsIn(page)).toBe(0);
    expect(await page.title()).not.toContain("owned");
    expect(v.errors).toEqual([]);
    if (process.env["COVENANT_DASHBOARD_SHOTS"]) await v.page.screenshot({ path: join(process.env["COVENANT_DASHBOARD_SHOTS"], "hub-control.png"), fullPage: true });
    // the list, with the title written by a policy shown as text
    const list = await visit(context, "/ui/controls?ref=SOX%20404&size=5");
    expect(list.status).toBe(200);
    expect(await list.page.locator("table.controls tbody tr").count()).toBe(5);
    expect(await list.page.locator("nav.pager a[rel=next]").count()).toBe(1);
    const last = await visit(context, "/ui/controls?ref=SOX%20404&size=5&page=3");
    expect(await last.page.locator("table.controls").innerText()).toContain(XSS_TITLE);
    expect(await scriptsIn(last.page)).toBe(0);
    expect([...list.errors, ...last.errors]).toEqual([]);
    await context.close();
  }, 60_000);

  it("shows an auditor a host's controls, chain, policy and last report", async () => {
    const context = await signedIn("audrey");
    const v = await visit(context, `/ui/hosts/${alpha.id}`);
    expect(v.status).toBe(200);
    const text = await v.page.locator("main").innerText();
    expect(text).toContain("alpha-01");
    expect(text).toContain("ok: every push linked into one chain");
    expect(text).toContain("it runs it");
    expect(await v.page.locator("#controls section.control").count()).toBe(2);
    expect(await v.page.locator("#controls").innerText()).toContain(XSS_TITLE);
    expect(await v.page.locator("#last-run").innerText()).toContain("kept 2");
    if (process.env["COVENANT_DASHBOARD_SHOTS"]) await v.page.screenshot({ path: join(process.env["COVENANT_DASHBOARD_SHOTS"], "hub-host.png"), fullPage: true });
    expect(await scriptsIn(v.page)).toBe(0);
    expect(v.errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("shows a control owner its controls only: another owner's control is not found, a host shows only its controls", async () => {
    const context = await signedIn("sam");
    const mine = await visit(context, `/ui/controls/${AC}?${PERIOD}`);
    expect(mine.status).toBe(200);
    expect(await mine.page.locator("svg.compliance g.day").count()).toBe(7);
    expect(mine.errors).toEqual([]);
    expect((await visit(context, `/ui/controls/${CM}`)).status).toBe(404);
    const host = await visit(context, `/ui/hosts/${beta.id}`);
    expect(host.status).toBe(200);
    const controls = await host.page.locator("#controls").innerText();
    expect(controls).toContain(AC);
    expect(controls).not.toContain(CM);
    expect(controls).toContain("Only the controls you own are shown.");
    expect(await host.page.locator("#incidents").count()).toBe(0);
    const list = await visit(context, "/ui/controls?size=100");
    const listed = await list.page.locator("table.controls").innerText();
    expect(listed).toContain(AC);
    expect(listed).not.toContain(CM);
    await context.close();
  }, 60_000);

  it("shows an operator its group's hosts only, and no control page", async () => {
    const context = await signedIn("oscar");
    const own = await visit(context, `/ui/hosts/${alpha.id}`);
    expect(own.status).toBe(200);
    expect(await own.page.locator("#incidents").count()).toBe(1);
    expect(own.errors).toEqual([]);
    expect((await visit(context, `/ui/hosts/${beta.id}`)).status).toBe(404);
    expect((await visit(context, `/ui/controls/${AC}`)).status).toBe(403);
    await context.close();
  }, 60_000);
});
