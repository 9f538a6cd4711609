// The extension in a real VS Code: the .vsix `vsce` packs, installed into code-server (VS Code
// 1.100's workbench and extension host) and used through Debian's Chromium as an author would:
// a policy opened from the Explorer is highlighted by the grammar, `covenant lsp` (bin/covenant,
// named in the user's settings) reports what `covenant check` reports and clears it as the text
// is mended, offers the suggestion as a quick fix, hovers and completes from the promise types'
// schema; and in a workspace the user has not trusted, the server the workspace's own settings
// name is never started (it is once the workspace is trusted).
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attributesOf } from "../../src/promise-types/registry.ts";
import { launchChromium } from "../helpers/browser.ts";
import { ensureCodeServer, installExtension, startCodeServer, type CodeServerDirs, type RunningCodeServer } from "../helpers/code-server.ts";
import { extensionDir } from "./textmate.ts";

const repo = join(extensionDir, "../..");
const covenant = join(repo, "bin/covenant");
const policy = (attribute: string) => `stakeholder compliance { description = "Compliance team" }

control "SOX-ITGC-01" {
  title    = "Payroll configuration is protected"
  owner    = compliance
  severity = high

  file "/etc/payroll.conf" {
    mode  = 0640
    ${attribute} = "root"
  }
}
`;

interface Instance {
  server: RunningCodeServer;
  dirs: CodeServerDirs;
  /** logged in once: every page of the instance shares its cookie */
  context: BrowserContext;
}

let work: string;
let browser: Browser;
const instances: Instance[] = [];

/** A code-server of its own (user settings are per instance) with the packed extension installed. */
async function instance(settings: Record<string, unknown>, folder: string, vsix: string): Promise<Instance> {
  const base = mkdtempSync(join(work, "instance-"));
  const dirs = { userData: join(base, "user-data"), extensions: join(base, "extensions"), config: join(base, "config.yaml") };
  mkdirSync(join(dirs.userData, "User"), { recursive: true });
  const quiet = { "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off", "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false, "workbench.tips.enabled": false };
  writeFileSync(join(dirs.userData, "User/settings.json"), JSON.stringify({ ...quiet, ...settings }, null, 2));
  const failed = installExtension(vsix, dirs);
  if (failed) throw new Error(`the .vsix did not install: ${failed}`);
  const server = await startCodeServer(dirs, folder);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const started = { server, dirs, context };
  instances.push(started);
  const login = await context.newPage();
  await login.goto(`${server.url}login`);
  await login.fill("input[type=password]", server.password);
  await login.press("input[type=password]", "Enter");
  await login.waitForURL((u) => !u.pathname.startsWith("/login"));
  await login.close();
  return started;
}

/** The workbench on `folder`, with `file` opened from the Explorer. */
async function openInWorkbench(at: Instance, folder: string, file: string, beforeOpen?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await at.context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${at.server.url}?folder=${encodeURIComponent(folder)}`);
  await page.waitForSelector(".monaco-workbench");
  await beforeOpen?.(page);
  await page.getByRole("treeitem", { name: file }).click();
  await page.waitForSelector(`${editorOf(file)} .view-lines`);
  return page;
}

/** The editor of `file` (a workbench restores the editors a page before had open: their DOM stays, hidden). */
const editorOf = (file: string) => `.monaco-editor[data-uri$="/${file}"]`;

/** The editor's rendered lines: each a list of [token class, text]. */
async function renderedLines(page: Page, file: string): Promise<[string, string][][]> {
  // lines are placed by their style's top, not in document order
  return page.$$eval(`${editorOf(file)} .view-line`, (lines) => {
    const top = (e: unknown) => parseFloat((e as { style: { top: string } }).style.top);
    return lines
      .sort((a, b) => top(a) - top(b))
      .map((l) => [...l.querySelectorAll("span > span")].map((s) => [(s.className.match(/mtk\d+/) ?? [""])[0], (s.textContent ?? "").replace(/\u00a0/g, " ")] as [string, string]));
  });
}

async function goTo(page: Page, line: number, column: number): Promise<void> {
  await page.keyboard.press("Control+G");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type(`${line}:${column}`);
  await page.keyboard.press("Enter");
}

/** Runs a command by its title from the Command Palette (a key binding may be the browser's). */
async function command(page: Page, title: string): Promise<void> {
  await page.keyboard.press("Control+Shift+P");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type(title);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
}

async function problems(page: Page): Promise<string[]> {
  return page.$$eval(".markers-panel .monaco-list-row", (rows) => rows.map((r) => r.textContent ?? ""));
}

let main: Instance;

/**
 * The .vsix `vsce package` makes, packed from a copy of editors/vscode in `work`: vsce runs the
 * extension's build first, which rewrites its copy of covenant.yaml's schema (the copy a test of
 * test/editors/vscode-extension.test.ts compares with docs/), and nothing of the checkout may
 * change under the suite. The copy's schema comes from docs/ as the build's does.
 */
function packExtension(): string {
  const vsce = join(extensionDir, "node_modules/@vscode/vsce/vsce");
  if (!existsSync(vsce)) throw new Error("editors/vscode has no node_modules: `npm test` installs them (npm ci --prefix editors/vscode)");
  const copy = join(work, "editors/vscode");
  const modules = join(extensionDir, "node_modules");
  cpSync(extensionDir, copy, { recursive: true, filter: (src) => src !== modules && !src.startsWith(`${modules}/`) });
  symlinkSync(modules, join(copy, "node_modules"));
  mkdirSync(join(work, "docs"));
  copyFileSync(join(repo, "docs/covenant.schema.json"), join(work, "docs/covenant.schema.json"));
  const vsix = join(work, "covenant.vsix");
  const packed = spawnSync(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--out", vsix], { cwd: copy, encoding: "utf8" });
  if (packed.status !== 0) throw new Error(`vsce package failed: ${packed.stdout}${packed.stderr}`);
  return vsix;
}

/** A workspace of its own for each test: the .promise files of one folder are one policy (a control defined in two is a duplicate). */
function ownFolder(file: string): string {
  const folder = join(work, file.replace(/\.promise$/, ""));
  mkdirSync(folder);
  return folder;
}

/** `file` written with `text` in a workspace of its own, and opened in the workbench. */
async function openPolicy(file: string, text: string): Promise<{ page: Page; folder: string }> {
  const folder = ownFolder(file);
  writeFileSync(join(folder, file), text);
  return { page: await openInWorkbench(main, folder, file), folder };
}

/** The text of each rendered line of `file`'s editor. */
async function lineTexts(page: Page, file: string): Promise<string[]> {
  return (await renderedLines(page, file)).map((l) => l.map(([, t]) => t).join(""));
}

const errorSquiggles = (page: Page, file: string) => page.locator(`${editorOf(file)} .squiggly-error`).count();

describe("the extension in VS Code (code-server)", () => {
  beforeAll(async () => {
    const installed = ensureCodeServer();
    if ("error" in installed) throw new Error(installed.error);
    work = mkdtempSync(join(tmpdir(), "covenant-vscode-"));
    const vsix = packExtension();
    browser = await launchChromium();
    main = await instance({ "covenant.server.path": covenant, "security.workspace.trust.enabled": false }, work, vsix);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(instances.map((i) => i.server.stop()));
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("names the language and highlights a policy with the grammar (no server needed)", async () => {
    const file = "highlight.promise";
    const { page } = await openPolicy(file, policy("owner"));
    await expect.poll(() => page.textContent("#status\\.editor\\.mode"), { timeout: 15_000 }).toContain("Covenant");
    // the grammar tokenizes after the first paint: until then a line is one span
    const tokenized = async () => (await renderedLines(page, file)).find((l) => l.some(([, t]) => t === "control"));
    await expect.poll(tokenized, { timeout: 15_000 }).toBeDefined();
    const lines = await renderedLines(page, file);
    const control = (await tokenized())!;
    const keyword = control.find(([, t]) => t === "control")![0];
    const name = control.find(([, t]) => t === '"SOX-ITGC-01"')![0];
    // a plain-text file renders every token in the default foreground, mtk1
    expect(keyword).not.toBe("mtk1");
    expect(name).not.toBe("mtk1");
    expect(keyword).not.toBe(name);
    const mode = lines.find((l) => l.some(([, t]) => t === "mode"))!;
    expect(mode.find(([, t]) => t === "mode")![0]).not.toBe("mtk1");
    expect(mode.find(([, t]) => t === "0640")![0]).not.toBe("mtk1");
    await page.close();
  }, 120_000);

  it("shows the diagnostics `covenant check` gives, and clears them as the author mends the text", async () => {
    const file = "typo.promise";
    const { page, folder } = await openPolicy(file, policy("ownr"));
    const checked = spawnSync(covenant, ["check", join(folder, file)], { encoding: "utf8" });
    expect(checked.status).toBe(2);
    expect(checked.stdout + checked.stderr).toContain("typo.promise:10:5: error E101: unknown attribute `ownr` for `file` promise");
    await page.waitForSelector(`${editorOf(file)} .squiggly-error`);
    await page.keyboard.press("Control+Shift+M");
    await expect.poll(() => problems(page), { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringMatching(/unknown attribute `ownr` for `file` promise.*E101.*Ln 10, Col 5.*did you mean `owner`\?/)]));
    // "ownr" to "owner", typed: the diagnostic goes with the next edit's publication
    await page.click(`${editorOf(file)} .view-lines`);
    await goTo(page, 10, 8);
    await page.keyboard.type("e");
    await expect.poll(async () => (await lineTexts(page, file)).some((l) => l.includes("owner = ")), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => errorSquiggles(page, file), { timeout: 15_000 }).toBe(0);
    await page.close();
  }, 120_000);

  it("offers a diagnostic's suggestion as a quick fix, and applies it", async () => {
    const file = "quickfix.promise";
    const { page } = await openPolicy(file, policy("ownr"));
    await page.waitForSelector(`${editorOf(file)} .squiggly-error`);
    await page.click(`${editorOf(file)} .view-lines`);
    await goTo(page, 10, 6);
    const fix = page.locator(".action-widget .monaco-list-row", { hasText: "owner" });
    // asked again until the server has answered (a loaded machine: the first ask may find none)
    await expect
      .poll(
        async () => {
          await page.keyboard.press("Escape");
          await page.keyboard.press("Control+.");
          return fix
            .first()
            .waitFor({ timeout: 3_000 })
            .then(() => true)
            .catch(() => false);
        },
        { timeout: 45_000, interval: 200 },
      )
      .toBe(true);
    // the only fix, focused: applied with Enter (the widget's pointer block takes clicks)
    await expect(fix.first().getAttribute("class")).resolves.toContain("focused");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await lineTexts(page, file)).some((l) => l.trim() === 'owner = "root"'), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => errorSquiggles(page, file), { timeout: 15_000 }).toBe(0);
    await page.close();
  }, 120_000);

  it("hovers an attribute with its schema's description, and completes the attributes a file promise takes", async () => {
    const file = "hover.promise";
    const { page } = await openPolicy(file, policy("owner"));
    await expect.poll(() => page.textContent("#status\\.editor\\.mode"), { timeout: 15_000 }).toContain("Covenant");
    const described = attributesOf("file")!.get("mode")!.description;
    // the server may still be starting: hover again until it answers (away first, to blank lines
    // of the same editor: a hover shows again only after the mouse has left its word)
    const word = page.locator(`${editorOf(file)} .view-line span span`, { hasText: /^mode$/ });
    await expect
      .poll(
        async () => {
          await page.hover(`${editorOf(file)} .view-lines`, { position: { x: 600, y: 400 } });
          await word.hover();
          // the editor shows a hover after its delay (300 ms), once the server has answered
          await page.waitForTimeout(1_500);
          return (await page.locator(".monaco-hover-content:visible").allTextContents()).join(" ");
        },
        { timeout: 30_000, interval: 100 },
      )
      .toContain(described);
    await page.hover(`${editorOf(file)} .view-lines`, { position: { x: 600, y: 400 } });
    await page.click(`${editorOf(file)} .view-lines`);
    await goTo(page, 10, 19);
    await page.keyboard.press("End");
    await page.keyboard.press("Enter");
    await page.keyboard.type("gro");
    await page.keyboard.press("Control+Space");
    const offered = page.locator(".suggest-widget .monaco-list-row");
    await expect.poll(() => offered.allTextContents(), { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringMatching(/^group/)]));
    await page.close();
  }, 120_000);

  it("formats as `covenant fmt` does, outlines controls and promises, and renames a stakeholder across files", async () => {
    const file = "payroll.promise";
    const folder = ownFolder(file);
    // one stakeholder, defined in one file and used in another; the text out of layout
    writeFileSync(join(folder, "people.promise"), 'stakeholder compliance { description = "Compliance team" }\n');
    const untidy = policy("owner").replace(/^stakeholder.*\n\n/, "").replace("  title    =", "  title =").replace("    mode  = 0640", "      mode=0640");
    writeFileSync(join(folder, file), untidy);
    const formatted = spawnSync(covenant, ["fmt", "--stdout", join(folder, file)], { encoding: "utf8" });
    expect(formatted.status).toBe(0);
    expect(formatted.stdout).not.toBe(untidy);
    const page = await openInWorkbench(main, folder, file);
    await expect.poll(() => page.textContent("#status\\.editor\\.mode"), { timeout: 15_000 }).toContain("Covenant");
    const text = async () => (await lineTexts(page, file)).join("\n");
    // once the server has published this workspace's diagnostics (no covenant.yaml here: W301)
    await page.keyboard.press("Control+Shift+M");
    await expect.poll(() => problems(page), { timeout: 20_000 }).toEqual(expect.arrayContaining([expect.stringContaining("W301")]));
    await page.click(`${editorOf(file)} .view-lines`);
    await command(page, "Format Document");
    await expect.poll(async () => (await text()).trimEnd(), { timeout: 10_000 }).toBe(formatted.stdout.trimEnd());
    // the Outline: the control and its promise
    await command(page, "Focus on Outline View");
    const outline = page.locator(".outline-pane .monaco-list-row");
    await expect.poll(() => outline.allTextContents(), { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringContaining("SOX-ITGC-01")]));
    // rename `compliance` (the owner) to `audit`, here and where it is defined
    await page.click(`${editorOf(file)} .view-lines`);
    await goTo(page, 3, 16);
    await page.keyboard.press("F2");
    // the box takes the focus once the server has said what may be renamed (prepareRename)
    const box = page.locator(".rename-box input");
    await box.waitFor();
    await page.waitForFunction(() => (globalThis as unknown as { document: { activeElement: { className: string } | null } }).document.activeElement?.className.includes("rename-input") === true);
    await box.fill("audit");
    await box.press("Enter");
    await expect.poll(text, { timeout: 15_000 }).toContain("owner    = audit");
    await page.keyboard.press("Control+K");
    await page.keyboard.press("S"); // Save All: the other file is changed in its (background) model
    await expect.poll(() => readFileSync(join(folder, "people.promise"), "utf8"), { timeout: 15_000 }).toBe('stakeholder audit { description = "Compliance team" }\n');
    await page.close();
  }, 120_000);

  it("in a workspace not trusted, never starts the server its own settings name; once trusted, does", async () => {
    const untrusted = join(work, "untrusted");
    const marker = join(work, "workspace-server-ran");
    mkdirSync(join(untrusted, ".vscode"), { recursive: true });
    const script = join(untrusted, "server.sh");
    writeFileSync(script, `#!/bin/sh\necho ran > '${marker}'\n`);
    chmodSync(script, 0o755);
    writeFileSync(join(untrusted, ".vscode/settings.json"), JSON.stringify({ "covenant.server.path": script }));
    const file = "typo.promise";
    writeFileSync(join(untrusted, file), policy("ownr"));
    const vsix = join(work, "covenant.vsix");
    const guarded = await instance({ "covenant.server.path": covenant, "security.workspace.trust.enabled": true }, untrusted, vsix);
    const page = await openInWorkbench(guarded, untrusted, file, async (p) => {
      await p.getByRole("button", { name: /No, I don.t trust the authors/ }).click();
    });
    // the server the user named runs (its diagnostic shows), the workspace's does not
    await page.waitForSelector(`${editorOf(file)} .squiggly-error`);
    await page.waitForTimeout(2_000);
    expect(existsSync(marker)).toBe(false);
    // trusting the workspace makes its setting count: the extension restarts with it
    await page.keyboard.press("Control+Shift+P");
    await page.keyboard.type("Workspaces: Manage Workspace Trust");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Trust", exact: true }).first().click();
    await expect.poll(() => existsSync(marker), { timeout: 20_000 }).toBe(true);
    await page.close();
  }, 180_000);
});
