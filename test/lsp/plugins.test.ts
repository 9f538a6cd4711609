// A site's own promise type (`promise_type`, docs/plugins.md): completion offers the attributes
// its declaration gives it, and hover shows their descriptions, on examples/plugins.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { fileUri } from "../../bench/lsp/client.mjs";
import { ensureBuilt } from "../helpers/cli.js";
import { startServer } from "./lsp-helpers.js";

it("completes and describes the attributes a policy's own promise type declares", async () => {
  ensureBuilt();
  const folder = resolve("examples/plugins");
  const path = join(folder, "json_setting.promise");
  const text = readFileSync(path, "utf8");
  const uri = fileUri(path);
  const client = await startServer(folder);
  try {
    await client.open(uri, text);
    await client.settled(uri, 1);
    const position = (offset: number) => {
      const lines = text.slice(0, offset).split("\n");
      return { line: lines.length - 1, character: lines.at(-1)!.length };
    };
    const keyLine = text.indexOf('    key    = "audit_log"');
    const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: position(keyLine + 4) });
    expect(items.map((i) => i.label)).toEqual(expect.arrayContaining(["key", "value", "repair", "when"]));
    expect(items.map((i) => i.label)).not.toContain("mode");
    const hover = await client.request<{ contents: { value: string } }>("textDocument/hover", { textDocument: { uri }, position: position(keyLine + 5) });
    expect(hover.contents.value.replace(/\\(.)/g, "$1")).toContain("The top-level key.");
    const inControl = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri }, position: position(text.indexOf('  json_setting "') ) });
    expect(inControl.map((i) => i.label)).toEqual(expect.arrayContaining(["json_setting", "file"]));
  } finally {
    expect(await client.close()).toBe(0);
  }
}, 60_000);
