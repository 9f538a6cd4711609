// `covenant check` with covenant.yaml, run as users run it (the built bin): a stakeholder the policy
// names that cannot be reached is an error at the name in the policy (E340); one the configuration
// names that nothing uses is a warning at the configuration (W300); no configuration at all is one
// warning (W301), which --strict makes fail.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { loadConfig } from "../../src/config/load.ts";

const policy = `stakeholder security
stakeholder ops
stakeholder dba
control "C-1" {
  title = "t"
  owner = security
  file "/srv/a" -> [ops, dba] { mode = 0640 }
}
`;

const reachable = `version: 1
stakeholders:
  security: { channels: [mail], people: [{ name: A, email: a@example.com }] }
  ops: { channels: [hook] }
  dba: { channels: [sms, mail], people: [{ name: D, email: d@example.com }] }
channels:
  mail: { type: email, host: 127.0.0.1, tls: none, from: covenant@example.com }
  sms: { type: twilio, account_sid: AC1, auth_token_env: T, from: "+15550000000" }
  hook: { type: webhook, url: "http://127.0.0.1:9/" }
`;

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-check-config-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
  return dir;
}

/** 1-based line:column of the `nth` occurrence of `needle` in `text`. */
function place(text: string, needle: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  const before = text.slice(0, i).split("\n");
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

beforeAll(() => ensureBuilt());

describe("covenant check --config", () => {
  it("a configuration that reaches every stakeholder: clean, and counted as a file checked", () => {
    const dir = project({ "p.promise": policy, "covenant.yaml": reachable });
    const r = covenant(["check", "--strict", "--config", "covenant.yaml", "p.promise"], { cwd: dir });
    expect(r.out).toContain("2 files checked: 0 errors, 0 warnings");
    expect(r.code).toBe(0);
  });

  it("E340 at the stakeholder's name in the policy: missing from the configuration, or with no channel it can use", () => {
    // security's only channel is email and no person of it has an address; dba is not configured
    const config = reachable.replace("people: [{ name: A, email: a@example.com }]", "people: [{ name: A, phone: \"+15551230001\" }]").replace(/ {2}dba: .*\n/, "");
    const dir = project({ "p.promise": policy, "covenant.yaml": config });
    const r = covenant(["check", "--config", "covenant.yaml", "p.promise"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toContain(`p.promise:${place(policy, "security", 1)}: error E340: stakeholder \`security\` cannot be reached: \`mail\` is email and no person of \`security\` has an email address`);
    expect(r.out).toContain(`p.promise:${place(policy, "dba]")}: error E340: stakeholder \`dba\` cannot be reached: it is not under \`stakeholders:\``);
    expect(r.out).toContain("2 files checked: 2 errors, 0 warnings");
  });

  it("W300 at the configuration for a stakeholder nothing names; --strict makes it fail", () => {
    const config = `${reachable.replace("channels:\n  mail", "  auditors: { channels: [hook] }\nchannels:\n  mail")}`;
    const dir = project({ "p.promise": policy, "covenant.yaml": config });
    const r = covenant(["check", "--config", "covenant.yaml", "p.promise"], { cwd: dir });
    expect(r.out).toContain(`covenant.yaml:${place(config, "auditors")}: warning W300: stakeholder \`auditors\` is named by no promise, control or route`);
    expect(r.code).toBe(0);
    expect(covenant(["check", "--strict", "--config", "covenant.yaml", "p.promise"], { cwd: dir }).code).toBe(2);
    // named by a route: used
    const routed = `${config}route:\n  routes:\n    - match: { severity: [critical] }\n      receivers: [auditors]\n`;
    writeFileSync(join(dir, "covenant.yaml"), routed);
    expect(covenant(["check", "--strict", "--config", "covenant.yaml", "p.promise"], { cwd: dir }).code).toBe(0);
  });

  it.skipIf(existsSync("/etc/covenant/covenant.yaml"))("W301 once when no configuration is found; --strict makes it fail", () => {
    const dir = project({ "p.promise": policy });
    const r = covenant(["check", "p.promise"], { cwd: dir });
    expect(r.out.match(/W301/g)).toHaveLength(1);
    expect(r.out).toContain("warning W301: notifications are not configured");
    expect(r.out).toContain("1 file checked: 0 errors, 1 warning");
    expect(r.code).toBe(0);
    expect(covenant(["check", "--strict", "p.promise"], { cwd: dir }).code).toBe(2);
  });

  it("found without --config where run would look (./covenant.yaml for a user, /etc/covenant/covenant.yaml for root)", () => {
    const dir = project({ "p.promise": policy, "covenant.yaml": reachable });
    const r = covenant(["check", "--json", "p.promise"], { cwd: dir });
    const report = JSON.parse(r.out) as { config: string | null };
    expect(report.config).toBe(process.getuid?.() === 0 ? (existsSync("/etc/covenant/covenant.yaml") ? "/etc/covenant/covenant.yaml" : null) : join(dir, "covenant.yaml"));
  });

  it("errors in the configuration: all of them, each with its excerpt, the secret blotted out; exit 2", () => {
    const config = `${reachable.replace("tls: none", "tls: none, auth: { user: u, password: hunter2-secret }").replace("[mail]", "[mial]")}`;
    const dir = project({ "p.promise": policy, "covenant.yaml": config });
    const r = covenant(["check", "--config", "covenant.yaml", "p.promise"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toContain(`covenant.yaml:${place(config, "mial")}: error E312`);
    expect(r.out).toContain("help: did you mean `mail`?");
    expect(r.out).toContain(`covenant.yaml:${place(config, "password")}: error E318`);
    expect(r.out).not.toContain("hunter2-secret");
    expect(r.out).toContain("password: **************");
    // no configuration: no check of the policy against it
    expect(r.out).not.toContain("E340");
  });

  it("--json has the configuration's diagnostics, with positions, and its path", () => {
    const config = reachable.replace("tls: none", "tls: nope");
    const dir = project({ "p.promise": policy, "covenant.yaml": config });
    const r = covenant(["check", "--json", "--config", "covenant.yaml", "p.promise"], { cwd: dir });
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { config: string; diagnostics: { file: string; line: number; column: number; code: string; suggestion?: string }[]; summary: { files: number; errors: number } };
    expect(report.config).toBe(join(dir, "covenant.yaml"));
    expect(report.diagnostics).toEqual([expect.objectContaining({ file: join(dir, "covenant.yaml"), code: "E305", line: Number(place(config, "nope").split(":")[0]), column: Number(place(config, "nope").split(":")[1]), suggestion: "did you mean `none`?" })]);
    expect(report.summary).toMatchObject({ files: 2, errors: 1 });
  });

  it("a --config that does not exist is an error, not a warning", () => {
    const dir = project({ "p.promise": policy });
    const r = covenant(["check", "--config", "nowhere.yaml", "p.promise"], { cwd: dir });
    expect(r.out).toContain(`${join(dir, "nowhere.yaml")}:1:1: error E322: the configuration ${join(dir, "nowhere.yaml")} cannot be read: no such file or directory`);
    expect(r.code).toBe(2);
  });

  it("the built CLI's validator (compiled ahead of time by the build) says what the source's says", () => {
    const dir = project({ "p.promise": policy });
    const fixtures = ["unknown-key", "wrong-type", "not-allowed", "unknown-channel-type", "bad-duration", "bad-phone", "bad-email", "bad-name", "literal-secret", "missing-required", "out-of-range", "malformed-value", "bad-version"];
    for (const name of fixtures) {
      const path = resolve("test/fixtures/config", `${name}.yaml`);
      const r = covenant(["check", "--json", "--config", path, "p.promise"], { cwd: dir });
      const built = (JSON.parse(r.out) as { diagnostics: { code: string; line: number; column: number; message: string; suggestion?: string }[] }).diagnostics;
      const source = loadConfig(path).diagnostics;
      expect(built.map((d) => [d.code, d.line, d.column, d.message, d.suggestion ?? null]), name).toEqual(source.map((d) => [d.code, d.line, d.column, d.message, d.suggestion ?? null]));
    }
  });
});
