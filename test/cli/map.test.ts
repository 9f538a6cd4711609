// `covenant map` as users run it (dist/: `node scripts/build.mjs` first): JSON with and without a
// store's outcomes, DOT through Debian's dot, --out never through a link, and the HTML page in a
// real headless Chromium (Debian's, driven by playwright-core; one browser for every case, the
// network blocked: only file: URLs load), checked for what a person sees.
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const SOX = resolve("examples/sox");
const ITGC = resolve("policies/sox-itgc");
let work: string;
let state: string;

interface MapJson {
  format: string;
  version: number;
  state?: string;
  nodes: { kind: string; id: string; control?: string; verdict?: string; outcome?: string; key?: string }[];
  edges: { kind: string; from: string; to: string }[];
}
const json = (args: string[]): MapJson => {
  const r = covenant(["map", "--format", "json", ...args]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as MapJson;
};

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "covenant-map-cli-"));
  state = join(work, "state");
  // a run in the example's sandbox records real outcomes: 2 drift, 1 repaired, the rest kept or skipped
  const run = covenant(["run", "--sandbox-dir", join(work, "sandbox"), "--state", state, SOX]);
  expect(run.code, run.err).toBe(1);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("covenant map: JSON and DOT", () => {
  it("overlays the store's latest outcomes: each promise's, and each control's verdict as the run reported it", () => {
    const map = json(["--state", state, SOX]);
    expect([map.format, map.version, map.state]).toEqual(["covenant-map", 1, state]);
    const promises = map.nodes.filter((n) => n.kind === "promise");
    expect(promises).toHaveLength(21);
    expect(promises.every((p) => p.outcome !== undefined)).toBe(true);
    const counts: Record<string, number> = {};
    for (const p of promises) counts[p.outcome!] = (counts[p.outcome!] ?? 0) + 1;
    // the run's own summary: the example runs against this host (a connection to PostgreSQL from
    // another test may be a drift of ITGC-AC-01), so the figures are the run's, whatever they are
    const history = covenant(["history", "--json", "--state", state]);
    const runBody = (JSON.parse(history.out) as { kind: string; body: { counts: Record<string, number> } }[]).find((e) => e.kind === "run")!.body;
    expect(runBody.counts).toEqual(counts);
    expect(counts["repaired"]).toBe(1);
    expect(counts["drift"]).toBeGreaterThanOrEqual(2);
    // a control's verdict is drift exactly when one of its promises drifted
    const drifted = new Set(promises.filter((p) => p.outcome === "drift").map((p) => p.control));
    const deficient = map.nodes.filter((n) => n.kind === "control" && n.verdict === "drift").map((n) => n.control);
    expect(new Set(deficient)).toEqual(drifted);
    expect(deficient.length).toBeGreaterThanOrEqual(2);
  });

  it("is the policy alone with --no-state, and refuses a --state that holds no store", () => {
    const map = json(["--no-state", SOX]);
    expect(map.state).toBeUndefined();
    expect(map.nodes.some((n) => n.outcome !== undefined || n.verdict !== undefined)).toBe(false);
    const r = covenant(["map", "--state", join(work, "nothing-here"), SOX]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^covenant map: no store in /);
  });

  it("passes over a record an editor of the database altered: the map is written, stderr says so, exit 1", () => {
    const copy = join(work, "altered-state");
    cpSync(state, copy, { recursive: true });
    const db = new Database(join(copy, "state.db"));
    const seq = db.prepare("SELECT seq FROM ledger WHERE kind = 'change' AND body LIKE '%\"to\":\"drift\"%'").pluck().get() as number;
    const key = (JSON.parse(db.prepare("SELECT body FROM ledger WHERE seq = ?").pluck().get(seq) as string) as { key: string }).key;
    db.prepare("UPDATE ledger SET body = replace(body, '\"to\":\"drift\"', '\"to\":\"kept\"') WHERE seq = ?").run(seq);
    db.close();
    const r = covenant(["map", "--format", "json", "--state", copy, SOX]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("covenant map: 1 record of the history failed its check and was passed over; run `covenant verify`");
    const map = JSON.parse(r.out) as MapJson;
    const altered = map.nodes.find((n) => n.key === key)!;
    expect(altered.outcome).toBeUndefined();
    expect(map.nodes.filter((n) => n.kind === "promise" && n.outcome !== undefined)).toHaveLength(20);
  });

  it("says a policy's errors and exits 2", () => {
    const dir = join(work, "bad");
    mkdirSync(dir);
    writeFileSync(join(dir, "p.promise"), 'control "X" {\n  title = "x"\n  file "relative/path" { mode = "0644" }\n}\n');
    const r = covenant(["map", "--no-state", dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("p.promise:3:");
    expect(r.out).toBe("");
  });

  it("says a configuration's errors and exits 2", () => {
    const r = covenant(["map", "--no-state", "--config", join(work, "missing.yaml"), SOX]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("missing.yaml:1:1: error[E322]: the configuration");
    expect(r.out).toBe("");
  });

  const dotMissing = ensureDebianTool("dot", "graphviz");
  it("writes a digraph Graphviz's dot renders, with each control", () => {
    expect(dotMissing).toBeUndefined();
    const out = join(work, "itgc.dot");
    expect(covenant(["map", "--format", "dot", "--no-state", "--out", out, ITGC]).code).toBe(0);
    const r = spawnSync("dot", ["-Tsvg", out], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const svg = r.stdout.replace(/&#45;/g, "-");
    for (const id of ["SOX-AC-01", "SOX-AC-10", "SOX-CM-02", "SOX-OP-01"]) expect(svg).toContain(`>${id}</text>`);
  });

  it("never writes --out through a link", () => {
    const target = join(work, "target.txt");
    writeFileSync(target, "keep");
    const link = join(work, "link.html");
    symlinkSync(target, link);
    const r = covenant(["map", "--no-state", "--out", link, SOX]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("cannot write");
    expect(readFileSync(target, "utf8")).toBe("keep");
  });
});

describe("covenant map: the HTML page in headless Chromium", () => {
  let browser: BrowserContext;
  const errors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    expect(ensureDebianTool("/usr/bin/chromium", "chromium")).toBeUndefined();
    // a fresh profile in the test's directory, removed with it
    browser = await chromium.launchPersistentContext(join(work, "profile"), {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
      timeout: 20_000,
    });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(name: string, args: string[]): Promise<Page> {
    const out = join(work, `${name}.html`);
    const r = covenant(["map", "--out", out, ...args]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const page = await browser.newPage();
    page.setDefaultTimeout(5_000);
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`${name}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    await page.route("**/*", (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith("file:") ? route.continue() : route.abort();
    });
    await page.goto(pathToFileURL(out).href);
    return page;
  }

  it("shows the example's controls, filters them by a COBIT reference, and shows a control's promises with their outcomes", { timeout: 20_000 }, async () => {
    const page = await open("sox", ["--state", state, "--config", join(SOX, "covenant.yaml"), SOX]);
    await expect(page.locator("#control-count").textContent()).resolves.toBe("12 controls");
    expect(await page.locator("li.control:visible").count()).toBe(12);
    await page.selectOption("#filter-ref", "ref:COBIT BAI06.01");
    const shown = await page.locator("li.control:visible").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")));
    expect(shown).toEqual(["ITGC-CM-02"]);
    await expect(page.locator("#shown").textContent()).resolves.toBe("Showing 1 of 12 controls.");
    await page.locator("li.control:visible button").click();
    await expect(page.locator("#detail h2").textContent()).resolves.toMatch(/^ITGC-CM-02: /);
    const rows = await page.locator("#detail tr.promise").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(["file:/srv/ledger/*.dat", "directory:/srv/ledger"]);
    for (const r of rows) expect(r[3]).toMatch(/^(kept|repaired|drift|skipped) since \d{4}-\d{2}-\d{2}T/);
    // the JSON's outcomes are what the page shows
    const map = json(["--state", state, SOX]);
    const outcome = (key: string) => map.nodes.find((n) => n.key === key)!.outcome;
    expect(rows.map((r) => r[3]!.split(" ")[0])).toEqual([outcome("ITGC-CM-02/file:/srv/ledger/*.dat"), outcome("ITGC-CM-02/directory:/srv/ledger")]);
  });

  it("answers which controls protect a path (through a glob) and who is told when a port drifts", { timeout: 20_000 }, async () => {
    const page = await open("sox-search", ["--state", state, "--config", join(SOX, "covenant.yaml"), SOX]);
    await page.fill("#search", "/srv/ledger/2026-11.dat");
    await expect(page.locator("li.control:visible").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")))).resolves.toEqual(["ITGC-CM-02"]);
    await expect(page.locator("#search-result").textContent()).resolves.toContain("path /srv/ledger/*.dat watched by ITGC-CM-02");
    await page.fill("#search", "5432");
    await expect(page.locator("li.control:visible").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")))).resolves.toEqual(["ITGC-AC-01", "ITGC-AC-02"]);
    const told = await page.locator("#search-result").textContent();
    expect(told).toContain("dba_oncall (sms, mail)");
    expect(told).toContain("compliance (mail, digest)");
    expect(told).not.toContain("example.com");
    await page.fill("#search", "/etc/nothing");
    expect(await page.locator("li.control:visible").count()).toBe(0);
    await expect(page.locator("#search-result").textContent()).resolves.toBe("No control watches /etc/nothing.");
  });

  it("draws the library's map, its frameworks with their control counts, and prints it to PDF", { timeout: 20_000 }, async () => {
    const page = await open("itgc", ["--no-state", ITGC]);
    await expect(page.locator("#control-count").textContent()).resolves.toBe("33 controls");
    await page.selectOption("#filter-owner", "itgc_access");
    const owned = await page.locator("li.control:visible").count();
    expect(owned).toBeGreaterThan(0);
    expect(owned).toBeLessThan(33);
    await expect(page.locator('#frameworks [data-objective="DSS05"]').textContent()).resolves.toMatch(/^COBIT DSS05: \d+ controls$/);
    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(pdf.length).toBeGreaterThan(10_000);
    const pages = pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? [];
    expect(pages.length).toBeGreaterThan(1);
  });

  it("shows a hostile policy's text as text, and a COBIT process with no control as such", { timeout: 20_000 }, async () => {
    const dir = join(work, "hostile");
    mkdirSync(dir);
    const title = '</script><img src=x onerror="document.title=1"> & <b>bold</b>';
    writeFileSync(join(dir, "p.promise"), `control "EVIL-1" {\n  title = "${title.replace(/"/g, '\\"')}"\n  refs = ["COBIT 2019 DSS05.04"]\n  file "/etc/passwd" {\n    mode = "0644"\n  }\n}\n`);
    const page = await open("hostile", ["--no-state", dir]);
    await expect(page.locator("li.control .control-title").textContent()).resolves.toBe(title);
    expect(await page.locator("img, b").count()).toBe(0);
    await expect(page.title()).resolves.toBe("Covenant knowledge map");
    await expect(page.locator('#frameworks [data-objective="DSS01"]').textContent()).resolves.toBe("COBIT DSS01: no control");
    await expect(page.locator('#frameworks [data-objective="DSS05"]').textContent()).resolves.toBe("COBIT DSS05: 1 control");
    // a policy that cites no COBIT objective: each process the library covers has no control
    const sox = join(work, "sox-only");
    mkdirSync(sox);
    writeFileSync(join(sox, "p.promise"), 'control "S-1" {\n  title = "s"\n  refs = ["SOX 404"]\n  file "/etc/passwd" {\n    mode = "0644"\n  }\n}\n');
    const bare = await open("sox-only", ["--no-state", sox]);
    const objectives = await bare.locator("#frameworks [data-objective]").evaluateAll((els) => els.map((e) => e.textContent));
    expect(objectives).toEqual(["BAI06", "BAI10", "DSS01", "DSS04", "DSS05"].map((o) => `COBIT ${o}: no control`));
  });

  it("logged no console error or warning, and asked for nothing but its own file", () => {
    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
  });
});
