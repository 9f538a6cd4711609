// covenant.yaml's loader on fixtures: each error code at the exact line and column of the key or
// value at fault (found here by searching the fixture's text, not by the loader's own means),
// every error of a file at once, a suggestion for a misspelt key, and a full file normalised.
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { findConfig, loadConfig, parseConfig } from "../../src/config/load.ts";
import type { ConfigDiagnostic } from "../../src/config/diagnostic.ts";
import { diagnosticCatalogue } from "../../src/parser/diagnostics.ts";

const fixture = (name: string) => resolve("test/fixtures/config", name);

/** 1-based line and column of the `nth` occurrence of `needle` in the fixture's text. */
function at(name: string, needle: string, nth = 0): { line: number; column: number } {
  const text = readFileSync(fixture(name), "utf8");
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i === -1) throw new Error(`${needle} not in ${name}`);
  }
  const before = text.slice(0, i).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const load = (name: string) => loadConfig(fixture(name), { root: false });
const brief = (d: ConfigDiagnostic) => ({ code: d.code, line: d.line, column: d.column });

// fixture, then each diagnostic expected: its code and the text it is reported at
const cases: [string, [string, string, number?][]][] = [
  ["syntax-error.yaml", [["E300", "ops: {}"]]],
  ["duplicate-key.yaml", [["E301", "mail: {", 1]]],
  ["unknown-key.yaml", [["E302", "chanels"], ["E302", "tsl"], ["E302", "roote"]]],
  ["missing-required.yaml", [["E303", "mail"]]],
  ["wrong-type.yaml", [["E304", '"five-eight-seven"'], ["E304", "yes please"]]],
  ["not-allowed.yaml", [["E305", "startls"]]],
  ["unknown-channel-type.yaml", [["E306", "emial"]]],
  ["bad-duration.yaml", [["E307", "30 seconds"], ["E307", "4h30"]]],
  ["bad-phone.yaml", [["E308", '"555-1234"']]],
  ["bad-email.yaml", [["E309", "alice-at-example.com"], ["E309", '"Covenant covenant@example.com"']]],
  ["bad-timezone.yaml", [["E310", "Europe/Pariss"]]],
  ["bad-quiet-hours.yaml", [["E311", '"7:00"']]],
  ["unknown-channel.yaml", [["E312", "mial"]]],
  ["unknown-receiver.yaml", [["E313", "securty"]]],
  ["unknown-escalation-target.yaml", [["E314", "cfo_office"]]],
  ["plain-smtp-remote.yaml", [["E315", "none"]]],
  ["twilio-sender.yaml", [["E316", "messaging_service_sid"], ["E316", "neither"]]],
  ["bad-url.yaml", [["E317", '"ftp:'], ["E317", '"127.0.0.1:9093"']]],
  ["literal-secret.yaml", [["E318", "password"], ["E318", "auth_token"], ["E318", "secret:"], ["E318", "password: am-do-not-print"]]],
  ["secret-twice.yaml", [["E325", "/etc/covenant/smtp.pass"], ["E319", "password_env"], ["E319", "sms"]]],
  ["bad-version.yaml", [["E320", "2"]]],
  ["out-of-range.yaml", [["E321", "70000"], ["E321", "0 }", 1]]],
  ["missing-secret-file.yaml", [["E325", "/nonexistent"]]],
  ["bad-name.yaml", [["E326", "sec urity"]]],
  ["relative-path.yaml", [["E327", "reports/covenant"]]],
  ["reserved-name.yaml", [["E328", "owners"]]],
  ["malformed-value.yaml", [["E329", "XY123"], ["E329", '"ops:team"']]],
  ["group-by-dots.yaml", [["E330", "[control"]]],
  ["zero-interval.yaml", [["E331", "0s"]]],
  ["not-a-mapping.yaml", [["E332", "- version"]]],
  ["empty.yaml", [["E332", "#"]]],
];

describe("loadConfig: warnings, with the configuration still given", () => {
  it("W302: a receiver without TLS on this host's unprivileged ports (any user may listen there while it is down)", () => {
    const name = "unprivileged-loopback.yaml";
    const r = load(name);
    expect(r.config).toBeDefined();
    expect(r.diagnostics.map(brief)).toEqual([
      { code: "W302", ...at(name, "2525") },
      { code: "W302", ...at(name, '"http://127.0.0.1:8080') },
      { code: "W302", ...at(name, '"http://[::1]:9093"') },
      { code: "W302", ...at(name, '"http://localhost:3000"') },
    ]);
    for (const d of r.diagnostics) expect(d.severity).toBe("warning");
    expect(r.diagnostics[0]!.message).toContain("127.0.0.1:2525");
  });
});

describe("loadConfig: each error at its position", () => {
  for (const [name, expected] of cases) {
    it(`${name}: ${expected.map((e) => e[0]).join(", ")}`, () => {
      const r = load(name);
      expect(r.config).toBeUndefined();
      expect(r.diagnostics.map(brief)).toEqual(expected.map(([code, needle, nth]) => ({ code, ...at(name, needle, nth) })));
      for (const d of r.diagnostics) {
        expect(d.file).toBe(fixture(name));
        expect(d.severity).toBe("error");
        expect(d.message.length).toBeGreaterThan(10);
      }
    });
  }

  it("every configuration code E300–E332 has a fixture above, and is in the catalogue", () => {
    const covered = new Set(cases.flatMap(([, e]) => e.map(([c]) => c)));
    // E322 (unreadable), E323 (as root: another user can change) and E324 (secret readable by others) are tested below with files made for them
    for (const code of Object.keys(diagnosticCatalogue).filter((c) => /^E3[0-3]\d$/.test(c))) {
      if (["E322", "E323", "E324"].includes(code)) continue;
      expect(covered, code).toContain(code);
    }
  });

  it("reports every error of a file at once, in order", () => {
    const text = `version: 3
stakeholders:
  security:
    timezone: Mars/Olympus
    channels: [mail]
    people: [{ name: A, email: nope, phone: "12" }]
channels:
  mail: { type: email, host: mail.example.com, tls: none, from: a@example.com, timeout: soon }
route:
  receivers: [nobody]
  grup_by: [control]
`;
    const r = parseConfig(text, "/x/covenant.yaml", { root: false });
    expect(r.config).toBeUndefined();
    const place = (needle: string) => {
      const before = text.slice(0, text.indexOf(needle)).split("\n");
      return `${before.length}:${before.at(-1)!.length + 1}`;
    };
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual([
      `${place("3\n")} E320`,
      `${place("Mars/")} E310`,
      `${place("nope")} E309`,
      `${place('"12"')} E308`,
      `${place("none")} E315`,
      `${place("soon")} E307`,
      `${place("nobody")} E313`,
      `${place("grup_by")} E302`,
    ]);
  });

  it("suggests the closest known key for a misspelt one, and names it", () => {
    const d = load("unknown-key.yaml").diagnostics;
    expect(d.map((x) => [x.text, x.suggestion])).toEqual([
      ["chanels", "did you mean `channels`?"],
      ["tsl", "did you mean `tls`?"],
      ["roote", "did you mean `route`?"],
    ]);
    expect(d[0]!.message).toContain("`chanels`");
    // nothing close: the known keys are listed instead
    const far = parseConfig("version: 1\nzzzzzzzz: 1\n", "/c.yaml", { root: false }).diagnostics[0]!;
    expect(far.suggestion).toBe("known keys here: version, host, stakeholders, channels, route, inhibit, delivery, report");
  });

  it("`match` on the root route: says where it belongs", () => {
    const r = parseConfig("version: 1\nroute:\n  match: { severity: [critical] }\n", "/c.yaml", { root: false });
    expect(r.diagnostics).toMatchObject([{ code: "E302", line: 3, column: 3, text: "match", suggestion: "put `match` on a route under `routes:`" }]);
  });

  it("a phone number or version written as YAML reads it: says to quote it, or not to", () => {
    const r = parseConfig('version: "1"\nstakeholders:\n  a:\n    channels: [d]\n    people: [{ name: x, phone: +15551230001 }]\nchannels:\n  d: { type: report, directory: /tmp }\n', "/c.yaml", { root: false });
    expect(r.diagnostics).toMatchObject([
      { code: "E320", line: 1, column: 10, message: "`version` is the number `1`, unquoted, not a string" },
      { code: "E304", line: 5, column: 32, text: "+15551230001", suggestion: 'quote it: "+15551230001"' },
    ]);
  });

  it("never puts a literal secret in a diagnostic, and blots it out of the text kept for excerpts", () => {
    const r = load("literal-secret.yaml");
    const all = JSON.stringify(r.diagnostics);
    for (const secret of ["hunter2-do-not-print", "tok-do-not-print", "key-do-not-print", "am-do-not-print"]) {
      expect(all).not.toContain(secret);
      expect(r.text).not.toContain(secret);
    }
    expect(r.text!.length).toBe(readFileSync(fixture("literal-secret.yaml"), "utf8").length);
    expect(r.diagnostics[0]!.suggestion).toContain("password_file");
  });

  it("a file that cannot be read: E322 with the reason, and no configuration", () => {
    const r = loadConfig("/nonexistent/covenant.yaml", { root: false });
    expect(r.config).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ code: "E322", line: 1, column: 1, file: "/nonexistent/covenant.yaml" }]);
    expect(r.diagnostics[0]!.message).toContain("no such file or directory");
    const dir = mkdtempSync(join(tmpdir(), "covenant-config-"));
    expect(loadConfig(dir, { root: false }).diagnostics[0]).toMatchObject({ code: "E322" });
    expect(loadConfig(dir, { root: false }).diagnostics[0]!.message).toContain("not a regular file");
  });

  it("a FIFO, a link to an endless device and a huge file are E322 at once, never read to the end or waited on", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-config-"));
    const fifo = join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    const endless = join(dir, "zero.yaml");
    symlinkSync("/dev/zero", endless);
    const huge = join(dir, "huge.yaml");
    writeFileSync(huge, `version: 1\n# ${"x".repeat(2 << 20)}\n`);
    for (const [path, words] of [[fifo, "a FIFO, not a regular file"], [endless, "a device, not a regular file"], [huge, "larger than the 1 MiB a configuration may be"]] as const) {
      const r = loadConfig(path, { root: false });
      expect(r.config).toBeUndefined();
      expect(r.diagnostics).toMatchObject([{ code: "E322" }]);
      expect(r.diagnostics[0]!.message).toContain(words);
    }
  });
});

describe("loadConfig: a good configuration, normalised", () => {
  it("the minimal file: every default", () => {
    const r = load("minimal.yaml");
    expect(r.diagnostics).toEqual([]);
    const c = r.config!;
    expect(c.path).toBe(fixture("minimal.yaml"));
    expect(c.host).toEqual({ tags: [] });
    expect(c.stakeholders.size).toBe(0);
    expect(c.channels.size).toBe(0);
    expect(c.route).toEqual({ id: "root", match: {}, receivers: ["owners"], groupBy: ["control"], groupWaitMs: 0, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000, sendResolved: true, continue: false, escalate: [], routes: [], line: 1 });
    expect(c.inhibitDependents).toBe(true);
    expect(c.delivery).toEqual({ budgetMs: 10_000, maxAttempts: 10, backoffMs: 30_000, maxBackoffMs: 3_600_000, failingAfter: 3 });
  });

  it("every key of the full file, field by field", () => {
    const r = load("good-full.yaml");
    expect(r.diagnostics).toEqual([]);
    const c = r.config!;
    expect(c.host.tags).toEqual(["ledger", "prod"]);
    expect([...c.stakeholders.keys()]).toEqual(["security", "siem", "auditors"]);
    expect(c.stakeholders.get("security")).toEqual({
      name: "security",
      timezone: "America/New_York",
      quietHours: { from: "22:00", to: "07:00" },
      channels: ["mail", "sms"],
      people: [
        { name: "Alice Admin", email: "alice@example.com", phone: "+15551230001" },
        { name: "Bob Backup", phone: "+442071234567" },
      ],
      at: { ...at("good-full.yaml", "security:"), offset: expect.any(Number), end: expect.any(Number) },
    });
    expect(c.stakeholders.get("siem")).toMatchObject({ name: "siem", people: [], channels: ["hook", "am"] });
    expect(c.stakeholders.get("siem")!.timezone).toBeUndefined();
    expect(c.channels.get("mail")).toEqual({ type: "email", name: "mail", host: "smtp.example.com", port: 2525, tls: "implicit", auth: { user: "covenant", password: { env: "SMTP_PASSWORD" } }, from: "Covenant <covenant@example.com>", timeoutMs: 20_000 });
    // the port follows from tls when not given
    expect(c.channels.get("relay")).toEqual({ type: "email", name: "relay", host: "127.0.0.1", port: 25, tls: "none", from: "covenant@localhost", timeoutMs: 10_000 });
    expect(c.channels.get("sms")).toEqual({ type: "twilio", name: "sms", accountSid: "AC0123456789abcdef0123456789abcdef", authToken: { env: "TWILIO_AUTH_TOKEN" }, messagingServiceSid: "MG0123456789abcdef0123456789abcdef", apiUrl: "https://127.0.0.1:8080", timeoutMs: 90_000 });
    expect(c.channels.get("digest")).toEqual({ type: "report", name: "digest", directory: "/var/lib/covenant/reports", period: "month", formats: ["json"] });
    expect(c.channels.get("hook")).toEqual({ type: "webhook", name: "hook", url: "https://siem.example.com/covenant", secret: { env: "HOOK_KEY" }, timeoutMs: 2000, headers: { "X-Tenant": "ledger" } });
    expect(c.channels.get("am")).toEqual({ type: "alertmanager", name: "am", url: "https://[::1]:9093", auth: { user: "covenant", password: { env: "AM_PASSWORD" } }, timeoutMs: 5000 });
    const root = c.route;
    expect(root).toMatchObject({ id: "root", receivers: ["owners", "siem"], groupBy: ["control", "severity"], groupWaitMs: 60_000, groupIntervalMs: 600_000, repeatIntervalMs: 86_400_000, sendResolved: false, continue: false, escalate: [{ afterMs: 7_200_000, to: ["security"], unacknowledged: true }] });
    expect(root.line).toBe(at("good-full.yaml", "receivers: [owners").line);
    const [first, second] = root.routes;
    expect(first).toMatchObject({
      id: "root.0",
      match: { control: ["ITGC-*"], severity: ["critical", "high"], owner: ["security"], key_control: true, type: ["file"], outcome: ["drift", "repaired"], stakeholder: ["security"], facts: { "os.id": ["debian", "ubuntu"] }, tags: ["prod"] },
      receivers: ["security"],
      continue: true,
      escalate: [{ afterMs: 1_800_000, to: ["auditors"], unacknowledged: false }],
      // inherited from the root
      groupBy: ["control", "severity"],
      groupWaitMs: 60_000,
      sendResolved: false,
    });
    // a route's line is where its mapping starts: `- match:`
    expect(first!.line).toBe(at("good-full.yaml", "- match:").line);
    // two levels down: its own group_by, the rest from its parent (receivers and escalation included)
    expect(first!.routes[0]).toMatchObject({ id: "root.0.0", match: { severity: ["critical"] }, groupBy: ["..."], receivers: ["security"], escalate: [{ afterMs: 1_800_000, to: ["auditors"], unacknowledged: false }], continue: false, routes: [] });
    expect(second).toMatchObject({ id: "root.1", match: { owner: ["ops"] }, receivers: ["owners", "siem"], sendResolved: true, groupBy: [], repeatIntervalMs: 86_400_000 });
    expect(c.inhibitDependents).toBe(false);
    expect(c.delivery).toEqual({ budgetMs: 0, maxAttempts: 5, backoffMs: 60_000, maxBackoffMs: 7_200_000, failingAfter: 7 });
  });

  it("the SOX example's configuration loads clean", () => {
    const r = loadConfig("examples/sox/covenant.yaml", { root: false });
    expect(r.diagnostics).toEqual([]);
    expect([...r.config!.stakeholders.keys()].sort()).toEqual(["cfo_office", "compliance", "dba_oncall", "ops", "security"]);
  });

  it("a secret file closed to others is accepted, and only judged, not read", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-config-"));
    const secret = join(dir, "smtp.pass");
    writeFileSync(secret, "s3cret\n", { mode: 0o600 });
    const text = `version: 1\nchannels:\n  mail: { type: email, host: smtp.example.com, from: a@example.com, auth: { user: u, password_file: ${secret} } }\n`;
    const r = parseConfig(text, join(dir, "covenant.yaml"), { root: false });
    expect(r.diagnostics).toEqual([]);
    expect(r.config!.channels.get("mail")).toMatchObject({ auth: { user: "u", password: { file: secret } } });
    chmodSync(secret, 0o640);
    const refused = parseConfig(text, join(dir, "covenant.yaml"), { root: false });
    expect(refused.config).toBeUndefined();
    expect(refused.diagnostics).toMatchObject([{ code: "E324", line: 3, suggestion: `\`chmod 600 ${secret}\`` }]);
  });
});

describe("loadConfig: an Alertmanager's auth, read as email's is", () => {
  const parse = (auth: string) => parseConfig(`version: 1\nchannels:\n  am: { type: alertmanager, url: "https://127.0.0.1:9093", auth: ${auth} }\n`, "/x/covenant.yaml", { root: false });

  it("user and password_file (judged like any secret file) or password_env, normalised", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-config-am-"));
    const secret = join(dir, "am.pass");
    writeFileSync(secret, "s3cret\n", { mode: 0o600 });
    const fromFile = parse(`{ user: covenant, password_file: ${secret} }`);
    expect(fromFile.diagnostics).toEqual([]);
    expect(fromFile.config!.channels.get("am")).toEqual({ type: "alertmanager", name: "am", url: "https://127.0.0.1:9093", auth: { user: "covenant", password: { file: secret } }, timeoutMs: 5000 });
    expect(parse("{ user: covenant, password_env: AM_PASSWORD }").config!.channels.get("am")).toMatchObject({ auth: { user: "covenant", password: { env: "AM_PASSWORD" } } });
    chmodSync(secret, 0o644);
    expect(parse(`{ user: covenant, password_file: ${secret} }`).diagnostics).toMatchObject([{ code: "E324" }]);
  });

  it("a literal password is refused (E318) without being repeated; a password given twice or not at all is E319", () => {
    const literal = parse("{ user: covenant, password: am-hunter2 }");
    expect(literal.config).toBeUndefined();
    expect(literal.diagnostics).toMatchObject([{ code: "E318", line: 3, suggestion: expect.stringContaining("password_file") as unknown }]);
    expect(JSON.stringify(literal.diagnostics)).not.toContain("am-hunter2");
    expect(literal.text).not.toContain("am-hunter2");
    expect(parse("{ user: covenant, password_file: /etc/covenant/am.pass, password_env: AM_PASSWORD }").diagnostics.map((d) => d.code)).toContain("E319");
    expect(parse("{ user: covenant }").diagnostics).toMatchObject([{ code: "E319", message: expect.stringContaining("lacks the password") as unknown }]);
  });

  it("a user holding `:` cannot travel in HTTP basic authentication (E329); credentials in the URL point to auth", () => {
    expect(parse('{ user: "ops:team", password_env: AM_PASSWORD }').diagnostics).toMatchObject([{ code: "E329", message: expect.stringContaining("without `:`") as unknown }]);
    const inUrl = parseConfig('version: 1\nchannels:\n  am: { type: alertmanager, url: "http://covenant:pw@127.0.0.1:9093" }\n', "/x/covenant.yaml", { root: false });
    expect(inUrl.diagnostics).toMatchObject([{ code: "E318", suggestion: expect.stringContaining("auth:") as unknown }]);
  });
});

describe("findConfig", () => {
  it("--config first, then /etc/covenant/covenant.yaml as root, else ./covenant.yaml", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-find-"));
    expect(findConfig({ explicit: "x.yaml", root: true, cwd: dir })).toBe(join(dir, "x.yaml"));
    expect(findConfig({ root: false, cwd: dir })).toBeUndefined();
    writeFileSync(join(dir, "covenant.yaml"), "version: 1\n");
    expect(findConfig({ root: false, cwd: dir })).toBe(join(dir, "covenant.yaml"));
    // root does not read the working directory's: a run from cron must not depend on where it started
    expect(findConfig({ root: true, cwd: dir })).toBe(process.getuid?.() === 0 && existsEtc() ? "/etc/covenant/covenant.yaml" : undefined);
  });
});

function existsEtc(): boolean {
  try {
    readFileSync("/etc/covenant/covenant.yaml");
    return true;
  } catch {
    return false;
  }
}

describe("as root: the configuration follows the policy's trust rule", () => {
  const asRoot = process.getuid?.() === 0;
  it.runIf(asRoot)("a file another user owns, or its group can write, is refused with the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-trust-"));
    const path = join(dir, "covenant.yaml");
    writeFileSync(path, "version: 1\n", { mode: 0o644 });
    expect(loadConfig(path, { root: true }).diagnostics).toEqual([]);
    chownSync(path, 1234, 0);
    const owned = loadConfig(path, { root: true });
    expect(owned.config).toBeUndefined();
    expect(owned.diagnostics).toMatchObject([{ code: "E323", line: 1, column: 1 }]);
    expect(owned.diagnostics[0]!.message).toContain("owned by uid 1234, not root");
    expect(owned.diagnostics[0]!.message).toContain(`chown root:root ${path}`);
    chownSync(path, 0, 0);
    chmodSync(path, 0o664);
    const writable = loadConfig(path, { root: true });
    expect(writable.diagnostics).toMatchObject([{ code: "E323" }]);
    expect(writable.diagnostics[0]!.message).toContain("writable by its group");
    expect(writable.diagnostics[0]!.message).toContain(`chmod go-w ${path}`);
    // the same file is fine for a user other than root: the rule is root's
    expect(loadConfig(path, { root: false }).diagnostics).toEqual([]);
  });

  it.runIf(asRoot)("a secret file another user owns is refused as root (E323), at the key naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "covenant-trust-"));
    const secret = join(dir, "hook.key");
    writeFileSync(secret, "k", { mode: 0o600 });
    chownSync(secret, 1234, 1234);
    const text = `version: 1\nchannels:\n  hook: { type: webhook, url: "https://h.example.com/", secret_file: ${secret} }\n`;
    const r = parseConfig(text, join(dir, "covenant.yaml"), { root: true });
    expect(r.diagnostics).toMatchObject([{ code: "E323", line: 3, column: text.split("\n")[2]!.indexOf(secret) + 1 }]);
    expect(parseConfig(text, join(dir, "covenant.yaml"), { root: false }).diagnostics).toEqual([]);
  });
});
