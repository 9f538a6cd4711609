// The requests besides diagnostics, each asked of a running server over stdio as an editor asks
// it, on a fixture policy in two files (test/lsp/fixtures/features).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileUri, type Client } from "../../bench/lsp/client.mjs";
import { covenant, ensureBuilt } from "../helpers/cli.js";
import { applyEdits, at, startServer, type Edit, type Position, type Range } from "./lsp-helpers.js";

const folder = resolve("test/lsp/fixtures/features");
const access = join(folder, "access.promise");
const common = join(folder, "common.promise");
const accessText = readFileSync(access, "utf8");

let client: Client;
const uri = fileUri(access);
beforeAll(async () => {
  ensureBuilt();
  client = await startServer(folder);
  await client.open(uri, accessText);
  await client.settled(uri, 1);
}, 60_000);
afterAll(async () => {
  expect(await client.close()).toBe(0);
});

/** Completion labels at the place `marked` (a copy of the file with `|` at the cursor) marks, sent as the editor's new text. */
async function completeAt(marked: string): Promise<string[]> {
  const cursor = at(marked, "|");
  const text = marked.replace("|", "");
  const version = client.change(uri, [{ text }]);
  await client.next(uri, (p) => p.version === version);
  const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: cursor });
  return items.map((i) => i.label);
}

describe("quick fixes", () => {
  it("turn each diagnostic with an exact suggestion into an edit that clears it", async () => {
    const published = client.published.get(uri)!.diagnostics;
    expect(published.map((d) => d.code).sort()).toEqual(["E101", "W201"]);
    const actions = await client.request<{ title: string; edit: { changes: Record<string, Edit[]> } }[]>("textDocument/codeAction", { textDocument: { uri }, range: published[0]!.range, context: { diagnostics: published } });
    expect(actions.map((a) => a.title).sort()).toEqual(["Change to `mode`", "Remove the unused variable `spare`"]);
    // both at once, as edits made on the same text
    const fixed = applyEdits(accessText, actions.flatMap((a) => a.edit.changes[uri]!));
    expect(fixed).toContain("    mode  =   0640");
    expect(fixed).not.toContain("let spare");
    // the fixed text, as the editor would send it: nothing left to say
    const version = client.change(uri, [{ text: fixed }]);
    const { params } = await client.next(uri, (p) => p.version === version);
    expect(params.diagnostics).toEqual([]);
    const back = client.change(uri, [{ text: accessText }]);
    await client.next(uri, (p) => p.version === back);
  });
});

describe("formatting", () => {
  it("gives what `covenant fmt` writes", async () => {
    const edits = await client.request<Edit[]>("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    const fmt = covenant(["fmt", "--stdout", "access.promise"], { cwd: folder });
    expect(fmt.code).toBe(0);
    expect(applyEdits(accessText, edits)).toBe(fmt.out);
    expect(applyEdits(accessText, edits)).not.toBe(accessText);
  });
});

describe("document symbols", () => {
  it("outline the file's declarations, each control with its promises", async () => {
    const symbols = await client.request<{ name: string; detail?: string; children?: { name: string }[] }[]>("textDocument/documentSymbol", { textDocument: { uri } });
    expect(symbols.map((s) => s.name)).toEqual(["common.promise", "spare", "ITGC-AC-01", "waiver ITGC-AC-01"]);
    const control = symbols[2]!;
    expect(control.detail).toBe("Only approved application servers reach the general-ledger database");
    expect(control.children!.map((c) => c.name)).toEqual(["connections db_ports", 'file "${ledger_dir}/gl.dat"']);
  });
});

describe("hover", () => {
  // policy text comes as text: markdown's characters escaped; read back as written
  const hoverAt = async (p: Position) => (await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri }, position: p }))?.contents.value.replace(/\\(.)/g, "$1");
  it("shows an attribute's type, default and description from its schema", async () => {
    const text = await hoverAt(at(accessText, "max_total", 2));
    expect(text).toContain("**max_total**");
    expect(text).toMatch(/whole number/);
    const severity = await hoverAt(at(accessText, "severity", 1));
    expect(severity).toContain("one of `low`, `medium`, `high`, `critical`");
    expect(severity).toContain("Default: `medium`");
  });
  it("shows a variable's value, a stakeholder's description and a control's title, owner and refs", async () => {
    expect(await hoverAt(at(accessText, "db_ports ->", 1))).toContain("let db_ports = [5432, 1433]");
    expect(await hoverAt(at(accessText, "dba_oncall,", 1))).toContain("Database administrators on call");
    const control = await hoverAt(at(accessText, 'waiver "ITGC', 9));
    expect(control).toContain("Only approved application servers reach the general-ledger database");
    expect(control).toContain("owner: security");
    expect(control).toContain("SOX 404; COBIT DSS05.04");
  });
  it("shows a fact's meaning and its value on this host", async () => {
    const commonText = readFileSync(common, "utf8");
    await client.open(fileUri(common), commonText);
    const fact = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: fileUri(common) }, position: at(commonText, "hostname ~", 2) });
    expect(fact.contents.value).toContain("Short host name");
    expect(fact.contents.value.replace(/\\(.)/g, "$1")).toContain(`On this host now: ${hostname().split(".")[0]}`);
  });
  it("shows text from the policy as text: no link or image of it is markup", async () => {
    const commonUri = fileUri(common);
    const hostile = readFileSync(common, "utf8").replace('"Database administrators on call"', '"On call ![x](http://example.invalid/t.png) [y](command:workbench.action.quit)"');
    const version = client.change(commonUri, [{ text: hostile }]);
    await client.next(commonUri, (p) => p.version === version);
    const shown = (await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: at(accessText, "dba_oncall,", 1) })).contents.value;
    expect(shown).toContain("\\!\\[x\\]\\(http://example\\.invalid/t\\.png\\)");
    expect(shown).not.toMatch(/(^|[^\\])\[y\]\(/);
    const back = client.change(commonUri, [{ text: readFileSync(common, "utf8") }]);
    await client.next(commonUri, (p) => p.version === back);
  });
});

describe("completion", () => {
  it("offers the attributes of the promise type at the cursor", async () => {
    const labels = await completeAt(accessText.replace('    owner = "ledger"\n', '    owner = "ledger"\n    |\n'));
    expect(labels).toEqual(expect.arrayContaining(["mode", "max_mode", "integrity", "when", "handle"]));
    expect(labels).not.toContain("max_total");
  });
  it("offers promise types and control attributes in a control, statements at the top", async () => {
    expect(await completeAt(accessText.replace("  when     = ledger_host\n", "  when     = ledger_host\n  |\n"))).toEqual(expect.arrayContaining(["file", "connections", "sysctl", "title", "key"]));
    expect(await completeAt(`|\n${accessText}`)).toEqual(expect.arrayContaining(["control", "waiver", "stakeholder"]));
  });
  it("offers enum values, stakeholders, contexts and facts, variables, control ids and import paths where each is written", async () => {
    expect(await completeAt(accessText.replace("severity = high", "severity = |"))).toEqual(["low", "medium", "high", "critical"]);
    expect(await completeAt(accessText.replace("owner    = security", "owner    = |"))).toEqual(expect.arrayContaining(["security", "dba_oncall"]));
    expect(await completeAt(accessText.replace("-> [dba_oncall, security]", "-> [dba_oncall, |]"))).toEqual(expect.arrayContaining(["security", "dba_oncall"]));
    const conditions = await completeAt(accessText.replace("when     = ledger_host", "when     = |"));
    expect(conditions).toEqual(expect.arrayContaining(["ledger_host", "hostname", "day_of_month"]));
    expect(await completeAt(accessText.replace('file "${ledger_dir}', 'file "${|'))).toEqual(expect.arrayContaining(["ledger_dir", "db_ports"]));
    expect(await completeAt(accessText.replace('waiver "ITGC-AC-01"', 'waiver "|"'))).toEqual(["ITGC-AC-01"]);
    expect(await completeAt(accessText.replace('import "common.promise"', 'import "|"'))).toEqual(["common.promise"]);
  });
});

describe("definition, references and rename", () => {
  it("go from a use to its declaration in another file, and list every use", async () => {
    const version = client.change(uri, [{ text: accessText }]);
    await client.next(uri, (p) => p.version === version);
    const defs = await client.request<{ uri: string; range: Range }[]>("textDocument/definition", { textDocument: { uri }, position: at(accessText, "ledger_dir}", 2) });
    expect(defs).toEqual([{ uri: fileUri(common), range: { start: { line: 7, character: 4 }, end: { line: 7, character: 14 } } }]);
    const imported = await client.request<{ uri: string }[]>("textDocument/definition", { textDocument: { uri }, position: at(accessText, "common.promise", 3) });
    expect(imported.map((d) => d.uri)).toEqual([fileUri(common)]);
    const refs = await client.request<{ uri: string }[]>("textDocument/references", { textDocument: { uri }, position: at(accessText, "= security", 3), context: { includeDeclaration: true } });
    expect(refs.map((r) => r.uri).sort()).toEqual([fileUri(access), fileUri(access), fileUri(common)].sort());
    // an import's references: every import of that file in the folder
    const imports = await client.request<{ uri: string; range: Range }[]>("textDocument/references", { textDocument: { uri }, position: at(accessText, "common.promise", 3), context: { includeDeclaration: true } });
    expect(imports).toEqual([{ uri, range: { start: at(accessText, '"common.promise"'), end: at(accessText, '"common.promise"', '"common.promise"'.length) } }]);
  });
  it("rename a context across files, and refuse a name already taken", async () => {
    const edit = await client.request<{ changes: Record<string, Edit[]> }>("textDocument/rename", { textDocument: { uri }, position: at(accessText, "= ledger_host", 3), newName: "ledger_server" });
    expect(Object.keys(edit.changes).sort()).toEqual([fileUri(access), fileUri(common)].sort());
    expect(applyEdits(accessText, edit.changes[uri]!)).toContain("when     = ledger_server");
    expect(applyEdits(readFileSync(common, "utf8"), edit.changes[fileUri(common)]!)).toContain("context ledger_server = hostname");
    await expect(client.request("textDocument/rename", { textDocument: { uri }, position: at(accessText, "= ledger_host", 3), newName: "security" })).rejects.toThrow(/already declared/);
    await expect(client.request("textDocument/rename", { textDocument: { uri }, position: at(accessText, "= ledger_host", 3), newName: "control" })).rejects.toThrow(/not a name/);
  });
});

describe("rename of a stakeholder that covenant.yaml configures", () => {
  const dir = resolve("test/lsp/fixtures/rename-config");
  const policy = join(dir, "policy.promise");
  const config = join(dir, "covenant.yaml");
  const policyText = readFileSync(policy, "utf8");
  const configText = readFileSync(config, "utf8");

  it("renames it in the policy and where covenant.yaml names it as the stakeholder, nowhere else, and the renamed pair checks clean", async () => {
    const c = await startServer(dir, { config: "covenant.yaml" });
    try {
      const u = fileUri(policy);
      await c.open(u, policyText);
      await c.settled(u, 1);
      expect(c.published.get(u)!.diagnostics).toEqual([]);
      const edit = await c.request<{ changes: Record<string, Edit[]> }>("textDocument/rename", { textDocument: { uri: u }, position: at(policyText, "owner    = security", 12), newName: "infosec" });
      expect(Object.keys(edit.changes).sort()).toEqual([fileUri(config), u].sort());
      const newPolicy = applyEdits(policyText, edit.changes[u]!);
      const newConfig = applyEdits(configText, edit.changes[fileUri(config)]!);
      expect(newPolicy).toContain("stakeholder infosec {");
      expect(newPolicy).toContain("owner    = infosec");
      // the stakeholder's key, receivers, escalations (quoted as they were) and exact match names; not the channel, the person, nor a glob
      expect(newConfig).toContain("\n  infosec:\n    channels: [security]");
      expect(newConfig).toContain("{ name: security, email: sec@example.com }");
      expect(newConfig).toContain("\n  security:\n    type: report");
      expect(newConfig).toContain('to: ["infosec"]');
      expect(newConfig).toContain('match: { stakeholder: [infosec], owner: ["secur*"] }');
      expect(newConfig).toContain("receivers: [infosec, dba, auditors]");
      expect(newConfig).toContain("match: { owner: [infosec] }");
      expect(newConfig).toContain("to: ['infosec', dba]");
      // the pair as renamed is what check accepts, as it accepted the pair before
      const out = mkdtempSync(join(tmpdir(), "covenant-lsp-rename-"));
      writeFileSync(join(out, "policy.promise"), newPolicy);
      writeFileSync(join(out, "covenant.yaml"), newConfig);
      const checked = covenant(["check", "--config", join(out, "covenant.yaml"), out]);
      expect(checked.code, checked.out + checked.err).toBe(0);
      expect(checked.out + checked.err).toContain("0 errors, 0 warnings");
      rmSync(out, { recursive: true, force: true });
      // covenant.yaml open in the editor with a literal secret written as a block scalar (an error
      // of its own, E318): the check's copy blots the secret out, the rename reads the editor's text
      const withSecret = configText.replace("channels:\n  security:\n    type: report", "channels:\n  mail:\n    type: email\n    password: |\n      s3cr3t: [not yaml\n  security:\n    type: report");
      expect(withSecret).not.toBe(configText);
      const cu = fileUri(config);
      await c.open(cu, withSecret);
      await c.settled(cu, 1);
      const again = await c.request<{ changes: Record<string, Edit[]> }>("textDocument/rename", { textDocument: { uri: u }, position: at(policyText, "owner    = security", 12), newName: "infosec" });
      const renamed = applyEdits(withSecret, again.changes[cu] ?? []);
      expect(renamed).toContain("\n  infosec:\n    channels: [security]");
      expect(renamed).toContain("receivers: [infosec, dba, auditors]");
      expect(renamed).toContain("      s3cr3t: [not yaml");
      // a name the policy declares, or one covenant.yaml alone configures, is refused: the two would be one
      await expect(c.request("textDocument/rename", { textDocument: { uri: u }, position: at(policyText, "owner    = security", 12), newName: "dba" })).rejects.toThrow(/already declared/);
      await expect(c.request("textDocument/rename", { textDocument: { uri: u }, position: at(policyText, "owner    = security", 12), newName: "auditors" })).rejects.toThrow(/already a stakeholder in .*covenant\.yaml/);
    } finally {
      expect(await c.close()).toBe(0);
    }
  }, 60_000);
});
