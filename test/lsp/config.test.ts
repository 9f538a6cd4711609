// covenant.yaml in the editor: checked as the editor holds it, against the policy, and what the
// server says of it is what `check` says of the same text on disk. And the server's lifecycle:
// a file closed is read from disk again; a client gone without `shutdown` ends the server (exit 1).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileUri } from "../../bench/lsp/client.mjs";
import { ensureBuilt } from "../helpers/cli.js";
import { byUri, checkSays, serverSays, startServer } from "./lsp-helpers.js";

const source = resolve("test/lsp/fixtures/unreachable-stakeholder");
let folder: string;
beforeAll(() => {
  ensureBuilt();
  folder = mkdtempSync(join(tmpdir(), "covenant-lsp-config-"));
  for (const f of ["controls.promise", "covenant.yaml"]) copyFileSync(join(source, f), join(folder, f));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("covenant.yaml open in the editor", () => {
  it("is checked as the editor holds it, and says what check says of that text", async () => {
    const yaml = join(folder, "covenant.yaml");
    const yamlUri = fileUri(yaml);
    const policyUri = fileUri(join(folder, "controls.promise"));
    const original = readFileSync(yaml, "utf8");
    const client = await startServer(folder, { config: "covenant.yaml" });
    try {
      await client.open(yamlUri, original, "yaml");
      await client.settled(yamlUri, 1);
      expect(client.published.get(policyUri)?.diagnostics.map((d) => d.code)).toEqual(["E340"]);
      // auditors configured, treasury gone, a receiver misspelt: E340 and W300 go, E313 comes
      const edited = original.replace("  treasury:\n", "  auditors:\n").replace("receivers: [owners]", "receivers: [owners, securty]");
      const version = client.change(yamlUri, [{ text: edited }]);
      await client.settled(yamlUri, version);
      writeFileSync(yaml, edited);
      expect(byUri(serverSays(client))).toEqual(byUri(checkSays(folder, ["--config", "covenant.yaml"])));
      const said = client.published.get(yamlUri)!.diagnostics;
      expect(said.map((d) => d.code)).toEqual(["E313"]);
      expect(client.published.get(policyUri)?.diagnostics).toEqual([]);
      // the quick fix from its suggestion
      const actions = await client.request<{ title: string }[]>("textDocument/codeAction", { textDocument: { uri: yamlUri }, range: said[0]!.range, context: { diagnostics: said } });
      expect(actions.map((a) => a.title)).toEqual(["Change to `security`"]);
      // closed unsaved: the disk's text again (here the original, written back)
      writeFileSync(yaml, original);
      await client.closeDocument(yamlUri);
      await client.next(policyUri, (p) => p.diagnostics.some((d) => d.code === "E340"));
    } finally {
      expect(await client.close()).toBe(0);
    }
  }, 60_000);
});

describe("hover on a stakeholder", () => {
  it("says how covenant.yaml reaches them, or that it does not", async () => {
    const path = join(folder, "controls.promise");
    const text = readFileSync(path, "utf8");
    const client = await startServer(folder, { config: "covenant.yaml" });
    try {
      await client.open(fileUri(path), text);
      await client.settled(fileUri(path), 1);
      const hoverOn = async (needle: string) => {
        const lines = text.slice(0, text.indexOf(needle) + 2).split("\n");
        const h = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri: fileUri(path) }, position: { line: lines.length - 1, character: lines.at(-1)!.length } });
        return h.contents.value;
      };
      expect(await hoverOn("security\n  group")).toContain("Reached through digest (report)");
      expect(await hoverOn("auditors]")).toContain("covenant.yaml does not configure them");
    } finally {
      expect(await client.close()).toBe(0);
    }
  }, 60_000);
});

describe("the server's end", () => {
  it("exits 1 when the client goes away without shutdown", async () => {
    const client = await startServer(folder);
    const ended = new Promise<number | null>((done) => client.child.on("close", (code) => done(code)));
    client.child.stdin!.end();
    expect(await ended).toBe(1);
  }, 30_000);
});
