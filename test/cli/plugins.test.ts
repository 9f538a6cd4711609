// `covenant check` and `covenant run` on a policy with a site's own promise type: the example
// plugin of examples/plugins, run through the built CLI (docs/plugins.md).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), "covenant-plugin-cli-"));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "policy"), { mode: 0o755 });
  const settings = join(dir, "settings.json");
  writeFileSync(settings, JSON.stringify({ audit_log: "disabled" }));
  const text = readFileSync("examples/plugins/json_setting.promise", "utf8")
    .replace('"/usr/bin/node"', JSON.stringify(process.execPath))
    .replace("/usr/local/lib/covenant/plugins/json_setting.mjs", resolve("examples/plugins/json_setting.mjs"))
    .replace("/etc/ledger/settings.json", settings);
  writeFileSync(join(dir, "policy", "app.promise"), text, { mode: 0o644 });
  return { dir, settings, policy: join(dir, "policy"), state: join(dir, "state") };
}

describe("covenant with a plugin", () => {
  it("checks the policy without running the plugin", () => {
    const { policy } = setUp();
    const r = covenant(["check", policy]);
    expect(r.code, r.out + r.err).toBe(0);
  });

  it("runs it: a dry run plans the repair, a run makes it, the next run finds the promise kept", () => {
    const { settings, policy, state } = setUp();
    const dry = covenant(["run", "--state", state, "--dry-run", "--json", policy]);
    expect(dry.code).toBe(1);
    const first = JSON.parse(dry.out).controls[0].promises[0];
    expect(first).toMatchObject({ type: "json_setting", outcome: "drift", changes: [{ status: "planned" }] });
    expect(JSON.parse(readFileSync(settings, "utf8")).audit_log).toBe("disabled");

    const run = covenant(["run", "--state", state, "--json", policy]);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out).controls[0].promises[0]).toMatchObject({ outcome: "repaired", changes: [{ status: "applied" }] });
    expect(JSON.parse(readFileSync(settings, "utf8")).audit_log).toBe("enabled");

    const again = covenant(["run", "--state", state, "--json", policy]);
    expect(JSON.parse(again.out).controls[0].promises[0]).toMatchObject({ outcome: "kept", reason: "as promised" });
  });
});
