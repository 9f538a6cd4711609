// Attacks on a stakeholder's rename reaching covenant.yaml (src/lsp/config-names.ts): a new name
// YAML reads as another type, a name written through an anchor and alias that another, unrelated
// place repeats. A running server, real files, and `covenant check` on what the rename leaves.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileUri } from "../../bench/lsp/client.mjs";
import { covenant, ensureBuilt } from "../helpers/cli.js";
import { applyEdits, at, startServer, type Edit } from "./lsp-helpers.js";

const POLICY = `stakeholder security { description = "Information security" }
stakeholder dba { description = "Database administrators" }

control "ITGC-AC-01" {
  title    = "The general ledger's data file is the ledger's own"
  owner    = security
  severity = high

  file "/srv/ledger/gl.dat" -> [dba] {
    mode = 0640
  }
}
`;

const CHANNELS = `channels:
  security:
    type: report
    directory: /var/lib/covenant/reports
  pager:
    type: report
    directory: /var/lib/covenant/pager
`;

const dirs: string[] = [];
beforeAll(() => ensureBuilt());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function folder(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-attack-rename-"));
  dirs.push(dir);
  writeFileSync(join(dir, "policy.promise"), POLICY);
  writeFileSync(join(dir, "covenant.yaml"), config);
  return dir;
}

async function renameIn(dir: string, newName: string): Promise<{ changes: Record<string, Edit[]> }> {
  const c = await startServer(dir, { config: "covenant.yaml" });
  try {
    const u = fileUri(join(dir, "policy.promise"));
    await c.open(u, POLICY);
    await c.settled(u, 1);
    expect(c.published.get(u)!.diagnostics).toEqual([]);
    expect(covenant(["check", "--config", join(dir, "covenant.yaml"), dir]).code).toBe(0);
    return await c.request<{ changes: Record<string, Edit[]> }>("textDocument/rename", { textDocument: { uri: u }, position: at(POLICY, "owner    = security", 12), newName });
  } finally {
    expect(await c.close()).toBe(0);
  }
}

describe("a stakeholder's rename in covenant.yaml, attacked", () => {
  it("writes a new name YAML would read as a boolean or null quoted: the renamed pair still checks clean", async () => {
    for (const newName of ["True", "NULL", "False"]) {
      const config = `version: 1\nstakeholders:\n  security:\n    channels: [security]\n  dba:\n    channels: [security]\n${CHANNELS}route:\n  receivers: [security]\n`;
      const dir = folder(config);
      const edit = await renameIn(dir, newName);
      const renamed = applyEdits(config, edit.changes[fileUri(join(dir, "covenant.yaml"))]!);
      expect(renamed).toContain(`\n  "${newName}":\n    channels: [security]`);
      expect(renamed).toContain(`receivers: ["${newName}"]`);
      writeFileSync(join(dir, "policy.promise"), applyEdits(POLICY, edit.changes[fileUri(join(dir, "policy.promise"))]!));
      writeFileSync(join(dir, "covenant.yaml"), renamed);
      const checked = covenant(["check", "--config", join(dir, "covenant.yaml"), dir]);
      expect(checked.code, checked.out + checked.err).toBe(0);
    }
  }, 120_000);

  it("refuses when the name is written through an anchor another place repeats (a stakeholder's channels): the rename would re-point them", async () => {
    // dba's channels are the route's receivers by alias: [security], the channel. Renamed to
    // `pager` in place, dba would be notified through the pager channel, and check would accept it.
    const config = `version: 1\nroute:\n  receivers: [owners]\n  routes:\n    - match: { stakeholder: [security] }\n      receivers: &who [security]\nstakeholders:\n  security:\n    channels: [security]\n  dba:\n    channels: *who\n${CHANNELS}`;
    const dir = folder(config);
    await expect(renameIn(dir, "pager")).rejects.toThrow(/names `security` through a YAML anchor and alias/);
  }, 60_000);

  it("refuses when a stakeholder's place is an alias of text elsewhere (renaming the key alone would leave the route at a name no longer configured)", async () => {
    const config = `version: 1\nstakeholders:\n  security:\n    channels: &who [security]\n  dba:\n    channels: [security]\n${CHANNELS}route:\n  receivers: *who\n`;
    const dir = folder(config);
    await expect(renameIn(dir, "infosec")).rejects.toThrow(/through a YAML anchor and alias/);
  }, 60_000);
});
