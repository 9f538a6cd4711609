// Plugins (docs/plugins.md): a `promise_type` declared in the policy, evaluated and repaired by
// running its plugin for real: the example in examples/plugins, and stand-ins that misbehave.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateText } from "../helpers/evaluate.ts";
import { pluginRefusal } from "../../src/evaluator/plugin-protocol.ts";

const EXAMPLE = resolve("examples/plugins/json_setting.mjs");
const NODE = process.execPath;

function declaration(argv: string[], extra = ""): string {
  return `promise_type json_setting {
  command = ${JSON.stringify(argv)}
  ${extra}
  attribute key { type = string  required = true }
  attribute value { type = string  required = true }
}
`;
}

function policy(argv: string[], promise: string, extra = ""): string {
  return `${declaration(argv, extra)}control "APP-1" {\n  title = "t"\n${promise}\n}\n`;
}

function settings(content: object): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-plugin-"));
  const path = join(dir, "settings.json");
  writeFileSync(path, JSON.stringify(content));
  return path;
}

/** A stand-in plugin: a Node script whose body is `source`. */
function standIn(source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "covenant-standin-"));
  chmodSync(dir, 0o755);
  const path = join(dir, "plugin.mjs");
  writeFileSync(path, source, { mode: 0o755 });
  return [NODE, path];
}

describe("plugins: the example json_setting plugin", () => {
  it("kept: the plugin says the setting holds", async () => {
    const path = settings({ audit_log: "enabled" });
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "audit_log" value = "enabled" }`));
    expect(e.results[0]).toMatchObject({ type: "json_setting", outcome: "kept", reason: "as promised" });
  });

  it("drift: the plugin's differences are the promise's, and nothing changes without `repair = true`", async () => {
    const path = settings({ audit_log: "disabled" });
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "audit_log" value = "enabled" }`));
    const r = e.results[0]!;
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe(`${path}: audit_log is disabled, promised enabled`);
    expect(r.differences).toEqual([{ subject: path, attribute: "value", expected: "enabled", observed: "disabled", reason: `${path}: audit_log is disabled, promised enabled` }]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ audit_log: "disabled" });
  });

  it("repaired: the plugin repairs through the change gate, and a second evaluation confirms it", async () => {
    const path = settings({ audit_log: "disabled", other: 1 });
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "audit_log" value = "enabled" repair = true }`));
    const r = e.results[0]!;
    expect(r.outcome).toBe("repaired");
    expect(r.changes).toMatchObject([{ status: "applied", description: `ask the plugin for \`json_setting\` to repair ${path}`, detail: `set audit_log to enabled in ${path}` }]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ audit_log: "enabled", other: 1 });
  });

  it("a dry run only plans the repair: drift, the file untouched", async () => {
    const path = settings({ audit_log: "disabled" });
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "audit_log" value = "enabled" repair = true }`), { dryRun: true });
    expect(e.results[0]).toMatchObject({ outcome: "drift", changes: [{ status: "planned" }] });
    expect(e.results[0]!.reason).toMatch(/dry run: repair not applied/);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ audit_log: "disabled" });
  });

  it("error: the plugin cannot evaluate (the file is not JSON), and says why", async () => {
    const path = settings({});
    writeFileSync(path, "not json");
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "a" value = "b" }`));
    expect(e.results[0]!.outcome).toBe("error");
    expect(e.results[0]!.reason).toMatch(/could not evaluate the promise: .*cannot be read as JSON/);
  });

  it("in a sandbox the plugin is not run: it would read the real host, so the promise is `skipped`", async () => {
    const path = settings({ audit_log: "disabled" });
    const sandbox = mkdtempSync(join(tmpdir(), "covenant-sandbox-"));
    const e = await evaluateText(policy([NODE, EXAMPLE], `  json_setting "${path}" { key = "audit_log" value = "enabled" repair = true }`), { filesRoot: sandbox, confineTo: sandbox });
    expect(e.results[0]).toMatchObject({ outcome: "skipped", changes: [] });
    expect(e.results[0]!.reason).toMatch(/not run in the sandbox: a plugin/);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ audit_log: "disabled" });
  });

  it("the example policy checks clean", async () => {
    const { checkPaths } = await import("../../src/checker/check.ts");
    const r = checkPaths(["examples/plugins/json_setting.promise"]);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });
});

describe("plugins: plugins that misbehave", () => {
  const drift = `process.stdin.once("data", (d) => { const r = JSON.parse(String(d).split("\\n")[0]);
    process.stdout.write(JSON.stringify(r.operation === "evaluate" ? { result: "drift", differences: [{ attribute: "value", expected: "x", observed: "y", reason: "not as promised" }] } : { result: "failed", message: "read-only\\u001b[31m file system" }) + "\\n"); });`;

  it("failed: the plugin refuses the repair, and its message is escaped", async () => {
    const e = await evaluateText(policy(standIn(drift), `  json_setting "/x" { key = "k" value = "x" repair = true }`));
    const r = e.results[0]!;
    expect(r.outcome).toBe("failed");
    expect(r.reason).toContain("could not repair: read-only\\x1b[31m file system");
  });

  it("a plugin that does not reply in time is killed, and the promise is `error`", async () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-pid-"));
    const pidFile = join(dir, "pid");
    const argv = standIn(`import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid))); setInterval(() => {}, 1000);`);
    const started = Date.now();
    const e = await evaluateText(policy(argv, `  json_setting "/x" { key = "k" value = "v" }`, "timeout = 1s"));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.results[0]!.outcome).toBe("error");
    expect(e.results[0]!.reason).toMatch(/did not reply within 1s; it was killed/);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")).toBe(false);
  });

  it("a reply that is not JSON, or not in the protocol, is `error` with the reason", async () => {
    const notJson = await evaluateText(policy(standIn(`process.stdout.write("hello\\n")`), `  json_setting "/x" { key = "k" value = "v" }`));
    expect(notJson.results[0]!.reason).toMatch(/replied with a line that is not JSON: hello/);
    const wrong = await evaluateText(policy(standIn(`process.stdout.write(JSON.stringify({ result: "fine" }) + "\\n")`), `  json_setting "/x" { key = "k" value = "v" }`));
    expect(wrong.results[0]).toMatchObject({ outcome: "error" });
    expect(wrong.results[0]!.reason).toMatch(/broke the protocol: `result` is one of `kept`, `drift` or `error`/);
  });

  it("a plugin that exits without replying, or is missing, is `error`", async () => {
    const exits = await evaluateText(policy(standIn(`console.error("no config"); process.exit(3)`), `  json_setting "/x" { key = "k" value = "v" }`));
    expect(exits.results[0]!.reason).toMatch(/exited with status 3 without replying: no config/);
    const missing = await evaluateText(policy(["/nonexistent/plugin"], `  json_setting "/x" { key = "k" value = "v" }`));
    expect(missing.results[0]!.reason).toMatch(/cannot start the plugin \/nonexistent\/plugin: ENOENT/);
  });

  it("gets the request as documented: protocol 1, type, promiser and the promise's own attributes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-req-"));
    const seen = join(dir, "seen");
    const argv = standIn(`import("node:fs").then((fs) => process.stdin.once("data", (d) => { fs.writeFileSync(${JSON.stringify(seen)}, String(d)); process.stdout.write('{"result":"kept"}\\n'); }));`);
    await evaluateText(policy(argv, `  json_setting "/x" { key = "k" value = "v" comment = "c" }`));
    const lines = readFileSync(seen, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { protocol: 1, operation: "evaluate", type: "json_setting", promiser: "/x", attributes: { key: "k", value: "v" } },
      { protocol: 1, operation: "terminate" },
    ]);
  });
});

describe("plugins: trust, as root", () => {
  it("refuses a plugin script another user can change, as policy files are refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-trust-"));
    chmodSync(dir, 0o755);
    const script = join(dir, "p.mjs");
    writeFileSync(script, "", { mode: 0o755 });
    expect(pluginRefusal([NODE, script], true)).toBeUndefined();
    chmodSync(script, 0o757);
    expect(pluginRefusal([NODE, script], true)).toMatch(/p\.mjs/);
    chmodSync(script, 0o755);
    chmodSync(dir, 0o777);
    expect(pluginRefusal([NODE, script], true)).toBeDefined();
    expect(pluginRefusal([NODE, script], false)).toBeUndefined();
  });
});
